#!/bin/bash
# smtpd_tls_auth: TLS and AUTH on ternd's SMTP listener.  A STARTTLS
# listener whose networks leave 127.0.0.1 out (so the test client is
# untrusted), one with auth = required, one with implicit TLS and one
# without TLS.  EHLO offers STARTTLS before TLS and AUTH and REQUIRETLS
# only inside it; AUTH and REQUIRETLS before TLS are refused (538,
# 530 5.7.10).  swaks authenticates with PLAIN and LOGIN against
# SHA-512, bcrypt and yescrypt hashes (235, then it may relay; the log
# names the method and user); a wrong password gets 535 and a warning,
# and the next failure from the address comes late; without AUTH an
# untrusted client gets 554 5.7.1.  A users file others can read stops
# ternd.  SIGHUP loads a new certificate for new sessions; TLS 1.1 is
# refused.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/listen.sh"

PEER_LIFETIME=600
ternd_sandbox_init
plan 70
make_certs

# The listeners' certificate: copies, so SIGHUP can be shown a new one.
TLSD=$SANDBOX/tls
mkdir -p "$TLSD"
cp "$CERT" "$TLSD/cert.pem"
cp "$KEY" "$TLSD/key.pem"
chmod 0644 "$TLSD/cert.pem"
chmod 0600 "$TLSD/key.pem"
give "$TLSD" "$TLSD/cert.pem" "$TLSD/key.pem"
TLS_LINES=("tls_cert_file = $TLSD/cert.pem" "tls_key_file = $TLSD/key.pem")

# Users: alice (SHA-512), bob (bcrypt), carol (yescrypt when it can be made).
PW_A='alice pass 1!'
PW_B='b0b-secret'
PW_C='carol:yes/crypt'
USERS=$SANDBOX/users
H_A=$(hash_sha512 "$PW_A") || bail_out "openssl passwd -6 cannot make a SHA-512 hash"
H_B=$(hash_bcrypt "$PW_B") || bail_out "python3's crypt module cannot make a bcrypt hash"
H_C=$(hash_yescrypt "$PW_C") || H_C=
{
	echo "# test users"
	echo "alice:$H_A"
	echo "bob:$H_B"
	[ -n "$H_C" ] && echo "carol:$H_C"
} >"$USERS"
chmod 0640 "$USERS"
give "$USERS"

peer_start main
P=${PEER_PORT[main]}
LS=$(free_port)
LR=$(free_port)
LI=$(free_port)
LN=$(free_port)
ternd_config "$(relay main "$P" "tls = none")" \
	"$(listen_section st "$LS" "tls = starttls" "${TLS_LINES[@]}" "auth = optional" \
		"users_file = $USERS" "networks = 10.0.0.0/8")" \
	"$(listen_section req "$LR" "tls = starttls" "${TLS_LINES[@]}" "auth = required" \
		"users_file = $USERS")" \
	"$(listen_section imp "$LI" "tls = implicit" "${TLS_LINES[@]}" "auth = optional" \
		"users_file = $USERS" "networks = 10.0.0.0/8")" \
	"$(listen_section plain "$LN")"
ok "ternd starts with four listeners" ternd_start
ok "the log names the STARTTLS and implicit TLS listeners" \
	eval 'log_has "\[listen st\]: listening on 127\.0\.0\.1:$LS \(STARTTLS\)$" && log_has "\[listen imp\]: listening on 127\.0\.0\.1:$LI \(implicit TLS\)$"'

# plain_b64 USER PASS: the AUTH PLAIN response.
plain_b64() { printf '\0%s\0%s' "$1" "$2" | base64 -w0; }

EHLO_HEAD="250-$HOST
250-PIPELINING
250-SIZE 26214400"
EHLO_TAIL="250-ENHANCEDSTATUSCODES
250-8BITMIME
250-DSN
250-SMTPUTF8
250 CHUNKING"

# ---------------------------------------------------------------- before and after STARTTLS

