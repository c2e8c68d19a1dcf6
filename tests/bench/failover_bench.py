#!/usr/bin/env python3
"""Failover time, side by side: picket vs Redis Cluster alone vs Sentinel vs the floor.

    tests/bench/failover_bench.py --quick                 # a few runs of each cell, minutes
    tests/bench/failover_bench.py                         # the full run (states its duration)
    tests/bench/failover_bench.py --systems picket,cluster-1000 --runs 30 --scenarios kill9
    tests/bench/failover_bench.py --smoke                 # one kill -9, cluster-1000 (ctest)
    tests/bench/failover_bench.py --from-csv A/runs.csv B/runs.csv --out C   # tables again

For every system (a fresh set of redis-server processes on free loopback ports in a temp
dir, plus picketd or redis-sentinel where the system has them) and every scenario, it runs
N faults and measures the write gap with tests/bench/write_probe (build dir's
tests/bench/write_probe): the probe writes every 10 ms to a key owned by the victim master
and follows the failover; the driver sends the probe SIGUSR1 and, right after, the fault
(kill -9 / SIGSTOP / kill -9 of the master and the picketd beside it). The gap is the
longest interval between acknowledged writes around the fault.

Systems
  picket          3+3 cluster, cluster-node-timeout 15000, cluster-replica-no-failover yes,
                  six picketd (one per node, like deploy/local/demo.sh), down_after 1s
  picket-default  the same with no detection section at all (picket's defaults)
  cluster-1000, cluster-5000, cluster-15000
                  3+3 cluster failing over by itself at that cluster-node-timeout
  sentinel-1000   master + replica + 3 sentinels, down-after-milliseconds 1000
  floor-force, floor-takeover
                  the picket cluster without picketd: the driver itself sends CLUSTER
                  FAILOVER FORCE / TAKEOVER to the victim's replica right after the fault
Scenarios
  kill9           kill -9 of the master
  sigstop         SIGSTOP of the master (timeouts only; SIGCONT after the failover)
  vmdeath         kill -9 of the master and of the picketd beside it (picket systems only)
  vmdeath-leader  the same, with the victim chosen as the master beside the leader (the
                  leader is moved, by restarting its picketd, until it sits beside a master)
  two-masters     kill -9 of two masters at once (no majority of masters left: the cluster
                  alone never recovers; picket, with allow_takeover, takes one shard over
                  and then FORCEs the other). Two probes, one per victim's shard; the gap
                  is the longer of the two (full coverage back). Anchors run at most
                  TWO_MASTERS_ANCHOR_RUNS times with a TWO_MASTERS_LIMIT_S limit each.

A cluster is reused across runs: after each fault the old master is restarted (or
continued), and the next run starts when it is a replica in sync again and (picket) every
picketd sees the whole topology healthy. The victim of each run is whichever master owns
the key then. picketd runs with cooldown 0s and max_failovers 1000 per 1m so that back to
back failovers of one shard are allowed (the defaults, 5m and 3 per hour, would block them).

Output (--out, default a new directory under /tmp): runs.csv (one row per run),
summary.csv, summary.md (the table, with ratios picket/anchor at equal detection threshold).
Every process started is stopped on exit (also on Ctrl-C); every wait is bounded.
"""

import argparse
import csv
import ctypes
import datetime
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

KEY = "picket:bench:probe"
ALL_SYSTEMS = ["picket", "picket-default", "cluster-1000", "cluster-5000", "cluster-15000",
               "sentinel-1000", "floor-force", "floor-takeover"]
ALL_SCENARIOS = ["kill9", "sigstop", "vmdeath", "vmdeath-leader", "two-masters"]
# two-masters: the cluster alone never recovers; its runs stop at this limit, and there are
# at most this many (each costs the whole limit).
TWO_MASTERS_LIMIT_S = 20
TWO_MASTERS_ANCHOR_RUNS = 3
# Seconds one run of a cell takes (fault to recovered; measured on a shared 2-core VM), for
# the duration estimate printed up front.
EST_RUN_S = {"picket": 7, "picket-default": 7, "cluster-1000": 7, "cluster-5000": 13,
             "cluster-15000": 25, "sentinel-1000": 9, "floor-force": 6, "floor-takeover": 6}
EST_SETUP_S = 15
# cluster-node-timeout of each cluster system (ms).
NODE_TIMEOUT_MS = {"picket": 15000, "picket-default": 15000, "cluster-1000": 1000,
                   "cluster-5000": 5000, "cluster-15000": 15000}


class BenchError(Exception):
    pass


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- processes

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphan survives a killed driver


class Procs:
    """Every child process the driver starts; stop_all() ends each one (by its pid)."""

    def __init__(self):
        self.procs = []

    def start(self, argv, log_path, cwd=None):
        with open(log_path, "ab") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=cwd,
                                 preexec_fn=_die_with_parent)
        self.procs.append(p)
        return p

    def start_pipe(self, argv):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True,
                             preexec_fn=_die_with_parent)
        self.procs.append(p)
        return p

    def stop(self, p, timeout=5):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGCONT)
                p.terminate()
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=timeout)
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            try:
                self.stop(p)
            except Exception:  # best effort on the way out
                pass


PROCS = Procs()


