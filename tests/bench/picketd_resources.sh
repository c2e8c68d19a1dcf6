#!/usr/bin/env bash
# Benchmark (not a test): what one picketd costs while watching the tutorial's 6-node
# cluster at a 100 ms ping interval — CPU, RSS — and how long a /metrics scrape takes.
#
#   tests/bench/picketd_resources.sh [BUILD_DIR] [SECONDS]
#
# Starts 6 redis-server processes (cluster-enabled, appendonly, cluster-node-timeout
# 15000) on free loopback ports in a temp dir, creates the 3+3 cluster, runs picketd
# against it, measures, and stops everything it started (also on Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/ci}
seconds=${2:-30}
picketd=$build/daemon/picketd
[ -x "$picketd" ] || { echo "no $picketd: build first (tests/run.sh or cmake --build $build)" >&2; exit 1; }

work=$(mktemp -d /tmp/picket-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {  # a port P with P and P+10000 free (cluster bus)
    python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(10000, 22000)
    ok = True
    for q in (p, p + 10000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            ok = False
        finally:
            s.close()
    if ok:
        print(p)
        break
PY
}

ports=()
for i in 0 1 2 3 4 5; do
    p=$(free_port)
    ports+=("$p")
    mkdir -p "$work/redis-$p"
    (cd "$work/redis-$p" && exec redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
        --appendonly yes --cluster-node-timeout 15000 --save '' --logfile redis.log) &
    pids+=("$!")
done
for p in "${ports[@]}"; do
    for _ in $(seq 1 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-replicas 1 \
    --cluster-yes >"$work/create.log" 2>&1
for _ in $(seq 1 100); do
    redis-cli -p "${ports[0]}" cluster info | grep -q cluster_state:ok && break
    sleep 0.1
done

http_port=$(free_port)
cat >"$work/picket.yml" <<YML
watcher:
  id: bench
  http_listen: 127.0.0.1:$http_port
  state_dir: $work/state
cluster:
  name: bench
  seeds: [127.0.0.1:${ports[0]}]
detection:
  ping_interval: 100ms
YML
"$picketd" --config "$work/picket.yml" --log-level warn >"$work/picketd.log" 2>&1 &
ppid=$!
pids+=("$ppid")
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
sleep 3  # warm-up: connections made, topology read

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$ppid/stat"; }
t0=$(cpu_ticks)
start=$(date +%s.%N)
sleep "$seconds"
t1=$(cpu_ticks)
end=$(date +%s.%N)
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$ppid/status")
cpu_pct=$(awk -v a="$t0" -v b="$t1" -v hz="$ticks" -v s="$start" -v e="$end" \
    'BEGIN { printf "%.2f", 100 * (b - a) / hz / (e - s) }')

lat=$(for _ in $(seq 1 200); do
    curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$http_port/metrics"
done | sort -n)
p50=$(sed -n '100p' <<<"$lat")
p99=$(sed -n '198p' <<<"$lat")
size=$(curl -s "http://127.0.0.1:$http_port/metrics" | wc -c)
pings=$(curl -s "http://127.0.0.1:$http_port/metrics" | awk '/^picket_ping_attempts_total/ {s += $2} END {print s}')

echo "picketd watching 6 nodes, ping_interval 100ms, measured over ${seconds}s on $(nproc) cores"
printf '| %-32s | %s |\n' "metric" "value"
printf '|%s|%s|\n' "----------------------------------" "-------"
printf '| %-32s | %s |\n' "CPU (% of one core)" "$cpu_pct"
printf '| %-32s | %s |\n' "RSS" "$((rss_kib / 1024)) MiB ($rss_kib KiB)"
printf '| %-32s | %s |\n' "PINGs sent so far" "$pings"
printf '| %-32s | %s |\n' "/metrics size" "$size bytes"
printf '| %-32s | %s ms |\n' "/metrics scrape p50 (curl, 200x)" "$(awk -v v="$p50" 'BEGIN {printf "%.2f", v * 1000}')"
printf '| %-32s | %s ms |\n' "/metrics scrape p99" "$(awk -v v="$p99" 'BEGIN {printf "%.2f", v * 1000}')"
