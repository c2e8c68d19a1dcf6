#!/usr/bin/env python3
"""picket chaos suite: six "VMs" (network namespaces), each with one redis-server and one
picketd, a 3+3 Redis Cluster, and partitions / loss made with iptables inside those
namespaces only; delay and jitter from our proxy (delayproxy.py), wall-clock jumps from
libfaketime. See docs/chaos.md.

    chaos.py --picketd BIN --picketctl BIN [--scenarios net,a,b,...,j] [--long] [--rounds N]
             [--seed N] [--keep]

Exit status: 0 every expectation held, 1 one failed, 77 skipped (not root, no `ip netns`,
a tool missing). Network safety: every address is in 10.213.N.0/24 (N chosen unused on
the host) inside namespaces named pkchaos-*; the "switch" is a bridge in its own
namespace; firewall rules only inside those namespaces; nothing is added to the root
namespace. Everything is removed on exit, on failure and on SIGINT/SIGTERM, and leftovers
of a crashed run (namespaces pkchaos-*, their processes, /tmp/pkchaos-* directories) are
removed at the start.
"""

import argparse
import ctypes
import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

PREFIX = "pkchaos-"
SWITCH = PREFIX + "sw"
SKIP = 77
LOCK = "/tmp/pkchaos.lock"
REDIS_PORT = 6379
PEER_PORT = 7700
HTTP_PORT = 7701
ADMIN_PORT = 7702
TAKEOVER_UNSAFE = "possibly-alive masters could form a majority"


