#!/usr/bin/env bash
# The local demo: the tutorial's 3+3 Redis Cluster and a picketd sidecar per node, on
# loopback, plus a Prometheus scraping the sidecars.
#
#   deploy/local/demo.sh up       install what is missing, build, start everything, show status
#   deploy/local/demo.sh status   picketctl status and the URLs
#   deploy/local/demo.sh failover the tutorial's Steps 4 and 5 with picket: kill -9 the master
#                                 of key 'name', print the timeline (SDOWN, ODOWN, decision,
#                                 command, promoted, writes OK) in ms, restart the old master
#                                 and show it rejoin as a replica, then read 'name' everywhere
#   deploy/local/demo.sh down     stop exactly what `up` started and remove its directory
#
# Idempotent: `up` on a running demo only shows its status; `down` on none does nothing.
# Settings (environment): PICKET_DEMO_DIR (default /tmp/picket-demo), PICKET_DEMO_REDIS_PORT
# (first Redis port, default 7000; cluster bus = port + 10000), PICKET_DEMO_HTTP_PORT
# (first sidecar's HTTP port, default 7701 — picketctl's default address; the others are
# +10, +20, ...), PICKET_DEMO_PEER_PORT (default 7700, same steps), PICKET_DEMO_PROM_PORT
# (default 9090; 0 = no Prometheus), PICKET_DEMO_BUILD (a build dir that already has
# picketd; default: build/demo, built here).
#
# The sidecars use down_after 1s so detection is visibly fast; the cluster keeps the
# tutorial's cluster-node-timeout 15000 (its own failover would take ~15-20 s; picket's
# takes about down_after plus milliseconds).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${PICKET_DEMO_DIR:-/tmp/picket-demo}
redis_port=${PICKET_DEMO_REDIS_PORT:-7000}
http_port=${PICKET_DEMO_HTTP_PORT:-7701}
peer_port=${PICKET_DEMO_PEER_PORT:-7700}
prom_port=${PICKET_DEMO_PROM_PORT:-9090}
build=${PICKET_DEMO_BUILD:-$root/build/demo}
nodes=6

