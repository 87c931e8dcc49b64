#!/bin/bash
# The SMTP client (src/smtpc*.c) against a real SMTP server: Debian's
# python3-aiosmtpd, run by test/lib/smtp_peer.py with a certificate from
# a CA made here, faults on demand, and every message it receives kept
# as a file.  test/unit/smtpc_probe drives the client, one message (or a
# few over one session) per run.
#
# Loopback only, ports picked by the kernel, every wait bounded: the
# peer stops by itself after two minutes, each probe run is killed after
# RUN_TIMEOUT seconds.  SMTPC_PROBE may name another probe binary (a
# sanitizer build, say).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"

PROBE=${SMTPC_PROBE:-$top_builddir/test/unit/smtpc_probe}
PEER=$top_srcdir/test/lib/smtp_peer.py
RUN_TIMEOUT=30

[ -x "$PROBE" ] || bail_out "no $PROBE (run make check)"
"$PYTHON" -c 'import aiosmtpd' 2>/dev/null ||
	bail_out "python3-aiosmtpd is missing: apt-get install python3-aiosmtpd"
command -v openssl >/dev/null || bail_out "openssl is missing"

SANDBOX=$top_builddir/test/sandbox/smtpc_peer
rm -rf "$SANDBOX"
mkdir -p "$SANDBOX" || bail_out "cannot create $SANDBOX"
cd "$SANDBOX" || bail_out "cannot enter $SANDBOX"

# ---------------------------------------------------------------- certs

# A CA, and a server certificate it signs for relay.test and 127.0.0.1.
. "$top_srcdir/test/lib/certs.sh"
certs_make "$SANDBOX" ||
	bail_out "openssl could not make the test certificates: $(tail -n 3 log)"


# ---------------------------------------------------------------- helpers

PEER_N=0
PEER_PID=

# peer_start ARGS...: a fresh peer; sets PORT, MD (its messages) and TR
# (its transcript).
peer_start()
{
	peer_stop
	PEER_N=$((PEER_N + 1))
	local dir=$SANDBOX/peer$PEER_N
	mkdir -p "$dir"
	MD=$dir/mail
	TR=$dir/transcript
	: >"$TR"
	"$PYTHON" "$PEER" --port 0 --ready-file "$dir/ready" --maildir "$MD" \
		--transcript "$TR" --cert server.pem --key server.key \
		--lifetime 120 "$@" 2>"$dir/log" &
	PEER_PID=$!
	_sb_pids+=("$PEER_PID")
	for _ in $(seq 1 200); do
		if [ -s "$dir/ready" ]; then
			PORT=$(cat "$dir/ready")
			return 0
		fi
		kill -0 "$PEER_PID" 2>/dev/null || break
		sleep 0.05
	done
	bail_out "smtp_peer.py did not start: $(tail -n 5 "$dir/log")"
}

peer_stop()
{
	if [ -n "$PEER_PID" ]; then
		kill "$PEER_PID" 2>/dev/null
		wait "$PEER_PID" 2>/dev/null
		PEER_PID=
	fi
}

# probe ARGS...: run the client against the current peer as relay.test;
# OUT holds its output, RC its exit code.
probe()
{
	run "$PROBE" --host relay.test --addr 127.0.0.1 --port "$PORT" \
		--from sender@origin.test --file "$MSG" "$@" </dev/null
	[ -n "$ERR" ] && diag "stderr: $ERR"
	return 0
}

# The outcome line(s) of the last probe run.
outcome() { printf '%s\n' "$OUT" | grep '^outcome ' | tail -n 1; }

# The rcpt line for ADDR.
rcpt_line() { printf '%s\n' "$OUT" | grep "^rcpt $1 " | tail -n 1; }

# Number of messages the peer has kept.
count_msgs() { find "$MD" -maxdepth 1 -name '*.msg' 2>/dev/null | wc -l | tr -d ' '; }

# The first message file, its envelope and its body (CR removed).
msg_file() { find "$MD" -maxdepth 1 -name '*.msg' | sort | head -n 1; }
msg_envelope() { sed -n '/^$/q;p' "$(msg_file)"; }
msg_data() { sed '1,/^$/d' "$(msg_file)" | tr -d '\r'; }

write_msg()
{
	MSG=$SANDBOX/msg.$1
	printf '%s' "$2" >"$MSG"
}

