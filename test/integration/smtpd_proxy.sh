#!/bin/bash
# smtpd_proxy: a listener behind a proxy (proxy_protocol = yes) takes
# the client address from the PROXY header — versions 1 (text) and 2
# (binary, IPv4 and IPv6, TLVs skipped) — for the relay policy (networks
# = 192.0.2.0/24), the log lines and the Received header.  LOCAL (v2)
# and UNKNOWN (v1), a proxy's health checks, keep the connection's own
# address.  Anything that is not a PROXY header closes the connection
# without a greeting, and says so in the log.  A listener without
# proxy_protocol takes a PROXY line for an unknown command.  Behind a
# PROXY header, implicit TLS works even when the header and the TLS
# ClientHello arrive in one segment.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/listen.sh"

PEER_LIFETIME=600
ternd_sandbox_init
plan 83
make_certs

peer_start main
P=${PEER_PORT[main]}
LX=$(free_port)
LN=$(free_port)
LT=$(free_port)
give "$CERT" "$KEY"
ternd_config "$(relay main "$P" "tls = none")" \
	"$(listen_section px "$LX" "proxy_protocol = yes" "networks = 192.0.2.0/24")" \
	"$(listen_section plain "$LN")" \
	"$(listen_section pxtls "$LT" "proxy_protocol = yes" "tls = implicit" \
		"tls_cert_file = $CERT" "tls_key_file = $KEY")"
ok "ternd starts with a PROXY protocol listener" ternd_start
ok "the log says the listener wants the PROXY protocol" \
	log_has "\[listen px\]: listening on 127\.0\.0\.1:$LX \(PROXY protocol\)$"

# session HEADER-OPTION HEADER HELO SUBJECT: through the PROXY listener,
# a transaction to a remote address (far@example.com) and to postmaster.
# REPLIES holds the reply codes after the greeting's, one line.
session()
{
	log_mark
	chat "$LX" "$1" "$2" "<" ">EHLO $3" "<" ">MAIL FROM:<s@example.org>" "<" \
		">RCPT TO:<far@example.com>" "<" ">RCPT TO:<postmaster>" "<" ">DATA" "<" \
		"=Subject: $4\r\n\r\nvia the proxy\r\n.\r\n" "<" ">QUIT" "<"
	REPLIES=$(printf '%s\n' "$OUT" | grep -v '^250-' | cut -c1-3 | tr '\n' ' ')
}

# trusted DESC ADDR HEADER-OPTION HEADER HELO SUBJECT: 7 test points.
trusted()
{
	local desc=$1 addr=$2 re id
	re=$(printf '%s' "$2" | sed 's/[.]/\\./g')
	shift 2
	session "$@"
	is "$REPLIES" "220 250 250 250 250 354 250 221 " "$desc: greeting, relaying allowed, queued"
	id=$(queued_ids)
	ok "$desc: log: connect from unknown[$addr]" log_has "connect from unknown\[$re\]$" new
	ok "$desc: log: $id: client=unknown[$addr]" log_has ": $id: client=unknown\[$re\]$" new
	ok "$desc: log: disconnect from unknown[$addr] ... commands=6" \
		wait_for 'log_has "disconnect from unknown\[$re\] .*commands=6$" new' 5
	nok "$desc: the proxy's own address is not logged for the session" log_has "connect from unknown\[127\.0\.0\.1\]" new
	if peer_wait "$4"; then
		pass "$desc: relayed"
		like "$(msg_header "$F" Received)" "^Received: from $3 \(unknown \[$re\]\) by $HOST_RE \(tern\) with ESMTP id $id; " \
			"$desc: the Received header names [$addr]"
	else
		fail "$desc: relayed" "the relay did not get it"
		fail "$desc: the Received header names [$addr]" "no message"
	fi
}

# untrusted DESC ADDR HEADER-OPTION HEADER HELO SUBJECT: 5 test points.
untrusted()
{
	local desc=$1 addr=$2 re
	re=$(printf '%s' "$2" | sed 's/[.]/\\./g')
	shift 2
	session "$@"
	is "$REPLIES" "220 250 250 554 250 354 250 221 " "$desc: greeting, relay denied (554), postmaster accepted"
	is "$(replies_with 554)" "554 5.7.1 <far@example.com>: Relay access denied" "$desc: 554 5.7.1 <far@example.com>: Relay access denied"
	ok "$desc: log: connect from unknown[$addr]" log_has "connect from unknown\[$re\]$" new
	ok "$desc: log: NOQUEUE: reject: RCPT from unknown[$addr]: 554 5.7.1 ... to=<far@example.com> ... helo=<$3>" \
		log_has "NOQUEUE: reject: RCPT from unknown\[$re\]: 554 5\.7\.1 <far@example\.com>: Relay access denied; from=<s@example\.org> to=<far@example\.com> proto=ESMTP helo=<$3>$" new
	if peer_wait "$4"; then
		is "$(msg_env "$F" | grep '^RCPT')" "RCPT TO:<postmaster@example.org>" \
			"$desc: only the postmaster copy is relayed" 
	else
		fail "$desc: only the postmaster copy is relayed" "the relay did not get it"
	fi
}

# ---------------------------------------------------------------- version 1

trusted "v1 TCP4 192.0.2.7" 192.0.2.7 --proxy-text 'PROXY TCP4 192.0.2.7 127.0.0.1 5555 25\r\n' \
	v1.example.net "v1 trusted"
untrusted "v1 TCP4 198.51.100.9" 198.51.100.9 --proxy-text 'PROXY TCP4 198.51.100.9 127.0.0.1 5555 25\r\n' \
	v1u.example.net "v1 untrusted"
