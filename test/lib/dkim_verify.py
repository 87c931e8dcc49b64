#!/usr/bin/python3
"""dkim_verify.py FILE KEYDIR: python3-dkim (an implementation independent
of tern's libopendkim) checks the DKIM signature of a message a test peer
stored (its bytes after the envelope lines).  The key record of selector S
is read from KEYDIR/S.txt instead of DNS.  Prints one line:
"ok d=.. s=.. a=.. c=.. h=.." or "fail ..."; always exits 0."""

import re
import sys

import dkim

raw = open(sys.argv[1], "rb").read()
msg = raw.split(b"\n\n", 1)[1] if raw.startswith(b"MAIL ") else raw
if b"\r\n" not in msg:
    msg = msg.replace(b"\n", b"\r\n")


def dnsfunc(name, timeout=5):
    sel = name.decode().split("._domainkey.")[0]
    try:
        return open("%s/%s.txt" % (sys.argv[2], sel), "rb").read()
    except OSError:
        return None


m = re.search(rb"^DKIM-Signature:(.*?)\r\n(?=\S)", msg, re.S | re.M | re.I)
if not m:
    print("fail: no DKIM-Signature")
    sys.exit(0)
tags = dict(
    (k.strip(), v.strip())
    for k, v in (t.split(b"=", 1) for t in
                 re.sub(rb"\s+", b"", m.group(1)).split(b";") if b"=" in t))
ok = dkim.verify(msg, dnsfunc=dnsfunc)
print("%s d=%s s=%s a=%s c=%s h=%s" % (
    "ok" if ok else "fail",
    tags.get(b"d", b"").decode(), tags.get(b"s", b"").decode(),
    tags.get(b"a", b"").decode(), tags.get(b"c", b"").decode(),
    tags.get(b"h", b"").decode().lower()))