write_msg plain $'From: sender@origin.test\nTo: rcpt@relay.test\nSubject: test\n\nHello.\n'

# ---------------------------------------------------------------- plain

peer_start --tls none
probe --tls none --to rcpt@relay.test
is "$RC" 0 "plain: delivered (exit 0)"
is "$(outcome)" "outcome none " "plain: outcome none"
like "$(rcpt_line rcpt@relay.test)" '^rcpt rcpt@relay\.test 250 2\.0\.0 ' \
	"plain: the recipient has the final 250"
is "$(count_msgs)" 1 "plain: the peer received one message"
like "$(msg_envelope)" $'^MAIL FROM:<sender@origin.test> SIZE=[0-9]+\nRCPT TO:<rcpt@relay.test>$' \
	"plain: envelope as sent"
is "$(msg_data)" $'From: sender@origin.test\nTo: rcpt@relay.test\nSubject: test\n\nHello.' \
	"plain: message arrives intact"
unlike "$(cat "$TR")" 'STARTTLS|AUTH' "plain: no STARTTLS, no AUTH"

# Pipelined and in lockstep, several recipients, some refused.
peer_start --tls none --fault rcpt-550:bad@relay.test
probe --tls none --to good@relay.test --to bad@relay.test --to also@relay.test
is "$RC" 0 "pipelined: delivered to the accepted recipients"
like "$(rcpt_line bad@relay.test)" '^rcpt bad@relay\.test 550 5\.1\.1 No such user' \
	"pipelined: the refused recipient has its 550"
like "$(rcpt_line also@relay.test)" '^rcpt also@relay\.test 250 2\.0\.0 ' \
	"pipelined: the third recipient has the final reply"
is "$(grep -c '^RCPT' "$(msg_file)")" 2 "pipelined: two recipients received"

peer_start --tls none --fault no-pipelining --fault rcpt-451:bad@relay.test
probe --tls none --to good@relay.test --to bad@relay.test
is "$RC" 0 "lockstep: delivered"
like "$(rcpt_line bad@relay.test)" '^rcpt bad@relay\.test 451 4\.3\.0 Try again later' \
	"lockstep: the 451 recipient has its reply"
like "$(rcpt_line good@relay.test)" '^rcpt good@relay\.test 250 ' \
	"lockstep: the good recipient has the final reply"
is "$(grep -c '^RCPT' "$(msg_file)")" 1 "lockstep: one recipient received"

peer_start --tls none --fault rcpt-550
probe --tls none --to a@relay.test --to b@relay.test --repeat 2
like "$(outcome)" '^outcome RCPT TO .*550 5\.1\.1' "all refused: outcome RCPT TO"
is "$(count_msgs)" 0 "all refused: nothing delivered"
is "$(grep -c '^RSET' "$TR")" 1 "all refused: RSET before the next transaction"
is "$(grep -c '^EHLO' "$TR")" 1 "all refused: one session for both"

peer_start --tls none
probe --tls none --to rcpt@relay.test --repeat 3
is "$(printf '%s\n' "$OUT" | grep -c '^outcome none')" 3 "reuse: three messages sent"
is "$(count_msgs)" 3 "reuse: three messages received"
is "$(grep -c '^EHLO' "$TR")" 1 "reuse: over one session"
is "$(grep -c '^RSET' "$TR")" 0 "reuse: no RSET after a success"
is "$(tail -n 1 "$TR")" QUIT "reuse: QUIT at the end"

# ---------------------------------------------------------------- data

write_msg dots $'Subject: dots\n\n.leading dot\n..two dots\n.\nend\n'
MSG_DOTS=$MSG
peer_start --tls none
probe --tls none --to rcpt@relay.test
is "$(msg_data)" $'Subject: dots\n\n.leading dot\n..two dots\n.\nend' \
	"dot-stuffing: lines starting with '.' arrive intact"

long=$(head -c 2000 /dev/zero | tr '\0' 'x')
words=$(for i in $(seq 1 300); do printf 'word%d ' "$i"; done)
write_msg long "Subject: ${words% }"$'\n\n'"$long"$'\nshort\n'
peer_start --tls none
probe --tls none --to rcpt@relay.test
is "$RC" 0 "long lines: delivered"
maxlen=$(sed '1,/^$/d' "$(msg_file)" | tr -d '\r' | awk '{ if (length > m) m = length } END { print m + 0 }')
[ "$maxlen" -le 998 ] && pass "long lines: no line over 998 octets ($maxlen)" ||
	fail "long lines: no line over 998 octets ($maxlen)"
