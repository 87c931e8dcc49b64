#!/usr/bin/python3
"""bench/dkim-probe.py — the loop-stall probe of bench/dkim.

One SMTP session on a listener (ternd's [listen] on loopback), unrelated
to the mail being relayed: it reads the greeting, says EHLO once, then
sends NOOP and waits for its reply, again and again, GAP_MS apart, until
SIGTERM/SIGINT (or SECONDS pass).  Each round trip is timed with
time.monotonic_ns() from just before the send to the reply's last line.
A single-threaded event loop answers a NOOP only between two of its
callbacks, so a callback that runs long (signing a batch of messages on
the loop, say) shows up as a long round trip.

    dkim-probe.py HOST PORT [--gap-ms G] [--seconds S] [--out FILE]
                  [--ready FILE]

--ready FILE is created once EHLO was answered (the script waits for
it before it starts the load).  --out writes one line per round trip:
when it started (ms since the first one) and how long it took (ms).  On exit prints one line:

    n=N p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. mean_ms=.. over10_ms=K
    over50_ms=K errors=E

(over10_ms: round trips longer than 10 ms).  Exit status 0, 1 when the session failed
(no 250 to a NOOP, connection closed), 2 on usage errors.
Standard library only.
"""
import argparse
import signal
import socket
import sys
import time

stop = False


def on_signal(_sig, _frame):
    global stop
    stop = True


def read_reply(sock, buf):
    """One SMTP reply (possibly multi-line); returns (code, rest of buf)."""
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if len(line) >= 4 and line[3:4] == b" ":
                return int(line[:3]), buf
            if len(line) < 4:
                return int(line[:3] or b"0"), buf
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed by the server")
        buf += chunk


def pct(sorted_v, p):
    if not sorted_v:
        return 0.0
    k = min(len(sorted_v) - 1, max(0, int(round(p / 100.0 * len(sorted_v) + 0.5)) - 1))
    return sorted_v[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--gap-ms", type=float, default=5.0)
    ap.add_argument("--seconds", type=float, default=0.0)
    ap.add_argument("--out")
    ap.add_argument("--ready")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    rtts = []
    starts = []
    errors = 0
    ok = True
    sock = socket.create_connection((a.host, a.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    try:
        code, buf = read_reply(sock, buf)
        if code != 220:
            raise ConnectionError("greeting %d" % code)
        sock.sendall(b"EHLO probe.example.org\r\n")
        code, buf = read_reply(sock, buf)
        if code != 250:
            raise ConnectionError("EHLO answered %d" % code)
        if a.ready:
            open(a.ready, "w").close()
        t_end = time.monotonic() + a.seconds if a.seconds > 0 else None
        while not stop and (t_end is None or time.monotonic() < t_end):
            t0 = time.monotonic_ns()
            sock.sendall(b"NOOP\r\n")
            code, buf = read_reply(sock, buf)
            t1 = time.monotonic_ns()
            if code != 250:
                errors += 1
            rtts.append((t1 - t0) / 1e6)
            starts.append(t0)
            time.sleep(a.gap_ms / 1000.0)
        try:
            sock.sendall(b"QUIT\r\n")
            read_reply(sock, buf)
        except OSError:
            pass
    except (OSError, ConnectionError, ValueError) as e:
        print("dkim-probe: %s" % e, file=sys.stderr)
        ok = False
    finally:
        sock.close()
    if a.out:
        with open(a.out, "w") as f:
            for t, v in zip(starts, rtts):
                f.write("%.3f %.3f\n" % ((t - starts[0]) / 1e6, v))
    s = sorted(rtts)
    mean = sum(s) / len(s) if s else 0.0
    print("n=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f mean_ms=%.3f "
          "over10_ms=%d over50_ms=%d errors=%d" % (
              len(s), pct(s, 50), pct(s, 90), pct(s, 99), s[-1] if s else 0.0,
              mean, sum(1 for v in s if v > 10), sum(1 for v in s if v > 50),
              errors))
    sys.exit(0 if ok and errors == 0 else 1)


if __name__ == "__main__":
    main()
