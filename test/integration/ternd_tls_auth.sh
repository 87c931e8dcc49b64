#!/bin/bash
# ternd_tls_auth: ternd delivers through relays that need TLS and AUTH
# (test/lib/smtp_peer.py with a certificate from a CA made here):
# STARTTLS + AUTH PLAIN verified against tls_ca_file, implicit TLS, a
# certificate that cannot be verified (deferred, "certificate verify
# failed"), credentials refused with 535 (the next relay takes the
# mail, the failing one cools down), and a password that is never sent
# over a plaintext session.  A password file others can read stops
# ternd from starting.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"

ternd_sandbox_init
plan 40
make_certs

USER_NAME=relayuser
PASSWORD='S3cret pass-w0rd!'
PWFILE=$SANDBOX/relay.password
printf '%s\n' "$PASSWORD" >"$PWFILE"
chmod 0600 "$PWFILE"
give "$PWFILE"

TLS_PEER=(--cert "$CERT" --key "$KEY")
AUTH_PEER=(--auth-user "$USER_NAME" --auth-pass "$PASSWORD")

# send SUBJECT RCPT: queue one message from sender@example.org.
send()
{
	tsm_ok "" "From: sender@example.org
To: $2
Subject: $1

$1
" -i -f sender@example.org "$2"
}

# transcript NAME: the peer's commands on one line, "|" between them.
transcript() { tr '\n' '|' <"${PEER_TR[$1]}"; }

# ---------------------------------------------------------------- STARTTLS + AUTH PLAIN

peer_start sa --tls starttls "${TLS_PEER[@]}" "${AUTH_PEER[@]}"
P=${PEER_PORT[sa]}
ternd_config "$(relay sa "$P" "tls = starttls" "tls_ca_file = $CA" \
	"auth = plain" "username = $USER_NAME" "password_file = $PWFILE")"
ok "ternd starts with a private password file" ternd_start
log_mark
send "starttls auth" to1@example.com
ok "STARTTLS + AUTH PLAIN: delivered" wait_for 'peer_find sa "^Subject: starttls auth$" >/dev/null' 10
f=$(peer_find sa "^Subject: starttls auth$")
like "$(transcript sa)" "^EHLO host\.example\.org\|STARTTLS\|EHLO host\.example\.org\|AUTH PLAIN TLS\|MAIL FROM:<sender@example\.org>" \
	"EHLO, STARTTLS, EHLO again, AUTH PLAIN inside TLS, then MAIL"
is "$(msg_env "$f" | grep '^RCPT')" "RCPT TO:<to1@example.com>" "the relay got the recipient"
like "$(log_lines ": to=<to1@example\.com>," new)" \
	"relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P, delay=[0-9.]+, delays=[^ ]+, dsn=2\.0\.0, status=sent \(250 " \
	"log: to=<to1@example.com>, relay=127.0.0.1[127.0.0.1]:$P ... status=sent"
nok "the password appears nowhere in the log" grep -F -q -- "$PASSWORD" "$TLOG"
b64=$(printf '\0%s\0%s' "$USER_NAME" "$PASSWORD" | base64 -w0)
nok "nor does its AUTH PLAIN encoding" grep -F -q -- "$b64" "$TLOG"
ok "the queue is empty" wait_for queue_is_empty 5

# A second message reuses the authenticated session: no second AUTH.
send "starttls auth again" to2@example.com
ok "a second message is delivered" wait_for 'peer_find sa "^Subject: starttls auth again$" >/dev/null' 10
is "$(grep -c '^AUTH ' "${PEER_TR[sa]}")" 1 "it reuses the authenticated session (one AUTH in all)"

# ---------------------------------------------------------------- password file others can read

ternd_stop
chmod 0644 "$PWFILE"
run "${AS_USER[@]}" "$TERND" -c "$CONF" -f </dev/null
chmod 0600 "$PWFILE"
isnt "$RC" 0 "a password file readable by others: ternd does not start (exit $RC)"
like "$ERR" "relay sa: password_file $PWFILE is readable or writable by others; make it private: chmod 600" \
	"and says which file and how to fix it"

# ---------------------------------------------------------------- implicit TLS

peer_start imp --tls implicit "${TLS_PEER[@]}"
PI=${PEER_PORT[imp]}
ternd_reset "$(relay imp "$PI" "tls = implicit" "tls_ca_file = $CA")"
log_mark
send "implicit tls" to3@example.com
ok "implicit TLS: delivered" wait_for 'peer_find imp "^Subject: implicit tls$" >/dev/null' 10
like "$(transcript imp)" "^EHLO host\.example\.org\|MAIL FROM:<sender@example\.org>" \
	"implicit TLS: EHLO straight away, no STARTTLS"
like "$(log_lines ": to=<to3@example\.com>," new)" \
	"relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PI, .*dsn=2\.0\.0, status=sent" "implicit TLS: logged as sent"