log_mark
chat "$LS" "<" ">EHLO c.example.net" "<" \
	">AUTH PLAIN $(plain_b64 alice "$PW_A")" "<" \
	">MAIL FROM:<a@example.org> REQUIRETLS" "<" \
	">STARTTLS" "<" tls ">EHLO c.example.net" "<" \
	">STARTTLS" "<" \
	">MAIL FROM:<a@example.org> REQUIRETLS" "<" ">RSET" "<" \
	">MAIL FROM:<a@example.org>" "<" ">RCPT TO:<x@example.com>" "<" \
	">RCPT TO:<postmaster>" "<" ">DATA" "<" "=Subject: tls no auth\r\n\r\nhi\r\n.\r\n" "<"
is "$RC" 0 "a STARTTLS session runs to its end"
out=$OUT
OUT=$(printf '%s\n' "$out" | sed -n '2,/^250 /p')
is "$OUT" "$EHLO_HEAD
250-STARTTLS
$EHLO_TAIL" "EHLO before TLS: STARTTLS offered, no AUTH, no REQUIRETLS"
OUT=$out
like "$OUT" $'\n538 5.7.11 Encryption required for requested authentication mechanism\n' \
	"AUTH before TLS: 538 5.7.11"
like "$OUT" $'\n530 5.7.10 REQUIRETLS needs TLS: send STARTTLS first\n' \
	"MAIL FROM ... REQUIRETLS before TLS: 530 5.7.10"
like "$OUT" $'\n220 2.0.0 Ready to start TLS\nTLS TLSv1\\.[23]\n' "STARTTLS: 220 2.0.0, then a TLS 1.2+ handshake"
OUT=$(printf '%s\n' "$out" | sed -n '/^TLS /,$p' | sed -n '2,/^250 /p')
is "$OUT" "$EHLO_HEAD
250-AUTH PLAIN LOGIN
250-REQUIRETLS
$EHLO_TAIL" "EHLO inside TLS: AUTH PLAIN LOGIN and REQUIRETLS, no STARTTLS"
OUT=$(printf '%s\n' "$out" | sed -n '/^TLS /,$p' | grep -v '^250-' | tail -n +3)
is "$OUT" "554 5.5.1 Error: TLS already active
250 2.1.0 Ok
250 2.0.0 Ok
250 2.1.0 Ok
554 5.7.1 <x@example.com>: Relay access denied
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as $(printf '%s\n' "$out" | sed -n 's/^250 2\.0\.0 Ok: queued as //p')" "inside TLS: STARTTLS again 554, MAIL ... REQUIRETLS 250, untrusted and unauthenticated: relay 554 5.7.1, postmaster 250"
OUT=$out
ok "log: Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1.x" \
	log_has "Anonymous TLS connection established from unknown\[127\.0\.0\.1\]: TLSv1\.[23] with cipher " new
ok "log: NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <x@example.com>: Relay access denied; from=<a@example.org> to=<x@example.com> proto=ESMTP... helo=<c.example.net>" \
	log_has "NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 <x@example\.com>: Relay access denied; from=<a@example\.org> to=<x@example\.com> proto=ESMTPS? helo=<c\.example\.net>$" new
ok "the message to postmaster is relayed" peer_wait "tls no auth"
like "$(msg_header "$F" Received)" "^Received: from c\.example\.net \(unknown \[127\.0\.0\.1\]\) by $HOST_RE \(tern\) with ESMTPS id $ID_RE for <postmaster@[^>]+>; " \
	"inside TLS without AUTH: Received ... with ESMTPS"

chat "$LS" "<" ">EHLO q.example.net" "<" ">STARTTLS" "<" tls ">EHLO q.example.net" "<" ">QUIT" "<" eof
is "$(printf '%s\n' "$OUT" | tail -n 2)" "221 2.0.0 Bye
<EOF>" "QUIT inside STARTTLS: 221 2.0.0 Bye, then the server closes"
chat "$LI" --tls "<" ">EHLO q.example.net" "<" ">QUIT" "<" eof
is "$(printf '%s\n' "$OUT" | tail -n 2)" "221 2.0.0 Bye
<EOF>" "QUIT inside implicit TLS: 221 2.0.0 Bye, then the server closes"

# ---------------------------------------------------------------- AUTH with swaks

# swaks_auth PORT MECH USER PASS SUBJECT [SWAKS ARGS...]
swaks_auth()
{
	local port=$1 mech=$2 user=$3 pass=$4 subj=$5
	shift 5
	run swaks --server "127.0.0.1:$port" --ehlo auth.example.net "$@" \
		--auth "$mech" --auth-user "$user" --auth-password "$pass" \
		--from "$user@example.org" --to "to-$user@example.com" \
		--header "Subject: $subj" --body "sent by $user"
}

