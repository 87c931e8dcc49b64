#!/usr/bin/python3
"""smtp_peer.py: a real SMTP server (Debian's python3-aiosmtpd) for the
SMTP client's integration tests, with faults on demand.

    smtp_peer.py --port 0 --ready-file F --maildir D [--tls starttls|implicit|none]
                 [--cert C --key K] [--auth-user U --auth-pass P] [--auth-token T]
                 [--auth-token-file F]
                 [--fault NAME]... [--transcript FILE] [--lifetime SECONDS]
                 [--address IP] [--sessions-file FILE]

It listens on --address (an IPv4 or IPv6 literal, default 127.0.0.1).
With --port 0 the kernel picks a free port; once listening, the port
number is written to --ready-file.  Each message
received becomes a file in --maildir (written to a temporary name, then
renamed): the raw "MAIL FROM:" line with its parameters, a "RCPT TO:" line
per accepted recipient, an empty line, then the message exactly as
received (CRLF, dots unstuffed).  --transcript gets one line per command
("AUTH PLAIN", never the credentials).  The server stops by itself after
--lifetime seconds (default 120), so a test that dies leaves nothing behind.
--auth-token-file names a file whose first line is the one XOAUTH2 token
accepted, read again at every AUTH (so a test can rotate it); it
replaces --auth-token.  A refused XOAUTH2 token gets the error challenge
{"status":"401",...} and then 535.
--sessions-file gets three lines, rewritten (atomically) whenever a
connection comes or goes: "current N" (sessions open now), "max N" (the
most that were ever open at once) and "total N" (connections accepted).
A session counts as open from its connection until its QUIT or, without
QUIT, until the connection is gone.

Faults (--fault, repeatable):
    refuse-greeting-421   greet with 421 and hang up
    refuse-greeting-554   greet with 554 (blocked) and hang up
    auth-535              refuse every credential
    auth-535-text:TEXT    refuse every credential with "535 TEXT"
                          (TEXT: "5.7.139 basic authentication is disabled")
    auth-reply:REPLY      refuse every credential with REPLY ("454 4.7.0 ...")
    auth-only:MECH[,MECH] offer only these AUTH mechanisms
    no-auth               offer no AUTH at all
    refuse-ehlo           answer EHLO and HELO with 550
    starttls-454          offer STARTTLS, answer it with 454
    mail-hangup           drop the connection at MAIL FROM
    mail-refuse[:REPLY]   refuse every MAIL FROM with REPLY (default:
                          553 5.7.1 Sender address rejected: not owned by user)
    rcpt-451[:ADDR]       451 for ADDR (every recipient without :ADDR)
    rcpt-550[:ADDR]       550 likewise
    slow-reply:SECONDS    wait that long before answering MAIL FROM
    advertise-requiretls  offer REQUIRETLS (and accept the parameter)
    advertise-dsn         offer DSN (and accept RET, ENVID, NOTIFY, ORCPT)
    no-pipelining         do not offer PIPELINING
    no-smtputf8           do not offer SMTPUTF8
    garbage-greeting      greet with a line that is not a reply
    long-greeting         greet with a 3000-octet line
    endless-greeting      greet with 1001 "220-" lines
    silent                accept connections and say nothing
    close-after-data      hang up right after answering each message's
                          final dot (every message a new session)
"""

import argparse
import asyncio
import base64
import hmac
import os
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

MAIL_PARAMS_DSN = {"RET", "ENVID"}
RCPT_PARAMS_DSN = {"NOTIFY", "ORCPT"}


