# shellcheck shell=bash
# shellcheck disable=SC2016,SC2034,SC2154  # literal $ in patterns and python code; globals shared with the tests and sandbox.sh
#
# listen.sh: shared code for the smtpd_*.sh integration tests — ternd's
# SMTP listener ([listen NAME] sections) seen from the client side.
# Sourced after sandbox.sh and ternd.sh.
#
#  - listen_section NAME PORT [LINE...]: the lines of a [listen NAME]
#    section on 127.0.0.1:PORT (print them, for ternd_config).
#  - chat PORT [OPTIONS] STEP...: a scripted SMTP client (python3, no
#    library beyond ssl): sends what the steps say and prints every
#    reply line it reads, CRs removed.  Sets RC, OUT, ERR (see run).
#    Steps:
#      >TEXT    send TEXT and CRLF        =TEXT   send TEXT as it is
#      <        read one reply            <N      read N replies
#      tls      STARTTLS's handshake (no verification); prints
#               "TLS <version>"
#      eof      read until the server closes ("<EOF>") or 5 s pass
#               ("<OPEN>"), printing lines
#      time     print "TIME <milliseconds>" (monotonic clock)
#      sleep:S  wait S seconds
#    TEXT takes Python bytes escapes: \r \n \t \\ \xHH.  A reply line
#    that ends in a bare LF is printed with " <NO-CR>" added.  A read that
#    meets the end of the connection prints "<EOF>"; one that waits
#    more than --timeout seconds (default 15) prints "<TIMEOUT>" and
#    the client exits 3.  Options (before the steps): --tls (implicit
#    TLS), --proxy HEX (bytes sent first, before any reply is read),
#    --proxy-text TEXT (likewise, escapes decoded), --timeout S.
#  - replies_with CODE: the lines of OUT that start with CODE.
#  - proxy_v2 CMD [SRC DST SPORT DPORT [TYPE:VALUE...]]: a PROXY v2
#    header (hex) for chat --proxy.
#  - b64 TEXT: base64 of TEXT (escapes as printf %b).
#  - hash_sha512 / hash_bcrypt / hash_yescrypt PASSWORD: a crypt(3)
#    hash (openssl passwd -6; python3's crypt module; mkpasswd, else
#    libxcrypt's crypt_gensalt), or nothing (and false) when the tool
#    for it is missing.
#  - tls_fp_starttls PORT / tls_fp_implicit PORT / cert_fp FILE: SHA-256
#    fingerprints of the certificate a listener presents / of a file.
#  - postfix_tools: set PF_SMTP_SOURCE (and PF_LIBS) to Postfix's
#    smtp-source from Debian's package, fetched and unpacked as
#    bench/postfix-env.sh does; false with PF_WHY set when it cannot be.
#
# Every client run is bounded (RUN_TIMEOUT, and --timeout per read).

SMTPCLI=