# auth_case DESC PORT MECH USER PASS SUBJECT SWAKS-ARGS...: 4 test points
# (swaks's exit code is not one: it fails when the 221 after QUIT is
# missing, which the QUIT tests above check on their own).
auth_case()
{
	local desc=$1 port=$2 mech=$3 user=$4 pass=$5 subj=$6 id
	shift 6
	log_mark
	swaks_auth "$port" "$mech" "$user" "$pass" "$subj" "$@"
	like "$OUT" "<~ +235 2\.7\.0 Authentication successful" "$desc: 235 2.7.0 Authentication successful"
	id=$(printf '%s\n' "$OUT" | sed -n -E "s/^<~ +250 2\.0\.0 Ok: queued as ($ID_RE)\$/\1/p")
	like "$id" "^$ID_RE\$" "$desc: authenticated, the client may relay (queued)"
	ok "$desc: log: $id: client=unknown[127.0.0.1], sasl_method=$mech, sasl_username=$user" \
		log_has ": $id: client=unknown\[127\.0\.0\.1\], sasl_method=$mech, sasl_username=$user$" new
	if peer_wait "$subj"; then
		like "$(msg_header "$F" Received)" "^Received: from auth\.example\.net \(unknown \[127\.0\.0\.1\]\) by $HOST_RE \(tern\) with ESMTPSA id $id for <to-$user@example\.com>; " \
			"$desc: relayed, Received ... with ESMTPSA"
	else
		fail "$desc: relayed, Received ... with ESMTPSA" "the relay did not get it"
	fi
}

if [ "$HAVE_SWAKS" = 1 ]; then
	auth_case "STARTTLS, PLAIN, SHA-512" "$LS" PLAIN alice "$PW_A" "plain sha512" --tls
	auth_case "STARTTLS, LOGIN, bcrypt" "$LS" LOGIN bob "$PW_B" "login bcrypt" --tls
	if [ -n "$H_C" ]; then
		auth_case "STARTTLS, PLAIN, yescrypt" "$LS" PLAIN carol "$PW_C" "plain yescrypt" --tls
	else
		for t in 235 queued log relayed; do
			skip "yescrypt: $t" "no mkpasswd (Debian's whois) and libxcrypt cannot make a yescrypt hash here"
		done
	fi
	auth_case "implicit TLS (swaks --tlsc), PLAIN" "$LI" PLAIN alice "$PW_A" "implicit plain" --tlsc
	auth_case "auth = required, STARTTLS, LOGIN" "$LR" LOGIN alice "$PW_A" "required login" --tls
else
	for t in plain-sha512 login-bcrypt plain-yescrypt implicit required; do
		for u in 235 queued log relayed; do
			skip "swaks: $t $u" "swaks is not installed"
		done
	done
fi
nok "no password appears in the log" grep -F -q -e "$PW_A" -e "$PW_B" -e "$PW_C" "$TLOG"
nok "nor an AUTH PLAIN response" grep -F -q -e "$(plain_b64 alice "$PW_A")" "$TLOG"

# ---------------------------------------------------------------- AUTH by hand

chat "$LI" --tls "<" ">EHLO raw.example.net" "<" \
	">AUTH LOGIN" "<" ">$(b64 bob)" "<" ">$(b64 "$PW_B")" "<" ">AUTH PLAIN" "<" \
	">MAIL FROM:<bob@example.org>" "<" ">RCPT TO:<far@example.com>" "<"
is "$(printf '%s\n' "$OUT" | grep -v '^250-' | tail -n +4)" "334 VXNlcm5hbWU6
334 UGFzc3dvcmQ6
235 2.7.0 Authentication successful
503 5.5.1 Error: already authenticated
250 2.1.0 Ok
250 2.1.5 Ok" "implicit TLS, AUTH LOGIN step by step: 334 Username:, 334 Password:, 235; AUTH again 503; then relaying is allowed"
like "$(printf '%s\n' "$OUT" | sed -n 2p)" '^220 ' "implicit TLS: the greeting comes inside TLS"
chat "$LI" --tls "<" ">EHLO raw.example.net" "<" ">AUTH PLAIN" "<" ">*" "<" ">AUTH CRAM-MD5" "<" \
	">AUTH PLAIN !!!" "<"
