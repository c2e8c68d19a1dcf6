#!/usr/bin/env python3
"""Write/read checker for the chaos suite, run inside a VM's namespace.

    writer.py write --seed IP:PORT[,IP:PORT...] --tag TAG [--name NAME] --out FILE --seconds N [--rate R]
                    [--wait MS]
        SET {TAG}:NAME:i i for i = 1, 2, ... (one at a time, following -MOVED), appending every
        acknowledged i and the wall-clock time of its reply to FILE; timeouts and errors are retried on a fresh connection.
        With --wait, each OK is followed by `WAIT 1 MS` on the same connection and the write
        counts as acknowledged only when WAIT answers >= 1 (a replica has it).
        Stops after N seconds or on SIGTERM.
    writer.py check --seed IP:PORT[,IP:PORT...] --tag TAG [--name NAME] --acked FILE
        GETs every acknowledged key; prints one JSON line {acked, lost, wrong, unreadable}.
    writer.py tag --slots A-B
        Prints a hash tag whose slot lies in A-B.
"""

import json
import signal
import socket
import sys
import time


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def tag_for(lo, hi):
    for n in range(100000):
        t = f"chaos{n}"
        if lo <= crc16(t.encode()) % 16384 <= hi:
            return t
    raise SystemExit("no tag found")


class Conn:
    def __init__(self, addr, timeout):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        line = self._line()
        kind, rest = line[:1], line[1:].decode()
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if kind == b"-":
            return RuntimeError(rest)
        return rest


FAILED = object()  # no answer (timeout, connection error, redirect loop)


class Client:
    """Follows -MOVED; reconnects on any error. Every call bounded by `timeout`."""

    def __init__(self, seeds, timeout=0.5):
        self.last_addr = None  # the node that answered the last call
        self.seeds = seeds.split(",")
        self.addr = self.seeds[0]
        self.next_seed = 1
        self.timeout = timeout
        self.conn = None

    def rotate(self):
        """After a failure, ask the next seed: a node that does not serve the slot answers
        -MOVED with its current master, so a promotion is found without a topology read."""
        self.addr = self.seeds[self.next_seed % len(self.seeds)]
        self.next_seed += 1

    def call(self, *args):
        for _ in range(3):
            try:
                if self.conn is None:
                    self.conn = Conn(self.addr, self.timeout)
                r = self.conn.call(*args)
                self.last_addr = self.addr
            except (OSError, ConnectionError, ValueError):
                if self.conn:
                    self.conn.close()
                self.conn = None
                self.rotate()
                return FAILED
            if isinstance(r, RuntimeError) and str(r).startswith("MOVED "):
                self.addr = str(r).split()[2]
                self.conn.close()
                self.conn = None
                continue
            return r
        return FAILED


def write(seed, tag, name, out, seconds, rate, wait_ms=None):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    # WAIT blocks up to wait_ms on the same connection: the socket timeout must exceed it.
    c = Client(seed, timeout=0.5 if wait_ms is None else wait_ms / 1000 + 0.5)
    deadline = time.monotonic() + seconds
    i = 0
    with open(out, "a") as f:
        while not stop and time.monotonic() < deadline:
            i += 1
            r = c.call("SET", f"{{{tag}}}:{name}:{i}", str(i))
            if r == "OK" and wait_ms is not None:
                # Same connection, same node: no -MOVED possible for WAIT (no key), and a
                # failure counts the write as not acknowledged.
                addr = c.last_addr
                w = c.call("WAIT", "1", str(int(wait_ms)))
                ok = (w is not FAILED and not isinstance(w, RuntimeError) and c.last_addr == addr
                      and str(w).lstrip("-").isdigit() and int(w) >= 1)
                r = "OK" if ok else "NOWAIT"
            if r == "OK":
                f.write(f"{i} {time.time():.3f}\n")
                f.flush()
            else:
                time.sleep(0.05)
            time.sleep(1.0 / rate)


def check(seed, tag, name, acked_file):
    c = Client(seed, timeout=2)
    acked = [int(line.split()[0]) for line in open(acked_file) if line.strip()]
    lost = wrong = unreadable = 0
    for i in acked:
        r = FAILED
        for _ in range(3):
            r = c.call("GET", f"{{{tag}}}:{name}:{i}")
            if r is not FAILED and not isinstance(r, RuntimeError):
                break
            time.sleep(0.2)
        if r is FAILED or isinstance(r, RuntimeError):
            unreadable += 1
        elif r is None:
            lost += 1
        elif r != str(i):
            wrong += 1
    print(json.dumps({"acked": len(acked), "lost": lost, "wrong": wrong,
                      "unreadable": unreadable}))


def main():
    a = sys.argv[1:]
    opts = {a[i]: a[i + 1] for i in range(1, len(a) - 1, 2)}
    if a and a[0] == "tag":
        lo, hi = (int(x) for x in opts["--slots"].split("-"))
        print(tag_for(lo, hi))
    elif a and a[0] == "write":
        write(opts["--seed"], opts["--tag"], opts.get("--name", "w"), opts["--out"], float(opts["--seconds"]),
              float(opts.get("--rate", "200")),
              float(opts["--wait"]) if "--wait" in opts else None)
    elif a and a[0] == "check":
        check(opts["--seed"], opts["--tag"], opts.get("--name", "w"), opts["--acked"])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
