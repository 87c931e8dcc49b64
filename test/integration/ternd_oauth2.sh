#!/bin/bash
# ternd_oauth2: the built-in OAuth2 client-credentials flow against a
# local HTTPS token endpoint (test/lib/token_endpoint.py, certificate
# from a CA made here, its name relay.test served by the test's own
# dnsmasq) and a relay (smtp_peer.py) that accepts only the current
# XOAUTH2 token (--auth-token-file, rotated by the test) and hangs up
# after every message, so each message needs a session and a token:
#  - the request (form fields, content type), the token fetched once
#    for several sessions, fetched again after a 535 that refuses it
#    (the message is retried at once, not failed over), and after it
#    expires;
#  - endpoint failures (HTTP 401 with error_description, a body that is
#    not JSON, HTTP 500, an untrusted certificate) defer the mail with
#    a plain-words log line and never bounce it;
#  - the secret never appears in the log;
#  - a token endpoint (and an oauth2_token_command) that does not
#    answer keeps nothing else waiting: the listener takes a message
#    while the token is outstanding.
# shellcheck disable=SC2016,SC2119,SC2317  # conditions are code for wait_for; ternd_stop takes optional arguments; helpers called through wait_for
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/listen.sh"
. "$top_srcdir/test/lib/dnsmasq.sh"

ternd_sandbox_init
dnsmasq_require
make_certs
dnsmasq_start --host-record=relay.test,127.0.0.1 ||
	bail_out "dnsmasq did not start"

USER_NAME=relayuser
SECRET='Cl1ent-S3cret/+=&x y'
SECRET_FILE=$SANDBOX/client.secret
printf '%s\n' "$SECRET" >"$SECRET_FILE"
chmod 0600 "$SECRET_FILE"
give "$SECRET_FILE"
SCOPE='https://outlook.office365.com/.default'

# ---------------------------------------------------------------- endpoint

EP_DIR=$SANDBOX/endpoint
mkdir -p "$EP_DIR"
EP_CONTROL=$EP_DIR/control
EP_REQUESTS=$EP_DIR/requests
EP_RELEASE=$EP_DIR/release
: >"$EP_REQUESTS"

# endpoint LINE...: what the endpoint answers from now on.
endpoint() { printf '%s\n' "$@" >"$EP_CONTROL.tmp" && mv "$EP_CONTROL.tmp" "$EP_CONTROL"; }
# requests: how many token requests came so far.
requests() { wc -l <"$EP_REQUESTS" | tr -d ' '; }
# form FIELD: that field of the last request's form.
form()
{
	tail -n 1 "$EP_REQUESTS" | "$PYTHON" -c 'import json, sys
r = json.loads(sys.stdin.read())
print(r["form"].get(sys.argv[1], "<none>") if sys.argv[1] != "-" else
      "%s|%s|%s" % (r["path"], r["content_type"], r["authorization"]))' "$1"
}

endpoint "mode ok" "token tok-A" "expires 3600"
"$PYTHON" "$top_srcdir/test/lib/token_endpoint.py" --cert "$CERT" --key "$KEY" \
	--ready-file "$EP_DIR/ready" --control "$EP_CONTROL" \
	--requests "$EP_REQUESTS" --lifetime "$PEER_LIFETIME" 2>"$EP_DIR/log" &
_sb_pids+=("$!")
wait_for '[ -s "$EP_DIR/ready" ]' 10 ||
	bail_out "token_endpoint.py did not start: $(tail -n 5 "$EP_DIR/log")"
EP=$(cat "$EP_DIR/ready")
URL="https://relay.test:$EP/tenant/oauth2/v2.0/token"

# ---------------------------------------------------------------- relay

TOKFILE=$SANDBOX/valid.token
echo tok-A >"$TOKFILE"
peer_start o --tls starttls --cert "$CERT" --key "$KEY" \
	--auth-user "$USER_NAME" --auth-token-file "$TOKFILE" \
	--fault close-after-data
P=${PEER_PORT[o]}
LP=$(free_port)

# conf [LINE...]: relay o with the flow, the listener, and LINE... in
# the relay section.
conf()
{
	ternd_config "$(relay o "$P" "tls = starttls" "auth = xoauth2" \
		"username = $USER_NAME" "oauth2_token_url = $URL" \
		"oauth2_client_id = tern-client" \
		"oauth2_client_secret_file = $SECRET_FILE" \
		"oauth2_scope = $SCOPE" "$@")" \
		"[listen lan]" "address = 127.0.0.1:$LP" "networks = 127.0.0.1/32"
}