# ---------------------------------------------------------------- verification fails

peer_start nv --tls starttls "${TLS_PEER[@]}"
PN=${PEER_PORT[nv]}
ternd_reset "$(relay nv "$PN" "tls = starttls")"
log_mark
send "unverified" to4@example.com
ok "tls_verify without the CA: a relay line says certificate verify failed" \
	wait_for 'log_has "relay nv \(127\.0\.0\.1\[127\.0\.0\.1\]:$PN\): .*certificate verify failed.*; not used until [0-9]+ s from now" new' 10
like "$(log_lines ": to=<to4@example\.com>," new | head -n 1)" \
	"relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PN, delay=[0-9.]+, delays=[^ ]+, dsn=4\.[0-9.]+, status=deferred \(.*certificate verify failed" \
	"the recipient is deferred with the reason"
ok "the message waits in deferred/" wait_for '[ "$(queue_count deferred)" = 1 ]' 5
is "$(peer_count nv)" 0 "nothing was delivered to the unverified server"
unlike "$(transcript nv)" 'MAIL |AUTH ' "no MAIL (nor AUTH) over the unverified session"

# The same server with tls_verify = no: the mail goes.
ternd_stop
ternd_config "$(relay nv "$PN" "tls = starttls" "tls_verify = no")"
log_mark
ok "ternd starts with tls_verify = no" ternd_start
tern_as flush
ok "with tls_verify = no the deferred message is delivered" \
	wait_for 'peer_find nv "^Subject: unverified$" >/dev/null' 10
ok "and leaves the queue" wait_for queue_is_empty 5

# ---------------------------------------------------------------- 535

peer_start bad --tls starttls "${TLS_PEER[@]}" "${AUTH_PEER[@]}" --fault auth-535
peer_start good
PB=${PEER_PORT[bad]}
PG=${PEER_PORT[good]}
ternd_reset "$(relay badauth "$PB" "tls = starttls" "tls_ca_file = $CA" \
	"username = $USER_NAME" "password_file = $PWFILE" "priority = 1")" \
	"$(relay good "$PG" "tls = none" "priority = 2")"
log_mark
send "auth refused" to5@example.com
ok "AUTH refused: the next relay delivers" wait_for 'peer_find good "^Subject: auth refused$" >/dev/null' 10
like "$(transcript bad)" "STARTTLS\|EHLO [^|]*\|AUTH [A-Z0-9-]+ TLS" "the refused AUTH was tried inside TLS"
is "$(peer_count bad)" 0 "the relay that refused AUTH got no message"
like "$(log_lines "relay badauth " new)" \
	"^(warning: )?relay badauth \(127\.0\.0\.1\[127\.0\.0\.1\]:$PB\): .*535.*; not used until (59|60) s from now" \
	"the failing relay is logged with the 535 and cools down for 60 s"
lines=$(log_lines ": to=<to5@example\.com>," new)
like "$lines" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PB, .*status=deferred \(.*535.*
.*relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PG, .*dsn=2\.0\.0, status=sent" \
	"log: deferred at badauth (535), then sent at good"
log_mark
send "auth refused 2" to6@example.com
ok "the next message is delivered too" wait_for 'peer_find good "^Subject: auth refused 2$" >/dev/null' 10
is "$(log_count "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PB" new)" 0 \
	"while it cools down, the refusing relay is not tried"
is "$(grep -c '^AUTH ' "${PEER_TR[bad]}")" 1 "it saw one AUTH attempt in all"
ternd_stop
like "$(cat "$QUEUE_DIR/state/relays" 2>/dev/null)" \
	"relay badauth failures=1 cool_until=[1-9][0-9]+" "the cool-down is saved in state/relays"

# ---------------------------------------------------------------- no password in the clear

peer_start plain --tls none "${AUTH_PEER[@]}"
PP=${PEER_PORT[plain]}
ternd_reset "$(relay plain "$PP" "tls = none" "username = $USER_NAME" \
	"password_file = $PWFILE")"
log_mark
send "cleartext" to7@example.com
ok "tls = none with a username: the relay line says it refuses" \
	wait_for 'log_has "relay plain \(127\.0\.0\.1\[127\.0\.0\.1\]:$PP\): refusing to send the password without TLS; set tls = starttls or implicit; not used until" new' 10
like "$(log_lines ": to=<to7@example\.com>," new | head -n 1)" \
	"status=deferred \(refusing to send the password without TLS" "the recipient is deferred with that reason"
ok "EHLO happened" grep -q '^EHLO ' "${PEER_TR[plain]}"
nok "no AUTH command went over the plaintext session" grep -q '^AUTH' "${PEER_TR[plain]}"
is "$(peer_count plain)" 0 "nothing was delivered"
ok "the message waits in deferred/" wait_for '[ "$(queue_count deferred)" = 1 ]' 5

ok "ternd is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0"

done_testing
