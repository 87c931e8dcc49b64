# shellcheck shell=bash
# shellcheck disable=SC2016,SC2034,SC2154  # literal $ in patterns and python code; globals shared with the tests and sandbox.sh
#
# listen.sh: shared code for the smtpd_*.sh integration tests — ternd's
# SMTP listener ([listen NAME] sections) seen from the client side.
# Sourced after sandbox.sh and ternd.sh.
#
# The client is test/lib/smtp_client.py (its steps, markers and exit
# codes are described at its top), in two dialects:
#
#  - smtp PORT [OPTIONS] STEP...: smtp_client.py's own steps (read,
#    cmd:TEXT, send:TEXT, drain:S, eof:S, drip:S:TEXT, hold:FILE:S...);
#    the transcript, stderr included, in SMTP_OUT.
#  - chat PORT [OPTIONS] STEP...: short steps, turned into
#    smtp_client.py's.  Sets RC, OUT, ERR (see run).
#      >TEXT    send TEXT and CRLF        =TEXT   send TEXT as it is
#      <        read one reply            <N      read N replies
#      tls      STARTTLS's handshake (no verification); prints
#               "TLS <version>"
#      eof      read until the server closes ("<EOF>") or 5 s pass
#               ("<OPEN>"), printing lines
#      time     print "TIME <milliseconds>" (monotonic clock)
#      sleep:S  wait S seconds
#    TEXT takes Python bytes escapes: \r \n \t \\ \xHH.  Any other
#    step is passed on as it is.
#  Both take smtp_client.py's options before the steps (--source ADDR,
#  --timeout S, --tls for implicit TLS, --proxy HEX and --proxy-text
#  TEXT for bytes sent first); the markers in the transcript (" <NO-CR>",
#  "<EOF>", "<TIMEOUT>", "<OPEN>"...) and the exit codes are its own.
#  - after RE: the lines of SMTP_OUT after the first line matching RE.
#  - replies_with CODE: the lines of OUT that start with CODE.
#  - queued_ids: the IDs of "250 2.0.0 Ok: queued as ID" in OUT.
#  - peer_wait SUBJECT [SECONDS]: wait until the relay peer main got
#    the message with that subject; F is its file.
#  - listen_section NAME PORT [LINE...]: the lines of a [listen NAME]
#    section on 127.0.0.1:PORT (print them, for ternd_config).
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

SMTP_CLIENT=$top_srcdir/test/lib/smtp_client.py

# The hostname sandbox.sh's write_config gives ternd, as text and as an
# ERE; a queue ID as an ERE.
HOST=host.example.org
HOST_RE='host\.example\.org'
ID_RE='[0-9A-F]{19}'

HAVE_SWAKS=0
command -v swaks >/dev/null 2>&1 && HAVE_SWAKS=1

# smtp PORT [OPTIONS] STEP...
smtp()
{
	local port=$1
	shift
	SMTP_OUT=$(timeout -k 5 "$RUN_TIMEOUT" "$PYTHON" "$SMTP_CLIENT" \
		--port "$port" "$@" 2>&1)
}

# chat PORT [OPTIONS] STEP...
chat()
{
	local port=$1 step opts=() steps=()
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--tls) opts+=("$1") ;;
		--*) opts+=("$1" "${2-}"); shift ;;
		*) break ;;
		esac
		shift
	done
	for step in "$@"; do
		case $step in
		'>'*) steps+=("send:${step#>}\\r\\n") ;;
		=*) steps+=("send:${step#=}") ;;
		'<') steps+=(read) ;;
		'<'*) steps+=("replies:${step#<}") ;;
		eof) steps+=(eof:5) ;;
		*) steps+=("$step") ;; # tls, time, sleep:S: the same there
		esac
	done
	run "$PYTHON" "$SMTP_CLIENT" --port "$port" "${opts[@]}" -- "${steps[@]}" </dev/null
}

# after RE: the lines of SMTP_OUT after the first line matching RE.
after()
{
	printf '%s\n' "$SMTP_OUT" | sed -n "/$1/,\$p" | sed 1d
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

# peer_wait SUBJECT [SECONDS]: wait until the relay got the message; F
# is its file.
peer_wait()
{
	F=
	wait_for "peer_find main '^Subject: $1\$' >/dev/null" "${2:-15}" &&
		F=$(peer_find main "^Subject: $1\$")
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
