#!/usr/bin/env python3
"""Scale benchmark (issue #8, "Scale and cost"): what one picketd costs while watching N
emulated Redis Cluster nodes (tests/scale/fleet_emulator) at ping_interval 100 ms.

    tests/scale/scale_bench.py --build-dir build [--quick] [--nodes 100,500,1000]
                               [--seconds 30] [--out-dir DIR] [--sentinel]
    tests/scale/scale_bench.py --build-dir build --smoke     # the ctest smoke (50 nodes)
    tests/scale/scale_bench.py --build-dir build --real 60   # 60 real redis-server nodes

For each N: start the emulator (N ports), one picketd (seeds: three emulator ports, no
peers, failover disabled: detection only), wait until /v1/status lists N nodes all up,
then measure over --seconds: picketd CPU % of one core (utime+stime from /proc/PID/stat),
RSS (VmRSS, and the peak VmHWM), PINGs/s achieved (picket_ping_attempts_total), /metrics
scrape time (p50/p99 over --scrapes curl requests) and size, /v1/status time and size; then
detection latency: one node made to refuse connections (kill -9 alike) -> SDOWN with dead
evidence, and one node made to hang (SIGSTOP alike) -> SDOWN. Prints a Markdown table with
the issue's targets beside it and writes scale.csv / scale.md to --out-dir.

--sentinel adds the comparison with redis-sentinel: K real standalone redis-server masters
monitored by one redis-sentinel (it PINGs each once a second) against picketd watching K
emulated nodes at ping_interval 1s; CPU per monitored node.

--real N measures the same columns against N real redis-server processes (cluster mode,
one temp dir and free loopback ports each, joined by `redis-cli --cluster create` as N/2
masters with one replica each, cluster-node-timeout 15 s so the cluster's own failover
stays out of the detection checks): "refuse" is kill -9 (recover: restart on the same
port and nodes.conf), "hang" is SIGSTOP (recover: SIGCONT). The emulator CPU column is
then the redis-server processes' CPU together.

Everything started is stopped (also on Ctrl-C). Not a pass/fail test except --smoke.
"""

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TICKS = os.sysconf("SC_CLK_TCK")
PROCS = []


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        log(f"warning: RLIMIT_NOFILE {soft} < {want}; large N will fail (raise the hard limit)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def spawn(argv, logfile, **kw):
    f = open(logfile, "wb")
    p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, start_new_session=True, **kw)
    PROCS.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in PROCS:
        PROCS.remove(p)


def stop_all(*_):
    for p in list(PROCS):
        stop(p)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def http_get(url, timeout=60):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def ping_attempts(base):
    total = 0.0
    for line in http_get(base + "/metrics").decode().splitlines():
        if line.startswith("picket_ping_attempts_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def curl_times(url, count, budget_s=60):
    """Milliseconds and bytes of up to `count` sequential requests, each by its own curl,
    stopping once `budget_s` is spent (a saturated picketd takes seconds per scrape).
    A request that fails or takes over 30 s counts as 30000 ms and 0 bytes."""
    times, sizes = [], []
    start = time.monotonic()
    for _ in range(count):
        r = subprocess.run(["curl", "-sf", "--max-time", "30", "-o", "/dev/null", "-w",
                            "%{time_total} %{size_download}", url], capture_output=True, text=True)
        out = r.stdout.split()
        ok = r.returncode == 0 and len(out) == 2
        times.append(float(out[0]) * 1000 if ok else 30000.0)
        sizes.append(int(out[1]) if ok else 0)
        if time.monotonic() - start > budget_s and len(times) >= 5:
            break
    return times, sizes


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


class Emulator:
    def __init__(self, build, work, n):
        self.ports_file = os.path.join(work, f"ports-{n}")
        exe = os.path.join(build, "tests", "scale", "fleet_emulator")
        self.proc = spawn([exe, "--nodes", str(n), "--ports-file", self.ports_file],
                          os.path.join(work, f"emulator-{n}.log"))
        deadline = time.monotonic() + 30
        while not os.path.exists(self.ports_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fleet_emulator did not start (see {work}/emulator-{n}.log)")
            time.sleep(0.05)
        with open(self.ports_file) as f:
            lines = f.read().split("\n")
        self.control_port = int(lines[0].split()[1])
        self.nodes = []  # (index, port, id, role)
        for line in lines[1:]:
            if line.strip():
                i, p, nid, role = line.split()
                self.nodes.append((int(i), int(p), nid, role))
        self.ctl = socket.create_connection(("127.0.0.1", self.control_port))
        self.ctl_file = self.ctl.makefile("r")

    def control(self, line):
        self.ctl.sendall((line + "\n").encode())
        reply = self.ctl_file.readline().strip()
        if not reply.startswith("OK"):
            raise RuntimeError(f"emulator control '{line}': {reply}")
        return reply

    def address(self, k):
        return f"127.0.0.1:{self.nodes[k][1]}"

    def cpu_seconds(self):
        return cpu_seconds(self.proc.pid)

    def close(self):
        self.ctl.close()
        stop(self.proc)


def redis_cli(port, *argv, timeout=10):
    r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *argv],
                       capture_output=True, text=True, timeout=timeout)
    return r.stdout