is "$(printf '%s\n' "$OUT" | grep -v '^250-' | tail -n +4)" "334 
501 5.7.0 Authentication aborted
504 5.5.4 Unrecognized authentication type
501 5.5.2 Cannot decode response" "AUTH PLAIN without a response: 334; '*' aborts (501 5.7.0); an unknown mechanism 504; bad base64 501 5.5.2"

# ---------------------------------------------------------------- failures

log_mark
chat "$LS" "<" ">EHLO bad.example.net" "<" ">STARTTLS" "<" tls ">EHLO bad.example.net" "<" \
	">AUTH PLAIN $(plain_b64 alice wrong-password)" "<" ">QUIT" "<"
like "$OUT" $'\n535 5.7.8 Error: authentication failed\n' "a wrong password: 535 5.7.8 Error: authentication failed"
ok "log: warning: unknown[127.0.0.1]: SASL PLAIN authentication failed" \
	log_has "warning: unknown\[127\.0\.0\.1\]: SASL PLAIN authentication failed" new
chat "$LS" "<" ">EHLO bad.example.net" "<" ">STARTTLS" "<" tls ">EHLO bad.example.net" "<" \
	">AUTH LOGIN" "<" ">$(b64 nosuchuser)" "<" time ">$(b64 whatever)" "<" time \
	">AUTH PLAIN $(plain_b64 alice "$PW_A")" "<" \
	">MAIL FROM:<alice@example.org>" "<" ">RCPT TO:<after-failures@example.com>" "<"
like "$OUT" $'\n334 UGFzc3dvcmQ6\nTIME [0-9]+\n535 5.7.8 Error: authentication failed\nTIME ' \
	"an unknown user in a second session: 535 5.7.8 all the same"
t=$(printf '%s\n' "$OUT" | sed -n 's/^TIME //p')
ms=$(( $(sed -n 2p <<<"$t") - $(sed -n 1p <<<"$t") ))
diag "the second failure was answered after $ms ms"
ok "the second failure from 127.0.0.1 is answered only after a delay (>= 1 s)" test "$ms" -ge 1000
ok "log: warning: unknown[127.0.0.1]: SASL LOGIN authentication failed" \
	log_has "warning: unknown\[127\.0\.0\.1\]: SASL LOGIN authentication failed" new
like "$OUT" $'\n235 2.7.0 Authentication successful\n250 2.1.0 Ok\n250 2.1.5 Ok$' \
	"the right password after the failures: 235, and relaying"

# ---------------------------------------------------------------- auth = required

chat "$LR" "<" ">EHLO req.example.net" "<" ">MAIL FROM:<a@example.org>" "<" ">AUTH LOGIN" "<" \
	">STARTTLS" "<" tls ">EHLO req.example.net" "<" ">MAIL FROM:<a@example.org>" "<" \
	">RCPT TO:<postmaster>" "<"
is "$(printf '%s\n' "$OUT" | grep -E -v '^(250-|TLS )' | tail -n +3)" "530 5.7.0 Must issue a STARTTLS command first
538 5.7.11 Encryption required for requested authentication mechanism
220 2.0.0 Ready to start TLS
250 CHUNKING
530 5.7.0 Authentication required
503 5.5.1 Error: need MAIL command" "auth = required, even for a client in networks: MAIL before STARTTLS 530 Must issue a STARTTLS, after it 530 Authentication required"

# ---------------------------------------------------------------- no TLS at all

chat "$LN" "<" ">EHLO n.example.net" "<" ">STARTTLS" "<" ">AUTH PLAIN $(plain_b64 alice "$PW_A")" "<" \
	">MAIL FROM:<a@example.org> REQUIRETLS" "<" ">QUIT" "<"
is "$(printf '%s\n' "$OUT" | tail -n +2)" "$EHLO_HEAD
$EHLO_TAIL
502 5.5.1 Error: command not implemented
503 5.5.1 Error: authentication not enabled
530 5.7.10 REQUIRETLS needs TLS: send STARTTLS first
221 2.0.0 Bye" "a listener without TLS: no STARTTLS offered (502), AUTH not enabled (503), REQUIRETLS 530 5.7.10"