# listen_init: write the client into the sandbox (after ternd_sandbox_init).
listen_init()
{
	SMTPCLI=$SANDBOX/smtpcli.py
	cat >"$SMTPCLI" <<'EOF_PY'
import codecs, select, socket, ssl, sys, time

def unescape(text):
    return codecs.escape_decode(text.encode("utf-8", "surrogateescape"))[0]

class Client:
    def __init__(self, port, timeout):
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = b""
        self.closed = False

    def out(self, line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.out("<SENDFAIL %s>" % e.__class__.__name__)

    def fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError()
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            raise TimeoutError()
        except (ConnectionResetError, ssl.SSLError, OSError):
            data = b""
        if not data:
            self.closed = True
        self.buf += data

    def line(self, deadline):
        while b"\n" not in self.buf:
            if self.closed:
                return None
            self.fill(deadline)
        line, self.buf = self.buf.split(b"\n", 1)
        # Replies end in CRLF: a bare LF shows.
        if not line.endswith(b"\r"):
            return line.decode("utf-8", "replace") + " <NO-CR>"
        return line[:-1].decode("utf-8", "replace")

    def reply(self):
        deadline = time.monotonic() + self.timeout
        while True:
            line = self.line(deadline)
            if line is None:
                self.out("<EOF>")
                return False
            self.out(line)
            if len(line) < 4 or line[3] != "-":
                return True

    def until_eof(self, secs):
        deadline = time.monotonic() + secs
        try:
            while True:
                line = self.line(deadline)
                if line is None:
                    if self.buf:
                        self.out(self.buf.decode("utf-8", "replace"))
                    self.out("<EOF>")
                    return
                self.out(line)
        except TimeoutError:
            self.out("<OPEN>")

    def tls(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock)
        self.buf = b""
        self.out("TLS %s" % self.sock.version())

def main(argv):
    timeout, implicit, pre, port = 15.0, False, b"", None
    while argv and (port is None or argv[0].startswith("--")):
        opt = argv.pop(0)
        if not opt.startswith("--"):
            port = int(opt)
            continue
        if opt == "--timeout":
            timeout = float(argv.pop(0))
        elif opt == "--tls":
            implicit = True
        elif opt == "--proxy":
            pre += bytes.fromhex(argv.pop(0))
        elif opt == "--proxy-text":
            pre += unescape(argv.pop(0))
        else:
            sys.exit("smtpcli: unknown option " + opt)
    c = Client(port, timeout)
    if pre:
        c.send(pre)
    if implicit:
        c.tls()
    try:
        for step in argv:
            if step.startswith(">"):
                c.send(unescape(step[1:]) + b"\r\n")
            elif step.startswith("="):
                c.send(unescape(step[1:]))
            elif step.startswith("<"):
                for _ in range(int(step[1:] or "1")):
                    if not c.reply():
                        break
            elif step == "tls":
                c.tls()
            elif step == "eof":
                c.until_eof(5)
            elif step == "time":
                c.out("TIME %d" % (time.monotonic_ns() // 1000000))
            elif step.startswith("sleep:"):
                time.sleep(float(step[6:]))
            else:
                sys.exit("smtpcli: unknown step " + step)
    except TimeoutError:
        c.out("<TIMEOUT>")
        return 3
    except ssl.SSLError as e:
        c.out("<TLSFAIL %s>" % e)
        return 4
    return 0

sys.exit(main(sys.argv[1:]))
EOF_PY
}

# chat PORT [OPTIONS] STEP...
chat()
{
	run "$PYTHON" "$SMTPCLI" "$@" </dev/null
}

# replies_with CODE: the lines of OUT that begin with CODE.
replies_with()
{
	printf '%s\n' "$OUT" | grep -E -- "^$1" || true
}

# queued_ids: the IDs of "250 2.0.0 Ok: queued as ID" in OUT.
queued_ids()
{
	printf '%s\n' "$OUT" | sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p'
}

# listen_section NAME PORT [LINE...]
listen_section()
{
	local name=$1 port=$2
	shift 2
	printf '%s\n' "[listen $name]" "address = 127.0.0.1:$port" "$@"
}

# b64 TEXT: base64 (one line) of TEXT, printf %b escapes decoded.
b64()
{
	printf '%b' "$1" | base64 -w0
}

# ---------------------------------------------------------------- PROXY

# proxy_v2 CMD [SRC DST SPORT DPORT [TYPE:VALUE...]]: a PROXY protocol
# v2 header in hex, for chat --proxy.  CMD is proxy or local; the
# family (TCP4/TCP6) follows SRC; each TYPE:VALUE is a TLV (type in
# hex, value as text).  local without addresses has family UNSPEC.
proxy_v2()
{
	"$PYTHON" -c '
import ipaddress, struct, sys
a = sys.argv[1:]
cmd = {"proxy": 0x21, "local": 0x20}[a[0]]
body, fam = b"", 0x00
if len(a) >= 5:
    src, dst = ipaddress.ip_address(a[1]), ipaddress.ip_address(a[2])
    fam = 0x11 if src.version == 4 else 0x21
    body = src.packed + dst.packed + struct.pack("!HH", int(a[3]), int(a[4]))
    for tlv in a[5:]:
        t, v = tlv.split(":", 1)
        body += struct.pack("!BH", int(t, 16), len(v)) + v.encode()
sig = b"\r\n\r\n\x00\r\nQUIT\n"
print((sig + struct.pack("!BBH", cmd, fam, len(body)) + body).hex())' "$@"
}

# ---------------------------------------------------------------- hashes

hash_sha512()
{
	printf '%s' "$1" | openssl passwd -6 -stdin 2>/dev/null | grep '^\$6\$'
}

hash_bcrypt()
{
	"$PYTHON" -W ignore -c '
import crypt, sys
h = crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH))
if not h or not h.startswith("$2"):
    sys.exit(1)
print(h)' "$1" 2>/dev/null
}

# yescrypt: mkpasswd (Debian's whois package) when it is installed,
# else libxcrypt's own crypt_gensalt and crypt through python3.
hash_yescrypt()
{
	if [ -x /usr/bin/mkpasswd ]; then
		printf '%s\n' "$1" | /usr/bin/mkpasswd -m yescrypt --stdin 2>/dev/null |
			grep '^\$y\$'
		return
	fi
	"$PYTHON" -W ignore -c '
import crypt, ctypes, sys
lc = ctypes.CDLL("libcrypt.so.1")
lc.crypt_gensalt.restype = ctypes.c_char_p
lc.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
setting = lc.crypt_gensalt(b"$y$", 0, None, 0)
h = crypt.crypt(sys.argv[1], setting.decode()) if setting else None
if not h or not h.startswith("$y$") or crypt.crypt(sys.argv[1], h) != h:
    sys.exit(1)
print(h)' "$1" 2>/dev/null
}

# ---------------------------------------------------------------- TLS

# cert_fp FILE: "AB:CD:..." (SHA-256) of a PEM certificate.
cert_fp()
{
	openssl x509 -noout -fingerprint -sha256 -in "$1" 2>/dev/null | sed 's/^.*=//'
}

# tls_fp_starttls PORT: the fingerprint of what a STARTTLS listener shows.
tls_fp_starttls()
{
	timeout 15 openssl s_client -connect "127.0.0.1:$1" -starttls smtp \
		</dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/^.*=//'
}

tls_fp_implicit()
{
	timeout 15 openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/^.*=//'
}

# ---------------------------------------------------------------- Postfix

# postfix_tools: Postfix's smtp-source, from Debian's postfix package
# unpacked into the benchmarks' cache (never installed).  Sets
# PF_SMTP_SOURCE and PF_LIBS, or PF_WHY and returns 1.
postfix_tools()
{
	local cache out
	cache=${TERN_BENCH_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/tern-bench}
	PF_WHY=
	PF_SMTP_SOURCE=
	PF_LIBS=
	if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
		PF_WHY="no apt-get/dpkg to fetch Debian's postfix package"
		return 1
	fi
	# In a subshell: pf_fetch dies (exits) on failure.
	out=$(
		die() { echo "$*" >&2; exit 1; }
		note() { :; }
		. "$top_srcdir/bench/postfix-env.sh"
		pf_fetch "$cache" && echo "$PF_ROOT"
	) 2>"$SANDBOX/postfix-fetch.log" </dev/null
	if [ -z "$out" ] || [ ! -x "$out/usr/sbin/smtp-source" ]; then
		PF_WHY="cannot fetch Debian's postfix package: $(tail -n 1 "$SANDBOX/postfix-fetch.log")"
		return 1
	fi
	PF_SMTP_SOURCE=$out/usr/sbin/smtp-source
	PF_LIBS=$out/usr/lib/postfix
	return 0
}

# smtp_source ARGS...: Postfix's smtp-source (RC, OUT, ERR).
smtp_source()
{
	run env LD_LIBRARY_PATH="$PF_LIBS" "$PF_SMTP_SOURCE" "$@" </dev/null
}
