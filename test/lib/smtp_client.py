#!/usr/bin/python3
"""smtp_client.py: a raw-socket SMTP client for the listener's
integration tests — it sends exactly the bytes it is told to (bare CR,
bare LF, pipelined commands, a byte at a time) and prints what the
server answers, one reply line per output line, CRLF removed.

    smtp_client.py --port P [--host 127.0.0.1] [--source ADDR]
                   [--timeout SECONDS] STEP...

--source binds the client's end to ADDR first (127.0.0.2 is another
loopback address on Linux: a client outside a listener's networks).
--timeout bounds each read (default 10 s).  The steps, in order:

    read              read one reply (all its lines) and print it
    cmd:TEXT          send TEXT CRLF, then read one reply
    send:TEXT         send TEXT, backslash escapes decoded (\\r \\n \\t
                      \\\\ \\xHH), nothing added, nothing read
    sendfile:PATH     send the bytes of PATH
    replies:N         read N replies
    drain:SECONDS     read and print replies until the server closes or
                      nothing comes for SECONDS
    eof:SECONDS       wait up to SECONDS for the server to close (replies
                      that come meanwhile are printed)
    sleep:SECONDS     wait
    drip:SECONDS:TEXT send TEXT (escapes decoded) one byte every SECONDS,
                      printing replies as they come; stops when the
                      server closes, then prints "<drip: sent K of N>"
    hold:PATH:SECONDS keep the connection until PATH exists, the server
                      closes or SECONDS pass

Markers on lines of their own: "<EOF>" when the server closed (or reset)
the connection, "<TIMEOUT>" when a read got no complete reply in time,
"<SEND-FAILED: why>" when a send failed, "<HELD>" when hold: ended
without the server closing.  A connection that fails prints
"<CONNECT-FAILED: why>" and exits 2; otherwise the exit code is 0:
the test judges the transcript.  Every wait is bounded; output is
flushed line by line, so a client running in the background can be
watched.
"""

import argparse
import codecs
import os
import select
import socket
import sys
import time


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def unescape(text):
    return codecs.escape_decode(text.encode("utf-8", "surrogateescape"))[0]


class Conn:
    def __init__(self, sock, timeout):
        self.sock = sock
        self.timeout = timeout
        self.buf = b""
        self.closed = False

    def _fill(self, deadline):
        """Read what comes before deadline; False on timeout or EOF."""
        if self.closed:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            return False
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError, socket.timeout):
            data = b""
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def _line(self, deadline):
        """One line without its line end, or None."""
        while b"\n" not in self.buf:
            if not self._fill(deadline):
                return None
        line, _, self.buf = self.buf.partition(b"\n")
        if line.endswith(b"\r"):
            line = line[:-1]
        return line.decode("utf-8", "replace")

    def reply(self, timeout=None):
        """Read and print one reply; True when a whole reply came."""
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        while True:
            line = self._line(deadline)
            if line is None:
                if self.buf:
                    out(self.buf.decode("utf-8", "replace"))
                    self.buf = b""
                out("<EOF>" if self.closed else "<TIMEOUT>")
                return False
            out(line)
            # "250-" continues; anything else ends the reply, even a
            # malformed line (a test must never hang on it).
            if not (len(line) >= 4 and line[:3].isdigit() and
                    line[3] == "-"):
                return True

    def pending(self):
        """Complete lines waiting, or data on the socket now."""
        if b"\n" in self.buf:
            return True
        if self.closed:
            return False
        r, _, _ = select.select([self.sock], [], [], 0)
        return bool(r)

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError as e:
            out("<SEND-FAILED: %s>" % (e.strerror or e))
            return False

    def wait_eof(self, secs):
        """Print replies until the server closes or secs pass."""
        deadline = time.monotonic() + secs
        while not self.closed and time.monotonic() < deadline:
            if b"\n" in self.buf:
                self.reply(max(0.1, deadline - time.monotonic()))
                continue
            self._fill(deadline)
        while b"\n" in self.buf:
            self.reply(0.1)
        if self.closed:
            out("<EOF>")
            return True
        return False


def step_drip(c, arg):
    secs, _, text = arg.partition(":")
    data = unescape(text)
    sent = 0
    for i in range(len(data)):
        if c.closed:
            break
        if not c.send(data[i:i + 1]):
            break
        sent += 1
        deadline = time.monotonic() + float(secs)
        while time.monotonic() < deadline and not c.closed:
            if b"\n" in c.buf:
                c.reply(0.5)
                continue
            c._fill(deadline)
    while b"\n" in c.buf:
        c.reply(0.1)
    if c.closed:
        out("<EOF>")
    out("<drip: sent %d of %d>" % (sent, len(data)))


def step_hold(c, arg):
    path, _, secs = arg.rpartition(":")
    deadline = time.monotonic() + float(secs)
    while time.monotonic() < deadline and not os.path.exists(path):
        if c.closed:
            break
        if b"\n" in c.buf:
            c.reply(0.5)
            continue
        c._fill(min(deadline, time.monotonic() + 0.1))
    if c.closed:
        while b"\n" in c.buf:
            c.reply(0.1)
        out("<EOF>")
    else:
        out("<HELD>")


def run_step(c, step):
    name, _, arg = step.partition(":")
    if name == "read":
        c.reply()
    elif name == "cmd":
        if c.send(arg.encode("utf-8", "surrogateescape") + b"\r\n"):
            c.reply()
    elif name == "send":
        c.send(unescape(arg))
    elif name == "sendfile":
        with open(arg, "rb") as f:
            c.send(f.read())
    elif name == "replies":
        for _ in range(int(arg)):
            if not c.reply():
                break
    elif name == "drain":
        # Each reply may take up to SECONDS; bounded in count too.
        for _ in range(10000):
            if not c.reply(float(arg)):
                break
    elif name == "eof":
        if not c.wait_eof(float(arg)):
            out("<OPEN>")
    elif name == "sleep":
        time.sleep(float(arg))
    elif name == "drip":
        step_drip(c, arg)
    elif name == "hold":
        step_hold(c, arg)
    else:
        raise SystemExit("smtp_client.py: unknown step %r" % step)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--source")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("steps", nargs="*")
    opts = ap.parse_args()
    try:
        sock = socket.create_connection(
            (opts.host, opts.port), timeout=opts.timeout,
            source_address=(opts.source, 0) if opts.source else None)
    except OSError as e:
        out("<CONNECT-FAILED: %s>" % (e.strerror or e))
        return 2
    # Bounds a send to a server that stops reading.
    sock.settimeout(opts.timeout)
    c = Conn(sock, opts.timeout)
    try:
        for step in opts.steps:
            run_step(c, step)
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