class Sessions:
    """Connections open at once (high-water mark) and in all, written
    to --sessions-file."""

    def __init__(self, path):
        self.path = path
        self.current = 0
        self.max = 0
        self.total = 0
        self.write()

    def write(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("current %d\nmax %d\ntotal %d\n" %
                    (self.current, self.max, self.total))
        os.rename(tmp, self.path)

    def opened(self):
        self.current += 1
        self.total += 1
        self.max = max(self.max, self.current)
        self.write()

    def closed(self):
        self.current -= 1
        self.write()


def strip_params(arg, allowed):
    """Drop the ESMTP parameters aiosmtpd does not know but we offered."""
    if not arg or not allowed:
        return arg
    words = arg.split(" ")
    kept = [w for i, w in enumerate(words)
            if i == 0 or w.split("=", 1)[0].upper() not in allowed]
    return " ".join(kept)


class PeerSMTP(SMTP):
    """aiosmtpd's server, recording raw commands and taking the
    extension parameters the faults make us offer."""

    def __init__(self, handler, opts, **kw):
        super().__init__(handler, **kw)
        self.opts = opts
        self.raw_mail = ""
        self.raw_rcpt = ""
        self.counted = False

    def connection_made(self, transport):
        # Called again (with the TLS transport) after STARTTLS.
        if not self.counted:
            self.counted = True
            self.opts.sessions.opened()
        super().connection_made(transport)

    def uncount(self):
        if self.counted:
            self.counted = False
            self.opts.sessions.closed()

    def connection_lost(self, exc):
        self.uncount()
        super().connection_lost(exc)

    def note(self, line):
        if self.opts.transcript:
            with open(self.opts.transcript, "a", encoding="utf-8",
                      errors="replace") as f:
                f.write(line + "\n")

    def mail_allowed(self):
        allowed = set()
        if "advertise-requiretls" in self.opts.faults:
            allowed.add("REQUIRETLS")
        if "advertise-dsn" in self.opts.faults:
            allowed |= MAIL_PARAMS_DSN
        return allowed

    async def smtp_EHLO(self, hostname):
        self.note("EHLO " + (hostname or ""))
        if "refuse-ehlo" in self.opts.faults:
            await self.push("550 5.7.1 %s: not a name I accept" % hostname)
            return
        await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname):
        self.note("HELO " + (hostname or ""))
        if "refuse-ehlo" in self.opts.faults:
            await self.push("550 5.7.1 %s: not a name I accept" % hostname)
            return
        await super().smtp_HELO(hostname)

    async def smtp_STARTTLS(self, arg):
        self.note("STARTTLS")
        if "starttls-454" in self.opts.faults:
            await self.push("454 4.7.0 TLS not available due to local "
                            "problem")
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg):
        self.note("AUTH " + (arg or "").split(" ")[0] +
                  (" TLS" if self.transport.get_extra_info("sslcontext")
                   or self._tls_protocol else ""))
        await super().smtp_AUTH(arg)

    async def smtp_MAIL(self, arg):
        self.note("MAIL " + (arg or ""))
        self.raw_mail = arg or ""
        await super().smtp_MAIL(strip_params(arg, self.mail_allowed()))

    async def smtp_RCPT(self, arg):
        self.note("RCPT " + (arg or ""))
        self.raw_rcpt = arg or ""
        allowed = RCPT_PARAMS_DSN if "advertise-dsn" in self.opts.faults \
            else set()
        await super().smtp_RCPT(strip_params(arg, allowed))

    async def smtp_RSET(self, arg):
        self.note("RSET")
        await super().smtp_RSET(arg)

    async def smtp_DATA(self, arg):
        self.note("DATA")
        await super().smtp_DATA(arg)
        if "close-after-data" in self.opts.faults and self.transport:
            # The reply is in the transport's buffer: close flushes it.
            self.transport.close()

    async def smtp_QUIT(self, arg):
        self.note("QUIT")
        self.uncount()
        await super().smtp_QUIT(arg)