def free_port(with_bus=False):
    """A free loopback port (and port + 10000 free too, for a cluster bus)."""
    for _ in range(500):
        p = random.randint(20000, 29999) if with_bus else random.randint(30000, 45000)
        ok = True
        for q in ([p, p + 10000] if with_bus else [p]):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", q))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok and p not in _used_ports:
            _used_ports.add(p)
            return p
    raise BenchError("no free port found")


_used_ports = set()


# ---------------------------------------------------------------------------- RESP

def _encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def _read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        return RedisError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode(errors="replace")
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise ConnectionError("bad reply %r" % line)


class RedisError(str):
    pass


def cmd(port, *args, timeout=1.0):
    """One command on a fresh connection to 127.0.0.1:port; raises OSError on failure."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(_encode(args))
        with s.makefile("rb") as f:
            return _read_reply(f)


def try_cmd(port, *args, timeout=1.0):
    try:
        return cmd(port, *args, timeout=timeout)
    except (OSError, ConnectionError, ValueError):
        return None


def info(port, section="replication"):
    r = try_cmd(port, "INFO", section)
    if not isinstance(r, str) or isinstance(r, RedisError):
        return {}
    out = {}
    for line in r.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def wait_until(what, seconds, fn, interval=0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise BenchError("timed out after %ss waiting for %s" % (seconds, what))


# ---------------------------------------------------------------------------- systems

class RedisNode:
    def __init__(self, workdir, port, args):
        self.port = port
        self.dir = os.path.join(workdir, "redis-%d" % port)
        os.makedirs(self.dir, exist_ok=True)
        self.args = args
        self.proc = None

    def start(self, extra=()):
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--appendonly", "no",
                "--logfile", os.path.join(self.dir, "redis.log")] + list(self.args) + list(extra)
        self.proc = PROCS.start(argv, os.path.join(self.dir, "stdout.log"))
        wait_until("redis on %d" % self.port, 10, lambda: try_cmd(self.port, "PING") == "PONG")

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=5)
        PROCS.procs.remove(self.proc)

    def stop_signal(self, sig):
        self.proc.send_signal(sig)


class ClusterSystem:
    """A 3+3 Redis Cluster; optionally six picketd sidecars."""

    def __init__(self, workdir, node_timeout, no_failover, picketd=None, picket_detection=None,
                 allow_takeover=False):
        self.allow_takeover = allow_takeover
        self.workdir = workdir
        self.node_timeout = node_timeout
        args = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(node_timeout)]
        if no_failover:
            args += ["--cluster-replica-no-failover", "yes"]
        self.nodes = [RedisNode(workdir, free_port(with_bus=True), args) for _ in range(6)]
        self.picketd_path = picketd
        self.picket_detection = picket_detection
        self.sidecars = []  # (http_port, config path, Popen)
        self.keys = []
        self.last_fault = {}  # victim port -> unix time of its last fault

    def start(self):
        for n in self.nodes:
            n.start()
        r = subprocess.run(["redis-cli", "--cluster", "create"]
                           + ["127.0.0.1:%d" % n.port for n in self.nodes]
                           + ["--cluster-replicas", "1", "--cluster-yes"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise BenchError("cluster create failed: " + r.stdout[-500:] + r.stderr[-500:])
        self.wait_healthy(60)
        self.keys = self.find_keys()
        if self.picketd_path:
            self.start_sidecars()
            self.wait_sidecars_settled(60)

    def ports(self):
        return [n.port for n in self.nodes]

    def node(self, port):
        return next(n for n in self.nodes if n.port == port)

    def seeds(self):
        return ",".join("127.0.0.1:%d" % p for p in self.ports())

    def cluster_nodes(self, port):
        r = try_cmd(port, "CLUSTER", "NODES")
        if not isinstance(r, str) or isinstance(r, RedisError):
            return None
        out = []
        for line in r.strip().splitlines():
            f = line.split()
            out.append({"id": f[0], "port": int(f[1].split("@")[0].rsplit(":", 1)[1]),
                        "flags": f[2].split(","), "master": f[3], "epoch": int(f[6]),
                        "slots": f[8:]})
        return out

    def find_keys(self):
        """One probe key per shard (slots stay with their shard across failovers)."""
        owners = {}
        for i in range(1000):
            key = "%s:%d" % (KEY, i)
            m, _ = self.owner_of_key(key)  # called on a fresh cluster: one master a shard
            owners.setdefault(m, key)
            if len(owners) == 3:
                return list(owners.values())
        raise BenchError("no key found for every shard")

    def pick_key(self, run_no):
        """Round-robin over the shards, and no master is failed over again within
        2 x cluster-node-timeout of its last failover: Redis masters refuse to vote for a
        replica of the same master sooner (FORCE does not bypass that)."""
        key = self.keys[run_no % len(self.keys)]
        victim, _ = self.owner_of_key(key)
        rest = self.last_fault.get(victim, 0) + 2 * self.node_timeout / 1000 + 0.5 - time.time()
        if rest > 0:
            time.sleep(rest)
        return key

    def note_fault(self, victim, at):
        self.last_fault[victim] = at

    def owner_of_key(self, key):
        """(master port, replica port) of the key's slot, as the nodes agree."""
        slot = cmd(self.nodes[0].port, "CLUSTER", "KEYSLOT", key)
        for p in self.ports():
            view = self.cluster_nodes(p)
            if not view:
                continue
            for n in view:
                if "master" not in n["flags"] or "fail" in n["flags"]:
                    continue
                for s in n["slots"]:
                    if s.startswith("["):
                        continue
                    lo, _, hi = s.partition("-")
                    if int(lo) <= slot <= int(hi or lo):
                        reps = [m["port"] for m in view if m["master"] == n["id"]]
                        if len(reps) != 1:
                            raise BenchError("master %d has replicas %s" % (n["port"], reps))
                        return n["port"], reps[0]
        raise BenchError("no owner of slot %d" % slot)

    def healthy(self):
        """Every node up, cluster_state ok everywhere, 3 masters with one synced replica
        each, no fail flags, all views agree on who is master."""
        masters = None
        for p in self.ports():
            ci = try_cmd(p, "CLUSTER", "INFO")
            if not isinstance(ci, str) or "cluster_state:ok" not in ci:
                return False
            view = self.cluster_nodes(p)
            if not view or len(view) != 6:
                return False
            if any("fail" in n["flags"] or "fail?" in n["flags"] or "handshake" in n["flags"]
                   for n in view):
                return False
            m = sorted(n["port"] for n in view if "master" in n["flags"])
            if masters is None:
                masters = m
            elif m != masters or len(m) != 3:
                return False
        for p in self.ports():
            i = info(p)
            if i.get("role") == "slave" and i.get("master_link_status") != "up":
                return False
            if i.get("role") == "master" and i.get("connected_slaves") != "1":
                return False
        return True

    def wait_healthy(self, seconds):
        wait_until("a healthy cluster", seconds, self.healthy, interval=0.1)

    # picketd ----------------------------------------------------------------

    def start_sidecars(self):
        secret = os.path.join(self.workdir, "peer.secret")
        with open(secret, "w") as f:
            f.write(os.urandom(32).hex())
        os.chmod(secret, 0o600)
        peers = [free_port() for _ in self.nodes]
        https = [free_port() for _ in self.nodes]
        for i, n in enumerate(self.nodes):
            vid = "vm%d" % (i + 1)
            lines = ["watcher:", "  id: %s" % vid,
                     "  peer_listen: 127.0.0.1:%d" % peers[i],
                     "  http_listen: 127.0.0.1:%d" % https[i],
                     "  state_dir: %s/state-%s" % (self.workdir, vid),
                     "peers:", "  secret_file: %s" % secret, "  members:"]
            for j in range(len(self.nodes)):
                if j != i:
                    lines.append("    - {id: vm%d, address: 127.0.0.1:%d}" % (j + 1, peers[j]))
            lines += ["cluster:", "  name: bench",
                      "  seeds: [127.0.0.1:%d, 127.0.0.1:%d]"
                      % (n.port, self.nodes[(i + 1) % 6].port)]
            if self.picket_detection:
                lines += ["detection:"] + ["  %s: %s" % kv for kv in self.picket_detection]
            lines += ["failover:", "  cluster_node_timeout: %dms" % self.node_timeout,
                      "  allow_takeover: %s" % ("true" if self.allow_takeover else "false"),
                      # Back-to-back failovers of one shard, run after run.
                      "  cooldown: 0s", "  max_failovers: 1000", "  max_failovers_window: 1m"]
            conf = os.path.join(self.workdir, "picket-%s.yml" % vid)
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            os.makedirs(os.path.join(self.workdir, "state-" + vid), exist_ok=True)
            self.sidecars.append([https[i], conf, None])
            self.start_sidecar(i)

    def start_sidecar(self, i):
        http, conf, _ = self.sidecars[i]
        self.sidecars[i][2] = PROCS.start(
            [self.picketd_path, "--config", conf],
            os.path.join(self.workdir, "picketd-vm%d.log" % (i + 1)))

    def kill_sidecar(self, i):
        p = self.sidecars[i][2]
        p.kill()
        p.wait(timeout=5)
        PROCS.procs.remove(p)

    def status(self, i, timeout=2.0):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/v1/status" % self.sidecars[i][0],
                                        timeout=timeout) as r:
                return json.load(r)
        except (OSError, ValueError):
            return None

    def leader(self):
        for i, s in enumerate(self.sidecars):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/leader" % s[0], timeout=1) as r:
                    if r.status == 200:
                        return i
            except OSError:
                pass
        return None

    def sidecars_settled(self):
        for i in range(len(self.sidecars)):
            d = self.status(i)
            if not d:
                return False
            if len(d.get("shards", [])) != 3 or any(len(s["replicas"]) != 1 for s in d["shards"]):
                return False
            if d["cluster"].get("disagreements"):
                return False
            if len(d.get("nodes", [])) != 6 or any(n.get("state") != "up" for n in d["nodes"]):
                return False
        return self.leader() is not None

    def wait_sidecars_settled(self, seconds):
        wait_until("every picketd to see the whole cluster healthy", seconds,
                   self.sidecars_settled, interval=0.2)

    def picket_phases(self, victim_port, fault_unix, first_ack_unix):
        """detect/decide/promote/converge (ms) of this failover from the leader's events."""
        want = ["sdown", "odown_declared", "failover_started", "failover_command_sent",
                "failover_promoted"]

        def collect():
            li = self.leader()
            if li is None:
                return None
            d = self.status(li)
            if not d:
                return None
            victim_id = None
            for n in d.get("nodes", []):
                if n.get("address", "").endswith(":%d" % victim_port):
                    victim_id = n.get("node_id")
            seen = {}
            for e in d.get("events", []):
                k = e.get("kind")
                if k not in want or k in seen or e.get("at_unix", 0) < fault_unix - 0.002:
                    continue
                if k == "sdown" and not e.get("address", "").endswith(":%d" % victim_port):
                    continue
                if k != "sdown" and e.get("node_id") and victim_id and e["node_id"] != victim_id:
                    continue
                seen[k] = e["at_unix"]
            return seen if "failover_promoted" in seen else None

        try:
            seen = wait_until("the leader's failover_promoted event", 10, collect, interval=0.2)
        except BenchError:
            return {}
        ms = lambda a, b: round((seen[b] - seen[a]) * 1000, 1) if a in seen and b in seen else ""
        seen["fault"] = fault_unix
        seen["ack"] = first_ack_unix
        return {"sdown_ms": ms("fault", "sdown"), "detect_ms": ms("fault", "odown_declared"),
                "decide_ms": ms("odown_declared", "failover_command_sent"),
                "promote_ms": ms("failover_command_sent", "failover_promoted"),
                "converge_ms": ms("failover_promoted", "ack"),
                "command_after_fault_ms": ms("fault", "failover_command_sent")}

    def recover(self, victim_port, scenario, sidecar_index, more_victims=()):
        n = self.node(victim_port)
        if scenario == "sigstop":
            n.stop_signal(signal.SIGCONT)
        else:
            n.start()
        for v in more_victims:
            self.node(v).start()
        if scenario.startswith("vmdeath") and sidecar_index is not None:
            self.start_sidecar(sidecar_index)
        self.wait_healthy(90)
        if self.sidecars:
            self.wait_sidecars_settled(60)

    def masters(self):
        view = self.cluster_nodes(self.nodes[0].port) or []
        return [n["port"] for n in view if "master" in n["flags"] and n["slots"]]

    def key_of(self, master_port):
        for k in self.keys:
            if self.owner_of_key(k)[0] == master_port:
                return k
        raise BenchError("no probe key owned by master %d" % master_port)

    def throttle(self, victim):
        """pick_key()'s rule for a victim chosen another way."""
        rest = self.last_fault.get(victim, 0) + 2 * self.node_timeout / 1000 + 0.5 - time.time()
        if rest > 0:
            time.sleep(rest)

    def leader_beside_a_master(self, tries=8):
        """Index of the leader's picketd once it sits beside a master: while it sits beside
        a replica, its picketd is restarted (the others elect another leader)."""
        for _ in range(tries):
            li = self.leader()
            if li is not None and self.nodes[li].port in self.masters():
                return li
            if li is not None:
                self.kill_sidecar(li)
                self.start_sidecar(li)
                time.sleep(0.5)
            self.wait_sidecars_settled(60)
        raise BenchError("the leader never sat beside a master in %d tries" % tries)