class Failure(Exception):
    pass


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(args, check=True, timeout=30):
    """Runs a command (bounded by `timeout`), returns its stdout."""
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, check=False)
    if check and p.returncode != 0:
        raise Failure(f"{' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def wait_until(what, pred, timeout, interval=0.2):
    """Polls `pred` until it returns a truthy value, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    for _ in range(int(timeout / interval) + 2):
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise Failure(f"timed out after {timeout}s waiting for {what}")


_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphans if we are killed


# ---------------------------------------------------------------------------------------
# Namespaces


def list_our_namespaces():
    out = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def kill_namespace(ns):
    """Kills every process inside `ns` (ours: only pkchaos-* names get here), deletes it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [int(p) for p in run(["ip", "netns", "pids", ns], check=False).split()]
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        for _ in range(30):
            if not run(["ip", "netns", "pids", ns], check=False).split():
                break
            time.sleep(0.1)
    run(["ip", "netns", "del", ns], check=False)


def cleanup_leftovers():
    for ns in list_our_namespaces():
        log(f"removing leftover namespace {ns}")
        kill_namespace(ns)
    for name in os.listdir("/tmp"):
        if name.startswith(PREFIX) and os.path.isdir(os.path.join("/tmp", name)):
            shutil.rmtree(os.path.join("/tmp", name), ignore_errors=True)


def pick_subnet():
    """10.213.N.0/24 with N unused by any address or route of the host."""
    used = run(["ip", "-o", "addr"]) + run(["ip", "route", "show", "table", "all"])
    for n in range(77, 200):
        if f"10.213.{n}." not in used and "10.213.0.0" not in used and "10.0.0.0/8" not in used:
            return f"10.213.{n}"
    raise Failure("no unused 10.213.N.0/24 on this host")


def preflight():
    """None when the suite can run here, else why not (-> exit 77)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and iptables)"
    for tool in ("ip", "iptables", "redis-server", "redis-cli", "curl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = PREFIX + "probe"
    run(["ip", "netns", "del", probe], check=False)
    p = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if p.returncode != 0:
        return f"`ip netns add` is unavailable: {p.stderr.strip()}"
    try:
        p = subprocess.run(["ip", "netns", "exec", probe, "iptables", "-L", "-n"],
                           capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            return f"iptables does not work inside a namespace: {p.stderr.strip()}"
    finally:
        run(["ip", "netns", "del", probe], check=False)
    return None


# ---------------------------------------------------------------------------------------
# The lab: six VMs and a switch


class Vm:
    def __init__(self, index, ip, work):
        self.index = index
        self.name = f"vm{index}"
        self.ns = f"{PREFIX}vm{index}"
        self.ip = ip
        self.dir = os.path.join(work, self.name)
        self.redis = None
        self.picketd = None

    def exec(self, *args, check=True, timeout=30):
        return run(["ip", "netns", "exec", self.ns, *args], check=check, timeout=timeout)

    def spawn(self, args, logfile, env=None):
        out = open(logfile, "ab")
        # `ip netns exec` and `env` exec in place: the Popen's pid is the program's own.
        pre = ["env", *(f"{k}={v}" for k, v in env.items())] if env else []
        try:
            return subprocess.Popen(["ip", "netns", "exec", self.ns, *pre, *args], stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    preexec_fn=_die_with_parent)
        finally:
            out.close()

    def redis_cli(self, *args, check=False, timeout=5):
        return self.exec("redis-cli", "-h", self.ip, "-p", str(REDIS_PORT), *args,
                         check=check, timeout=timeout)

    def http(self, path, timeout=2):
        """GET picketd's `path` from inside the VM (works across partitions)."""
        out = self.exec("curl", "-s", "-m", str(timeout), f"http://{self.ip}:{HTTP_PORT}{path}",
                        check=False, timeout=timeout + 5)
        if path == "/metrics":
            return out
        try:
            return json.loads(out)
        except ValueError:
            return None


FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


class Lab:
    """Options (per scenario): allow_takeover; failover_extra, more `failover:` lines;
    pre_picketd(lab), called after the cluster is created and before any picketd starts
    (scenario i puts its proxies and REDIRECT rules there); faketime, every picketd runs
    with libfaketime and its wall clock offset read from <vm dir>/faketime (scenario j)."""

    def __init__(self, args, allow_takeover=False, failover_extra=(), pre_picketd=None,
                 faketime=False):
        self.args = args
        self.allow_takeover = allow_takeover
        self.failover_extra = list(failover_extra)
        self.pre_picketd = pre_picketd
        self.faketime = faketime
        self.extra_procs = []  # proxies and the like, stopped by down()
        self.work = tempfile.mkdtemp(prefix=PREFIX, dir="/tmp")  # cleanup_leftovers looks there
        self.subnet = pick_subnet()
        self.vms = [Vm(i, f"{self.subnet}.{10 + i}", self.work) for i in range(1, 7)]
        self.token_file = os.path.join(self.work, "admin.token")
        self.failed = False
        self.keep_logs = False  # a tolerated known bug keeps the evidence

    # --- construction -------------------------------------------------------------------
    def up(self):
        log(f"lab in {self.work}, subnet {self.subnet}.0/24")
        run(["ip", "netns", "add", SWITCH])
        run(["ip", "-n", SWITCH, "link", "set", "lo", "up"])
        run(["ip", "-n", SWITCH, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", SWITCH, "link", "set", "br0", "up"])
        for vm in self.vms:
            os.makedirs(vm.dir)
            run(["ip", "netns", "add", vm.ns])
            # Both ends are created directly in our namespaces: nothing in the root one.
            run(["ip", "-n", SWITCH, "link", "add", f"p{vm.index}", "type", "veth", "peer",
                 "name", "eth0", "netns", vm.ns])
            run(["ip", "-n", SWITCH, "link", "set", f"p{vm.index}", "master", "br0"])
            run(["ip", "-n", SWITCH, "link", "set", f"p{vm.index}", "up"])
            run(["ip", "-n", vm.ns, "link", "set", "lo", "up"])
            run(["ip", "-n", vm.ns, "addr", "add", f"{vm.ip}/24", "dev", "eth0"])
            run(["ip", "-n", vm.ns, "link", "set", "eth0", "up"])
            # Our rules live in one chain per VM, so heal() is a flush.
            vm.exec("iptables", "-N", "CHAOS")
            vm.exec("iptables", "-I", "INPUT", "-j", "CHAOS")
        for vm in self.vms:
            self._start_redis(vm)
        for vm in self.vms:
            wait_until(f"redis on {vm.name}", lambda vm=vm: "PONG" in vm.redis_cli("ping"), 15)
        addrs = [f"{vm.ip}:{REDIS_PORT}" for vm in self.vms]
        out = self.vms[0].exec("redis-cli", "--cluster", "create", *addrs, "--cluster-replicas",
                               "1", "--cluster-yes", timeout=60)
        with open(os.path.join(self.work, "cluster-create.log"), "w") as f:
            f.write(out)
        wait_until("cluster_state:ok everywhere",
                   lambda: all(self.cluster_state(vm) == "ok" for vm in self.vms), 30)
        with open(os.path.join(self.work, "peer.secret"), "w") as f:
            f.write(os.urandom(16).hex())
        os.chmod(os.path.join(self.work, "peer.secret"), 0o600)
        with open(self.token_file, "w") as f:
            f.write("chaos-admin-token-0123456789\n")
        os.chmod(self.token_file, 0o600)
        if self.pre_picketd:
            self.pre_picketd(self)
        for vm in self.vms:
            self._write_picket_config(vm)
            self._start_picketd(vm)
        wait_until("every picketd to see 3 shards with a replica each and one leader",
                   self.settled, 60, 0.5)
        self.initial = self.redis_topology()
        log(f"lab up: leader {self.leader()}, masters "
            + ", ".join(f"{self.vm_of(a).name}" for a in self.initial["masters"].values()))

    def _start_redis(self, vm):
        conf = os.path.join(vm.dir, "redis.conf")
        if not os.path.exists(conf):
            with open(conf, "w") as f:
                f.write(f"bind {vm.ip}\nport {REDIS_PORT}\nprotected-mode no\ndir {vm.dir}\n"
                        "cluster-enabled yes\ncluster-config-file nodes.conf\n"
                        f"cluster-node-timeout {self.args.node_timeout}\n"
                        "cluster-replica-no-failover yes\nappendonly yes\nsave \"\"\n"
                        f"daemonize no\nlogfile {vm.dir}/redis.log\n")
        vm.redis = vm.spawn(["redis-server", conf], os.path.join(vm.dir, "redis.stdout"))

    def _write_picket_config(self, vm):
        nt = self.args.node_timeout
        lines = ["watcher:", f"  id: {vm.name}", f"  peer_listen: {vm.ip}:{PEER_PORT}",
                 f"  http_listen: {vm.ip}:{HTTP_PORT}", f"  state_dir: {vm.dir}/state",
                 "peers:", f"  secret_file: {self.work}/peer.secret", "  members:"]
        for other in self.vms:
            if other is not vm:
                lines.append(f"    - {{id: {other.name}, address: {other.ip}:{PEER_PORT}}}")
        nxt = self.vms[vm.index % len(self.vms)]
        lines += ["cluster:", "  name: chaos",
                  f"  seeds: [{vm.ip}:{REDIS_PORT}, {nxt.ip}:{REDIS_PORT}]",
                  "detection:", "  down_after: 1s",
                  "http:", f"  admin_listen: 127.0.0.1:{ADMIN_PORT}",
                  f"  admin_token_file: {self.token_file}",
                  "failover:", f"  cluster_node_timeout: {nt}ms",
                  f"  allow_takeover: {'true' if self.allow_takeover else 'false'}"]
        lines += [f"  {line}" for line in self.failover_extra]
        os.makedirs(os.path.join(vm.dir, "state"), exist_ok=True)
        with open(os.path.join(vm.dir, "picket.yml"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def _start_picketd(self, vm):
        env = None
        if self.faketime:
            # A wall clock that jumps when the file changes (re-read every second); the
            # monotonic and boot-time clocks stay real, as with an NTP step.
            path = os.path.join(vm.dir, "faketime")
            if not os.path.exists(path):
                self.set_clock_offset(vm, 0)
            env = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME_TIMESTAMP_FILE": path,
                   "FAKETIME_CACHE_DURATION": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        vm.picketd = vm.spawn([self.args.picketd, "--config", os.path.join(vm.dir, "picket.yml")],
                              os.path.join(vm.dir, "picketd.log"), env=env)

    def set_clock_offset(self, vm, seconds):
        """vm's picketd sees the wall clock `seconds` off (libfaketime, within ~1 s)."""
        path = os.path.join(vm.dir, "faketime")
        with open(path + ".tmp", "w") as f:
            f.write(f"{'+' if seconds >= 0 else '-'}{abs(int(seconds))}\n")
        os.rename(path + ".tmp", path)

    def down(self):
        for p in self.extra_procs:
            if p.poll() is None:
                p.terminate()
        for p in self.extra_procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for vm in self.vms:
            for p in (vm.picketd, vm.redis):
                if p is not None and p.poll() is None:
                    try:
                        os.kill(p.pid, signal.SIGCONT)
                        p.terminate()
                    except ProcessLookupError:
                        pass
        for vm in self.vms:
            for p in (vm.picketd, vm.redis):
                if p is not None:
                    try:
                        p.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait(timeout=5)
        for ns in [vm.ns for vm in self.vms] + [SWITCH]:
            kill_namespace(ns)
        if self.failed or self.args.keep or self.keep_logs:
            log(f"logs kept in {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    # --- network faults (rules only in our VMs' CHAOS chains) ------------------------------
    def partition(self, side_a, side_b):
        """A and B cannot reach each other. Only INPUT rules: a packet leaves and vanishes,
        as in a real partition (an OUTPUT DROP would fail the sender's own syscalls with
        EPERM at once, which no real network does)."""
        self.one_way(side_a, side_b)
        self.one_way(side_b, side_a)

    def one_way(self, side_a, side_b):
        """Packets from A to B vanish (B's packets still reach A)."""
        for vm in side_b:
            for other in side_a:
                vm.exec("iptables", "-A", "CHAOS", "-i", "eth0", "-s", other.ip, "-j", "DROP")

    def loss(self, percent, vms=None):
        """Random loss on every packet a VM receives over eth0: every path loses `percent`."""
        for vm in vms or self.vms:
            vm.exec("iptables", "-A", "CHAOS", "-i", "eth0", "-m", "statistic", "--mode",
                    "random", "--probability", f"{percent / 100:.4f}", "-j", "DROP")

    def heal(self):
        for vm in self.vms:
            vm.exec("iptables", "-F", "CHAOS")

    def others(self, *vms):
        return [vm for vm in self.vms if vm not in vms]

    # --- processes -----------------------------------------------------------------------
    def signal(self, vm, what, sig):
        p = vm.redis if what == "redis" else vm.picketd
        os.kill(p.pid, sig)

    def kill(self, vm, what):
        self.signal(vm, what, signal.SIGKILL)
        (vm.redis if what == "redis" else vm.picketd).wait(timeout=10)

    def stop(self, vm, what):
        self.signal(vm, what, signal.SIGSTOP)

    def cont(self, vm, what):
        self.signal(vm, what, signal.SIGCONT)

    def restart(self, vm, what):
        if what == "redis":
            self._start_redis(vm)
        else:
            self._start_picketd(vm)

    # --- observation ---------------------------------------------------------------------
    def status(self, vm):
        return vm.http("/v1/status")

    def history(self, vm):
        h = vm.http("/v1/history")
        return h if isinstance(h, list) else []

    def leader(self):
        """Name of a VM whose picketd says it leads (None when none or several disagree)."""
        leaders = set()
        for vm in self.vms:
            s = self.status(vm)
            if s and s.get("vote", {}).get("role") == "leader":
                leaders.add(vm.name)
        return leaders.pop() if len(leaders) == 1 else None

    def vm_by_name(self, name):
        return next(vm for vm in self.vms if vm.name == name)

    def vm_of(self, address):
        host = address.split(":")[0].split("@")[0]
        return next(vm for vm in self.vms if vm.ip == host)

    def settled(self):
        for vm in self.vms:
            s = self.status(vm)
            if not s or len(s.get("shards", [])) != 3 or len(s.get("nodes", [])) != 6:
                return False
            if any(len(sh["replicas"]) != 1 for sh in s["shards"]):
                return False
            if any(n.get("state") != "up" for n in s["nodes"]):
                return False
        for vm in self.vms:  # every replica synced (Redis 7 delays a full sync by 5 s)
            info = vm.redis_cli("info", "replication")
            if "role:slave" in info and "master_link_status:up" not in info:
                return False
        return self.leader() is not None

    def cluster_state(self, vm):
        for line in vm.redis_cli("cluster", "info").splitlines():
            if line.startswith("cluster_state:"):
                return line.split(":", 1)[1].strip()
        return None

    def cluster_nodes(self, vm):
        """`CLUSTER NODES` as seen by vm's own Redis: {id: {addr, flags, master, slots, epoch}}."""
        nodes = {}
        for line in vm.redis_cli("cluster", "nodes").splitlines():
            f = line.split()
            # Not a node line: e.g. "LOADING Redis is loading the dataset in memory" from a
            # Redis just restarted (scenario h restarts one every round).
            if len(f) < 8 or len(f[0]) != 40 or not f[6].isdigit():
                continue
            nodes[f[0]] = {"addr": f[1].split("@")[0], "flags": f[2].split(","), "master": f[3],
                           "epoch": int(f[6]), "slots": f[8:]}
        return nodes

    def redis_topology(self, vm=None):
        """{masters: {slots-text: address}, ids: {address: id}} from one node's view."""
        vm = vm or self.vms[0]
        nodes = self.cluster_nodes(vm)
        masters = {}
        for nid, n in nodes.items():
            if "master" in n["flags"] and n["slots"] and "fail" not in n["flags"]:
                masters[" ".join(sorted(n["slots"]))] = n["addr"]
        return {"masters": masters, "ids": {n["addr"]: nid for nid, n in nodes.items()},
                "nodes": nodes}

    def role(self, vm):
        for line in vm.redis_cli("info", "replication").splitlines():
            if line.startswith("role:"):
                return line.split(":", 1)[1].strip()
        return None

    def replica_of(self, master_vm):
        """The VM whose Redis replicates master_vm's at the start."""
        mid = self.initial["ids"][f"{master_vm.ip}:{REDIS_PORT}"]
        for nid, n in self.initial["nodes"].items():
            if n["master"] == mid:
                return self.vm_of(n["addr"])
        raise Failure(f"no replica of {master_vm.name}")

    def promotions(self, vms=None):
        """Distinct failure keys any of `vms`' picketd recorded as promoted."""
        keys = {}
        for vm in vms or self.vms:
            for e in self.history(vm):
                if e.get("promoted_after_ms") is not None or e.get("state") in (
                        "promoted", "converged", "not_converged"):
                    keys[(e["failed_master"], e["config_epoch"])] = dict(e, seen_by=vm.name)
        return list(keys.values())

    def terms(self):
        out = {}
        for vm in self.vms:
            s = self.status(vm)
            if s and "vote" in s:
                out[vm.name] = (s["vote"].get("term"), s["vote"].get("leader"))
        return out

    def attempts(self, vm):
        s = self.status(vm)
        return s.get("failover", {}).get("attempts", []) if s else []

    def picketctl(self, vm, *args):
        return vm.exec(self.args.picketctl, "--admin-url", f"http://127.0.0.1:{ADMIN_PORT}",
                       "--token-file", self.token_file, *args, check=False, timeout=30)

    def dump(self):
        for vm in self.vms:
            for name in ("picketd.log", "redis.log"):
                path = os.path.join(vm.dir, name)
                try:
                    with open(path, errors="replace") as f:
                        text = f.read()
                except OSError:
                    continue
                print(f"--- {vm.name} {name} (tail)\n{text[-3000:]}")


# ---------------------------------------------------------------------------------------
# Scenarios: each returns a dict of measurements and raises Failure when an expectation fails


def expect(cond, what):
    if not cond:
        raise Failure(what)


def redis_fail_time(vm, after):
    """Unix time of the first "Cluster state changed: fail" in vm's Redis log after `after`
    (when that node stopped serving), or None."""
    try:
        with open(os.path.join(vm.dir, "redis.log"), errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return None
    for line in lines:
        if "Cluster state changed: fail" not in line:
            continue
        # "1234:M 25 Nov 2026 04:39:13.123 # Cluster state changed: fail" (local time)
        try:
            stamp = " ".join(line.split()[1:5])
            t = time.mktime(time.strptime(stamp.rsplit(".", 1)[0], "%d %b %Y %H:%M:%S"))
            t += int(stamp.rsplit(".", 1)[1]) / 1000
        except (ValueError, IndexError):
            continue
        if t > after:
            return t
    return None


def master_vms(lab):
    return [lab.vm_of(a) for a in lab.initial["masters"].values()]


def wait_rejoined(lab, old_master, timeout=60):
    def check():
        me = lab.cluster_nodes(old_master)
        mine = next((n for n in me.values() if "myself" in n["flags"]), None)
        return mine is not None and "slave" in mine["flags"] and lab.role(old_master) == "slave"
    wait_until(f"{old_master.name} to rejoin as a replica", check, timeout, 0.5)


def wait_full_coverage(lab, vms, timeout=60):
    def check():
        for vm in vms:
            if lab.cluster_state(vm) != "ok":
                return False
            t = lab.redis_topology(vm)
            if sum(len(k.split()) for k in t["masters"]) == 0 or len(t["masters"]) != 3:
                return False
        return True
    wait_until("cluster_state:ok and 3 serving masters on " + ",".join(v.name for v in vms),
               check, timeout, 0.5)


WRITER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "writer.py")


class Writer:
    """tests/chaos/writer.py inside `vm`: SETs into one shard (a hash tag in `slots`),
    following -MOVED, and records every acknowledged write; check() counts those lost."""

    def __init__(self, lab, vm, seed_vm, slots, name, wait_ms=None):
        """wait_ms: a write counts as acknowledged only once `WAIT 1 wait_ms` says a
        replica has it."""
        self.lab, self.vm, self.name = lab, vm, name
        lo, hi = slots.split()[0].split("-") if "-" in slots.split()[0] else (slots, slots)
        self.tag = run([sys.executable, WRITER, "tag", "--slots", f"{lo}-{hi}"]).strip()
        self.acked = os.path.join(lab.work, f"acked-{name}.txt")
        # The seed first, then every other node: after a failure the writer asks the next.
        seeds = [seed_vm] + [v for v in lab.vms if v is not seed_vm]
        self.proc = vm.spawn([sys.executable, WRITER, "write", "--seed",
                              ",".join(f"{v.ip}:{REDIS_PORT}" for v in seeds), "--tag", self.tag, "--name", name,
                              "--out", self.acked, "--seconds", "600", "--rate", "200",
                              *(["--wait", str(wait_ms)] if wait_ms else [])],
                             os.path.join(lab.work, f"writer-{name}.log"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)

    def acks(self):
        """[(i, unix time of the reply)] of every acknowledged write so far."""
        try:
            with open(self.acked) as f:
                return [(int(a), float(b)) for a, b in (l.split() for l in f if l.strip())]
        except (OSError, ValueError):
            return []

    def check(self, seed_vm):
        self.stop()
        if not os.path.exists(self.acked):
            return {"acked": 0, "lost": 0, "wrong": 0, "unreadable": 0}
        out = self.vm.exec(sys.executable, WRITER, "check", "--seed",
                           f"{seed_vm.ip}:{REDIS_PORT}", "--tag", self.tag, "--name", self.name,
                           "--acked", self.acked, timeout=300)
        return json.loads(out)


def scenario_net(lab):
    """The fault helpers really cut traffic, and heal really restores it."""
    a, b, c = lab.vms[0], lab.vms[1], lab.vms[2]

    def reach(src, dst):
        return "PONG" in src.exec("timeout", "2", "redis-cli", "-h", dst.ip, "-p",
                                  str(REDIS_PORT), "ping", check=False, timeout=10)
    expect(reach(a, b) and reach(b, a), "no connectivity before any fault")
    lab.partition([a], [b])
    expect(not reach(a, b) and not reach(b, a), "partition() did not cut vm1<->vm2")
    expect(reach(a, c) and reach(c, b), "partition() cut more than it should")
    lab.heal()
    expect(reach(a, b) and reach(b, a), "heal() did not restore vm1<->vm2")
    lab.one_way([a], [b])
    expect(not reach(a, b), "one_way() let vm1->vm2 through")
    expect(reach(b, c) and reach(a, c), "one_way() cut more than it should")
    lab.heal()
    lab.loss(100, [b])
    expect(not reach(a, b) and reach(a, c), "loss(100) on vm2 did not drop its input")
    lab.heal()
    expect(reach(a, b), "heal() after loss did not restore")
    return {"promotions": 0, "note": "partition/one_way/loss/heal verified with PING"}


def scenario_a(lab):
    """One master's VM (Redis + picketd) cut off from the other five."""
    leader = lab.leader()
    masters = master_vms(lab)
    # Cut a master that does not host the leader, so the case is the plain one.
    victim = next((m for m in masters if m.name != leader), masters[0])
    replica = lab.replica_of(victim)
    majority = lab.others(victim)
    nt = lab.args.node_timeout
    shard = next(k for k, a in lab.initial["masters"].items() if lab.vm_of(a) is victim)
    client = next(vm for vm in majority if vm is not replica)
    writers = [Writer(lab, victim, victim, shard, "minority"),
               Writer(lab, client, victim, shard, "majority"),
               # WAIT 1 after each SET: acknowledged only once the replica has it, and the
               # replica is the one promoted: none of these may be lost.
               Writer(lab, victim, victim, shard, "minority-wait", wait_ms=500)]
    time.sleep(2)
    log(f"a: cutting {victim.name} (master, leader is {leader}); its replica is {replica.name}; "
        f"writers in {victim.name} and {client.name}")
    t0 = time.time()
    lab.partition([victim], majority)
    wait_until(f"{replica.name} promoted", lambda: lab.role(replica) == "master", 60, 0.1)
    t_seen = time.time() - t0
    wait_full_coverage(lab, majority)
    time.sleep(3)  # a second (wrong) promotion would show here
    minority_promotions = lab.promotions([victim])
    expect(not minority_promotions, f"the minority promoted: {minority_promotions}")
    expect(lab.role(victim) == "master", "the cut-off master changed role while cut off")
    t_fenced = redis_fail_time(victim, t0)
    t_heal = time.time()
    lab.heal()
    wait_rejoined(lab, victim)
    wait_full_coverage(lab, lab.vms)
    time.sleep(3)
    writes = {w.name: w.check(replica) for w in writers}
    # The old master takes writes until it sees itself in a minority; any it acknowledges
    # after the promotion were accepted while two masters served the shard.
    minority_acks = [t for _, t in writers[0].acks() if t0 < t < t_heal]
    last_minority_ack = max(minority_acks) - t0 if minority_acks else 0.0
    for name, w in writes.items():
        log(f"a: writer {name}: {w}")
        expect(w["wrong"] == 0 and w["unreadable"] == 0, f"writer {name}: {w}")
    expect(writes["minority-wait"]["lost"] == 0,
           f"WAIT-acknowledged writes lost with the acked replica alive: {writes['minority-wait']}")
    promos = lab.promotions()
    expect(len(promos) == 1, f"expected exactly one promotion, got {len(promos)}: {promos}")
    p = promos[0]
    expect(p["replica_address"].startswith(replica.ip), f"promoted {p['replica_address']}")
    expect(p["mode"] == "FORCE", f"mode {p['mode']}")
    expect(p["down_for_at_decision_ms"] >= nt + 1000,
           f"decided after {p['down_for_at_decision_ms']} ms down, before the timeouts-only "
           f"wait ({nt + 1000} ms)")
    changed = [k for k, a in lab.redis_topology().get("masters").items()
               if lab.initial["masters"].get(k) != a]
    expect(len(changed) == 1, f"Redis shows {len(changed)} shards with a new master")
    t_promoted = p["decided_unix"] + p["promoted_after_ms"] / 1000 - t0
    majority_acks = [t for _, t in writers[1].acks()]
    write_gap = max((b - a for a, b in zip(majority_acks, majority_acks[1:])), default=0.0)
    return {"promotions": len(promos), "minority_promotions": len(minority_promotions),
            "partition_to_promotion_s": round(t_promoted, 2),
            "partition_to_seen_s": round(t_seen, 2),
            "down_for_at_decision_ms": p["down_for_at_decision_ms"],
            "decided_by": p["by"], "mode": p["mode"],
            "minority_fenced_s": t_fenced and round(t_fenced - t0, 2),
            "minority_last_ack_s": round(last_minority_ack, 2),
            "two_masters_overlap_s": round(max(0.0, last_minority_ack - t_promoted), 2),
            "majority_write_gap_s": round(write_gap, 2),
            "acked_lost_minority": f"{writes['minority']['lost']}/{writes['minority']['acked']}",
            "acked_lost_majority": f"{writes['majority']['lost']}/{writes['majority']['acked']}",
            "wait_acked_lost_minority":
                f"{writes['minority-wait']['lost']}/{writes['minority-wait']['acked']}"}


def scenario_b(lab):
    """Two masters' VMs cut off together, allow_takeover on: no automatic TAKEOVER."""
    leader = lab.leader()
    masters = master_vms(lab)
    ordered = sorted(masters, key=lambda m: m.name == leader)  # keep the leader out if we can
    cut = ordered[:2]
    majority = lab.others(*cut)
    nt = lab.args.node_timeout
    fence_s = 1.5 * nt / 1000 + 2
    ids = {vm.name: lab.initial["ids"][f"{vm.ip}:{REDIS_PORT}"] for vm in cut}
    replicas = {vm.name: lab.replica_of(vm) for vm in cut}
    log(f"b: cutting {cut[0].name} and {cut[1].name} (masters; leader is {leader})")
    t0 = time.time()
    lab.partition(cut, majority)

    def vetoed():
        lead = lab.leader()
        if lead is None or lab.vm_by_name(lead) in cut:
            return None
        atts = {a["failed_master"]: a for a in lab.attempts(lab.vm_by_name(lead))}
        got = [atts.get(i) for i in ids.values()]
        if all(a and a["state"] == "vetoed" and TAKEOVER_UNSAFE in a["reason"] for a in got):
            return (lead, got)
        return None
    lead, atts = wait_until("both attempts vetoed (TAKEOVER unsafe) on the majority's leader",
                            vetoed, 45, 0.5)
    t_veto = time.time() - t0
    # Stay past the TAKEOVER fence: still nothing may happen on its own.
    time.sleep(max(0.0, fence_s + 3 - (time.time() - t0)))
    expect(not lab.promotions(), f"automatic promotion: {lab.promotions()}")
    for name, r in replicas.items():
        expect(lab.role(r) == "slave", f"{r.name} (replica of {name}) was promoted on its own")
    lead_vm = lab.vm_by_name(lab.leader() or lead)
    expect(lead_vm not in cut, f"leader {lead_vm.name} is on the cut side")
    # The operator vouches for the first shard.
    shard = next(s["slots"] for s in lab.status(lead_vm)["shards"]
                 if s["master_id"] == ids[cut[0].name])
    t_force = time.time()
    out = lab.picketctl(lead_vm, "failover", shard, "--force")
    log(f"b: picketctl failover {shard} --force on {lead_vm.name}: {out.strip()}")
    wait_until(f"{replicas[cut[0].name].name} promoted",
               lambda: lab.role(replicas[cut[0].name]) == "master", 45, 0.2)
    t_first = time.time() - t_force
    second = replicas[cut[1].name]
    forced_second = False
    try:
        wait_until(f"{second.name} promoted without a second --force",
                   lambda: lab.role(second) == "master", 30, 0.2)
    except Failure:
        forced_second = True
        st = [a for a in lab.attempts(lab.vm_by_name(lab.leader() or lead_vm.name))
              if a["failed_master"] == ids[cut[1].name]]
        log(f"b: second shard not recovered on its own; attempt: {st}")
        shard2 = next(s["slots"] for s in lab.status(lead_vm)["shards"]
                      if s["master_id"] == ids[cut[1].name])
        lab.picketctl(lab.vm_by_name(lab.leader() or lead_vm.name), "failover", shard2, "--force")
        wait_until(f"{second.name} promoted", lambda: lab.role(second) == "master", 45, 0.2)
    t_both = time.time() - t_force
    wait_full_coverage(lab, majority)
    promos = lab.promotions()
    lab.heal()
    for vm in cut:
        wait_rejoined(lab, vm)
    wait_full_coverage(lab, lab.vms)
    time.sleep(3)
    promos = sorted(lab.promotions(), key=lambda p: p["decided_unix"])
    expect(len(promos) == 2, f"expected two promotions, got {len(promos)}: {promos}")
    modes = [p["mode"] for p in promos]
    expect(modes[0] == "TAKEOVER", f"the forced shard was promoted with {modes[0]}")
    if modes[1] != "FORCE":
        # Once the first shard has its new master, 2 of 3 masters are reachable: the vote
        # (FORCE) is possible and must be preferred over TAKEOVER (docs/failover.md rule 6).
        why = (f"second shard promoted with {modes[1]}, expected FORCE: "
               f"{promos[1].get('reason', '')[:160]}")
        if not lab.args.known_bug_second_takeover:
            raise Failure(why)
        log(f"b: KNOWN BUG (tolerated by --known-bug-second-takeover): {why}")
        lab.keep_logs = True
    return {"promotions": len(promos), "modes": "+".join(modes), "veto_after_s": round(t_veto, 1),
            "force_to_first_s": round(t_first, 2), "force_to_both_s": round(t_both, 2),
            "second_needed_force": forced_second,
            "veto_reason": atts[0]["reason"][:90]}


def scenario_c(lab):
    """30 % random loss on every path: no failover; leader churn reported."""
    duration = 600 if lab.args.long else lab.args.loss_seconds
    before = lab.terms()
    t0 = time.time()
    lab.loss(30)
    leaders, terms, samples = set(), set(), 0
    for _ in range(int(duration / 2) + 2):
        if time.time() - t0 >= duration:
            break
        for name, (term, ldr) in lab.terms().items():
            terms.add(term)
            if ldr:
                leaders.add(ldr)
        samples += 1
        time.sleep(2)
    lab.heal()
    wait_full_coverage(lab, lab.vms)
    time.sleep(5)
    after = lab.terms()
    promos = lab.promotions()
    changed = [k for k, a in lab.redis_topology().get("masters").items()
               if lab.initial["masters"].get(k) != a]
    first = max(t for t, _ in before.values())
    last = max(t for t, _ in after.values())
    res = {"promotions": len(promos), "redis_master_changes": len(changed),
           "loss_seconds": duration, "term_changes": last - first,
           "leaders_seen": ",".join(sorted(leaders)), "samples": samples}
    expect(not promos and not changed, f"failover under loss: {promos or changed}")
    return res


def scenario_d(lab):
    """A master's Redis stalled (SIGSTOP): 3 s -> nothing; past the wait -> one failover."""
    leader = lab.leader()
    victim = next((m for m in master_vms(lab) if m.name != leader), master_vms(lab)[0])
    replica = lab.replica_of(victim)
    log(f"d: SIGSTOP {victim.name}'s redis for 3 s")
    lab.stop(victim, "redis")
    time.sleep(3)
    lab.cont(victim, "redis")
    time.sleep(lab.args.node_timeout / 1000 + 5)  # past every wait: a late failover shows
    expect(not lab.promotions(), f"a 3 s stall was failed over: {lab.promotions()}")
    expect(lab.role(replica) == "slave" and lab.role(victim) == "master",
           "roles changed after a 3 s stall")
    log(f"d: SIGSTOP {victim.name}'s redis until its replica {replica.name} is promoted")
    t0 = time.time()
    lab.stop(victim, "redis")
    try:
        wait_until(f"{replica.name} promoted", lambda: lab.role(replica) == "master", 60, 0.1)
        t_seen = time.time() - t0
    finally:
        lab.cont(victim, "redis")
    wait_rejoined(lab, victim)
    wait_full_coverage(lab, lab.vms)
    time.sleep(5)
    promos = lab.promotions()
    expect(len(promos) == 1, f"expected exactly one promotion, got {len(promos)}: {promos}")
    p = promos[0]
    nt = lab.args.node_timeout
    expect(p["down_for_at_decision_ms"] >= nt + 1000,
           f"decided after {p['down_for_at_decision_ms']} ms, before the timeouts-only wait")
    return {"promotions": len(promos), "short_stall_promotions": 0,
            "stall_to_promotion_s": round(p["decided_unix"] + p["promoted_after_ms"] / 1000 - t0, 2),
            "stall_to_seen_s": round(t_seen, 2),
            "down_for_at_decision_ms": p["down_for_at_decision_ms"], "mode": p["mode"],
            "rejoined_after_ms": p.get("rejoined_after_ms")}


def scenario_e(lab):
    """A partial partition (the leader's VM cut off from one other VM only) and a flapping
    watcher (another VM's picketd killed and restarted every 5 s) for 60 s (--long: 600 s)
    -> no failover; term changes and leader changes reported."""
    duration = 600 if lab.args.long else lab.args.loss_seconds
    leader = lab.vm_by_name(lab.leader())
    cut = next(vm for vm in lab.vms if vm is not leader)
    flapper = next(vm for vm in lab.vms if vm not in (leader, cut))
    log(f"e: {leader.name} (leader) <-/-> {cut.name}; {flapper.name}'s picketd flaps")
    before = lab.terms()
    lab.partition([leader], [cut])
    t0 = time.time()
    leaders, flaps, last_leader, leader_changes = set(), 0, leader.name, 0
    for _ in range(int(duration / 5) + 2):
        if time.time() - t0 >= duration:
            break
        lab.kill(flapper, "picketd")
        time.sleep(2.5)
        lab.restart(flapper, "picketd")
        flaps += 1
        time.sleep(2.5)
        now = lab.leader()
        if now:
            leaders.add(now)
            if now != last_leader:
                leader_changes += 1
                last_leader = now
    lab.heal()
    wait_full_coverage(lab, lab.vms)
    time.sleep(5)
    after = lab.terms()
    promos = lab.promotions()
    changed = [k for k, a in lab.redis_topology().get("masters").items()
               if lab.initial["masters"].get(k) != a]
    first = max(t for t, _ in before.values())
    last = max(t for t, _ in after.values())
    res = {"promotions": len(promos), "redis_master_changes": len(changed), "seconds": duration,
           "flaps": flaps, "term_changes": last - first, "leader_changes_seen": leader_changes,
           "leaders_seen": ",".join(sorted(leaders))}
    expect(not promos and not changed, f"failover under a partial partition: {promos or changed}")
    return res


# ---------------------------------------------------------------------------------------
# Helpers of scenarios f-j


class LogTail:
    """Reads what a picketd appends to its log from now on (the log is flushed per line)."""

    def __init__(self, vm):
        self.path = os.path.join(vm.dir, "picketd.log")
        self.offset = os.path.getsize(self.path) if os.path.exists(self.path) else 0
        self.text = ""

    def poll(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        self.offset += len(chunk)
        self.text += chunk.decode(errors="replace")
        return self.text

    def wait_for(self, needles, timeout, interval=0.002):
        """Returns the first of `needles` to appear (polled every `interval`), or raises."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / interval) + 2):
            text = self.poll()
            hits = [(text.find(n), n) for n in needles if n in text]
            if hits:
                return min(hits)[1]
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
        raise Failure(f"timed out after {timeout}s waiting for {needles} in {self.path}")


def event_kinds(text, prefix="vote: failover_"):
    """The failover event kinds in log text, in order."""
    out = []
    for line in text.splitlines():
        i = line.find(prefix)
        if i >= 0:
            out.append(line[i + len("vote: "):].split(" ", 1)[0])
    return out


def log_lines(vm, needle):
    try:
        with open(os.path.join(vm.dir, "picketd.log"), errors="replace") as f:
            return [line for line in f if needle in line]
    except OSError:
        return []


def failover_commands_accepted(lab):
    """`CLUSTER FAILOVER FORCE/TAKEOVER` commands Redis accepted, over every node's log."""
    n = 0
    for vm in lab.vms:
        try:
            with open(os.path.join(vm.dir, "redis.log"), errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        n += text.count("Forced failover user request accepted")
        n += text.count("Taking over the master (user request)")
    return n


def executors(lab):
    """{failure key: sorted watchers whose history says they promoted it (an adopted
    record's entry has no phase times, only its state)}."""
    out = {}
    for vm in lab.vms:
        for e in lab.history(vm):
            if e.get("command_sent_after_ms") is not None or e.get("state") in (
                    "promoted", "converged", "not_converged"):
                out.setdefault((e["failed_master"], e["config_epoch"]), set()).add(e["by"])
    return {k: sorted(v) for k, v in out.items()}


def master_changes(lab):
    return [k for k, a in lab.redis_topology().get("masters").items()
            if lab.initial["masters"].get(k) != a]


def slot_count(slots):
    n = 0
    for r in slots:
        if r.startswith("["):
            continue  # importing/migrating markers
        lo, _, hi = r.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def check_cluster_consistent(lab):
    """Like Redis's tests/integration 03-failover-loop after each round: on every node, the
    cluster is ok, the masters' slots cover all 16384 once (one master per shard), and
    every node reports the same config epoch for each node; masters' epochs are distinct.
    Returns None when all holds, else what does not."""
    views = {}
    for vm in lab.vms:
        if lab.cluster_state(vm) != "ok":
            return f"{vm.name}: cluster_state not ok"
        nodes = lab.cluster_nodes(vm)
        if len(nodes) != 6:
            return f"{vm.name}: sees {len(nodes)} nodes"
        masters = [n for n in nodes.values() if "master" in n["flags"] and n["slots"]]
        total = sum(slot_count(n["slots"]) for n in masters)
        if len(masters) != 3 or total != 16384:
            return f"{vm.name}: {len(masters)} slot-owning masters covering {total} slots"
        if any("fail" in n["flags"] or "fail?" in n["flags"] for n in nodes.values()):
            return f"{vm.name}: a node is flagged fail"
        epochs = [n["epoch"] for n in masters]
        if len(set(epochs)) != len(epochs):
            return f"{vm.name}: masters share a config epoch: {epochs}"
        views[vm.name] = {nid: (n["epoch"], "master" in n["flags"]) for nid, n in nodes.items()}
    first = next(iter(views.values()))
    for name, v in views.items():
        if v != first:
            return f"views differ (epochs/roles): vm1 {first} vs {name} {v}"
    return None


def check_writers(writers, seed_vm):
    out = {}
    for w in writers:
        r = w.check(seed_vm)
        log(f"writer {w.name}: {r}")
        expect(r["wrong"] == 0 and r["unreadable"] == 0, f"writer {w.name}: {r}")
        out[w.name] = r
    return out


def current_leader(lab):
    """The VM whose picketd leads, waiting (at most 20 s) while the vote has no single one."""
    return lab.vm_by_name(wait_until("a single leader", lab.leader, 20, 0.5))


def kill_master_setup(lab, avoid):
    """A master VM (not in `avoid`), its replica, a client VM, writers into its shard (one
    async, one with WAIT 1), after 2 s of writes."""
    victim = next(m for m in master_vms(lab) if m not in avoid)
    replica = lab.replica_of(victim)
    shard = next(k for k, a in lab.initial["masters"].items() if lab.vm_of(a) is victim)
    client = next(vm for vm in lab.vms if vm not in (victim, replica))
    writers = [Writer(lab, client, victim, shard, "async"),
               Writer(lab, client, victim, shard, "wait", wait_ms=500)]
    time.sleep(2)
    return victim, replica, writers


def finish_kill_master(lab, victim, replica, writers, res):
    """Restart the killed Redis, wait for it to rejoin and full coverage, then assert one
    promotion (history and Redis) and no WAIT-acknowledged write lost."""
    lab.restart(victim, "redis")
    wait_rejoined(lab, victim)
    wait_full_coverage(lab, lab.vms)
    time.sleep(3)  # a second (wrong) promotion would show here
    promos = lab.promotions()
    changed = master_changes(lab)
    accepted = failover_commands_accepted(lab)
    execs = executors(lab)
    writes = check_writers(writers, replica)
    res.update({"promotions": len(promos), "redis_master_changes": len(changed),
                "failover_commands_accepted": accepted,
                "history_promoted_by": ";".join(",".join(v) for v in execs.values()),
                "acked_lost_async": f"{writes['async']['lost']}/{writes['async']['acked']}",
                "wait_acked_lost": f"{writes['wait']['lost']}/{writes['wait']['acked']}"})
    expect(len(promos) == 1, f"expected exactly one promotion, got {len(promos)}: {promos}")
    vid = lab.initial["ids"][f"{victim.ip}:{REDIS_PORT}"]
    expect(promos[0]["failed_master"] == vid, f"promoted for {promos[0]['failed_master']}")
    expect(len(changed) == 1 and lab.role(replica) == "master",
           f"Redis: {len(changed)} shards with a new master, {replica.name} {lab.role(replica)}")
    expect(accepted == 1, f"Redis accepted {accepted} CLUSTER FAILOVER commands")
    expect(writes["wait"]["lost"] == 0, f"WAIT-acknowledged writes lost: {writes['wait']}")
    return res


# The leader logs failover_started and failover_replica_chosen when it proposes the record
# (before the vote commits it), failover_command_sent once CLUSTER FAILOVER went out,
# failover_promoted once the replica answers as master (before convergence).
F_POINTS = ["failover_started", "failover_command_sent", "failover_promoted"]
_runs = {"f": 0, "g": 0}


def scenario_f(lab):
    """kill -9 a master; SIGSTOP the leader's picketd as soon as its log shows the failover
    at the given point (cycling over runs: failover_started, failover_command_sent,
    failover_promoted), SIGCONT it once another watcher has finished -> exactly one
    promotion."""
    point = lab.args.f_point or F_POINTS[_runs["f"] % len(F_POINTS)]
    _runs["f"] += 1
    leader = current_leader(lab)
    victim, replica, writers = kill_master_setup(lab, [leader])
    tail = LogTail(leader)
    log(f"f: kill -9 {victim.name}'s redis; SIGSTOP {leader.name} (leader) at {point}")
    t0 = time.time()
    lab.kill(victim, "redis")
    hit = tail.wait_for([f"vote: {point} ", "vote: failover_promoted"], 20)
    lab.stop(leader, "picketd")
    t_stop = time.time() - t0
    time.sleep(0.2)
    before_stop = event_kinds(tail.poll())
    log(f"f: {leader.name} stopped {t_stop:.3f} s after the kill (saw {hit}); its failover "
        f"events: {before_stop}")
    try:
        wait_until(f"{replica.name} promoted", lambda: lab.role(replica) == "master", 60, 0.1)
        t_promoted = time.time() - t0
        # Hold the stop until another watcher leads (or 20 s); when the stopped leader had
        # not promoted yet, until the new leader's history shows it did.
        new_leader = None
        for _ in range(40):
            s = [lab.status(vm) for vm in lab.others(leader)]
            leads = [vm.name for vm, st in zip(lab.others(leader), s)
                     if st and st.get("vote", {}).get("role") == "leader"]
            if leads and (lab.promotions(lab.others(leader)) or
                          "failover_promoted" in before_stop):
                new_leader = leads[0]
                break
            time.sleep(0.5)
        time.sleep(2)
    finally:
        lab.cont(leader, "picketd")
    t_cont = time.time() - t0
    time.sleep(5)  # the resumed watcher finds its lease gone; a second command would show
    res = {"stop_point": point, "stopped_after_events": "+".join(before_stop) or "none",
           "kill_to_stop_s": round(t_stop, 3), "kill_to_promoted_s": round(t_promoted, 2),
           "new_leader": new_leader, "stopped_for_s": round(t_cont - t_stop, 1),
           "resumed_events": "+".join(event_kinds(tail.poll())[len(before_stop):]) or "none"}
    return finish_kill_master(lab, victim, replica, writers, res)


def scenario_g(lab):
    """kill -9 a master; as soon as the leader's log shows failover_started (or
    failover_command_sent, alternating), kill -9 two of the six watchers (the leader and another, or two
    others, alternating), restart them once the replica is promoted -> exactly one
    promotion."""
    run_no = _runs["g"]
    _runs["g"] += 1
    rng = random.Random(lab.args.seed + run_no)
    point = F_POINTS[run_no % 2]
    leader = current_leader(lab)
    victim, replica, writers = kill_master_setup(lab, [leader])
    others = [vm for vm in lab.vms if vm is not leader]
    if (run_no // 2) % 2 == 0:
        dead = [leader, rng.choice(others)]
    else:
        dead = rng.sample(others, 2)
    tail = LogTail(leader)
    log(f"g: kill -9 {victim.name}'s redis; at {point} kill picketd of "
        f"{', '.join(v.name for v in dead)} (leader {leader.name})")
    t0 = time.time()
    lab.kill(victim, "redis")
    hit = tail.wait_for([f"vote: {point} ", "vote: failover_promoted"], 20)
    for vm in dead:
        lab.kill(vm, "picketd")
    t_kill = time.time() - t0
    seen = event_kinds(tail.poll())
    wait_until(f"{replica.name} promoted", lambda: lab.role(replica) == "master", 60, 0.1)
    t_promoted = time.time() - t0
    live = [vm for vm in lab.vms if vm not in dead]
    wait_until("a surviving watcher's history shows the promotion",
               lambda: lab.promotions(live), 30, 0.5)
    time.sleep(2)
    for vm in dead:
        lab.restart(vm, "picketd")
    wait_until("restarted watchers answer",
               lambda: all(lab.status(vm) for vm in dead), 30, 0.5)
    res = {"killed_watchers": ",".join(v.name for v in dead), "leader": leader.name,
           "kill_point": point, "leader_events_before_kill": "+".join(seen) or "none",
           "kill_to_watchers_killed_s": round(t_kill, 3),
           "kill_to_promoted_s": round(t_promoted, 2)}
    return finish_kill_master(lab, victim, replica, writers, res)


# failover_waiting's reason while an earlier promotion is not yet in the leader's model.
SETTLING_WAIT = "new master before counting the masters again"


def scenario_h(lab):
    """kill -9 a random master, wait for picket's promotion, restart it (it rejoins as a
    replica), for --rounds rounds; after each: the cluster consistent (03-failover-loop)
    and exactly one new promotion in picket's histories, for the killed master."""
    rounds = lab.args.rounds
    rng = random.Random(lab.args.seed)
    seen_keys = set()
    gaps, rejoin, held = [], [], []
    for r in range(1, rounds + 1):
        topo = lab.redis_topology()
        masters = sorted(topo["masters"].values())
        addr = rng.choice(masters)
        victim = lab.vm_of(addr)
        vid = topo["ids"][addr]
        replica = next(lab.vm_of(n["addr"]) for n in topo["nodes"].values() if n["master"] == vid)
        tails = [LogTail(vm) for vm in lab.vms]
        t0 = time.time()
        lab.kill(victim, "redis")
        # Up to failover.timeout (30 s) + slack: see docs/chaos.md, finding 6.
        wait_until(f"round {r}: {replica.name} promoted",
                   lambda: lab.role(replica) == "master", 45, 0.05)
        gaps.append(time.time() - t0)
        if any(SETTLING_WAIT in t.poll() for t in tails):
            held.append(r)
        lab.restart(victim, "redis")
        t1 = time.time()
        wait_rejoined(lab, victim)
        rejoin.append(time.time() - t1)
        wait_until(f"round {r}: cluster consistent",
                   lambda: check_cluster_consistent(lab) is None, 30, 0.5)
        # Every watcher sees all six nodes up and every replica synced (so the next round's
        # replica is eligible), and one leader.
        wait_until(f"round {r}: picket settled", lab.settled, 60, 0.5)
        keys = {(p["failed_master"], p["config_epoch"]): p for p in lab.promotions()}
        new = [k for k in keys if k not in seen_keys]
        expect(len(new) == 1 and new[0][0] == vid,
               f"round {r}: expected one new promotion for {victim.name} ({vid[:8]}), got {new}")
        seen_keys.update(new)
        problem = check_cluster_consistent(lab)
        expect(problem is None, f"round {r}: {problem}")
        log(f"h: round {r}/{rounds}: killed {victim.name}, {replica.name} promoted in "
            f"{gaps[-1]:.2f} s (mode {keys[new[0]]['mode']}), old master rejoined in "
            f"{rejoin[-1]:.1f} s; consistent")
    accepted = failover_commands_accepted(lab)
    expect(accepted == rounds, f"Redis accepted {accepted} CLUSTER FAILOVER commands in "
                               f"{rounds} rounds")
    gaps.sort()
    return {"rounds": rounds, "promotions": len(seen_keys), "failover_commands_accepted": accepted,
            "kill_to_promoted_s_min_p50_max": f"{gaps[0]:.2f}/{gaps[len(gaps) // 2]:.2f}/"
                                              f"{gaps[-1]:.2f}",
            "rejoin_s_max": round(max(rejoin), 1),
            "rounds_held_by_settling_wait": ",".join(map(str, held)) or "none",
            "seed": lab.args.seed}


PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "delayproxy.py")
PROXY_MARK = "0x77"
MASTER_PROXY_PORT = 7650


def setup_proxies(lab):
    """Scenario i, before any picketd starts: in every VM, a delay proxy (one process) and
    REDIRECT rules in that namespace's nat OUTPUT so that (1) every connection to another
    VM's peer port goes through the proxy (map peer-<vm>), and (2) in every VM but the
    chosen master's replica's, connections to the chosen master's Redis port do (map
    master; the replica's VM is left out so replication is not delayed). The proxy's own
    connections carry a mark the rules skip. All delays start at 0 (control files)."""
    # lab.initial is set once picket has settled; vm1's view shows every replica soon.
    topo = wait_until("vm1's view to show 3 masters with a replica each",
                      lambda: (lambda t: t if len(t["masters"]) == 3 and sum(
                          n["master"] != "-" for n in t["nodes"].values()) == 3 else None)(
                          lab.redis_topology()), 20, 0.5)
    lab.i_master = lab.vm_of(sorted(topo["masters"].values())[0])
    mid = topo["ids"][f"{lab.i_master.ip}:{REDIS_PORT}"]
    lab.i_replica = next(lab.vm_of(n["addr"]) for n in topo["nodes"].values()
                         if n["master"] == mid)
    for vm in lab.vms:
        maps = []
        for other in lab.others(vm):
            port = 7800 + other.index
            maps.append(f"peer-{other.name}=127.0.0.1:{port}={other.ip}:{PEER_PORT}")
            vm.exec("iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", other.ip,
                    "--dport", str(PEER_PORT), "-m", "mark", "!", "--mark", PROXY_MARK,
                    "-j", "REDIRECT", "--to-ports", str(port))
        if vm is not lab.i_replica:
            m = lab.i_master
            maps.append(f"master=127.0.0.1:{MASTER_PROXY_PORT}={m.ip}:{REDIS_PORT}")
            vm.exec("iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", m.ip,
                    "--dport", str(REDIS_PORT), "-m", "mark", "!", "--mark", PROXY_MARK,
                    "-j", "REDIRECT", "--to-ports", str(MASTER_PROXY_PORT))
        vm.proxy_control = os.path.join(vm.dir, "proxy.json")
        set_delays(vm, {})
        args = [sys.executable, PROXY, "--control", vm.proxy_control, "--mark", PROXY_MARK,
                "--seed", str(lab.args.seed + vm.index)]
        for mp in maps:
            args += ["--map", mp]
        lab.extra_procs.append(vm.spawn(args, os.path.join(vm.dir, "proxy.log")))
    time.sleep(1)


def set_delays(vm, delays):
    with open(vm.proxy_control + ".tmp", "w") as f:
        json.dump(delays, f)
    os.rename(vm.proxy_control + ".tmp", vm.proxy_control)


def sdown_lines(address, tails):
    return sum(1 for t in tails.values() for line in t.poll().splitlines()
               if "SDOWN" in line and address in line)


def scenario_i(lab):
    """Delay and jitter from our userspace proxy. Part 1: 200-800 ms on every peer link of
    the leader's VM (both ways) for --loss-seconds (--long: 600) -> no failover; term and
    leader changes reported. Part 2: every watcher's path (but the replica's) to one
    master delayed 100-400 ms each way (round trips below ping_timeout) -> no SDOWN, no
    failover; then 1-2 s each way (round trips above ping_timeout, below
    down_after_unresponsive), 30 s each -> no ODOWN, no failover; SDOWN and the holistic
    veto reported."""
    duration = 600 if lab.args.long else lab.args.loss_seconds
    proxied = 0  # the REDIRECT rules really catch the peer connections
    for vm in lab.vms:
        for line in vm.exec("ss", "-tn", "state", "established", check=False).splitlines():
            f = line.split()
            if len(f) >= 4 and f[2].startswith("127.0.0.1:78"):
                proxied += 1
    expect(proxied >= 15, f"only {proxied} peer connections go through the proxies")
    leader = current_leader(lab)
    before = lab.terms()
    log(f"i: 200-800 ms jitter on every peer link of {leader.name} (leader) for {duration} s")
    set_delays(leader, {f"peer-{o.name}": [200, 800] for o in lab.others(leader)})
    for vm in lab.others(leader):
        set_delays(vm, {f"peer-{leader.name}": [200, 800]})
    t0 = time.time()
    leaders, last_leader, leader_changes, no_leader, samples = set(), leader.name, 0, 0, 0
    for _ in range(int(duration / 2) + 2):
        if time.time() - t0 >= duration:
            break
        now = lab.leader()
        samples += 1
        if now:
            leaders.add(now)
            if now != last_leader:
                leader_changes += 1
                last_leader = now
        else:
            no_leader += 1
        time.sleep(2)
    for vm in lab.vms:
        set_delays(vm, {})
    time.sleep(5)
    mid = lab.terms()
    promos = lab.promotions()
    changed = master_changes(lab)
    first = max(t for t, _ in before.values())
    res = {"jitter_seconds": duration, "jittered_vm": leader.name, "proxied_peer_conns": proxied,
           "term_changes": max(t for t, _ in mid.values()) - first,
           "leader_changes_seen": leader_changes, "samples_without_one_leader": no_leader,
           "samples": samples, "leaders_seen": ",".join(sorted(leaders))}
    expect(not promos and not changed, f"failover under peer jitter: {promos or changed}")
    m = lab.i_master
    maddr = f"{m.ip}:{REDIS_PORT}"
    # The delay applies each way, and in order: on a stream of PINGs every 100 ms the round
    # trip is close to twice the upper bound. 100-400 ms: round trips <= 0.8 s, within
    # ping_timeout (1 s). 1-2 s: round trips 2-4 s, past ping_timeout (the PINGs count as
    # unanswered) but below down_after_unresponsive (5 s).
    for lo, hi, label in ((100, 400, "rtt_below_ping_timeout"),
                          (1000, 2000, "rtt_above_ping_timeout")):
        tails = {vm.name: LogTail(vm) for vm in lab.vms}
        log(f"i: {lo}-{hi} ms on every watcher's path to {m.name}'s redis "
            f"(not from {lab.i_replica.name}, its replica) for 30 s")
        for vm in lab.vms:
            if vm is not lab.i_replica:
                set_delays(vm, {"master": [lo, hi]})
        time.sleep(30)
        for vm in lab.vms:
            set_delays(vm, {})
        time.sleep(8)
        odown = sum(1 for t in tails.values() for line in t.poll().splitlines()
                    if "odown_declared" in line)
        failover_events = sum(1 for t in tails.values() for line in t.poll().splitlines()
                              if "vote: failover_" in line)
        blocked = sum(1 for t in tails.values() for line in t.poll().splitlines()
                      if "vote: failover_blocked" in line and "the master is alive" in line)
        res[f"master_delay_{label}_sdown_events"] = sdown_lines(maddr, tails)
        res[f"master_delay_{label}_odown_events"] = odown
        res[f"master_delay_{label}_failover_events"] = failover_events
        res[f"master_delay_{label}_blocked_master_alive"] = blocked
        promos = lab.promotions()
        changed = master_changes(lab)
        res[f"master_delay_{label}_promotions"] = len(promos)
        if (promos or changed) and label == "rtt_above_ping_timeout" and \
                lab.args.known_bug_slow_path:
            p = promos[0] if promos else {}
            log(f"i: KNOWN BUG (tolerated by --known-bug-slow-path): a live master behind a "
                f"{lo}-{hi} ms path was failed over: {p.get('mode')} after down_for "
                f"{p.get('down_for_at_decision_ms')} ms by {p.get('by')}")
            lab.keep_logs = True
            break  # the lab now has a new master: the rest would measure nothing
        expect(not promos and not changed,
               f"failover with a {lo}-{hi} ms path to the master: {promos or changed}")
        if label == "rtt_below_ping_timeout":
            expect(res[f"master_delay_{label}_sdown_events"] == 0,
                   "SDOWN with the master's path delayed below ping_timeout")
        else:
            # Late replies are contact (66e44ee): no quorum may call the master down.
            expect(odown == 0, f"ODOWN with the master's path delayed {lo}-{hi} ms each way")
    res["promotions"] = len(lab.promotions())
    return res


def scenario_j(lab):
    """Wall-clock jumps (libfaketime; CLOCK_REALTIME only, the monotonic and boot-time
    clocks stay real, as with an NTP step) on every picketd: offsets jump by hours and a
    day, forwards and back, for 40 s -> no SDOWN, no failover. Then a master's Redis is
    SIGSTOPped while the leader's wall clock is +1 h; 2 s later it jumps back 2 h (and
    another watcher's 1 day forward) -> exactly one promotion, decided after the
    timeouts-only wait measured on the real clock, and the history's decided_unix is the
    executor's (fake) wall clock."""
    tails = {vm.name: LogTail(vm) for vm in lab.vms}
    leader = current_leader(lab)
    before = lab.terms()
    steps = [{leader: 3600}, {leader: -3600, lab.vms[0]: 86400},
             {leader: 0, lab.vms[1]: -86400, lab.vms[2]: 7200}, {vm: 0 for vm in lab.vms}]
    for step in steps:
        for vm, off in step.items():
            lab.set_clock_offset(vm, off)
        time.sleep(10)
    # The offsets took effect: each picketd's log timestamps moved.
    sdowns = sum(1 for t in tails.values() for line in t.poll().splitlines() if "SDOWN" in line)
    after = lab.terms()
    term_changes = max(t for t, _ in after.values()) - max(t for t, _ in before.values())
    expect(not lab.promotions() and sdowns == 0,
           f"clock jumps caused {sdowns} SDOWN lines / promotions {lab.promotions()}")
    # A failover timed across clock jumps: the master's Redis is stopped (timeouts-only
    # evidence, so the decision waits cluster_node_timeout + 1 s), and during that wait the
    # leader's wall clock jumps back 2 h and another watcher's forward 1 day.
    leader = current_leader(lab)
    offsets = {vm.name: 3600 if vm is leader else 600 * vm.index for vm in lab.vms}
    for vm in lab.vms:
        lab.set_clock_offset(vm, offsets[vm.name])
    time.sleep(2)
    victim = next(m for m in master_vms(lab) if m is not leader)
    replica = lab.replica_of(victim)
    other = next(vm for vm in lab.vms if vm not in (leader, victim))
    log(f"j: SIGSTOP {victim.name}'s redis; {leader.name} (leader) at +1 h jumps to -1 h "
        f"2 s later, {other.name} to +1 day")
    t0 = time.time()
    lab.stop(victim, "redis")
    try:
        time.sleep(2)
        lab.set_clock_offset(leader, -3600)
        lab.set_clock_offset(other, 86400)
        wait_until(f"{replica.name} promoted", lambda: lab.role(replica) == "master", 40, 0.1)
    finally:
        lab.cont(victim, "redis")
    t_seen = time.time()
    wait_rejoined(lab, victim)
    wait_full_coverage(lab, lab.vms)
    time.sleep(3)
    promos = lab.promotions()
    expect(len(promos) == 1, f"expected exactly one promotion, got {len(promos)}: {promos}")
    p = promos[0]
    nt = lab.args.node_timeout
    skew = p["decided_unix"] - t0
    # The executor decided on its own (fake) wall clock, after the jumps (the wait is 6 s).
    off_exec = -3600 if p["by"] == leader.name else (86400 if p["by"] == other.name
                                                     else offsets[p["by"]])
    expect(0 <= skew - off_exec <= t_seen - t0 + 1,
           f"decided_unix is {skew:.1f} s from the stop, not on the executor's ({p['by']}, "
           f"offset {off_exec} s) wall clock")
    expect(nt + 1000 <= p["down_for_at_decision_ms"] <= nt + 3000 and
           0 <= p["promoted_after_ms"] <= 5000,
           f"durations off a jumping clock: down_for {p['down_for_at_decision_ms']} ms, "
           f"promoted after {p['promoted_after_ms']} ms")
    expect(len(master_changes(lab)) == 1, "Redis: not one new master")
    return {"jump_steps": len(steps), "sdown_lines_during_jumps": sdowns,
            "term_changes_during_jumps": term_changes, "promotions": len(promos),
            "executor": p["by"], "executor_offset_s": off_exec,
            "decided_unix_minus_stop_s": round(skew, 1),
            "down_for_at_decision_ms": p["down_for_at_decision_ms"],
            "promoted_after_ms": p["promoted_after_ms"]}


# name -> (function, Lab options)
SCENARIOS = {"net": (scenario_net, {}), "a": (scenario_a, {}),
             "b": (scenario_b, {"allow_takeover": True}),
             "c": (scenario_c, {}), "d": (scenario_d, {}), "e": (scenario_e, {}),
             "f": (scenario_f, {}), "g": (scenario_g, {}),
             "h": (scenario_h, {"failover_extra": ["cooldown: 0s", "max_failovers: 1000"]}),
             "i": (scenario_i, {"pre_picketd": setup_proxies}),
             "j": (scenario_j, {"faketime": True})}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--picketd", required=True)
    ap.add_argument("--picketctl", required=True)
    ap.add_argument("--scenarios", default="net,a,b")
    ap.add_argument("--node-timeout", type=int, default=5000,
                    help="cluster-node-timeout in ms (picket's failover.cluster_node_timeout too)")
    ap.add_argument("--loss-seconds", type=int, default=60, help="scenarios c and e, short form")
    ap.add_argument("--long", action="store_true", help="scenarios c and e for 10 minutes")
    ap.add_argument("--known-bug-second-takeover", action="store_true",
                    help="scenario b: only warn when the second shard is promoted with TAKEOVER "
                         "instead of FORCE (picketd counts the taken-over master's stale slots)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="scenario h: kill/restart rounds (default 10, --long 50)")
    ap.add_argument("--f-point", choices=F_POINTS, default=None,
                    help="scenario f: stop the leader at this event (default: cycle over runs)")
    ap.add_argument("--seed", type=int, default=None, help="random choices of g, h, i")
    ap.add_argument("--known-bug-slow-path", action="store_true",
                    help="scenario i: only warn when a live master behind a path slower than "
                         "ping_timeout is failed over (docs/chaos.md, finding 7)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    if args.rounds is None:
        args.rounds = 50 if args.long else 10
    if args.seed is None:
        args.seed = int(time.time())
    print(f"seed {args.seed}", flush=True)

    why = preflight()
    if why:
        print(f"SKIP: chaos suite not run: {why}")
        return SKIP
    for b in (args.picketd, args.picketctl):
        if not os.access(b, os.X_OK):
            print(f"error: {b} is not an executable")
            return 2
    lock = open(LOCK, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(f"error: another chaos run holds {LOCK}")
        return 1

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    cleanup_leftovers()
    results = []
    interrupted = False
    for name in args.scenarios.split(","):
        if name not in SCENARIOS:
            print(f"error: unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
            return 2
    for name in args.scenarios.split(","):
        fn, options = SCENARIOS[name]
        lab = None
        t0 = time.time()
        try:
            if options.get("faketime") and not os.path.exists(FAKETIME_LIB):
                results.append((name, "SKIP", {"why": f"{FAKETIME_LIB} missing (Debian package "
                                                      "faketime)"}, 0.0))
                print(f"RESULT {name}: SKIP ({FAKETIME_LIB} missing)", flush=True)
                continue
            lab = Lab(args, **options)
            lab.up()
            res = fn(lab)
            results.append((name, "PASS", res, time.time() - t0))
        except KeyboardInterrupt as e:
            results.append((name, "INTERRUPTED", {"error": str(e)}, time.time() - t0))
            interrupted = True
        except Exception as e:
            # Anything but a Failure or a timeout is a harness bug: still a FAIL with the
            # logs, and the next scenario runs.
            expected = isinstance(e, (Failure, subprocess.TimeoutExpired))
            what = str(e) if expected else repr(e)
            if not expected:
                traceback.print_exc()
            results.append((name, "FAIL", {"error": what}, time.time() - t0))
            if lab:
                lab.failed = True
                lab.dump()
        finally:
            if lab:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                lab.down()
                signal.signal(signal.SIGINT, signal.default_int_handler)
                signal.signal(signal.SIGTERM, on_signal)
        n, verdict, res, secs = results[-1]
        print(f"RESULT {n}: {verdict} ({secs:.0f} s) {json.dumps(res)}", flush=True)
        if interrupted:
            break
    print("\nscenario  result       seconds  details")
    for n, verdict, res, secs in results:
        details = " ".join(f"{k}={v}" for k, v in res.items())
        print(f"{n:<9} {verdict:<12} {secs:>7.0f}  {details}")
    cleanup_leftovers_check = list_our_namespaces()
    if cleanup_leftovers_check:
        print(f"error: namespaces left behind: {cleanup_leftovers_check}")
        return 1
    return 0 if all(v in ("PASS", "SKIP") for _, v, _, _ in results) and not interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