is "$(msg_data | sed '1,/^$/d' | sed ':a;N;$!ba;s/\n //g')" "$long"$'\nshort' \
	"long lines: the body line is split with CRLF SP and rejoins"
is "$(msg_data | sed '/^$/q' | sed ':a;N;$!ba;s/\n\([ \t]\)/\1/g' | head -n 1)" \
	"Subject: ${words% }" "long lines: the header is folded at white space"
is "$(msg_data | sed -n '2p' | cut -c1 | tr ' ' S)" S "long lines: the header continues on a folded line"

write_msg crlf $'Subject: crlf\r\n\r\nline one\r\nbare\rcr\n'
peer_start --tls none
probe --tls none --to rcpt@relay.test
is "$(sed '1,/^$/d' "$(msg_file)" | od -An -c | tr -d ' \n')" \
	'Subject:crlf\r\n\r\nlineone\r\nbare\r\ncr\r\n' \
	"line ends: CRLF kept, a bare CR becomes a line end"

# 8BITMIME, SMTPUTF8, DSN parameters.
write_msg utf8 $'Subject: caf\xc3\xa9\n\nna\xc3\xafve\n'
peer_start --tls none --fault advertise-dsn
probe --tls none --8bit --smtputf8 --ret hdrs --envid 'id+1 x' \
	--notify success,failure --orcpt --to 'j'$'\xc3\xb6''rg@relay.test'
is "$RC" 0 "SMTPUTF8: delivered to a UTF-8 address"
like "$(msg_envelope | head -n 1)" ' BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id\+2B1\+20x$' \
	"MAIL FROM carries BODY=8BITMIME SMTPUTF8 RET= ENVID= (xtext)"
is "$(msg_envelope | sed -n 2p)" \
	"RCPT TO:<j"$'\xc3\xb6'"rg@relay.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;j+C3+B6rg@relay.test" \
	"RCPT TO carries NOTIFY= and ORCPT= (xtext)"
is "$(msg_data | tail -n 1)" $'na\xc3\xafve' "8-bit body arrives intact"

peer_start --tls none
probe --tls none --ret full --envid x --notify never --orcpt --to rcpt@relay.test
unlike "$(cat "$TR")" 'RET=|ENVID=|NOTIFY=|ORCPT=' "no DSN parameters when DSN is not offered"

peer_start --tls none --fault no-smtputf8
probe --tls none --smtputf8 --to 'j'$'\xc3\xb6''rg@relay.test'
like "$(outcome)" '^outcome MAIL FROM .*5\.6\.7' "SMTPUTF8 not offered: fails at MAIL FROM with 5.6.7"
like "$(printf '%s\n' "$OUT" | grep '^rcpt ')" ' 553 5\.6\.7 server does not support SMTPUTF8$' \
	"SMTPUTF8 not offered: the recipient carries 553 5.6.7"
unlike "$(cat "$TR")" '^MAIL' "SMTPUTF8 not offered: nothing sent"

# ---------------------------------------------------------------- TLS

MSG=$SANDBOX/msg.plain
peer_start --tls starttls
probe --tls starttls --ca ca.pem --to rcpt@relay.test
is "$RC" 0 "STARTTLS, verified with the test CA: delivered"
like "$OUT" $'(^|\n)tls TLSv1\\.[23] ' "STARTTLS: the session is encrypted"
like "$(grep -v '^QUIT' "$TR" | tr '\n' ' ')" \
	'^EHLO probe\.test STARTTLS EHLO probe\.test MAIL FROM:<sender@origin\.test> SIZE=[0-9]+ RCPT TO:<rcpt@relay\.test> DATA $' \
	"STARTTLS: EHLO again after the upgrade"

probe --tls starttls --ca ca.pem --host 127.0.0.1 --to rcpt@relay.test
is "$RC" 0 "STARTTLS: an IP literal is checked against the IP SAN"

probe --tls starttls --to rcpt@relay.test
like "$(outcome)" '^outcome TLS TLS: certificate verify failed: (unable to get local issuer certificate|self-signed certificate)' \
	"STARTTLS without the CA: certificate verify failed"
is "$RC" 1 "STARTTLS without the CA: exit 1"