class SentinelSystem:
    """One master, one replica, three sentinels (quorum 2)."""

    NAME = "bench"

    def __init__(self, workdir, down_after_ms):
        self.workdir = workdir
        self.down_after_ms = down_after_ms
        self.nodes = [RedisNode(workdir, free_port(), []), RedisNode(workdir, free_port(), [])]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels = []
        self.last_fault = 0.0

    def start(self):
        self.nodes[0].start()
        self.nodes[1].start(["--replicaof", "127.0.0.1", str(self.nodes[0].port)])
        for p in self.sentinel_ports:
            d = os.path.join(self.workdir, "sentinel-%d" % p)
            os.makedirs(d)
            conf = os.path.join(d, "sentinel.conf")
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\ndir %s\n" % (p, d)
                        + "sentinel monitor %s 127.0.0.1 %d 2\n" % (self.NAME, self.nodes[0].port)
                        + "sentinel down-after-milliseconds %s %d\n" % (self.NAME,
                                                                       self.down_after_ms)
                        # failover-timeout also spaces failovers of one master (2x): keep it
                        # short so that runs can follow each other.
                        + "sentinel failover-timeout %s 3000\n" % self.NAME)
            self.sentinels.append(PROCS.start(["redis-sentinel", conf],
                                              os.path.join(d, "stdout.log")))
        self.wait_healthy(60)

    def seeds(self):
        return ",".join("127.0.0.1:%d" % p for p in self.sentinel_ports)

    def master_port(self):
        ports = set()
        for p in self.sentinel_ports:
            r = try_cmd(p, "SENTINEL", "get-master-addr-by-name", self.NAME)
            if not isinstance(r, list):
                return None
            ports.add(int(r[1]))
        return ports.pop() if len(ports) == 1 else None

    def healthy(self):
        m = self.master_port()
        if m is None:
            return False
        for p in self.sentinel_ports:
            r = try_cmd(p, "SENTINEL", "master", self.NAME)
            if not isinstance(r, list):
                return False
            d = dict(zip(r[::2], r[1::2]))
            if d.get("num-other-sentinels") != "2" or d.get("num-slaves") != "1":
                return False
            if d.get("flags") != "master":
                return False
            reps = try_cmd(p, "SENTINEL", "replicas", self.NAME)
            if not isinstance(reps, list) or len(reps) != 1:
                return False
            rd = dict(zip(reps[0][::2], reps[0][1::2]))
            if rd.get("flags") != "slave" or rd.get("master-link-status") != "ok":
                return False
        mi = info(m)
        return mi.get("role") == "master" and mi.get("connected_slaves") == "1" and \
            "state=online" in mi.get("slave0", "")

    def wait_healthy(self, seconds):
        wait_until("sentinel setup healthy", seconds, self.healthy, interval=0.2)

    def pick_key(self, run_no):
        return KEY

    def note_fault(self, victim, at):
        self.last_fault = at

    def owner_of_key(self, key):
        m = self.master_port()
        return m, next(n.port for n in self.nodes if n.port != m)

    def node(self, port):
        return next(n for n in self.nodes if n.port == port)

    def recover(self, victim_port, scenario, sidecar_index):
        n = self.node(victim_port)
        new_master = wait_until("sentinels to agree on a new master", 30,
                                lambda: (self.master_port() or victim_port) != victim_port
                                and self.master_port())
        if scenario == "sigstop":
            n.stop_signal(signal.SIGCONT)
        else:
            # Restarted as the new master's replica, as an operator would; Sentinel would
            # otherwise reconfigure it only some seconds after it reports itself master.
            n.start(["--replicaof", "127.0.0.1", str(new_master)])
        self.wait_healthy(90)
        # Sentinel does not start a failover of a master within 2 x failover-timeout of the
        # previous one.
        rest = self.last_fault + 6.5 - time.time()
        if rest > 0:
            time.sleep(rest)


