#!/usr/bin/env bash
# End-to-end test of the README's first command: deploy/local/demo.sh up, status, up again
# (idempotent), a killed master seen SDOWN by every sidecar, `failover` (picket promotes,
# the old master rejoins as a replica, the key is readable everywhere), down (stops exactly
# what it started, removes its directory). Uses its own ports and directory so it never touches a
# demo a developer is running.
#   demo_test.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export PICKET_DEMO_BUILD=$1
export PICKET_DEMO_DIR=$(mktemp -d /tmp/picket-demo-test.XXXXXX)
export PICKET_DEMO_REDIS_PORT=12700 PICKET_DEMO_HTTP_PORT=12801 PICKET_DEMO_PEER_PORT=12800 \
    PICKET_DEMO_PROM_PORT=12990
demo="$root/deploy/local/demo.sh"
trap '"$demo" down >/dev/null 2>&1 || true' EXIT
fail() {
    echo "demo_test: FAIL: $*" >&2
    grep -hE "vote: (odown|became|failover)|failover_" "$PICKET_DEMO_DIR"/picketd-vm*.log 2>/dev/null |
        tail -n 20 >&2 || true
    exit 1
}

out=$("$demo" up 2>&1) || fail "up failed: $out"
grep -q "cluster demo  state ok" <<<"$out" || fail "up did not show the cluster: $out"
for i in 0 1 2 3 4 5; do
    grep -q "http://127.0.0.1:$((12801 + 10 * i))" <<<"$out" || fail "sidecar $i URL missing"
done
curl -sf "http://127.0.0.1:12990/-/ready" >/dev/null || fail "Prometheus not ready"

again=$("$demo" up 2>&1) || fail "second up failed"
grep -q "already running" <<<"$again" || fail "second up was not idempotent: $again"

# The tutorial's Steps 4 and 5 through the demo: picket promotes, the old master rejoins.
fo=$("$demo" failover 2>&1) || fail "failover failed: $fo"
grep -q "replica answers as master" <<<"$fo" || fail "no promotion in the timeline: $fo"
grep -q "writes to key name succeed again" <<<"$fo" || fail "writes did not come back: $fo"
grep -q "is now: slave" <<<"$fo" || fail "old master did not rejoin as a replica: $fo"
[ "$(grep -c -- '-> hello cluster' <<<"$fo")" = 6 ] || fail "key not readable through every node: $fo"

# Kill a master: every sidecar must hold it SDOWN with dead evidence (bounded wait).
master_port=$(redis-cli -p 12700 cluster nodes | awk '/master/ && !/fail/ {split($2, a, "[:@]"); print a[2]; exit}')
kill -9 "$(cat "$PICKET_DEMO_DIR/pids/redis-$master_port.pid")"
for i in 0 1 2 3 4 5; do
    url="http://127.0.0.1:$((12801 + 10 * i))/v1/status"
    ok=0
    for _ in $(seq 1 100); do
        if curl -sf "$url" | python3 -c "
import json, sys
d = json.load(sys.stdin)
n = [x for x in d['nodes'] if x['address'] == '127.0.0.1:$master_port']
sys.exit(0 if n and n[0]['state'] == 'sdown' and n[0]['evidence'] == 'dead' else 1)"; then
            ok=1
            break
        fi
        sleep 0.1
    done
    [ "$ok" = 1 ] || fail "sidecar $i did not hold 127.0.0.1:$master_port SDOWN"
done

"$demo" status | grep -q "NODES NOT UP" || fail "status does not show the dead master"
pids=$(cat "$PICKET_DEMO_DIR"/pids/*.pid)
"$demo" down | grep -q "stopped" || fail "down did not report"
[ ! -e "$PICKET_DEMO_DIR" ] || fail "down left $PICKET_DEMO_DIR"
for p in $pids; do
    kill -0 "$p" 2>/dev/null && fail "process $p survived down"
done
echo "demo_test: 1 passed, 0 failed"