def free_ports(count):
    """`count` distinct free loopback ports (each bound and released)."""
    ports = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


class RealCluster:
    """N real redis-server cluster nodes on free loopback ports (N/2 masters, 1 replica each),
    driven like the emulator: control("refuse K" | "hang K" | "recover K")."""

    def __init__(self, work, n):
        if n < 6 or n % 2:
            raise RuntimeError("--real needs an even N >= 6 (N/2 masters with one replica each)")
        if not (shutil.which("redis-server") and shutil.which("redis-cli")):
            raise RuntimeError("--real needs redis-server and redis-cli on PATH")
        self.work = work
        ports = free_ports(2 * n)
        self.ports, self.bus_ports = ports[:n], ports[n:]
        self.procs = [None] * n
        self.stopped = set()
        for k in range(n):
            self.start(k)
        for k in range(n):
            for _ in range(200):
                if redis_cli(self.ports[k], "PING").strip() == "PONG":
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError(f"redis-server on {self.ports[k]} did not start")
        r = subprocess.run(["redis-cli", "--cluster", "create",
                            *[f"127.0.0.1:{p}" for p in self.ports],
                            "--cluster-replicas", "1", "--cluster-yes"],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {r.stdout[-500:]}{r.stderr[-500:]}")
        deadline = time.monotonic() + 120
        while True:
            ok = all("cluster_state:ok" in redis_cli(p, "CLUSTER", "INFO") for p in self.ports)
            known = redis_cli(self.ports[0], "CLUSTER", "NODES").count("\n")
            if ok and known >= n:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster of {n} not ok within 120s")
            time.sleep(0.5)
        self.nodes = []  # (index, port, id, role), as the emulator lists them
        lines = redis_cli(self.ports[0], "CLUSTER", "NODES").splitlines()
        by_port = {}
        for line in lines:
            f = line.split()
            by_port[int(f[1].split("@")[0].rsplit(":", 1)[1])] = (f[0], "master" if "master" in f[2] else "replica")
        for k, p in enumerate(self.ports):
            nid, role = by_port[p]
            self.nodes.append((k, p, nid, role))

    def start(self, k):
        d = os.path.join(self.work, f"redis-{self.ports[k]}")
        os.makedirs(d, exist_ok=True)
        self.procs[k] = spawn(["redis-server", "--port", str(self.ports[k]), "--bind", "127.0.0.1",
                               "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                               "--cluster-port", str(self.bus_ports[k]),
                               "--cluster-node-timeout", "15000", "--save", "",
                               "--appendonly", "no", "--dir", d], os.path.join(d, "log"))

    def control(self, line):
        fault, k = line.split()
        k = int(k)
        p = self.procs[k]
        if fault == "refuse":
            p.kill()
            p.wait()
        elif fault == "hang":
            os.kill(p.pid, signal.SIGSTOP)
            self.stopped.add(k)
        elif fault == "recover":
            if k in self.stopped:
                os.kill(p.pid, signal.SIGCONT)
                self.stopped.discard(k)
            if p.poll() is not None:
                if p in PROCS:
                    PROCS.remove(p)
                self.start(k)
        else:
            raise RuntimeError(f"unknown control {line}")
        return "OK"

    def address(self, k):
        return f"127.0.0.1:{self.ports[k]}"

    def cpu_seconds(self):
        total = 0.0
        for p in self.procs:
            try:
                total += cpu_seconds(p.pid)
            except OSError:
                pass
        return total

    def close(self):
        for k in list(self.stopped):
            os.kill(self.procs[k].pid, signal.SIGCONT)
        for p in self.procs:
            if p is not None:
                stop(p)


class Picketd:
    def __init__(self, build, work, name, seeds, ping_interval="100ms", extra=""):
        self.http = free_port()
        self.base = f"http://127.0.0.1:{self.http}"
        cfg = os.path.join(work, f"{name}.yml")
        with open(cfg, "w") as f:
            f.write(f"""watcher:
  id: {name}
  http_listen: 127.0.0.1:{self.http}
  peer_listen: 127.0.0.1:{free_port()}
  state_dir: {work}/state-{name}
cluster:
  name: scale
  seeds: [{", ".join(seeds)}]
detection:
  ping_interval: {ping_interval}
  down_after: 1s
{extra}failover:
  enabled: false
""")
        exe = os.path.join(build, "daemon", "picketd")
        self.proc = spawn([exe, "--config", cfg, "--log-level", "warn"],
                          os.path.join(work, f"{name}.log"))
        deadline = time.monotonic() + 20
        while True:
            try:
                http_get(self.base + "/livez", timeout=1)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"picketd did not start (see {work}/{name}.log)")
                time.sleep(0.1)

    def status(self):
        return json.loads(http_get(self.base + "/v1/status", timeout=30))

    def wait_nodes(self, n, timeout):
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            try:
                nodes = self.status().get("nodes", [])
                up = sum(1 for x in nodes if x.get("state") == "up")
                seen = len(nodes)
                if seen == n and up == n:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"picketd saw {seen} nodes, not {n} all up, within {timeout}s")

    def node(self, address, doc=None):
        doc = doc or self.status()
        for x in doc.get("nodes", []):
            if x.get("address") == address:
                return x
        return None

    def close(self):
        stop(self.proc)