# ---------------------------------------------------------------------------- one run

def make_system(name, workdir, picketd):
    if name == "picket":
        # allow_takeover: only the two-masters scenario needs it (a majority of masters
        # lives in every other one, where picket uses FORCE whatever the setting).
        return ClusterSystem(workdir, 15000, True, picketd, [("down_after", "1s")],
                             allow_takeover=True)
    if name == "picket-default":
        return ClusterSystem(workdir, 15000, True, picketd, None)
    if name.startswith("cluster-"):
        return ClusterSystem(workdir, int(name.split("-")[1]), False)
    if name == "sentinel-1000":
        return SentinelSystem(workdir, 1000)
    if name in ("floor-force", "floor-takeover"):
        return ClusterSystem(workdir, 15000, True)
    raise BenchError("unknown system " + name)


def run_probe_result(probe):
    try:
        out, err = probe.communicate(timeout=100)
    except subprocess.TimeoutExpired:
        raise BenchError("probe did not finish")
    for line in out.splitlines():
        if '"result"' in line:
            return json.loads(line)
    raise BenchError("probe printed no result: %s %s" % (out, err))


def run_two_masters(system_name, sysobj, probe_path, run_no):
    """kill -9 of two masters at once; one probe per victim's shard."""
    key = sysobj.pick_key(run_no)
    first, _ = sysobj.owner_of_key(key)
    second = next(m for m in sysobj.masters() if m != first)
    sysobj.throttle(second)
    victims = [first, second]
    keys = [key, sysobj.key_of(second)]
    limit = 90 if sysobj.sidecars else TWO_MASTERS_LIMIT_S
    probes = []
    try:
        for k in keys:
            probes.append(PROCS.start_pipe([probe_path, "--seeds", sysobj.seeds(), "--key", k,
                                            "--interval-ms", "10", "--max-seconds", str(limit)]))
        for p in probes:
            ready = p.stdout.readline()
            if '"ready"' not in ready:
                raise BenchError("probe did not become ready: %r" % ready)
        time.sleep(0.3)
        fault_unix = time.time()
        for p in probes:
            p.send_signal(signal.SIGUSR1)
        for v in victims:
            sysobj.node(v).kill9()
            sysobj.note_fault(v, fault_unix)
        results = [run_probe_result(p) for p in probes]
    finally:
        for p in probes:
            PROCS.stop(p)
    gaps = [r.get("gap_ms") for r in results]
    full = None if any(g is None for g in gaps) else max(gaps)
    note = "gaps %s ms" % " / ".join("none in %d s" % limit if g is None else "%.0f" % g
                                     for g in gaps)
    row = {"system": system_name, "scenario": "two-masters", "run": run_no,
           "victim": "%d+%d" % tuple(victims),
           "new_owner": " ".join(r.get("new_owner", "") for r in results), "gap_ms": full,
           "fault_to_first_ack_ms": "", "failures": "", "note": note}
    if full is not None and sysobj.sidecars:
        # Phases of the shard whose command went out last (one failover at a time), against
        # the first write acknowledged on both shards (a cluster that misses slots refuses
        # every write: cluster-require-full-coverage).
        back = max(r["first_ack_after_unix_ms"] for r in results) / 1000.0
        phases = [sysobj.picket_phases(v, fault_unix, back) for v in victims]
        phases = [ph for ph in phases if ph.get("command_after_fault_ms") not in ("", None)]
        if phases:
            row.update(max(phases, key=lambda ph: ph["command_after_fault_ms"]))
    sysobj.recover(victims[0], "two-masters", None, more_victims=victims[1:])
    return row


