#!/usr/bin/python3
"""listen-idle.py -- bench/listen's idle-connection client (phase (c)).

    listen-idle.py [-n COUNT] [-c CONCURRENCY] [-t TIMEOUT_S] HOST PORT

Opens COUNT TCP connections to HOST:PORT, at most CONCURRENCY of them
still connecting or awaiting their greeting at a time, reads each one's
greeting (the whole first reply line) and then keeps it open without
sending a byte.  Prints key=value lines on stdout:

    ready opened=N greeted=N refused=N rejected=N no_greeting=N closed=N t_s=S

once every connection has either been greeted or has failed, where
"rejected" counts greetings that were not 220 (e.g. 421 too many
connections), "closed" counts greeted connections the server closed
since, and t_s is the time it took.  On SIGUSR1 it prints

    status open=N closed=N

(open: greeted and still open; closed: greeted, then closed by the
server), and on SIGTERM or SIGINT the same line as "final ..." before it
closes everything and exits 0.  Exit 2 on usage errors.  The first
rejected greeting text is printed once as "first_rejection=...".

It raises its own RLIMIT_NOFILE soft limit to the hard limit; the caller
raises the hard limit (bench/listen does, as root).  No third-party
modules: /usr/bin/python3's asyncio only.
"""
import asyncio
import resource
import signal
import sys
import time


class Idle(asyncio.Protocol):
    """One connection: read the greeting line, then stay silent."""

    def __init__(self, stats, greeted_fut):
        self.stats = stats
        self.fut = greeted_fut
        self.buf = b""
        self.greeted = False
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self.greeted:
            return  # anything later (a 421 on timeout) shows as a close
        self.buf += data
        if len(self.buf) > 4096 and b"\n" not in self.buf:
            self._done("no_greeting")
            self.transport.abort()
            return
        # A multi-line greeting ("220-...") ends with "220 ...".
        for line in self.buf.split(b"\n"):
            if len(line) >= 4 and line[3:4] == b" ":
                if line.startswith(b"220"):
                    self.greeted = True
                    self._done("greeted")
                else:
                    if self.stats.get("first_rejection") is None:
                        self.stats["first_rejection"] = line.strip().decode(
                            "ascii", "replace")
                    self._done("rejected")
                    self.transport.abort()
                return

    def connection_lost(self, exc):
        if self.greeted:
            self.stats["closed"] += 1
        else:
            self._done("no_greeting")

    def _done(self, what):
        if not self.fut.done():
            self.fut.set_result(what)


async def open_one(loop, host, port, stats, sem, timeout, conns):
    async with sem:
        fut = loop.create_future()
        try:
            transport, proto = await asyncio.wait_for(
                loop.create_connection(lambda: Idle(stats, fut), host, port),
                timeout)
        except (OSError, asyncio.TimeoutError) as e:
            stats["refused"] += 1
            if stats.get("first_error") is None:
                stats["first_error"] = repr(e)
            return
        stats["opened"] += 1
        conns.append(transport)
        try:
            what = await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            what = "no_greeting"
            transport.abort()
        stats[what] += 1


def line(tag, stats):
    open_now = stats["greeted"] - stats["closed"]
    return "%s open=%d closed=%d" % (tag, open_now, stats["closed"])


async def main(argv):
    count, conc, timeout = 5000, 200, 30.0
    args = list(argv)
    pos = []
    while args:
        a = args.pop(0)
        if a == "-n":
            count = int(args.pop(0))
        elif a == "-c":
            conc = int(args.pop(0))
        elif a == "-t":
            timeout = float(args.pop(0))
        else:
            pos.append(a)
    if len(pos) != 2 or count < 1 or conc < 1:
        sys.stderr.write(__doc__)
        return 2
    host, port = pos[0], int(pos[1])

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard != resource.RLIM_INFINITY and hard < count + 64:
        sys.stderr.write("listen-idle: RLIMIT_NOFILE hard limit %d is too "
                         "low for %d connections\n" % (hard, count))
        return 2

    loop = asyncio.get_running_loop()
    stats = {"opened": 0, "greeted": 0, "refused": 0, "rejected": 0,
             "no_greeting": 0, "closed": 0}
    conns = []
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(
        signal.SIGUSR1, lambda: print(line("status", stats), flush=True))

    sem = asyncio.Semaphore(conc)
    t0 = time.monotonic()
    await asyncio.gather(*(open_one(loop, host, port, stats, sem, timeout,
                                    conns) for _ in range(count)))
    print("ready opened=%d greeted=%d refused=%d rejected=%d no_greeting=%d "
          "closed=%d t_s=%.3f" % (stats["opened"], stats["greeted"],
                                  stats["refused"], stats["rejected"],
                                  stats["no_greeting"], stats["closed"],
                                  time.monotonic() - t0), flush=True)
    for k in ("first_rejection", "first_error"):
        if stats.get(k):
            print("%s=%s" % (k, stats[k].replace(" ", "_")), flush=True)
    await stop.wait()
    print(line("final", stats), flush=True)
    for t in conns:
        t.abort()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
