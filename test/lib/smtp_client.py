#!/usr/bin/python3
"""smtp_client.py: a raw-socket SMTP client for the listener's
integration tests — it sends exactly the bytes it is told to (bare CR,
bare LF, pipelined commands, a byte at a time, a PROXY header, TLS when
told) and prints what the server answers, one reply line per output
line, CRLF removed.  No library beyond ssl.

    smtp_client.py --port P [--host 127.0.0.1] [--source ADDR]
                   [--timeout SECONDS] [--proxy HEX] [--proxy-text TEXT]
                   [--tls] STEP...

--source binds the client's end to ADDR first (127.0.0.2 is another
loopback address on Linux: a client outside a listener's networks).
--timeout bounds each read and send (default 15 s).  --proxy HEX and
--proxy-text TEXT (escapes decoded) are bytes sent first, in the order
given, before any reply is read (a PROXY protocol header).  --tls
starts TLS at once (implicit TLS), after those bytes.  The steps, in
order:

    read              read one reply (all its lines) and print it
    cmd:TEXT          send TEXT CRLF, then read one reply
    send:TEXT         send TEXT, backslash escapes decoded (\\r \\n \\t
                      \\\\ \\xHH), nothing added, nothing read
    sendfile:PATH     send the bytes of PATH
    replies:N         read N replies
    drain:SECONDS     read and print replies until the server closes or
                      nothing comes for SECONDS
    eof:SECONDS       wait up to SECONDS for the server to close (lines
                      that come meanwhile are printed)
    tls               TLS handshake on the connection (after STARTTLS's
                      220; no verification); prints "TLS <version>"
    time              print "TIME <milliseconds>" (monotonic clock)
    sleep:SECONDS     wait
    drip:SECONDS:TEXT send TEXT (escapes decoded) one byte every SECONDS,
                      printing replies as they come; stops when the
                      server closes, then prints "<drip: sent K of N>"
    hold:PATH:SECONDS keep the connection until PATH exists, the server
                      closes or SECONDS pass

A reply line that ends in a bare LF is printed with " <NO-CR>" added.
Markers on lines of their own: "<EOF>" when the server closed (or reset)
the connection, "<TIMEOUT>" when a read got no complete reply in time
(what came of it is printed first), "<OPEN>" when eof: saw no close,
"<SEND-FAILED: why>" when a send failed (cmd: then reads nothing),
"<HELD>" when hold: ended without the server closing.

Exit codes: 0 when every step ran; 2 when the connection failed
("<CONNECT-FAILED: why>"); 3 when read, cmd: or replies: timed out
("<TIMEOUT>"; the steps after it are not run, the dialogue being out of
step) or the TLS handshake did; 4 when the TLS handshake failed
("<TLS-FAILED: why>").  drain: ending on silence, and the replies drip:
and hold: wait for, print "<TIMEOUT>" and go on.  Every wait is bounded;
output is flushed line by line, so a client running in the background
can be watched.
"""

import argparse
import codecs
import os
import socket
import ssl
import sys
import time


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def unescape(text):
    return codecs.escape_decode(text.encode("utf-8", "surrogateescape"))[0]


class ReadTimeout(Exception):
    """A read step got no complete reply in time."""


class TLSFailed(Exception):
    """The TLS handshake failed."""