class Handler:
    def __init__(self, opts):
        self.opts = opts
        self.count = 0

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        if "no-auth" in self.opts.faults:
            responses = [r for r in responses
                         if not r.upper().startswith("250-AUTH")]
        last = responses.pop()
        extra = []
        if "no-pipelining" not in self.opts.faults:
            extra.append("250-PIPELINING")
        if "advertise-dsn" in self.opts.faults:
            extra.append("250-DSN")
        if "advertise-requiretls" in self.opts.faults:
            extra.append("250-REQUIRETLS")
        extra.append("250-ENHANCEDSTATUSCODES")
        return responses + extra + [last]

    async def handle_MAIL(self, server, session, envelope, address,
                          mail_options):
        delay = self.opts.slow
        if delay:
            await asyncio.sleep(delay)
        if self.opts.mail_refuse:
            return self.opts.mail_refuse
        if "mail-hangup" in self.opts.faults:
            server.transport.abort()
            return "421 4.3.0 never seen"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.raw_mail = server.raw_mail
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        for code, text in (("451", "4.3.0 Try again later"),
                           ("550", "5.1.1 No such user here")):
            target = self.opts.rcpt_faults.get(code)
            if target is not None and (target == "*" or
                                       target.lower() == address.lower()):
                return "%s %s" % (code, text)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        if not hasattr(envelope, "raw_rcpts"):
            envelope.raw_rcpts = []
        envelope.raw_rcpts.append(server.raw_rcpt)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%03d.msg" % self.count
        tmp = os.path.join(self.opts.maildir, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(b"MAIL " +
                    getattr(envelope, "raw_mail", "").encode(
                        "utf-8", "surrogateescape") + b"\n")
            for raw in getattr(envelope, "raw_rcpts", []):
                f.write(b"RCPT " +
                        raw.encode("utf-8", "surrogateescape") + b"\n")
            f.write(b"\n")
            f.write(envelope.original_content or b"")
        os.rename(tmp, os.path.join(self.opts.maildir, name))
        return "250 2.0.0 OK queued as %s" % name

    # Extra mechanisms: aiosmtpd maps auth_CRAM__MD5 to "CRAM-MD5".
    async def auth_CRAM__MD5(self, server, args):
        challenge = "<%d.%d@peer.test>" % (os.getpid(), time.time_ns())
        answer = await server.challenge_auth(challenge)
        if not isinstance(answer, bytes) or b" " not in answer:
            return AuthResult(success=False)
        user, digest = answer.rsplit(b" ", 1)
        want = hmac.new((self.opts.auth_pass or "").encode(),
                        challenge.encode(), "md5").hexdigest().encode()
        ok = (user.decode(errors="replace") == self.opts.auth_user and
              hmac.compare_digest(digest, want) and
              not self.opts.auth_refuse)
        return AuthResult(success=True, handled=False) if ok else \
            auth_refusal(self.opts)

    async def auth_XOAUTH2(self, server, args):
        try:
            blob = base64.b64decode(args[1], validate=True).decode()
        except Exception:
            return AuthResult(success=False)
        fields = dict(p.split("=", 1) for p in blob.split("\x01") if "=" in p)
        token = self.opts.auth_token
        if self.opts.auth_token_file:
            try:
                with open(self.opts.auth_token_file) as f:
                    token = f.readline().strip()
            except OSError:
                token = None
        ok = (token and fields.get("user") == self.opts.auth_user and
              fields.get("auth") == "Bearer %s" % token and
              not self.opts.auth_refuse)
        if ok:
            return AuthResult(success=True, handled=False)
        # RFC: a JSON error as a 334 challenge, the client answers with
        # an empty line, then the failure.
        await server.challenge_auth('{"status":"401","schemes":"bearer"}')
        return auth_refusal(self.opts)


def auth_refusal(opts):
    """The failure reply: aiosmtpd's 535, auth-535-text's or auth-reply's."""
    if opts.auth_reply:
        return AuthResult(success=False, handled=False,
                          message=opts.auth_reply)
    if opts.auth_text:
        return AuthResult(success=False, handled=False,
                          message="535 " + opts.auth_text)
    return AuthResult(success=False, handled=False)


def authenticator(opts):
    def check(server, session, envelope, mechanism, auth_data):
        if opts.auth_refuse or not isinstance(auth_data, LoginPassword):
            return auth_refusal(opts)
        ok = (auth_data.login.decode(errors="replace") == opts.auth_user and
              auth_data.password.decode(errors="replace") == opts.auth_pass)
        return AuthResult(success=True, handled=False) if ok else \
            auth_refusal(opts)
    return check


RAW_GREETINGS = {
    "refuse-greeting-421": b"421 4.3.2 peer.test Service not available\r\n",
    "refuse-greeting-554": b"554 5.7.1 peer.test: your address is on a "
                           b"block list\r\n",
    "garbage-greeting": b"hello there, I am not an SMTP server\r\n",
    "long-greeting": b"220 " + b"x" * 3000 + b"\r\n",
    "endless-greeting": b"220-peer.test\r\n" * 1001 + b"220 end\r\n",
    "silent": b"",
}


def raw_server(fault, sessions):
    """A server that only greets (or not) and then waits for the client
    to go away."""
    async def serve_one(reader, writer):
        sessions.opened()
        try:
            writer.write(RAW_GREETINGS[fault])
            await writer.drain()
            if fault.startswith("refuse-greeting-"):
                writer.close()
                return
            try:
                await asyncio.wait_for(reader.read(), 30)
            except Exception:
                pass
            writer.close()
        finally:
            sessions.closed()
    return serve_one


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--sessions-file")
    ap.add_argument("--tls", choices=("starttls", "implicit", "none"),
                    default="none")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth-user")
    ap.add_argument("--auth-pass")
    ap.add_argument("--auth-token")
    ap.add_argument("--auth-token-file")
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--transcript")
    ap.add_argument("--lifetime", type=float, default=120)
    opts = ap.parse_args()
    opts.faults = set()
    opts.rcpt_faults = {}
    opts.slow = 0
    opts.auth_text = None
    opts.auth_only = None
    opts.auth_reply = None
    opts.mail_refuse = None
    for f in opts.fault:
        name, _, arg = f.partition(":")
        if name in ("rcpt-451", "rcpt-550"):
            opts.rcpt_faults[name[-3:]] = arg or "*"
        elif name == "slow-reply":
            opts.slow = float(arg)
        elif name == "auth-535-text":
            opts.auth_text = arg
        elif name == "auth-reply":
            opts.auth_reply = arg
        elif name == "auth-only":
            opts.auth_only = {m.upper() for m in arg.split(",")}
        elif name == "mail-refuse":
            opts.mail_refuse = arg or ("553 5.7.1 Sender address rejected: "
                                       "not owned by user")
        opts.faults.add(name)
    opts.auth_refuse = ("auth-535" in opts.faults or bool(opts.auth_text) or
                        bool(opts.auth_reply))
    return opts


async def serve(opts):
    loop = asyncio.get_running_loop()
    ctx = None
    if opts.tls != "none":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(opts.cert, opts.key)
    raw = [f for f in RAW_GREETINGS if f in opts.faults]
    if raw:
        server = await asyncio.start_server(
            raw_server(raw[0], opts.sessions), opts.address, opts.port,
            ssl=ctx if opts.tls == "implicit" else None)
    else:
        handler = Handler(opts)
        kw = dict(hostname="peer.test", ident="smtp_peer",
                  enable_SMTPUTF8="no-smtputf8" not in opts.faults,
                  decode_data=False, timeout=60)
        if opts.tls == "starttls":
            kw["tls_context"] = ctx
        if opts.auth_user is not None:
            kw["auth_required"] = True
            # AUTH is offered in plaintext too (the client must refuse
            # to use it); with STARTTLS only after the upgrade.
            kw["auth_require_tls"] = opts.tls == "starttls"
            kw["authenticator"] = authenticator(opts)
            if opts.auth_only:
                kw["auth_exclude_mechanism"] = [
                    m for m in ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2")
                    if m not in opts.auth_only]
        server = await loop.create_server(
            lambda: PeerSMTP(handler, opts, **kw), opts.address, opts.port,
            ssl=ctx if opts.tls == "implicit" else None)
    port = server.sockets[0].getsockname()[1]
    tmp = opts.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, opts.ready_file)
    try:
        await asyncio.sleep(opts.lifetime)
    finally:
        server.close()


def main():
    opts = parse()
    os.makedirs(opts.maildir, exist_ok=True)
    opts.sessions = Sessions(opts.sessions_file)
    try:
        asyncio.run(serve(opts))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