probe --tls starttls --ca ca.pem --host wrong.test --to rcpt@relay.test
is "$(outcome)" "outcome TLS TLS: certificate verify failed: hostname mismatch" \
	"STARTTLS, wrong name: hostname mismatch"

probe --tls starttls --no-verify --host wrong.test --to rcpt@relay.test
is "$RC" 0 "STARTTLS with --no-verify: delivered"

probe --tls opportunistic --host wrong.test --to rcpt@relay.test
like "$OUT" $'(^|\n)tls TLSv1' "opportunistic: upgrades, unverified"

probe --tls implicit --ca ca.pem --to rcpt@relay.test
like "$(outcome)" '^outcome TLS TLS handshake failed: .*\(is this a STARTTLS port\? try tls = starttls\)' \
	"implicit TLS on a STARTTLS port: plain words"

peer_start --tls none
probe --tls starttls --ca ca.pem --to rcpt@relay.test
like "$(outcome)" '^outcome STARTTLS server at relay\.test\[127\.0\.0\.1\] does not offer STARTTLS' \
	"STARTTLS required, not offered: fails at STARTTLS"
probe --tls opportunistic --to rcpt@relay.test
is "$RC" 0 "opportunistic, not offered: delivered in plaintext"

peer_start --tls implicit
probe --tls implicit --ca ca.pem --to rcpt@relay.test
is "$RC" 0 "implicit TLS: delivered"
like "$OUT" $'(^|\n)tls TLSv1\\.[23] ' "implicit TLS: the session is encrypted"
unlike "$(cat "$TR")" STARTTLS "implicit TLS: no STARTTLS"
probe --tls implicit --ca ca.pem --host wrong.test --to rcpt@relay.test
is "$(outcome)" "outcome TLS TLS: certificate verify failed: hostname mismatch" \
	"implicit TLS, wrong name: hostname mismatch"

# REQUIRETLS: sent only for messages that ask, and only where offered.
peer_start --tls starttls --fault advertise-requiretls
probe --tls starttls --ca ca.pem --to rcpt@relay.test
unlike "$(msg_envelope | head -n 1)" REQUIRETLS "REQUIRETLS offered: not sent unless asked"
probe --tls starttls --ca ca.pem --requiretls --to rcpt@relay.test
is "$RC" 0 "REQUIRETLS asked and offered: delivered"
like "$(grep '^MAIL' "$TR" | tail -n 1)" ' REQUIRETLS$' "REQUIRETLS asked: MAIL FROM carries it"
probe --tls opportunistic --requiretls --to rcpt@relay.test
like "$(outcome)" '^outcome MAIL FROM .*5\.7\.30 REQUIRETLS needs a verified TLS session' \
	"REQUIRETLS over unverified TLS: refused locally"
peer_start --tls starttls
probe --tls starttls --ca ca.pem --requiretls --to rcpt@relay.test
like "$(rcpt_line rcpt@relay.test)" ' 550 5\.7\.30 server does not offer REQUIRETLS$' \
	"REQUIRETLS asked, not offered: the recipient carries 5.7.30"
is "$(count_msgs)" 0 "REQUIRETLS not offered: nothing sent"

# ---------------------------------------------------------------- AUTH

peer_start --tls starttls --auth-user alice --auth-pass 's3cret pass'
for mech in plain login cram-md5; do
	probe --tls starttls --ca ca.pem --user alice --password 's3cret pass' \
		--auth "$mech" --to rcpt@relay.test
	is "$RC" 0 "AUTH $mech: delivered"
done
MECHS=$(grep '^AUTH' "$TR" | tr '\n' ' ')
is "$MECHS" "AUTH PLAIN TLS AUTH LOGIN TLS AUTH CRAM-MD5 TLS " "AUTH: each mechanism used over TLS"
: >"$TR"
probe --tls starttls --ca ca.pem --user alice --password 's3cret pass' --to rcpt@relay.test
is "$(grep '^AUTH' "$TR")" "AUTH CRAM-MD5 TLS" "AUTH auto: picks CRAM-MD5 over PLAIN and LOGIN"
probe --tls starttls --ca ca.pem --user alice --password wrong --auth plain --to rcpt@relay.test
like "$(outcome)" '^outcome AUTH .*535 5\.7\.8 Authentication credentials invalid \(in reply to AUTH PLAIN\)' \
	"AUTH with a wrong password: 535 at AUTH"