say() { printf '\033[1m%s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

alive() {  # alive PIDFILE: the process in it runs
    [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

ports_needed() {
    for i in $(seq 0 $((nodes - 1))); do
        echo $((redis_port + i)) $((redis_port + 10000 + i)) $((http_port + 10 * i)) \
            $((peer_port + 10 * i))
    done
    [ "$prom_port" = 0 ] || echo "$prom_port"
}

start_bg() {  # start_bg NAME LOG CMD...: detached from this shell, pid in $dir/pids/NAME.pid
    local name=$1 log=$2
    shift 2
    setsid "$@" >>"$log" 2>&1 < /dev/null &
    echo $! >"$dir/pids/$name.pid"
}

wait_for() {  # wait_for WHAT SECONDS CMD...: bounded poll
    local what=$1 limit=$2
    shift 2
    local i
    for i in $(seq 1 $((limit * 10))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    die "timed out after ${limit}s waiting for $what"
}

cluster_ok() { redis-cli -p "$redis_port" cluster info | grep -q '^cluster_state:ok'; }
topology_settled() {  # vm1 sees 3 shards with one replica each, views agreeing
    "$build/daemon/picketctl" --url "http://127.0.0.1:$http_port" status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
ok = (len(d["shards"]) == 3 and all(len(s["replicas"]) == 1 for s in d["shards"])
      and not d["cluster"]["disagreements"])
sys.exit(0 if ok else 1)'
}
sidecars_ready() {
    local i
    for i in $(seq 0 $((nodes - 1))); do
        curl -sf "http://127.0.0.1:$((http_port + 10 * i))/readyz" >/dev/null || return 1
    done
}

up() {
    if alive "$dir/pids/picketd-1.pid"; then
        say "demo already running in $dir"
        status
        return 0
    fi
    [ -d "$dir" ] && down_quiet
    say "1/5 dependencies"
    "$root/deploy/install-deps.sh"
    say "2/5 build"
    if [ ! -x "$build/daemon/picketd" ] || [ -z "${PICKET_DEMO_BUILD:-}" ]; then
        cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DPICKET_BUILD_TESTS=OFF >/dev/null
        cmake --build "$build" --target picketd picketctl
    fi
    local p
    for p in $(ports_needed); do
        port_busy "$p" && die "port $p is in use; set PICKET_DEMO_*_PORT (see the top of $0)"
    done
    mkdir -p "$dir/pids"

    say "3/5 six redis-server nodes on 127.0.0.1:$redis_port-$((redis_port + nodes - 1))"
    local i port
    for i in $(seq 0 $((nodes - 1))); do
        port=$((redis_port + i))
        mkdir -p "$dir/redis-$port"
        cat >"$dir/redis-$port/redis.conf" <<CONF
bind 127.0.0.1
port $port
dir $dir/redis-$port
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 15000
appendonly yes
save ""
daemonize no
logfile $dir/redis-$port/redis.log
CONF
        start_bg "redis-$port" "$dir/redis-$port/stdout.log" redis-server "$dir/redis-$port/redis.conf"
    done
    for i in $(seq 0 $((nodes - 1))); do
        wait_for "redis on port $((redis_port + i))" 10 redis-cli -p $((redis_port + i)) ping
    done
    local addrs=()
    for i in $(seq 0 $((nodes - 1))); do addrs+=("127.0.0.1:$((redis_port + i))"); done
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes \
        >"$dir/cluster-create.log" 2>&1 || die "cluster create failed: see $dir/cluster-create.log"
    wait_for "cluster_state:ok" 30 cluster_ok

    say "4/5 six picketd sidecars"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/peer.secret"
    chmod 600 "$dir/peer.secret"
    for i in $(seq 0 $((nodes - 1))); do
        local id="vm$((i + 1))" conf="$dir/picket-vm$((i + 1)).yml"
        {
            echo "# Demo sidecar $id: watches the cluster from 127.0.0.1:$((redis_port + i))."
            echo "watcher:"
            echo "  id: $id"
            echo "  peer_listen: 127.0.0.1:$((peer_port + 10 * i))"
            echo "  http_listen: 127.0.0.1:$((http_port + 10 * i))"
            echo "  state_dir: $dir/state-$id"
            echo "peers:"
            echo "  secret_file: $dir/peer.secret"
            echo "  members:"
            local j
            for j in $(seq 0 $((nodes - 1))); do
                [ "$j" = "$i" ] && continue
                echo "    - {id: vm$((j + 1)), address: 127.0.0.1:$((peer_port + 10 * j))}"
            done
            echo "cluster:"
            echo "  name: demo"
            echo "  seeds: [127.0.0.1:$((redis_port + i)), 127.0.0.1:$((redis_port + (i + 1) % nodes))]"
            echo "detection:"
            echo "  down_after: 1s"
            echo "failover:"
            echo "  cluster_node_timeout: 15s"
        } >"$conf"
        mkdir -p "$dir/state-$id"
        start_bg "picketd-$((i + 1))" "$dir/picketd-$id.log" "$build/daemon/picketd" --config "$conf"
    done
    wait_for "the sidecars' /readyz" 30 sidecars_ready
    wait_for "the sidecars to see 3 shards with a replica each" 30 topology_settled

    if [ "$prom_port" != 0 ]; then
        say "5/5 Prometheus on 127.0.0.1:$prom_port"
        {
            echo "global: {scrape_interval: 5s, evaluation_interval: 5s}"
            echo "scrape_configs:"
            echo "  - job_name: picket"
            echo "    static_configs:"
            echo "      - targets:"
            for i in $(seq 0 $((nodes - 1))); do
                echo "          - 127.0.0.1:$((http_port + 10 * i))"
            done
        } >"$dir/prometheus.yml"
        mkdir -p "$dir/prometheus-data"
        start_bg prometheus "$dir/prometheus.log" prometheus --config.file="$dir/prometheus.yml" \
            --storage.tsdb.path="$dir/prometheus-data" --web.listen-address="127.0.0.1:$prom_port"
        wait_for "Prometheus" 30 curl -sf "http://127.0.0.1:$prom_port/-/ready"
    else
        say "5/5 Prometheus skipped (PICKET_DEMO_PROM_PORT=0)"
    fi
    echo
    status
    cat <<TXT

Try next:
  kill -9 \$(cat $dir/pids/redis-$((redis_port + 2)).pid)      # kill a master: every sidecar
      # holds it SDOWN (dead evidence) within ~1 s; the cluster promotes its replica after ~15 s
  $build/daemon/picketctl --url http://127.0.0.1:$http_port status
  kill -STOP \$(cat $dir/pids/redis-$((redis_port + 1)).pid)   # a hang: SDOWN after 5 s (unresponsive)
  $0 failover     # the tutorial's Steps 4 and 5, with picket promoting the replica
  $0 down
TXT
}

status() {
    [ -d "$dir/pids" ] || { echo "demo: not running (no $dir)"; return 0; }
    local i
    echo "Sidecars (picketd /metrics, /v1/status, /readyz):"
    for i in $(seq 0 $((nodes - 1))); do
        local state=down
        alive "$dir/pids/picketd-$((i + 1)).pid" && state=up
        echo "  vm$((i + 1))  http://127.0.0.1:$((http_port + 10 * i))  ($state)"
    done
    [ "$prom_port" = 0 ] || echo "Prometheus: http://127.0.0.1:$prom_port"
    echo "Redis: 127.0.0.1:$redis_port-$((redis_port + nodes - 1)) (redis-cli -c -p $redis_port)"
    echo
    "$build/daemon/picketctl" --url "http://127.0.0.1:$http_port" status || true
}

failover() {
    alive "$dir/pids/picketd-1.pid" || die "demo not running: $0 up first"
    local now_ms
    now_ms() { date +%s%3N; }
    redis-cli -c -p "$redis_port" set name 'hello cluster' >/dev/null
    local slot owner_port master_id
    slot=$(redis-cli -p "$redis_port" cluster keyslot name)
    owner_port=$(redis-cli -p "$redis_port" cluster nodes | awk -v s="$slot" '
        /master/ && !/fail/ {
            for (i = 9; i <= NF; i++) {
                n = split($i, r, "-"); lo = r[1]; hi = (n == 2 ? r[2] : r[1])
                if (s + 0 >= lo + 0 && s + 0 <= hi + 0) { split($2, a, "[:@]"); print a[2]; exit }
            }
        }')
    [ -n "$owner_port" ] || die "cannot find the master of key 'name'"
    master_id=$(redis-cli -p "$owner_port" cluster myid)
    say "Step 4: kill -9 the master of key 'name' (slot $slot): 127.0.0.1:$owner_port"
    local t0
    t0=$(now_ms)
    kill -9 "$(cat "$dir/pids/redis-$owner_port.pid")"
    local write_ok=""
    for _ in $(seq 1 1500); do  # bounded: about 20 s
        if redis-cli -c -p "$redis_port" set name 'hello cluster' 2>/dev/null | grep -q OK; then
            write_ok=$(now_ms)
            break
        fi
        sleep 0.01
    done
    [ -n "$write_ok" ] || die "writes to key 'name' did not come back within ~20 s"
    sleep 0.5
    local leader_url="" i
    for i in $(seq 0 $((nodes - 1))); do
        if curl -sf "http://127.0.0.1:$((http_port + 10 * i))/leader" >/dev/null 2>&1; then
            leader_url="http://127.0.0.1:$((http_port + 10 * i))"
        fi
    done
    [ -n "$leader_url" ] || die "no sidecar leads"
    echo
    echo "Timeline (ms after kill -9; the leader is $leader_url):"
    curl -s "$leader_url/v1/status" | python3 -c "
import json, sys
t0 = $t0 / 1000.0
d = json.load(sys.stdin)
want = {'sdown': 'SDOWN (dead evidence) at the leader', 'odown_declared': 'ODOWN: the watchers agree',
        'failover_started': 'decision: record proposed (replica chosen)',
        'failover_command_sent': 'CLUSTER FAILOVER FORCE sent', 'failover_promoted': 'replica answers as master'}
seen = set()
rows = []
for e in d['events']:
    if e['kind'] in want and e['kind'] not in seen and e['at_unix'] >= t0 - 0.001:
        if e['kind'] == 'sdown' and not e['address'].endswith(':$owner_port'):
            continue
        seen.add(e['kind'])
        rows.append(((e['at_unix'] - t0) * 1000, want[e['kind']]))
rows.append(($write_ok - $t0, 'writes to key name succeed again (redis-cli -c, every 10 ms)'))
for ms, what in sorted(rows):
    print('  %6d ms  %s' % (ms, what))
for a in d['failover']['attempts']:
    if a['failed_master'] == '$master_id':
        print('  new master: %s (%s); %s' % (a['replica_address'], a['mode'], a['reason']))
"
    echo
    say "Step 4, continued: restart the old master; it rejoins as a replica"
    start_bg "redis-$owner_port" "$dir/redis-$owner_port/stdout.log" redis-server "$dir/redis-$owner_port/redis.conf"
    local role=""
    for _ in $(seq 1 300); do
        role=$(redis-cli -p "$owner_port" role 2>/dev/null | head -n 1 || true)
        [ "$role" = slave ] && break
        sleep 0.1
    done
    echo "  127.0.0.1:$owner_port is now: ${role:-unknown}"
    for _ in $(seq 1 50); do  # let the other nodes' views catch up (gossip), bounded
        redis-cli -p "$redis_port" cluster nodes | grep -q "127.0.0.1:$owner_port@.*slave" && break
        sleep 0.1
    done
    redis-cli -p "$redis_port" cluster nodes | awk '{split($2, a, "@"); print "  " a[1], $3}' | sort
    echo
    say "Step 5: read key 'name' through every node (redis-cli -c)"
    for i in $(seq 0 $((nodes - 1))); do
        echo "  127.0.0.1:$((redis_port + i)) -> $(redis-cli -c -p $((redis_port + i)) get name)"
    done
}

down_quiet() {
    local f
    for f in "$dir"/pids/*.pid; do
        [ -f "$f" ] || continue
        local pid
        pid=$(cat "$f")
        kill -CONT "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
    done
    local i
    for i in $(seq 1 50); do
        local any=0
        for f in "$dir"/pids/*.pid; do
            [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && any=1
        done
        [ "$any" = 0 ] && break
        sleep 0.1
    done
    for f in "$dir"/pids/*.pid; do
        [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true
    done
    rm -rf "$dir"
}

down() {
    if [ ! -d "$dir" ]; then
        echo "demo: nothing to stop"
        return 0
    fi
    down_quiet
    echo "demo: stopped and removed $dir"
}

case "${1:-}" in
    up) up ;;
    status) status ;;
    failover) failover ;;
    down) down ;;
    *) echo "usage: $0 up|status|failover|down" >&2; exit 2 ;;
esac