class Conn:
    def __init__(self, sock, timeout):
        self.sock = sock
        self.timeout = timeout
        self.buf = b""
        self.closed = False
        # Bounds a send to a server that stops reading.
        sock.settimeout(timeout)

    def _fill(self, deadline):
        """Read what comes before deadline; False on timeout or EOF."""
        if self.closed:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        # recv with a timeout, not select: a TLS socket may hold
        # decrypted data select cannot see.
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            # Reset, or a TLS error: the connection is over.
            data = b""
        finally:
            self.sock.settimeout(self.timeout)
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
        # Replies end in CRLF: a bare LF shows.
        if not line.endswith(b"\r"):
            return line.decode("utf-8", "replace") + " <NO-CR>"
        return line[:-1].decode("utf-8", "replace")

    def _flush_partial(self):
        """Print what is left of a line the server did not end."""
        if self.buf:
            out(self.buf.decode("utf-8", "replace"))
            self.buf = b""

    def reply(self, timeout=None):
        """Read and print one reply; True when a whole reply came."""
        deadline = time.monotonic() + (self.timeout if timeout is None
                                       else timeout)
        while True:
            line = self._line(deadline)
            if line is None:
                self._flush_partial()
                out("<EOF>" if self.closed else "<TIMEOUT>")
                return False
            out(line)
            # "250-" continues; anything else ends the reply, even a
            # malformed line (a test must never hang on it).
            if not (len(line) >= 4 and line[:3].isdigit() and
                    line[3] == "-"):
                return True

    def must_reply(self):
        """reply(), where a timeout ends the session."""
        whole = self.reply()
        if not whole and not self.closed:
            raise ReadTimeout()
        return whole

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError as e:
            out("<SEND-FAILED: %s>" % (e.strerror or e))
            return False

    def wait_eof(self, secs):
        """Print lines until the server closes ("<EOF>", True) or secs
        pass (False)."""
        deadline = time.monotonic() + secs
        while True:
            line = self._line(deadline)
            if line is None:
                break
            out(line)
        if self.closed:
            self._flush_partial()
            out("<EOF>")
            return True
        return False

    def tls(self):
        """The TLS handshake (no verification); prints its version."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            self.sock = ctx.wrap_socket(self.sock)
        except (socket.timeout, TimeoutError):
            out("<TIMEOUT>")
            raise ReadTimeout()
        except OSError as e:
            out("<TLS-FAILED: %s>" % e)
            raise TLSFailed()
        self.buf = b""
        out("TLS %s" % self.sock.version())


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
        c.must_reply()
    elif name == "cmd":
        if c.send(arg.encode("utf-8", "surrogateescape") + b"\r\n"):
            c.must_reply()
    elif name == "send":
        c.send(unescape(arg))
    elif name == "sendfile":
        with open(arg, "rb") as f:
            c.send(f.read())
    elif name == "replies":
        for _ in range(int(arg)):
            if not c.must_reply():
                break
    elif name == "drain":
        # Each reply may take up to SECONDS; bounded in count too.
        for _ in range(10000):
            if not c.reply(float(arg)):
                break
    elif name == "eof":
        if not c.wait_eof(float(arg)):
            out("<OPEN>")
    elif step == "tls":
        c.tls()
    elif step == "time":
        out("TIME %d" % (time.monotonic_ns() // 1000000))
    elif name == "sleep":
        time.sleep(float(arg))
    elif name == "drip":
        step_drip(c, arg)
    elif name == "hold":
        step_hold(c, arg)
    else:
        raise SystemExit("smtp_client.py: unknown step %r" % step)


def main():
    ap = argparse.ArgumentParser(allow_abbrev=False)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--source")
    ap.add_argument("--timeout", type=float, default=15)
    # Both append to one list, so the bytes go in the order given.
    ap.add_argument("--proxy", dest="pre", action="append",
                    type=bytes.fromhex, default=[])
    ap.add_argument("--proxy-text", dest="pre", action="append",
                    type=unescape)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("steps", nargs="*")
    opts = ap.parse_args()
    try:
        sock = socket.create_connection(
            (opts.host, opts.port), timeout=opts.timeout,
            source_address=(opts.source, 0) if opts.source else None)
    except OSError as e:
        out("<CONNECT-FAILED: %s>" % (e.strerror or e))
        return 2
    c = Conn(sock, opts.timeout)
    try:
        if opts.pre:
            c.send(b"".join(opts.pre))
        if opts.tls:
            c.tls()
        for step in opts.steps:
            run_step(c, step)
    except ReadTimeout:
        return 3
    except TLSFailed:
        return 4
    finally:
        c.sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
