#!/usr/bin/python3
"""token_endpoint.py: an OAuth2 token endpoint over HTTPS (Debian's
python3 http.server + ssl) for ternd's OAuth2 tests.

    token_endpoint.py --cert C --key K --ready-file F --control FILE
                      --requests FILE [--address IP] [--lifetime SECONDS]

It listens on --address (default 127.0.0.1) on a port the kernel picks
and writes that port to --ready-file once listening.  Every POST is
answered as --control says, a file read again for each request, of
"key value" lines:

    mode ok|error|garbage|hold|http500   (default ok)
    token TOKEN                          the access_token handed out
    expires N                            its expires_in (none: omitted)
    release FILE                         hold: wait until FILE exists
                                         (at most 60 s), then answer ok

ok is {"access_token": TOKEN, "token_type": "Bearer", "expires_in": N};
error is HTTP 401 {"error": "invalid_client", "error_description":
"Client authentication failed: wrong secret"}; garbage is HTTP 200 with
a body that is not JSON; http500 is a 500 without a body.

Each request is appended to --requests as one JSON line, after it was
read and before it is answered: {"path", "content_type",
"authorization" (whether an Authorization header came), "form" (the
decoded fields)}.  The server stops by itself after --lifetime seconds
(default 120).
"""

import argparse
import http.server
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse


def control(path):
    c = {"mode": "ok", "token": "token-1"}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.strip().partition(" ")
                if k:
                    c[k] = v
    except OSError:
        pass
    return c


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        opts = self.server.opts
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, 65536)).decode(errors="replace")
        form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        rec = {"path": self.path,
               "content_type": self.headers.get("Content-Type"),
               "authorization": "Authorization" in self.headers,
               "form": form}
        with self.server.lock:
            with open(opts.requests, "a") as f:
                f.write(json.dumps(rec, sort_keys=True) + "\n")
        c = control(opts.control)
        mode = c["mode"]
        if mode == "hold":
            deadline = time.monotonic() + 60
            while (not os.path.exists(c.get("release", "/nonexistent"))
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            mode = "ok"
        if mode == "ok":
            tok = {"access_token": c["token"], "token_type": "Bearer"}
            if "expires" in c:
                tok["expires_in"] = int(c["expires"])
            self.answer(200, json.dumps(tok))
        elif mode == "error":
            self.answer(401, json.dumps({
                "error": "invalid_client",
                "error_description":
                    "Client authentication failed: wrong secret"}))
        elif mode == "garbage":
            self.answer(200, "<html>this is not JSON</html>", "text/html")
        else:
            self.answer(500, "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--control", required=True)
    ap.add_argument("--requests", required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--lifetime", type=float, default=120)
    opts = ap.parse_args()
    srv = http.server.ThreadingHTTPServer((opts.address, 0), Handler)
    srv.daemon_threads = True
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(opts.cert, opts.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.opts = opts
    srv.lock = threading.Lock()
    tmp = opts.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, opts.ready_file)
    threading.Timer(opts.lifetime, srv.shutdown).start()
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