untrusted "v1 TCP6 2001:db8::7" 2001:db8::7 --proxy-text 'PROXY TCP6 2001:db8::7 ::1 5555 25\r\n' \
	v16.example.net "v1 ipv6"

# The header in pieces, and SMTP right behind it in the same segment.
log_mark
chat "$LX" "=PROXY TCP4 192.0.2" sleep:0.3 "=.8 127.0.0.1 5555 25\r" sleep:0.3 \
	"=\nEHLO split.example.net\r\n" "<" "<" ">QUIT" "<"
is "$(printf '%s\n' "$OUT" | grep -v '^250-')" "220 $HOST ESMTP tern
250 CHUNKING
221 2.0.0 Bye" "a v1 header in three pieces, EHLO in the same segment as its end: greeting, EHLO and QUIT answered"
ok "log: connect from unknown[192.0.2.8]" log_has "connect from unknown\[192\.0\.2\.8\]$" new

# ---------------------------------------------------------------- version 2

trusted "v2 TCP4 192.0.2.9" 192.0.2.9 --proxy "$(proxy_v2 proxy 192.0.2.9 127.0.0.1 40000 25)" \
	v2.example.net "v2 trusted"
trusted "v2 TCP4 192.0.2.10 with TLVs" 192.0.2.10 \
	--proxy "$(proxy_v2 proxy 192.0.2.10 127.0.0.1 40001 25 02:mx.example.org 04:padding-padding)" \
	v2t.example.net "v2 tlv"
untrusted "v2 TCP4 198.51.100.10" 198.51.100.10 --proxy "$(proxy_v2 proxy 198.51.100.10 127.0.0.1 40002 25)" \
	v2u.example.net "v2 untrusted"
untrusted "v2 TCP6 2001:db8::9 with a TLV" 2001:db8::9 \
	--proxy "$(proxy_v2 proxy 2001:db8::9 ::1 40003 25 02:mx.example.org)" \
	v26.example.net "v2 ipv6"

# ---------------------------------------------------------------- health checks

untrusted "v2 LOCAL (the connection's address 127.0.0.1, not in networks)" 127.0.0.1 \
	--proxy "$(proxy_v2 local)" local.example.net "v2 local"
untrusted "v2 LOCAL with an address block (ignored)" 127.0.0.1 \
	--proxy "$(proxy_v2 local 192.0.2.11 127.0.0.1 40004 25)" \
	local2.example.net "v2 local block"
untrusted "v1 PROXY UNKNOWN" 127.0.0.1 --proxy-text 'PROXY UNKNOWN\r\n' unk.example.net "v1 unknown"

# ---------------------------------------------------------------- not a header

# bad DESC CHAT-ARGS...: 3 test points.
bad()
{
	local desc=$1
	shift
	log_mark
	chat "$LX" "$@" eof
	is "$OUT" "<EOF>" "$desc: closed without a greeting"
	ok "$desc: log: unknown[127.0.0.1]: bad PROXY protocol header" \
		wait_for 'log_has "unknown\[127\.0\.0\.1\]: bad PROXY protocol header" new' 5
	nok "$desc: no SMTP session is logged" log_has "connect from " new
}
bad "SMTP instead of a header" "=EHLO client.example.net\r\n"
bad "HTTP instead of a header" "=GET / HTTP/1.0\r\n\r\n"
bad "a v1 header with a bad address" --proxy-text 'PROXY TCP4 192.0.2.300 127.0.0.1 5555 25\r\n'
bad "a v1 header without CRLF within 107 bytes" --proxy-text "PROXY TCP4 $(printf '%0120d' 0)"
bad "a v2 signature with version 3" --proxy "$(proxy_v2 proxy 192.0.2.12 127.0.0.1 40005 25 | sed 's/^\(.\{24\}\)21/\131/')"

# ---------------------------------------------------------------- PROXY, then implicit TLS

# The header and the ClientHello in one send(): the TLS layer must
# start on bytes that were already read with the header.
log_mark
run /usr/bin/python3 - "$LT" <<'PY'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
s.sendall(b"PROXY TCP4 192.0.2.9 127.0.0.1 5555 25\r\n" + out.read())
def pump():
    data = s.recv(65536)
    if not data:
        raise SystemExit("closed")
    inc.write(data)
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        s.sendall(out.read())
        pump()
s.sendall(out.read())
buf = b""
while b"\r\n" not in buf:
    try:
        buf += tls.read(4096)
    except ssl.SSLWantReadError:
        pump()
print(buf.decode().strip())
PY
is "$RC" 0 "PROXY header and ClientHello in one segment: the handshake completes"
like "$OUT" "^220 $HOST_RE ESMTP tern$" "... and the greeting comes over TLS"
ok "log: connect from unknown[192.0.2.9]" log_has "connect from unknown\[192\.0\.2\.9\]$" new

# ---------------------------------------------------------------- without proxy_protocol

log_mark
chat "$LN" --proxy-text 'PROXY TCP4 192.0.2.7 127.0.0.1 5555 25\r\n' "<" "<" ">QUIT" "<"
is "$OUT" "220 $HOST ESMTP tern
500 5.5.2 Error: command not recognized
221 2.0.0 Bye" "a listener without proxy_protocol: the PROXY line is an unknown command (500 5.5.2)"
ok "log: connect from unknown[127.0.0.1] (the header is not believed)" log_has "connect from unknown\[127\.0\.0\.1\]$" new
nok "192.0.2.7 appears nowhere in its lines" log_has "192\.0\.2\.7" new

ok "the daemon is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0 on SIGTERM"

done_testing
