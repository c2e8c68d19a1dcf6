#!/usr/bin/env python3
"""Userspace TCP proxy with delay and jitter for the chaos suite (no `tc netem` here).

    delayproxy.py --map NAME=LISTEN=TARGET [--map ...] --control FILE [--mark N]
                  [--max-buffer BYTES] [--max-conns N] [--seed S]

LISTEN and TARGET are host:port; the suite only gives it loopback or addresses of the
namespaces it created. Every chunk read from either side of a connection is handed to the
other side after a delay drawn uniformly from [lo, hi] ms, in order: a chunk is never
delivered before the one read before it (deliver at max(previous, now + delay)), as TCP
would. The delays per map NAME come from the control file, JSON {"NAME": [lo, hi], ...}
(a NAME not listed: no delay), re-read every 0.2 s, so the suite turns jitter on and off
without touching connections. Outgoing connections carry SO_MARK N (default 0x77) so the
namespace's REDIRECT rules let them through. Bounded: at most --max-buffer bytes (default
1 MiB) queued per direction of a connection (reading pauses beyond it), at most
--max-conns (default 64) connections per map (more are closed at once). SIGTERM or SIGINT:
every listener and connection is closed and it exits 0.
"""

import asyncio
import json
import random
import signal
import socket
import sys

SO_MARK = 36  # linux/asm-generic/socket.h


def parse_args(argv):
    maps, opts = [], {"--control": None, "--mark": "0x77", "--max-buffer": str(1 << 20),
                      "--max-conns": "64", "--seed": None}
    it = iter(argv)
    for a in it:
        v = next(it, None)
        if v is None:
            raise SystemExit(f"{a} needs a value")
        if a == "--map":
            name, listen, target = v.split("=")
            maps.append((name, listen, target))
        elif a in opts:
            opts[a] = v
        else:
            raise SystemExit(f"unknown option {a}")
    if not maps or not opts["--control"]:
        raise SystemExit(__doc__)
    return maps, opts


def hostport(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


class Proxy:
    def __init__(self, maps, opts):
        self.maps = maps
        self.control = opts["--control"]
        self.mark = int(opts["--mark"], 0)
        self.max_buffer = int(opts["--max-buffer"])
        self.max_conns = int(opts["--max-conns"])
        self.rng = random.Random(opts["--seed"])
        self.delays = {}
        self.conns = {name: set() for name, _, _ in maps}
        self.tasks = set()

    def delay(self, name):
        lo, hi = self.delays.get(name, (0, 0))
        return self.rng.uniform(lo, hi) / 1000 if hi > 0 else 0.0

    async def watch_control(self):
        while True:
            try:
                with open(self.control) as f:
                    doc = json.load(f)
                self.delays = {k: (float(v[0]), float(v[1])) for k, v in doc.items()}
            except (OSError, ValueError, TypeError, IndexError):
                self.delays = {}
            await asyncio.sleep(0.2)

    async def pump(self, name, reader, writer):
        """One direction: read, stamp each chunk with its delivery time, deliver in order."""
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue()
        room = asyncio.Event()
        room.set()
        queued = 0

        async def deliver():
            nonlocal queued
            try:
                await deliver_all()
            finally:
                room.set()  # a reader waiting for room sees the sender gone

        async def deliver_all():
            nonlocal queued
            while True:
                at, data = await queue.get()
                if data is None:
                    return
                wait = at - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
                queued -= len(data)
                if queued < self.max_buffer:
                    room.set()

        sender = asyncio.ensure_future(deliver())
        last = 0.0
        try:
            while not sender.done():
                if queued >= self.max_buffer:
                    room.clear()
                    await room.wait()
                    continue
                data = await reader.read(65536)
                if not data:
                    break
                last = max(last, loop.time() + self.delay(name))
                queued += len(data)
                queue.put_nowait((last, data))
            queue.put_nowait((last, None))
            await sender  # everything read is delivered before the close
        finally:
            sender.cancel()

    async def handle(self, name, target, reader, writer):
        if len(self.conns[name]) >= self.max_conns:
            writer.close()
            return
        me = asyncio.current_task()
        self.conns[name].add(me)
        up_writer = None
        try:
            host, port = hostport(target)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, SO_MARK, self.mark)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            try:
                await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (host, port)),
                                       5)
            except BaseException:
                sock.close()
                raise
            up_reader, up_writer = await asyncio.open_connection(sock=sock)
            a = asyncio.ensure_future(self.pump(name, reader, up_writer))
            b = asyncio.ensure_future(self.pump(name, up_reader, writer))
            # The first direction to end (EOF or error) ends the connection.
            done, pending = await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.exception()  # retrieved: a reset peer is an ordinary end here
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        except (OSError, asyncio.TimeoutError, ConnectionError, asyncio.CancelledError):
            pass  # an ended connection, or the shutdown's cancel: close both sides
        finally:
            for w in (writer, up_writer):
                if w is not None:
                    w.close()
            self.conns[name].discard(me)

    async def run(self):
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        servers = []
        for name, listen, target in self.maps:
            host, port = hostport(listen)
            servers.append(await asyncio.start_server(
                lambda r, w, n=name, t=target: self.handle(n, t, r, w), host, port,
                reuse_address=True))
        control = asyncio.ensure_future(self.watch_control())
        print(f"delayproxy: listening on {', '.join(m[1] for m in self.maps)}", flush=True)
        await stop.wait()
        control.cancel()
        for s in servers:
            s.close()
        for conns in self.conns.values():
            for t in list(conns):
                t.cancel()
        for s in servers:
            await s.wait_closed()
        pending = [t for conns in self.conns.values() for t in conns]
        await asyncio.gather(*pending, return_exceptions=True)


def main():
    maps, opts = parse_args(sys.argv[1:])
    asyncio.run(Proxy(maps, opts).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