# send SUBJECT: queue one message.
send()
{
	tsm_ok "" "From: sender@example.org
To: to@example.com
Subject: $1

$1
" -i -f sender@example.org to@example.com
}

# restart: ternd again with the config written last, no cached token,
# no relay state, an empty queue.
restart()
{
	ternd_stop
	rm -f "$QUEUE_DIR/state/relays"
	queue_empty_all
	ternd_start
}

# delivered SUBJECT: the peer has it.
delivered() { wait_for "peer_find o '^Subject: $1\$' >/dev/null" 15; }
xoauth2_count() { grep -c '^AUTH XOAUTH2' "${PEER_TR[o]}"; }

plan 46

# ---------------------------------------------------------------- cache

conf "tls_ca_file = $CA"
ok "ternd starts with a private client secret file" ternd_start
log_mark
for i in 1 2 3; do
	send "cached $i"
	ok "message $i is delivered" delivered "cached $i"
done
is "$(requests)" 1 "one token request for three sessions"
is "$(xoauth2_count)" 3 "three sessions, each authenticated with XOAUTH2"
is "$(form grant_type)" client_credentials "grant_type=client_credentials"
is "$(form client_id)" tern-client "client_id in the body"
is "$(form client_secret)" "$SECRET" "client_secret in the body, form-encoded intact"
is "$(form scope)" "$SCOPE" "scope in the body"
is "$(form -)" "/tenant/oauth2/v2.0/token|application/x-www-form-urlencoded|False" \
	"POST to the URL's path, form-encoded, no Authorization header"
is "$(log_count "relay o: OAuth2 token from https://relay\.test:$EP/tenant/oauth2/v2\.0/token, valid for 3600 s" new)" 1 \
	"the token is logged once, with its source and lifetime"

# ---------------------------------------------------------------- 535

echo tok-B >"$TOKFILE"
endpoint "mode ok" "token tok-B" "expires 3600"
log_mark
send "rotated"
ok "a refused cached token: the message is still delivered" delivered rotated
is "$(requests)" 2 "the refusal made one new token request"
ok "the refusal is logged in plain words" \
	log_has "relay o \(127\.0\.0\.1\[127\.0\.0\.1\]:$P\): the cached OAuth2 token was refused \(.*535.*\); fetching a new one" new
is "$(log_count "not used until" new)" 0 "the relay is not counted as failing"
like "$(log_lines ": to=<to@example\.com>," new)" "status=sent" "logged as sent"

# ---------------------------------------------------------------- expiry

# Rotate again, so the next session's 535 fetches a 2 s token.
echo tok-C >"$TOKFILE"
endpoint "mode ok" "token tok-C" "expires 2"
send "short 1"
ok "a 2-second token is fetched after a refusal" delivered "short 1"
is "$(requests)" 3 "three requests so far"
sleep 3 # past the token's expires_in
log_mark
send "short 2"
ok "after it expired, the next message is delivered" delivered "short 2"
is "$(requests)" 4 "the expired token was fetched again"
is "$(log_count "refused" new)" 0 "before any server refused it"

# ---------------------------------------------------------------- endpoint errors

endpoint "mode error"
restart
log_mark
send "refused client"
ok "HTTP 401: logged with the endpoint's error and error_description" \
	wait_for 'log_has "relay o \(127\.0\.0\.1\[127\.0\.0\.1\]:$P\): no OAuth2 token: POST to https://relay\.test:$EP/tenant/oauth2/v2\.0/token: HTTP 401: invalid_client: Client authentication failed: wrong secret; not used until" new' 10
ok "the recipient is deferred with that reason" \
	wait_for 'log_lines ": to=<to@example\.com>," new | grep -E -q "dsn=4\.[0-9.]+, status=deferred \(no OAuth2 token: POST to https://relay\.test:$EP/.*HTTP 401"' 10
ok "the message waits in deferred/" wait_for '[ "$(queue_count deferred)" = 1 ]' 5

endpoint "mode garbage"
log_mark
tern_as flush
ok "a body that is not JSON: said so" \
	wait_for 'log_has "relay o \(.*\): no OAuth2 token: .*HTTP 200 but the answer is not a JSON object" new' 15
endpoint "mode http500"
log_mark
tern_as flush
ok "HTTP 500 without a body: said so" \
	wait_for 'log_has "relay o \(.*\): no OAuth2 token: .*HTTP 500 \(no error in the answer\)" new' 15
