#!/usr/bin/python3
"""smtp_submit.py: submit numbered messages to an SMTP listener that may
vanish at any moment (the crash tests kill it with SIGKILL), until each
one is acknowledged.

    smtp_submit.py --port P --prefix TAG --first K --count N --out FILE
                   [--interval SECONDS] [--deadline SECONDS]

Message K (K = first .. first+count-1) has the subject "crash TAG-K"
and a body that ends with the line "end of TAG-K", so a receiver can
tell a whole message from a part.  Messages go one after another over
one session, reconnecting after any failure (refused connection,
dropped session, 4xx); a message is sent again until it gets its 250.
--interval paces the messages (seconds between two), --deadline bounds
the whole run.

--out gets a line per event, flushed at once:
    ack K ID        K was acknowledged ("250 ... queued as ID")
    uncertain K     the session broke after DATA: K may have been
                    queued although no 250 came (sending it again may
                    make a duplicate, and that is the client's doing)
    fail K REPLY    a 4xx or 5xx reply to K
The exit code is 0 when every message was acknowledged, 1 otherwise.
"""

import argparse
import smtplib
import socket
import sys
import time


def message(tag, k, sender, rcpt):
    lines = ["From: <%s>" % sender, "To: <%s>" % rcpt,
             "Subject: crash %s-%d" % (tag, k), "", "body of %s-%d" % (tag, k)]
    lines += ["line %d of %s-%d" % (i, tag, k) for i in range(20)]
    lines.append("end of %s-%d" % (tag, k))
    return ("\r\n".join(lines) + "\r\n").encode()


class Submitter:
    def __init__(self, args, out):
        self.a = args
        self.out = out
        self.conn = None

    def note(self, text):
        self.out.write(text + "\n")
        self.out.flush()

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None

    def connect(self):
        self.conn = smtplib.SMTP("127.0.0.1", self.a.port, timeout=10)
        self.conn.ehlo("crash.example.net")

    def send(self, k):
        """One try at message k: True when acknowledged."""
        in_data = False
        try:
            if self.conn is None:
                self.connect()
            code, resp = self.conn.mail(self.a.sender)
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
            code, resp = self.conn.rcpt(self.a.rcpt)
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
            in_data = True
            code, resp = self.conn.data(message(self.a.prefix, k,
                                                self.a.sender, self.a.rcpt))
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
        except smtplib.SMTPResponseException as e:
            self.note("fail %d %d %s" % (k, e.smtp_code, e.smtp_error))
            self.close()
            return False
        except (OSError, smtplib.SMTPException):
            if in_data:
                self.note("uncertain %d" % k)
            self.close()
            return False
        words = resp.decode(errors="replace").split()
        self.note("ack %d %s" % (k, words[-1] if words else "?"))
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=0)
    ap.add_argument("--deadline", type=float, default=300)
    ap.add_argument("--sender", default="smtp@example.org")
    ap.add_argument("--rcpt", default="sink@example.com")
    a = ap.parse_args()
    end = time.monotonic() + a.deadline
    with open(a.out, "a") as out:
        s = Submitter(a, out)
        k = a.first
        while k < a.first + a.count and time.monotonic() < end:
            if s.send(k):
                k += 1
                if a.interval > 0:
                    time.sleep(a.interval)
            else:
                time.sleep(0.05)
        s.close()
    return 0 if k >= a.first + a.count else 1


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    sys.exit(main())