probe --tls starttls --ca ca.pem --to rcpt@relay.test
like "$(outcome)" '^outcome RCPT TO|^outcome MAIL FROM .*530' "no AUTH where required: the server's 530"

peer_start --tls implicit --auth-user alice --auth-token tok123
probe --tls implicit --ca ca.pem --user alice --token tok123 --to rcpt@relay.test
is "$RC" 0 "AUTH XOAUTH2 (auto, token given): delivered"
is "$(grep '^AUTH' "$TR")" "AUTH XOAUTH2 TLS" "AUTH XOAUTH2 used"
probe --tls implicit --ca ca.pem --user alice --token expired --to rcpt@relay.test
like "$(outcome)" '^outcome AUTH .*535.*XOAUTH2 token refused: \{"status":"401"' \
	"XOAUTH2 refused: the server's JSON error in the message"

peer_start --tls starttls --auth-user alice --auth-pass pw --fault auth-535
probe --tls starttls --ca ca.pem --user alice --password pw --to rcpt@relay.test
like "$(outcome)" '^outcome AUTH .*535 ' "AUTH refused (535): fails at AUTH"

peer_start --tls none --auth-user alice --auth-pass pw
probe --tls none --user alice --password pw --to rcpt@relay.test
is "$(outcome)" "outcome AUTH refusing to send the password without TLS; set tls = starttls or implicit" \
	"no TLS, password set: refuses to authenticate"
unlike "$(cat "$TR")" '^AUTH' "no TLS: the password was never sent"

peer_start --tls starttls
probe --tls starttls --ca ca.pem --user alice --password pw --auth xoauth2 --to rcpt@relay.test
like "$(outcome)" '^outcome AUTH server offers no usable AUTH mechanism \(offered: ' \
	"no usable mechanism: says what was offered"

# ---------------------------------------------------------------- failures

peer_start --tls none --fault refuse-greeting-421
probe --tls none --to rcpt@relay.test
like "$(outcome)" '^outcome greeting .*421 4\.3\.2' "421 greeting: fails at the greeting"

peer_start --tls none --fault garbage-greeting
probe --tls none --to rcpt@relay.test
like "$(outcome)" '^outcome greeting .*protocol error in the greeting: malformed reply line' \
	"garbage greeting: a protocol error, no crash"
peer_start --tls none --fault long-greeting
probe --tls none --to rcpt@relay.test
like "$(outcome)" '^outcome greeting .*reply line longer than 2048 octets' \
	"overlong reply line: refused"
peer_start --tls none --fault endless-greeting
probe --tls none --to rcpt@relay.test
like "$(outcome)" '^outcome greeting .*reply longer than 1000 lines' \
	"endless multiline reply: refused"

peer_start --tls none --fault silent
probe --tls none --timeout 1 --to rcpt@relay.test
like "$(outcome)" '^outcome greeting .*no greeting within 1 s$' "silent server: greeting timeout"

peer_start --tls none --fault slow-reply:4
probe --tls none --timeout 1 --to rcpt@relay.test
like "$(outcome)" '^outcome I/O .*timed out after 1 s waiting for the reply to MAIL FROM' \
	"slow reply beyond the command timeout: I/O failure"
like "$(rcpt_line rcpt@relay.test)" '^rcpt rcpt@relay\.test 0 - .*timed out' \
	"slow reply: the recipient carries the failure"

closed=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run "$PROBE" --host relay.test --addr 127.0.0.1 --port "$closed" --tls none \
	--from sender@origin.test --to rcpt@relay.test --file "$MSG" </dev/null
like "$(outcome)" '^outcome connect connect relay\.test\[127\.0\.0\.1\]:[0-9]+: Connection refused$' \
	"closed port: fails at connect"

# Port 465 speaks TLS first; a client waiting for a plaintext greeting
# says so.  Binding 465 needs root.
[ "$(id -u)" = 0 ] && port465_lock
if [ "$(id -u)" = 0 ] && "$PYTHON" -c 'import socket; socket.socket().bind(("127.0.0.1", 465))' 2>/dev/null; then
	peer_start --tls implicit --port 465
	probe --tls starttls --timeout 1 --to rcpt@relay.test
	like "$(outcome)" 'port 465 usually expects implicit TLS: set tls = implicit' \
		"port 465 without implicit TLS: says what to set"
else
	skip "port 465 without implicit TLS: says what to set" "cannot bind port 465"
fi

peer_stop
port465_unlock
done_testing