endpoint "mode ok" "token tok-C" "expires 3600"
tern_as flush
ok "once the endpoint works, the deferred message is delivered" delivered "refused client"
is "$(log_count "status=bounced|notification" )" 0 "no failure was ever a bounce"
ok "the queue is empty" wait_for queue_is_empty 5

# ---------------------------------------------------------------- certificate

conf
restart
log_mark
n=$(peer_count o)
send "untrusted"
ok "an endpoint certificate the relay does not trust: certificate verify failed" \
	wait_for 'log_has "relay o \(.*\): no OAuth2 token: POST to https://relay\.test:$EP/[^ ]*: relay\.test\[127\.0\.0\.1\]:$EP: TLS: certificate verify failed" new' 10
is "$(peer_count o)" "$n" "nothing was delivered"

# ---------------------------------------------------------------- the loop goes on

conf "tls_ca_file = $CA"
restart
ok "the listener is up" wait_for "log_has 'listening on 127\\.0\\.0\\.1:$LP'" 10
rm -f "$EP_RELEASE"
endpoint "mode hold" "release $EP_RELEASE" "token tok-C" "expires 3600"
before=$(requests)
n=$(peer_count o)
send "held"
ok "the token request reaches the endpoint, which holds it" \
	wait_for '[ "$(requests)" -gt "$before" ]' 10
smtp "$LP" --timeout 10 read "cmd:EHLO client.test" "cmd:MAIL FROM:<a@client.test>" \
	"cmd:RCPT TO:<to@example.com>" "cmd:DATA" \
	"send:From: <a@client.test>\r\nSubject: while held\r\n\r\nbody\r\n.\r\n" \
	read "cmd:QUIT" "eof:10"
like "$SMTP_OUT" "250 2\.0\.0 Ok: queued as" "meanwhile the listener takes a message"
is "$(peer_count o)" "$n" "while the token request is still held"
touch "$EP_RELEASE"
ok "released: the held message is delivered" delivered held
ok "and the one taken meanwhile" delivered "while held"

# ---------------------------------------------------------------- token command

CMD=$SANDBOX/token-cmd.sh
cat >"$CMD" <<EOF
#!/bin/sh
touch "$SANDBOX/cmd.started"
i=0
while [ ! -e "$SANDBOX/cmd.release" ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
[ -e "$SANDBOX/cmd.fail" ] && { echo "no token today" >&2; exit 3; }
cat "$TOKFILE"
EOF
chmod 0755 "$CMD"
ternd_config "$(relay o "$P" "tls = starttls" "tls_ca_file = $CA" \
	"username = $USER_NAME" "oauth2_token_command = $CMD")" \
	"[listen lan]" "address = 127.0.0.1:$LP" "networks = 127.0.0.1/32"
rm -f "$SANDBOX/cmd.started" "$SANDBOX/cmd.release"
restart
log_mark
send "by command"
ok "the token command runs" wait_for '[ -e "$SANDBOX/cmd.started" ]' 10
smtp "$LP" --timeout 10 read "cmd:EHLO client.test" "cmd:QUIT" "eof:10"
like "$SMTP_OUT" "^220 .*
250" "while it runs, the listener answers"
touch "$SANDBOX/cmd.release"
ok "its token authenticates the session" delivered "by command"
echo tok-D >"$TOKFILE"
touch "$SANDBOX/cmd.fail"
log_mark
send "command fails"
ok "a failing command: logged with its exit status, the mail deferred" \
	wait_for 'log_has "relay o \(.*\): no OAuth2 token: oauth2_token_command failed: it exited with status 3" new' 10

# ---------------------------------------------------------------- secrets

ternd_stop
nok "the client secret appears nowhere in the log" grep -F -q -- "$SECRET" "$TLOG"
enc=$(printf '%s' "$SECRET" | "$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote_plus(sys.stdin.read()))')
nok "nor does its form encoding" grep -F -q -- "$enc" "$TLOG"
nok "nor any token" grep -E -q -- "tok-[A-D]" "$TLOG"
ternd_config "$(relay o "$P" "tls = starttls" "username = $USER_NAME" \
	"oauth2_token_url = $URL" "oauth2_client_id = tern-client" \
	"oauth2_client_secret_file = $SECRET_FILE")"
chmod 0644 "$SECRET_FILE"
run "${AS_USER[@]}" "$TERND" -c "$CONF" -f </dev/null
chmod 0600 "$SECRET_FILE"
like "$ERR" "relay o: oauth2_client_secret_file $SECRET_FILE is readable or writable by others; make it private" \
	"a client secret file others can read: ternd does not start, and says why"

done_testing