def detect(emu, pd, k, fault, want_evidence, earliest, timeout=30):
    """Faults node k; returns (seconds to SDOWN as picketd stamped it, seconds until a
    /v1/status poll first showed it, evidence)."""
    address = emu.address(k)
    t0 = time.monotonic()
    emu.control(f"{fault} {k}")
    time.sleep(max(0.0, earliest - 0.3))
    try:
        while time.monotonic() - t0 < timeout:
            a = time.monotonic()
            n = pd.node(address)
            b = time.monotonic()
            if n and n.get("state") == "sdown":
                stamped = (a + b) / 2 - n["sdown_for_ms"] / 1000 - t0
                if want_evidence and n.get("evidence") != want_evidence:
                    raise RuntimeError(f"{address} SDOWN with evidence {n.get('evidence')}, "
                                       f"expected {want_evidence}")
                return stamped, b - t0, n.get("evidence")
            time.sleep(0.05)
        raise RuntimeError(f"{address} not SDOWN {timeout}s after '{fault}'")
    finally:
        emu.control(f"recover {k}")


def wait_up(pd, address, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = pd.node(address)
        if n and n.get("state") == "up":
            return
        time.sleep(0.2)
    raise RuntimeError(f"{address} not up again within {timeout}s")


def measure_n(args, work, n, real=False):
    log(f"== N={n}" + (" real redis-server nodes" if real else ""))
    emu = RealCluster(work, n) if real else Emulator(args.build_dir, work, n)
    pd = None
    try:
        seeds = [emu.address(k) for k in range(min(3, n))]
        extra = f"  info_interval: {args.info_interval}\n" if args.info_interval else ""
        pd = Picketd(args.build_dir, work, f"scale{n}", seeds, extra=extra)
        t = time.monotonic()
        pd.wait_nodes(n, 60 + n / 10)
        discover_s = time.monotonic() - t
        log(f"   {n} nodes up after {discover_s:.1f}s; warm-up {args.warmup:g}s, "
            f"measuring {args.seconds}s")
        time.sleep(args.warmup)
        pid = pd.proc.pid
        c0, e0, p0, w0 = cpu_seconds(pid), emu.cpu_seconds(), ping_attempts(pd.base), time.monotonic()
        time.sleep(args.seconds)
        c1, e1, p1, w1 = cpu_seconds(pid), emu.cpu_seconds(), ping_attempts(pd.base), time.monotonic()
        row = {
            "nodes": f"{n} real" if real else n,
            "ping_interval_ms": 100,
            "discover_s": round(discover_s, 2),
            "cpu_pct": round(100 * (c1 - c0) / (w1 - w0), 2),
            "rss_mib": round(status_kib(pid, "VmRSS") / 1024, 1),
            "rss_peak_mib": round(status_kib(pid, "VmHWM") / 1024, 1),
            "pings_per_s": round((p1 - p0) / (w1 - w0), 1),
            "pings_target_per_s": n * 10,
            "emulator_cpu_pct": round(100 * (e1 - e0) / (w1 - w0), 2),
        }
        times, sizes = curl_times(pd.base + "/metrics", args.scrapes)
        row.update(metrics_p50_ms=round(pct(times, 50), 2), metrics_p99_ms=round(pct(times, 99), 2),
                   metrics_bytes=max(sizes), metrics_scrapes=len(times))
        times, sizes = curl_times(pd.base + "/v1/status", max(5, args.scrapes // 5))
        row.update(status_p50_ms=round(pct(times, 50), 2), status_bytes=max(sizes))
        # Detection: a master refuses (kill -9 alike), then a replica hangs (SIGSTOP alike).
        # A failure here (picketd too slow to see it) is recorded, not fatal.
        victim = 2 if n > 2 else 0
        try:
            s, seen, ev = detect(emu, pd, victim, "refuse", "dead", 1.0, timeout=60)
            row.update(refuse_sdown_s=round(s, 3), refuse_seen_s=round(seen, 3), refuse_evidence=ev)
            wait_up(pd, emu.address(victim), timeout=60)
            hung = 3 if n > 3 else 0
            s, seen, ev = detect(emu, pd, hung, "hang", None, 5.0, timeout=60)
            row.update(hang_sdown_s=round(s, 3), hang_seen_s=round(seen, 3), hang_evidence=ev)
            wait_up(pd, emu.address(hung), timeout=60)
        except RuntimeError as e:
            row["detection_error"] = str(e)
        log("   " + json.dumps(row))
        return row
    finally:
        if pd:
            pd.close()
        emu.close()


def sentinel_compare(args, work, k):
    """CPU of redis-sentinel monitoring k standalone masters vs picketd watching k
    emulated nodes at ping_interval 1s (both ping each node once a second)."""
    log(f"== sentinel comparison K={k}")
    servers, ports = [], []
    sent = None
    try:
        for i in range(k):
            p = free_port()
            d = os.path.join(work, f"redis-{p}")
            os.makedirs(d)
            servers.append(spawn(["redis-server", "--port", str(p), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", d],
                                 os.path.join(d, "log")))
            ports.append(p)
        for p in ports:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", p), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
        sp = free_port()
        conf = os.path.join(work, f"sentinel-{k}.conf")
        with open(conf, "w") as f:
            f.write(f"port {sp}\nbind 127.0.0.1\ndir {work}\n")
            for i, p in enumerate(ports):
                f.write(f"sentinel monitor m{i} 127.0.0.1 {p} 1\n"
                        f"sentinel down-after-milliseconds m{i} 1000\n")
        sent = spawn(["redis-sentinel", conf], os.path.join(work, f"sentinel-{k}.log"))
        time.sleep(5)
        c0, w0 = cpu_seconds(sent.pid), time.monotonic()
        time.sleep(args.seconds)
        c1, w1 = cpu_seconds(sent.pid), time.monotonic()
        sentinel_cpu = 100 * (c1 - c0) / (w1 - w0)
        sentinel_rss = status_kib(sent.pid, "VmRSS") / 1024
    finally:
        if sent:
            stop(sent)
        for s in servers:
            stop(s)
    emu = Emulator(args.build_dir, work, k)
    pd = None
    try:
        pd = Picketd(args.build_dir, work, f"cmp{k}", [emu.address(0)], ping_interval="1s")
        pd.wait_nodes(k, 60)
        time.sleep(3)
        c0, p0, w0 = cpu_seconds(pd.proc.pid), ping_attempts(pd.base), time.monotonic()
        time.sleep(args.seconds)
        c1, p1, w1 = cpu_seconds(pd.proc.pid), ping_attempts(pd.base), time.monotonic()
        picket_cpu = 100 * (c1 - c0) / (w1 - w0)
        row = {
            "nodes": k,
            "sentinel_cpu_pct": round(sentinel_cpu, 2),
            "sentinel_cpu_pct_per_node": round(sentinel_cpu / k, 4),
            "sentinel_rss_mib": round(sentinel_rss, 1),
            "picketd_cpu_pct": round(picket_cpu, 2),
            "picketd_cpu_pct_per_node": round(picket_cpu / k, 4),
            "picketd_rss_mib": round(status_kib(pd.proc.pid, "VmRSS") / 1024, 1),
            "picketd_pings_per_s": round((p1 - p0) / (w1 - w0), 1),
        }
        log("   " + json.dumps(row))
        return row
    finally:
        if pd:
            pd.close()
        emu.close()


def smoke(args, work):
    """ctest: 50 emulated nodes, picketd finds all 50 and sees a refused one as SDOWN
    with dead evidence, and up again after recover."""
    n = 50
    emu = Emulator(args.build_dir, work, n)
    pd = None
    try:
        pd = Picketd(args.build_dir, work, "smoke", [emu.address(0)])
        pd.wait_nodes(n, 40)
        doc = pd.status()
        shards = doc.get("shards", [])
        if len(shards) != n // 2:
            raise RuntimeError(f"{len(shards)} shards in /v1/status, expected {n // 2}")
        s, seen, ev = detect(emu, pd, 4, "refuse", "dead", 1.0)
        wait_up(pd, emu.address(4))
        if ping_attempts(pd.base) <= 0:
            raise RuntimeError("no picket_ping_attempts_total counted")
        print(f"smoke ok: {n} nodes, {len(shards)} shards, refused node SDOWN "
              f"({ev}) {s:.3f}s after the fault (seen by a poll at {seen:.3f}s)")
    finally:
        if pd:
            pd.close()
        emu.close()


TARGETS = {"cpu_pct": 25.0, "rss_mib": 64.0, "metrics_p50_ms": 50.0, "metrics_p99_ms": 50.0}


def markdown(rows, cmp_rows, machine):
    cols = [("nodes", "N"), ("cpu_pct", "CPU % of 1 core"), ("rss_mib", "RSS MiB"),
            ("rss_peak_mib", "peak RSS MiB"), ("pings_per_s", "PING/s"),
            ("pings_target_per_s", "PING/s wanted"), ("metrics_p50_ms", "/metrics p50 ms"),
            ("metrics_p99_ms", "/metrics p99 ms"), ("metrics_bytes", "/metrics bytes"),
            ("status_p50_ms", "/v1/status p50 ms"), ("status_bytes", "/v1/status bytes"),
            ("refuse_sdown_s", "refused→SDOWN s"), ("hang_sdown_s", "hang→SDOWN s"),
            ("discover_s", "discovery s"), ("emulator_cpu_pct", "emulator CPU %")]
    out = [f"picketd at ping_interval 100ms, down_after 1s, down_after_unresponsive 5s; {machine}", ""]
    out.append("| " + " | ".join(h for _, h in cols) + " |")
    out.append("|" + "|".join("---" for _ in cols) + "|")
    for r in rows:
        if "error" in r:
            out.append(f"| {r['nodes']} | failed: {r['error']} |")
        else:
            out.append("| " + " | ".join(str(r.get(k, "")) for k, _ in cols) + " |")
    out.append("| target (issue #8, N=1000) | ≤ 25 | ≤ 64 | | 10000 | 10000 | ≤ 50 | ≤ 50 |"
               " | | | ≈ 1 + interval | ≈ 5 + interval | | |")
    big = [r for r in rows if r["nodes"] == 1000 and "error" not in r]
    if any(str(r["nodes"]).endswith("real") for r in rows):
        out += ["", "\"N real\": real redis-server cluster nodes; the emulator CPU column is then "
                "their CPU together."]
    if big:
        r = big[0]
        verdict = []
        for k, limit in TARGETS.items():
            verdict.append(f"{k} {r[k]} {'≤' if r[k] <= limit else '>'} {limit} "
                           f"({'met' if r[k] <= limit else 'MISSED'})")
        verdict.append(f"pings/s {r['pings_per_s']} of {r['pings_target_per_s']}")
        out += ["", "Against the targets at N=1000: " + "; ".join(verdict) + "."]
    if cmp_rows:
        out += ["", "redis-sentinel (K standalone masters, PING 1/s each) vs picketd "
                "(K emulated nodes, ping_interval 1s):", "",
                "| K | sentinel CPU % | sentinel CPU %/node | sentinel RSS MiB | picketd CPU % |"
                " picketd CPU %/node | picketd RSS MiB | picketd PING/s |",
                "|---|---|---|---|---|---|---|---|"]
        for r in cmp_rows:
            out.append(f"| {r['nodes']} | {r['sentinel_cpu_pct']} | {r['sentinel_cpu_pct_per_node']}"
                       f" | {r['sentinel_rss_mib']} | {r['picketd_cpu_pct']} |"
                       f" {r['picketd_cpu_pct_per_node']} | {r['picketd_rss_mib']} |"
                       f" {r['picketd_pings_per_s']} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--quick", action="store_true", help="N=100 only, 10 s")
    ap.add_argument("--smoke", action="store_true", help="the ctest smoke (50 nodes)")
    ap.add_argument("--nodes", default="100,500,1000")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--scrapes", type=int, default=50)
    ap.add_argument("--warmup", type=float, default=3,
                    help="seconds between all nodes up and the window; picketd reads 2 nodes' "
                         "CLUSTER NODES a second, so it holds every node's view after ~N/2 s")
    ap.add_argument("--sentinel", default="", help="K values for the sentinel comparison, e.g. 10,30,60")
    ap.add_argument("--out-dir", default=".")
    ap.add_argument("--info-interval", default="", help="detection.info_interval (default: picketd's, 1s)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    ap.add_argument("--real", type=int, default=0,
                    help="also measure N real redis-server cluster nodes (e.g. 60)")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    for exe in ("daemon/picketd", "tests/scale/fleet_emulator"):
        if not os.access(os.path.join(args.build_dir, exe), os.X_OK):
            sys.exit(f"no {args.build_dir}/{exe}: build first (cmake --build {args.build_dir})")
    nodes = [int(x) for x in args.nodes.split(",") if x and x != "0"]
    if args.quick:
        nodes, args.seconds = [100], min(args.seconds, 10)
    raise_fd_limit(3 * max(nodes + [50]) + 256)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    work = tempfile.mkdtemp(prefix="picket-scale.")
    try:
        if args.smoke:
            smoke(args, work)
            return
        rows = []
        for n in nodes:
            try:
                rows.append(measure_n(args, work, n))
            except (RuntimeError, OSError) as e:
                log(f"   N={n} failed: {e}")
                rows.append({"nodes": n, "error": str(e)})
        if args.real:
            try:
                rows.append(measure_n(args, work, args.real, real=True))
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                log(f"   N={args.real} real failed: {e}")
                rows.append({"nodes": f"{args.real} real", "error": str(e)})
        if all("error" in r for r in rows):
            raise RuntimeError("every N failed")
        cmp_rows = [sentinel_compare(args, work, int(k)) for k in args.sentinel.split(",") if k]
        machine = (f"{os.cpu_count()} cores, {os.uname().release}, "
                   f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, measured over "
                   f"{args.seconds:g}s per N after a {args.warmup:g}s warm-up"
                   + (f", info_interval {args.info_interval}" if args.info_interval else ""))
        md = markdown(rows, cmp_rows, machine)
        print(md)
        os.makedirs(args.out_dir, exist_ok=True)
        with open(os.path.join(args.out_dir, "scale.md"), "w") as f:
            f.write(md)
        with open(os.path.join(args.out_dir, "scale.csv"), "w", newline="") as f:
            fields = []
            for r in rows:
                fields += [k for k in r if k not in fields]
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)
        if cmp_rows:
            with open(os.path.join(args.out_dir, "scale_sentinel.csv"), "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(cmp_rows[0].keys()))
                w.writeheader()
                w.writerows(cmp_rows)
    finally:
        stop_all()
        if args.keep:
            log(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
    except RuntimeError as e:
        stop_all()
        sys.exit(f"scale_bench: {e}")
