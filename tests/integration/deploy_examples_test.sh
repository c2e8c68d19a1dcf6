#!/usr/bin/env bash
# deploy/examples/six-vms/: every picket-*.yml passes `picketd --check-config` without a
# warning (in a temp copy whose /etc/picket/ paths point at secret files created there with
# mode 0640, as docs/deploy.md installs them); the seven files describe one consistent voter
# set (each lists every other watcher at the address that watcher listens on, same cluster
# name, secrets paths); deploy/prometheus/prometheus.yml scrapes every Redis VM's
# http_listen; redis-6379.conf starts a real redis-server (with this machine's
# port, address and directories substituted) and Redis reports the picket-relevant values.
#
#   deploy_examples_test.sh SOURCE_DIR PICKETD
# Exit 0 pass, 1 fail.
set -euo pipefail
src=$1
picketd=$2
ex="$src/deploy/examples/six-vms"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
redis_pid=""
cleanup() {
    if [ -n "$redis_pid" ]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# 1. check-config on each file, with its secrets present.
mkdir -p "$tmp/etc" "$tmp/state"
umask 077
openssl rand -hex 32 >"$tmp/etc/peer.secret"
openssl rand -hex 32 >"$tmp/etc/redis.password"
openssl rand -hex 32 >"$tmp/etc/admin.token"
chmod 0640 "$tmp"/etc/*
files=("$ex"/picket-*.yml)
[ "${#files[@]}" = 7 ] || fail "expected 7 picket-*.yml (six VMs and a witness), found ${#files[@]}"
for f in "${files[@]}"; do
    name=$(basename "$f")
    sed -e "s#/etc/picket/#$tmp/etc/#g" -e "s#/var/lib/picket#$tmp/state#g" "$f" >"$tmp/$name"
    if grep -v '^ *#' "$tmp/$name" | grep -q '/etc/picket\|/var/lib/picket'; then
        fail "$name: a path was not rewritten"
    fi
    if ! "$picketd" --config "$tmp/$name" --check-config >"$tmp/$name.out" 2>"$tmp/$name.err"; then
        fail "$name: picketd --check-config: $(cat "$tmp/$name.err")"
    elif grep -q '^warning:' "$tmp/$name.err"; then
        fail "$name: warnings: $(grep '^warning:' "$tmp/$name.err")"
    else
        echo "ok: $name passes --check-config without warnings"
    fi
done

# 2. One voter set across the files.
py=""
for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then py=$p; break; fi
done
if [ -n "$py" ]; then
    if out=$("$py" - "${files[@]}" <<'PY' 2>&1
import sys, yaml
docs = {p: yaml.safe_load(open(p)) for p in sys.argv[1:]}
ids = {d["watcher"]["id"]: d for d in docs.values()}
assert len(ids) == len(docs), "watcher ids are not unique"
listen = {i: d["watcher"]["peer_listen"] for i, d in ids.items()}
for i, d in ids.items():
    members = {m["id"]: m["address"] for m in d["peers"]["members"]}
    expected = {j: a for j, a in listen.items() if j != i}
    assert members == expected, f"{i}: members {members} != the others' peer_listen {expected}"
same = ["cluster.name", "cluster.user", "cluster.password_file", "peers.secret_file",
        "failover.cluster_node_timeout", "failover.observe_only", "http.admin_listen"]
def get(d, key):
    for k in key.split("."):
        d = d[k]
    return d
for key in same:
    values = {str(get(d, key)) for d in ids.values()}
    assert len(values) == 1, f"{key} differs between watchers: {values}"
for p, d in docs.items():
    assert p.endswith("picket-%s.yml" % d["watcher"]["id"]), f"{p} holds watcher {d['watcher']['id']}"
print(f"{len(ids)} watchers, one voter set; {len(same)} shared keys agree")
PY
    ); then
        echo "ok: $out"
    else
        fail "voter set: $out"
    fi
else
    echo "info: no python3 with PyYAML; the cross-file voter-set check did not run"
fi

# 3. The Prometheus scrape configuration (deploy/prometheus/prometheus.yml, checked with
#    promtool by its own test) scrapes the http_listen of every Redis VM's watcher.
prom="$src/deploy/prometheus/prometheus.yml"
if [ -f "$prom" ]; then
    for f in "${files[@]}"; do
        [[ "$f" == *witness* ]] && continue
        addr=$(sed -n 's/^  peer_listen: \([0-9.]*\):7700$/\1/p' "$f")
        port=$(sed -n 's/^  http_listen: [0-9.]*:\([0-9]*\)$/\1/p' "$f")
        grep -qE "^ +- $addr:$port\$" "$prom" ||
            fail "$prom does not scrape $addr:$port ($(basename "$f"))"
    done
    echo "ok: deploy/prometheus/prometheus.yml scrapes the six VMs' watchers"
else
    echo "info: no deploy/prometheus/prometheus.yml; scrape targets not checked"
fi

# 4. redis-6379.conf in a real redis-server, with local overrides given after the file.
printf 'user picket on nopass -@all +ping\n' >"$tmp/users.acl"
port=""
for _ in 1 2 3 4 5; do
    candidate=$((10000 + RANDOM % 12000))  # P and P+10000 below the ephemeral range
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null &&
        ! (exec 3<>"/dev/tcp/127.0.0.1/$((candidate + 10000))") 2>/dev/null; then
        port=$candidate
        break
    fi
done
[ -n "$port" ] || { fail "no free port"; exit 1; }
mkdir -p "$tmp/redis"
redis-server "$ex/redis-6379.conf" --bind 127.0.0.1 --port "$port" --dir "$tmp/redis" \
    --aclfile "$tmp/users.acl" --save '' --appendonly no --daemonize no \
    --logfile "$tmp/redis/redis.log" &
redis_pid=$!
up=0
for _ in $(seq 1 50); do
    if redis-cli -p "$port" ping >/dev/null 2>&1; then up=1; break; fi
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
done
if [ "$up" = 1 ]; then
    get() { redis-cli -p "$port" --raw config get "$1" | sed -n 2p; }
    for kv in cluster-enabled=yes cluster-node-timeout=15000 cluster-require-full-coverage=yes \
        cluster-allow-reads-when-down=no cluster-replica-no-failover=no replica-priority=100 \
        min-replicas-to-write=0 cluster-config-file=nodes-6379.conf; do
        [ "$(get "${kv%%=*}")" = "${kv#*=}" ] || fail "redis-6379.conf: ${kv%%=*} is $(get "${kv%%=*}"), expected ${kv#*=}"
    done
    redis-cli -p "$port" acl list | grep -q '^user picket ' || fail "aclfile not loaded"
    echo "ok: redis-server runs redis-6379.conf"
else
    fail "redis-server did not start with redis-6379.conf: $(tail -5 "$tmp/redis/redis.log" 2>/dev/null)"
fi
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
wait "$redis_pid" 2>/dev/null || true
redis_pid=""

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "PASS"