def run_once(system_name, sysobj, scenario, probe_path, run_no):
    if scenario == "two-masters":
        return run_two_masters(system_name, sysobj, probe_path, run_no)
    if scenario == "vmdeath-leader":
        li = sysobj.leader_beside_a_master()
        victim = sysobj.nodes[li].port
        sysobj.throttle(victim)
        key = sysobj.key_of(victim)
    else:
        key = sysobj.pick_key(run_no)
    victim, replica = sysobj.owner_of_key(key)
    if isinstance(sysobj, SentinelSystem):
        probe_argv = [probe_path, "--sentinels", sysobj.seeds(), "--master-name", sysobj.NAME]
    else:
        probe_argv = [probe_path, "--seeds", sysobj.seeds()]
    probe_argv += ["--key", key, "--interval-ms", "10", "--max-seconds", "90"]
    probe = PROCS.start_pipe(probe_argv)
    try:
        ready = probe.stdout.readline()
        if '"ready"' not in ready:
            raise BenchError("probe did not become ready: %r %s" % (ready, probe.stderr.read()))
        time.sleep(0.3)  # a steady stream of acknowledged writes before the fault
        node = sysobj.node(victim)
        sidecar_index = None
        fault_unix = time.time()
        probe.send_signal(signal.SIGUSR1)
        if scenario == "sigstop":
            node.stop_signal(signal.SIGSTOP)
        else:
            node.kill9()
            if scenario.startswith("vmdeath"):
                sidecar_index = sysobj.ports().index(victim)
                sysobj.kill_sidecar(sidecar_index)
        sysobj.note_fault(victim, fault_unix)
        floor_reply = ""
        if system_name in ("floor-force", "floor-takeover"):
            mode = "FORCE" if system_name == "floor-force" else "TAKEOVER"
            t = time.monotonic()
            floor_reply = str(try_cmd(replica, "CLUSTER", "FAILOVER", mode))
            floor_reply += " in %.1f ms" % ((time.monotonic() - t) * 1000)
        result = run_probe_result(probe)
    finally:
        PROCS.stop(probe)
    row = {"system": system_name, "scenario": scenario, "run": run_no,
           "victim": victim, "new_owner": result.get("new_owner", ""),
           "gap_ms": result.get("gap_ms"),
           "fault_to_first_ack_ms": result.get("fault_to_first_ack_ms", ""),
           "failures": result.get("failures", ""), "note": floor_reply or result.get("error", "")}
    if isinstance(sysobj, ClusterSystem) and sysobj.sidecars and result.get("gap_ms") is not None:
        row.update(sysobj.picket_phases(victim, result["fault_unix_ms"] / 1000.0,
                                        result["first_ack_after_unix_ms"] / 1000.0))
    sysobj.recover(victim, scenario, sidecar_index)
    return row


