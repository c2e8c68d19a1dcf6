#!/usr/bin/env bash
# Captures real Redis Cluster output for the lib/cluster parser tests.
#
# Starts two throw-away 3-master/3-replica clusters of local redis-server processes on
# free loopback ports in a temp dir, saves what the parsers read into
# tests/data/redis-<major.minor>/, and stops every process it started (trap on exit).
#
#   cluster A (cluster-node-timeout 15000): INFO, CLUSTER NODES/INFO/SHARDS, ROLE from a
#     master and a replica; then kill -9 of a master and the view of its replica with
#     master_link_status:down (captured before the 15 s node timeout can promote it).
#   cluster B (cluster-node-timeout 2000): kill -9 of a master, wait until its replica is
#     promoted, capture the views showing "master,fail" and the new master.
#
# Replies are fetched over a raw socket (python3) so the files hold Redis's exact bytes:
# *.txt are bulk-string payloads (INFO uses CRLF, CLUSTER NODES uses LF), *.resp whole
# RESP replies. Node ids and ports change on every run; the tests only rely on the shape.
#
# Usage: tests/data/capture.sh [output-dir]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=$(redis-server --version | sed -E 's/.*v=([0-9]+\.[0-9]+).*/\1/')
out=${1:-$here/redis-$version}
mkdir -p "$out"
out=$(cd "$out" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/picket-capture.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$tmp"  # redis-server reports its cwd-relative executable path in INFO

# resp.py PORT MODE ARG...: sends one command, reads one reply.
# MODE raw: writes the whole RESP reply; bulk: writes a bulk string's payload.
cat >"$tmp/resp.py" <<'EOF'
import socket, sys

def read_line(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise SystemExit("short read")
    return line

def read_reply(f, out):
    line = read_line(f)
    out += line
    kind, rest = line[:1], line[1:-2]
    if kind == b"$":
        n = int(rest)
        if n >= 0:
            data = f.read(n + 2)
            out += data
            return data[:-2]
    elif kind == b"*":
        for _ in range(max(int(rest), 0)):
            read_reply(f, out)
    return rest

port, mode, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
cmd = b"*%d\r\n" % len(args)
for a in args:
    a = a.encode()
    cmd += b"$%d\r\n%s\r\n" % (len(a), a)
with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
    s.sendall(cmd)
    f = s.makefile("rb")
    raw = bytearray()
    payload = read_reply(f, raw)
    sys.stdout.buffer.write(bytes(raw) if mode == "raw" else payload)
EOF
resp() { python3 "$tmp/resp.py" "$@"; }
bulk() {
    local port=$1
    shift
    resp "$port" bulk "$@"
}

# free_ports N: N ports P with P and P+10000 (the cluster bus) both free on 127.0.0.1.
free_ports() {
    python3 - "$1" <<'EOF'
import random, socket, sys
want, found = int(sys.argv[1]), []
def free(p):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", p))
            return True
        except OSError:
            return False
while len(found) < want:
    p = random.randint(20000, 50000)
    if p not in found and p + 10000 not in found and free(p) and free(p + 10000):
        found.append(p)
print(" ".join(map(str, found)))
EOF
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@"; do
        if ((SECONDS >= deadline)); then
            echo "capture: timed out waiting for $what" >&2
            return 1
        fi
        sleep 0.2
    done
}

# start_cluster NAME TIMEOUT_MS: starts 6 servers and creates the cluster; sets PORTS.
declare -A PID_OF
start_cluster() {
    local name=$1 timeout=$2 port dir
    read -r -a PORTS <<<"$(free_ports 6)"
    for port in "${PORTS[@]}"; do
        dir=$tmp/$name-$port
        mkdir -p "$dir"
        redis-server --cluster-enabled yes --appendonly yes --cluster-node-timeout "$timeout" \
            --port "$port" --dir "$dir" --daemonize no --bind 127.0.0.1 --save '' \
            --logfile "$dir/redis.log" &
        pids+=($!)
        PID_OF[$port]=$!
    done
    for port in "${PORTS[@]}"; do
        wait_for 10 "redis-server on port $port" redis-cli -p "$port" ping >/dev/null 2>&1
    done
    local addrs=()
    for port in "${PORTS[@]}"; do
        addrs+=("127.0.0.1:$port")
    done
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$tmp/$name-create.log"
    for port in "${PORTS[@]}"; do
        wait_for 30 "cluster_state:ok on $port" cluster_ok "$port"
    done
    # Every replica has finished its first sync.
    for port in "${PORTS[@]}"; do
        wait_for 30 "replication of $port" link_settled "$port"
    done
}

cluster_ok() { bulk "$1" CLUSTER INFO | grep -q '^cluster_state:ok'; }
role_of() { bulk "$1" INFO replication | tr -d '\r' | sed -n 's/^role://p'; }
master_port_of() { bulk "$1" INFO replication | tr -d '\r' | sed -n 's/^master_port://p'; }
link_settled() {
    local info
    info=$(bulk "$1" INFO replication | tr -d '\r')
    grep -q '^role:master' <<<"$info" && return 0
    grep -q '^master_link_status:up' <<<"$info" && grep -q '^master_sync_in_progress:0' <<<"$info"
}
link_down() { bulk "$1" INFO replication | tr -d '\r' | grep -q '^master_link_status:down'; }
is_master() { [ "$(role_of "$1")" = master ]; }
# sees_fail PORT NODE_PORT: PORT's CLUSTER NODES flags NODE_PORT as failed (not just fail?).
sees_fail() { bulk "$1" CLUSTER NODES | grep ":$2@" | awk '{print $3}' | grep -qE '(^|,)fail(,|$)'; }
# kill_node PORT: kill -9 (no goodbye to the cluster), reaped quietly.
kill_node() {
    kill -9 "${PID_OF[$1]}"
    wait "${PID_OF[$1]}" 2>/dev/null || true
}

# first_port ROLE: the first port of PORTS whose INFO role is ROLE.
first_port() {
    local port
    for port in "${PORTS[@]}"; do
        if [ "$(role_of "$port")" = "$1" ]; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# ---------------------------------------------------------------------------------------
# Cluster A: a healthy cluster, then a replica whose master just died.
# ---------------------------------------------------------------------------------------
start_cluster a 15000
# A little data so offsets and keyspace lines are not all zero.
for i in $(seq 1 50); do
    redis-cli -c -p "${PORTS[0]}" set "key:$i" "value-$i" >/dev/null
done
replica=$(first_port slave)
master=$(master_port_of "$replica")
wait_for 30 "replica $replica to catch up" link_settled "$replica"
sleep 1  # let the replica ack the latest offset (REPLCONF ACK is sent once a second)

bulk "$master" INFO all >"$out/info_all_master.txt"
bulk "$replica" INFO all >"$out/info_all_replica.txt"
bulk "$master" INFO replication >"$out/info_replication_master.txt"
bulk "$replica" INFO replication >"$out/info_replication_replica.txt"
bulk "$master" CLUSTER NODES >"$out/cluster_nodes_master.txt"
bulk "$replica" CLUSTER NODES >"$out/cluster_nodes_replica.txt"
bulk "$master" CLUSTER INFO >"$out/cluster_info.txt"
resp "$master" raw CLUSTER SHARDS >"$out/cluster_shards.resp"
resp "$master" raw ROLE >"$out/role_master.resp"
resp "$replica" raw ROLE >"$out/role_replica.resp"
resp "$master" raw CONFIG GET cluster-node-timeout >"$out/config_get_cluster_node_timeout.resp"

kill_node "$master"
wait_for 10 "replica $replica to see its link down" link_down "$replica"
bulk "$replica" INFO replication >"$out/info_replication_replica_link_down.txt"
resp "$replica" raw ROLE >"$out/role_replica_link_down.resp"

# ---------------------------------------------------------------------------------------
# Cluster B: a completed failover (cluster-node-timeout 2000).
# ---------------------------------------------------------------------------------------
start_cluster b 2000
replica=$(first_port slave)
master=$(master_port_of "$replica")
observer=
for port in "${PORTS[@]}"; do
    if [ "$port" != "$replica" ] && [ "$port" != "$master" ] && is_master "$port"; then
        observer=$port
        break
    fi
done
kill_node "$master"
wait_for 30 "replica $replica to be promoted" is_master "$replica"
wait_for 30 "$observer to flag $master as fail" sees_fail "$observer" "$master"
wait_for 30 "cluster_state:ok after the failover" cluster_ok "$observer"
bulk "$observer" CLUSTER NODES >"$out/cluster_nodes_after_failover.txt"
bulk "$replica" CLUSTER NODES >"$out/cluster_nodes_after_failover_promoted.txt"
bulk "$replica" INFO replication >"$out/info_replication_promoted.txt"
bulk "$observer" CLUSTER INFO >"$out/cluster_info_after_failover.txt"
resp "$observer" raw CLUSTER SHARDS >"$out/cluster_shards_after_failover.resp"

echo "capture: wrote $(ls "$out" | wc -l) files to $out"