# ---------------------------------------------------------------- TLS versions

run openssl s_client -connect "127.0.0.1:$LI" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null
t11_rc=$RC t11_out=$OUT
isnt "$t11_rc" 0 "openssl s_client -tls1_1 (SECLEVEL=0, so the client can offer it) fails against implicit TLS"
unlike "$t11_out" 'New, TLSv1\.1' "no TLS 1.1 session"
ok "log: SSL_accept error from unknown[127.0.0.1]: unsupported protocol" \
	wait_for 'log_has "SSL_accept error from unknown\[127\.0\.0\.1\]: .*unsupported protocol"' 5
run openssl s_client -connect "127.0.0.1:$LS" -starttls smtp -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null
isnt "$RC" 0 "openssl s_client -starttls smtp -tls1_1 fails too"
run openssl s_client -connect "127.0.0.1:$LI" -tls1_2 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null
like "$OUT" 'New, TLSv1\.2, Cipher is ' "the same client with -tls1_2 connects (the refusal is the version's)"

# ---------------------------------------------------------------- users file others can read

ternd_stop
chmod 0644 "$USERS"
run "${AS_USER[@]}" "$TERND" -c "$CONF" -f </dev/null
chmod 0640 "$USERS"
isnt "$RC" 0 "a users file readable by others: ternd does not start (exit $RC)"
like "$ERR" "\[listen st\]: users_file $USERS: readable by others; chmod 640 " "and names the listener, the file and the fix"
unlike "$ERR" "\[listen st\]: \[listen st\]" "the listener is named once"

# ---------------------------------------------------------------- SIGHUP: a new certificate

ok "ternd starts again" ternd_start
OLD_FP=$(cert_fp "$TLSD/cert.pem")
is "$(tls_fp_starttls "$LS")" "$OLD_FP" "STARTTLS presents the configured certificate"
is "$(tls_fp_implicit "$LI")" "$OLD_FP" "implicit TLS presents it too"
mkdir -p "$SANDBOX/certs2"
certs_make "$SANDBOX/certs2" || bail_out "openssl could not make a second certificate"
cp "$SANDBOX/certs2/server.pem" "$TLSD/cert.pem"
cp "$SANDBOX/certs2/server.key" "$TLSD/key.pem"
give "$TLSD/cert.pem" "$TLSD/key.pem"
NEW_FP=$(cert_fp "$TLSD/cert.pem")
isnt "$NEW_FP" "$OLD_FP" "the second certificate differs"
is "$(tls_fp_starttls "$LS")" "$OLD_FP" "before SIGHUP the old certificate is still used"
log_mark
kill -HUP "$TERND_PID"
ok "SIGHUP: ternd reloads" wait_for 'log_has "reloading " new' 5
ok "after SIGHUP a new STARTTLS session sees the new certificate" \
	wait_for '[ "$(tls_fp_starttls "$LS")" = "$NEW_FP" ]' 10
is "$(tls_fp_implicit "$LI")" "$NEW_FP" "and so does a new implicit TLS session"
unlike "$(log_new)" 'listener settings not reloaded' "no reload error"
if [ "$HAVE_SWAKS" = 1 ]; then
	swaks_auth "$LS" PLAIN alice "$PW_A" "after hup" --tls
	like "$OUT" "<~ +250 2\.0\.0 Ok: queued as $ID_RE" "after SIGHUP: AUTH and mail over the new certificate"
else
	skip "after SIGHUP: AUTH and mail" "swaks is not installed"
fi

# A broken certificate on SIGHUP keeps the running one.
printf 'not a certificate\n' >"$TLSD/cert.pem"
give "$TLSD/cert.pem"
log_mark
kill -HUP "$TERND_PID"
ok "SIGHUP with a broken certificate: logged, the old settings stay" \
	wait_for 'log_has "listener settings not reloaded: .*tls_cert_file $TLSD/cert\.pem" new' 5
is "$(tls_fp_starttls "$LS")" "$NEW_FP" "the certificate loaded before is still presented"
ok "the daemon is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0 on SIGTERM"

done_testing