# ---------------------------------------------------------------------------- statistics

def percentile(sorted_vals, q):
    if not sorted_vals:
        return None
    k = (len(sorted_vals) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def stats(vals):
    v = sorted(float(x) for x in vals if x not in ("", None))
    if not v:
        return None
    return {"n": len(v), "min": v[0], "p50": percentile(v, 0.5), "p90": percentile(v, 0.9),
            "max": v[-1]}


def fmt(x):
    return "" if x is None else ("%.0f" % x if x >= 100 else "%.1f" % x)


def summarize(rows, out_dir, header_lines):
    cells = {}
    for r in rows:
        cells.setdefault((r["scenario"], r["system"]), []).append(r)
    summary = []
    for (scen, system), rs in cells.items():
        g = stats(r["gap_ms"] for r in rs)
        entry = {"scenario": scen, "system": system, "runs": len(rs),
                 "failed": sum(1 for r in rs if r["gap_ms"] in ("", None))}
        for k in ("min", "p50", "p90", "max"):
            entry["gap_" + k] = g[k] if g else None
        for ph in ("sdown_ms", "detect_ms", "decide_ms", "promote_ms", "converge_ms",
                   "command_after_fault_ms"):
            s = stats(r.get(ph, "") for r in rs)
            entry[ph + "_p50"] = s["p50"] if s else None
            entry[ph + "_p90"] = s["p90"] if s else None
        summary.append(entry)
    order = {s: i for i, s in enumerate(ALL_SYSTEMS)}
    summary.sort(key=lambda e: (ALL_SCENARIOS.index(e["scenario"]), order.get(e["system"], 99)))

    with open(os.path.join(out_dir, "summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(summary[0].keys()))
        w.writeheader()
        for e in summary:
            w.writerow({k: ("" if v is None else (round(v, 1) if isinstance(v, float) else v))
                        for k, v in e.items()})

    md = list(header_lines)
    for scen in ALL_SCENARIOS:
        es = [e for e in summary if e["scenario"] == scen]
        if not es:
            continue
        hang = scen == "sigstop"  # timeouts only: what counts is the time past the timeout
        md += ["", "### %s — write gap (ms)" % scen, ""]
        if scen == "two-masters":
            md += ["The gap is the longer of the two shards' gaps (full coverage back); *failed* "
                   "= a shard without an acknowledged write within the limit (%d s for the "
                   "anchors, 90 s for picket) — the cluster alone never recovers without a "
                   "majority of masters. picket's phases are those of the shard failed over second "
                   "(one failover at a time)." %
                   TWO_MASTERS_LIMIT_S, ""]
        md += [
               "| system | runs | failed | min | p50 | p90 | max |"
               + (" p50 − cluster-node-timeout |" if hang else ""),
               "| --- | ---: | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if hang else "")]
        for e in es:
            line = "| %s | %d | %d | %s | %s | %s | %s |" % (
                e["system"], e["runs"], e["failed"], fmt(e["gap_min"]), fmt(e["gap_p50"]),
                fmt(e["gap_p90"]), fmt(e["gap_max"]))
            if hang:
                nt = NODE_TIMEOUT_MS.get(e["system"])
                line += " %s |" % (fmt(e["gap_p50"] - nt) if nt and e["gap_p50"] else "")
            md.append(line)
        ps = [e for e in es if e["system"].startswith("picket") and e["detect_ms_p50"] is not None]
        if ps:
            md += ["", "picket's phases (ms, p50 / p90), from the leader's events: detect = fault → "
                   "ODOWN (the watchers agree), decide = ODOWN → CLUSTER FAILOVER FORCE sent, "
                   "promote = → the replica answers as master, converge = → the probe's first "
                   "write acknowledged (negative: the write came back before picket had verified "
                   "the promotion); above down_after = command sent − fault − 1000 ms "
                   "(above cluster-node-timeout: − 15000 ms); "
                   "SDOWN = fault → the leader's own SDOWN."
                   + (" On timeouts only, decide includes picket's wait for "
                      "cluster-node-timeout + 1 s after the last contact." if hang else ""), "",
                   "| system | SDOWN | detect | decide | promote | converge | above %s |"
                   % ("cluster-node-timeout" if hang else "down_after"),
                   "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for e in ps:
                def pp(k):
                    return "%s / %s" % (fmt(e[k + "_p50"]), fmt(e[k + "_p90"]))
                base = 15000 if hang else 1000
                above = e["command_after_fault_ms_p50"]
                above90 = e["command_after_fault_ms_p90"]
                md.append("| %s | %s | %s | %s | %s | %s | %s / %s |" % (
                    e["system"], pp("sdown_ms"), pp("detect_ms"), pp("decide_ms"),
                    pp("promote_ms"), pp("converge_ms"),
                    fmt(above - base if above is not None else None),
                    fmt(above90 - base if above90 is not None else None)))
        by = {e["system"]: e for e in es}
        ratios = []
        for p in ("picket", "picket-default"):
            anchors = ((("cluster-15000", "equal cluster-node-timeout (15 s): on a hang picket "
                          "waits for it too"),) if hang else
                       (("cluster-1000", "equal threshold (1 s)"),
                        ("sentinel-1000", "equal threshold (1 s)"),
                        ("cluster-15000", "the tutorial's configuration, left alone"),
                        ("floor-force", "the floor: FORCE sent at the fault")))
            for anchor, note in anchors:
                a, b = by.get(p), by.get(anchor)
                if a and b and a["gap_p50"] and b["gap_p50"]:
                    ratios.append("| %s / %s | %.2f | %.2f | %s |" % (
                        p, anchor, a["gap_p50"] / b["gap_p50"], a["gap_p90"] / b["gap_p90"], note))
        if ratios:
            md += ["", "| ratio (write gap) | p50 | p90 | |", "| --- | ---: | ---: | --- |"] + ratios
    text = "\n".join(md) + "\n"
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write(text)
    return text


# ---------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default="build", help="CMake build dir with the probe, picketd")
    ap.add_argument("--systems", default=",".join(ALL_SYSTEMS))
    ap.add_argument("--scenarios", default="kill9")
    ap.add_argument("--runs", type=int, help="runs per cell (default: full 100 picket / 20 others)")
    ap.add_argument("--anchor-runs", type=int, help="runs per non-picket cell")
    ap.add_argument("--quick", action="store_true", help="3 runs per cell")
    ap.add_argument("--smoke", action="store_true",
                    help="one kill -9 of cluster-1000; exit 1 unless the probe reports a gap")
    ap.add_argument("--out", help="result directory (default: a new one under /tmp)")
    ap.add_argument("--max-minutes", type=float, default=240,
                    help="stop starting new runs after this long (results so far are kept)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (logs) on exit")
    ap.add_argument("--from-csv", nargs="+", metavar="RUNS_CSV",
                    help="run nothing: summarize these runs.csv files (merged) into --out")
    a = ap.parse_args()

    if a.from_csv:
        rows = []
        for path in a.from_csv:
            with open(path, newline="") as f:
                for r in csv.DictReader(f):
                    r["gap_ms"] = float(r["gap_ms"]) if r["gap_ms"] else None
                    rows.append(r)
        out_dir = a.out or os.path.dirname(os.path.abspath(a.from_csv[0]))
        os.makedirs(out_dir, exist_ok=True)
        print(summarize(rows, out_dir, ["## Failover write gap (from %s)" % ", ".join(a.from_csv)]))
        return 0

    if a.smoke:
        a.systems, a.scenarios, a.runs, a.anchor_runs = "cluster-1000", "kill9", 1, 1
    systems = [s for s in a.systems.split(",") if s]
    scenarios = [s for s in a.scenarios.split(",") if s]
    for s in systems:
        if s not in ALL_SYSTEMS:
            ap.error("unknown system %s (known: %s)" % (s, ", ".join(ALL_SYSTEMS)))
    for s in scenarios:
        if s not in ALL_SCENARIOS:
            ap.error("unknown scenario %s (known: %s)" % (s, ", ".join(ALL_SCENARIOS)))
    picket_runs = a.runs or (3 if a.quick else 100)
    anchor_runs = a.anchor_runs or a.runs or (3 if a.quick else 20)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    build = a.build_dir if os.path.isabs(a.build_dir) else os.path.join(root, a.build_dir)
    probe = os.path.join(build, "tests", "bench", "write_probe")
    picketd = os.path.join(build, "daemon", "picketd")
    if not os.access(probe, os.X_OK):
        sys.exit("no %s: build first (cmake --build %s --target write_probe)" % (probe, build))
    if any(s.startswith("picket") for s in systems) and not os.access(picketd, os.X_OK):
        sys.exit("no %s: build first (cmake --build %s --target picketd)" % (picketd, build))
    for tool in ("redis-server", "redis-cli", "redis-sentinel"):
        if not shutil.which(tool):
            sys.exit("%s not found (deploy/install-deps.sh installs it)" % tool)

    cells = []
    for scen in scenarios:
        for s in systems:
            if scen.startswith("vmdeath") and not s.startswith("picket"):
                continue  # no watcher beside the master to kill
            if scen == "two-masters" and (s.startswith("floor") or s == "sentinel-1000"):
                continue
            if scen == "two-masters" and not s.startswith("picket"):
                cells.append((s, scen, min(anchor_runs, TWO_MASTERS_ANCHOR_RUNS)))
                continue
            if scen == "sigstop" and s.startswith("floor"):
                continue
            if scen != "kill9" and s == "sentinel-1000":
                continue
            cells.append((s, scen, picket_runs if s.startswith("picket") else anchor_runs))
    def extra_s(s, scen):
        if scen == "two-masters":
            return 20 if s.startswith("picket") else TWO_MASTERS_LIMIT_S + 10
        return 5 if scen == "vmdeath-leader" else 0

    est = sum(EST_SETUP_S + n * (EST_RUN_S[s] + extra_s(s, scen) +
                                 (15 if scen == "sigstop" and s.startswith("picket")
                                                 else 0)) for s, scen, n in cells)
    log("plan: %d cells, %d runs; expected duration about %d min (2-core machine)"
        % (len(cells), sum(n for _, _, n in cells), round(est / 60)))

    out_dir = a.out or tempfile.mkdtemp(prefix="picket-failover-bench-results.")
    os.makedirs(out_dir, exist_ok=True)
    started = time.monotonic()
    rows = []
    fields = ["system", "scenario", "run", "victim", "new_owner", "gap_ms",
              "fault_to_first_ack_ms", "failures", "sdown_ms", "detect_ms", "decide_ms",
              "promote_ms", "converge_ms", "command_after_fault_ms", "note"]
    runs_csv = open(os.path.join(out_dir, "runs.csv"), "w", newline="")
    writer = csv.DictWriter(runs_csv, fieldnames=fields)
    writer.writeheader()
    errors = []

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        # One system at a time; its scenarios reuse the same processes.
        for s in systems:
            mine = [(scen, n) for sys_, scen, n in cells if sys_ == s]
            if not mine:
                continue
            if (time.monotonic() - started) / 60 > a.max_minutes:
                break
            workdir = tempfile.mkdtemp(prefix="picket-failover-bench.%s." % s)
            log("%s: setting up in %s" % (s, workdir))
            try:
                sysobj = make_system(s, workdir, picketd)
                sysobj.start()
                for scen, n in mine:
                    for i in range(1, n + 1):
                        if (time.monotonic() - started) / 60 > a.max_minutes:
                            log("--max-minutes reached")
                            break
                        row = run_once(s, sysobj, scen, probe, i)
                        rows.append(row)
                        writer.writerow({k: row.get(k, "") for k in fields})
                        runs_csv.flush()
                        log("%s %s #%d: gap %s ms %s" % (s, scen, i, row["gap_ms"],
                            " ".join("%s=%s" % (k[:-3], row[k]) for k in
                                     ("detect_ms", "decide_ms", "promote_ms") if row.get(k))))
            except BenchError as e:
                errors.append("%s: %s" % (s, e))
                log("%s: ERROR %s (logs in %s)" % (s, e, workdir))
                a.keep = True if a.smoke else a.keep
            finally:
                PROCS.stop_all()
                if not a.keep and not errors:
                    shutil.rmtree(workdir, ignore_errors=True)
    except KeyboardInterrupt:
        log("interrupted; stopping everything")
    finally:
        PROCS.stop_all()
        runs_csv.close()

    header = ["## Failover write gap — %s" % datetime.datetime.now(datetime.timezone.utc)
              .strftime("%Y-%m-%d %H:%M UTC"), "",
              "Machine: %s, %d CPUs, %s; %s. Command: `%s`." % (
                  platform.node(), os.cpu_count() or 0, platform.platform(),
                  subprocess.run(["redis-server", "--version"], capture_output=True,
                                 text=True).stdout.split()[2],
                  " ".join(["tests/bench/failover_bench.py"] + sys.argv[1:]))]
    if rows:
        print(summarize(rows, out_dir, header))
    log("results in %s (runs.csv, summary.csv, summary.md)" % out_dir)
    for e in errors:
        log("ERROR", e)
    if a.smoke:
        ok = len(rows) == 1 and isinstance(rows[0]["gap_ms"], (int, float)) and \
            rows[0]["gap_ms"] > 0 and not errors
        if not ok:
            print("smoke: FAIL: the probe reported no write gap: %s %s" % (rows, errors))
            return 1
        print("smoke: OK: write gap %.1f ms after kill -9 (cluster-node-timeout 1000)"
              % rows[0]["gap_ms"])
        if not a.out:
            shutil.rmtree(out_dir, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        PROCS.stop_all()
