#!/bin/bash
# tern_test_relay: "tern test-relay [NAME]" against real misconfigured
# peers (test/lib/smtp_peer.py with faults, certificates made here by
# openssl, names served by a loopback dnsmasq).  One scenario per
# diagnosis: implicit TLS on a STARTTLS port and the reverse, STARTTLS
# not offered, a certificate from an unknown CA, for another name, and
# expired; a closed port, a port that drops connections (full backlog),
# NXDOMAIN and a failing DNS server; AUTH only after STARTTLS, no common
# mechanism, 535 in general and with the advice of QQ (by preset), Gmail
# (by host name) and Office 365 (basic authentication disabled); MAIL
# FROM refused for a sender not owned, and for want of a login;
# greetings 421 and 554.  Each checks the printed diagnosis and the exit
# status; a passing relay's full step list is checked too, and that
# nothing but MAIL FROM and RSET reached the server.  Exit codes 0, 1,
# 64, 75 and 78.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/dnsmasq.sh"

ternd_sandbox_init
dnsmasq_require
command -v openssl >/dev/null 2>&1 || skip_all "openssl is not installed"
RUN_TIMEOUT=40
mkdir -p "$QUEUE_DIR"
make_certs

# ---------------------------------------------------------------- setup

# dated_cert NAME START END: a certificate for relay.test from the same
# CA, valid from START to END (YYYYMMDDhhmmssZ): $SANDBOX/certs/NAME/c.pem
# and c.key.
dated_cert()
{
	local d=$SANDBOX/certs/$1 start=$2 end=$3
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		cat >ca.cnf <<'EOF_CNF'
[ca]
default_ca = tca
[tca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[srv]
basicConstraints = CA:FALSE
subjectAltName = IP:127.0.0.1,DNS:relay.test
EOF_CNF
		: >index.txt
		echo 01 >serial
		openssl req -new -newkey rsa:2048 -nodes -subj /CN=relay.test \
			-keyout c.key -out c.csr &&
			openssl ca -batch -config ca.cnf -cert "$CA" \
				-keyfile "$SANDBOX/certs/ca.key" -in c.csr \
				-out c.pem -startdate "$start" -enddate "$end" \
				-extensions srv -notext
	) >"$d/log" 2>&1 || bail_out "openssl could not make a dated certificate: $(tail -n 3 "$d/log")"
	chmod 0644 "$d/c.pem" "$d/c.key"
}
dated_cert old 20200101000000Z 20200201000000Z
dated_cert future 20990101000000Z 20990201000000Z

AUTH=(--auth-user u@x.test --auth-pass secret)
STLS=(--tls starttls --cert "$CERT" --key "$KEY")
peer_start good "${STLS[@]}" "${AUTH[@]}"
peer_start implicit --tls implicit --cert "$CERT" --key "$KEY" "${AUTH[@]}"
peer_start plain --tls none
peer_start expired --tls starttls --cert "$SANDBOX/certs/old/c.pem" \
	--key "$SANDBOX/certs/old/c.key"
peer_start future --tls starttls --cert "$SANDBOX/certs/future/c.pem" \
	--key "$SANDBOX/certs/future/c.key"
peer_start plainauth --tls none "${AUTH[@]}"
peer_start noauth "${STLS[@]}" --fault no-auth
peer_start s454 "${STLS[@]}" --fault starttls-454
peer_start ehlo "${STLS[@]}" --fault refuse-ehlo
peer_start a454 "${STLS[@]}" "${AUTH[@]}" --fault "auth-reply:454 4.7.0 Temporary authentication failure"
peer_start a538 "${STLS[@]}" "${AUTH[@]}" --fault "auth-reply:538 5.7.11 Encryption required for requested authentication mechanism"
peer_start oauth "${STLS[@]}" "${AUTH[@]}" --auth-token good-token
peer_start m451 "${STLS[@]}" "${AUTH[@]}" --fault "mail-refuse:451 4.7.1 Try again later"
peer_start m550 "${STLS[@]}" "${AUTH[@]}" --fault "mail-refuse:550 5.1.0 Address unknown"
peer_start mhang "${STLS[@]}" "${AUTH[@]}" --fault mail-hangup
peer_start silent --fault silent
peer_start a535 "${STLS[@]}" "${AUTH[@]}" --fault auth-535
peer_start o365 "${STLS[@]}" "${AUTH[@]}" --fault \
	"auth-535-text:5.7.139 Authentication unsuccessful, basic authentication is disabled."
peer_start cram "${STLS[@]}" "${AUTH[@]}" --fault auth-only:CRAM-MD5
peer_start mailno "${STLS[@]}" "${AUTH[@]}" --fault mail-refuse
peer_start g421 --fault refuse-greeting-421
peer_start g554 --fault refuse-greeting-554

# A port whose listen queue is full: the kernel drops further SYNs, as a
# firewall that drops would (a connect there times out).
"$PYTHON" -c '
import socket, sys, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(0)
port = l.getsockname()[1]
held = []
for _ in range(4):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    held.append(c)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % port)
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)
' "$SANDBOX/drop.port" &
_sb_pids+=("$!")
wait_for "[ -s '$SANDBOX/drop.port' ]" 10 || bail_out "no full-backlog listener"
DROP_PORT=$(cat "$SANDBOX/drop.port")
CLOSED_PORT=$(free_port)

dnsmasq_refuser
dnsmasq_start --host-record=relay.test,127.0.0.1 \
	--host-record=other.test,127.0.0.1 \
	--host-record=smtp.gmail.com,127.0.0.1 \
	--txt-record=txtonly.test,nothing-else \
	"--server=/broken.test/$REFUSER_ADDR" || bail_out "dnsmasq did not start"

PW=$SANDBOX/password
printf 'secret\n' >"$PW"
chmod 0600 "$PW"
LOGIN_LINES=("username = u@x.test" "password_file = $PW")

# conf NAME LINE...: $SANDBOX/NAME.conf with LINE... after the globals.
conf()
{
	local f=$SANDBOX/$1.conf
	shift
	{
		echo "log = stderr"
		echo "hostname = host.example.org"
		echo "origin = example.org"
		echo "queue_dir = $QUEUE_DIR"
		echo "aliases = $ALIASES"
		echo "dns_servers = 127.0.0.1:$DNS_PORT"
		printf '%s\n' "$@"
	} >"$f"
}

# trelay CONF [NAME]: tern -c CONF.conf test-relay [NAME].
trelay()
{
	local c=$1
	shift
	run "$TERN" -c "$SANDBOX/$c.conf" test-relay "$@" </dev/null
}

# one NAME PEER-PORT LINE...: a config NAME with the one relay "r" on
# 127.0.0.1:PORT, then test it.  The waits are short, yet long enough
# for a peer on a loaded machine (the sanitizer build under make -j).
one()
{
	local n=$1 port=$2
	shift 2
	conf "$n" "[relay r]" "host = 127.0.0.1" "port = $port" \
		"connect_timeout = 8s" "command_timeout = 8s" "$@"
	trelay "$n"
}

# has ERE DESC: a line of the last output matches.
has()
{
	if grep -E -q -- "$1" <<<"$OUT"; then
		pass "$2"
	else
		fail "$2" "no line like /$1/ in:" "$OUT" "stderr: $ERR"
	fi
}

# fix TEXT DESC: the diagnosis line is exactly "  fix:  TEXT".
fix()
{
	local got
	got=$(sed -n 's/^  fix:  //p' <<<"$OUT")
	is "$got" "$1" "$2"
}

# ---------------------------------------------------------------- passing

conf pass "[relay good]" "host = relay.test" "port = ${PEER_PORT[good]}" \
	"tls_ca_file = $CA" "${LOGIN_LINES[@]}"
trelay pass
is "$RC" 0 "a working relay: exit 0"
has "^relay good: relay\.test port ${PEER_PORT[good]}, tls = starttls, auth = auto, username = u@x\.test$" \
	"the relay and its settings head the report"
has '^  ok    DNS: relay\.test: 127\.0\.0\.1$' "DNS: the addresses"
has "^  ok    connect: 127\.0\.0\.1 port ${PEER_PORT[good]}$" "connect: address and port"
has '^  ok    TLS: TLSv1\.[23] [A-Z0-9_-]+ after STARTTLS, certificate verified$' \
	"TLS: protocol, cipher, verified"
has '^  info  certificate: subject CN=relay\.test; issuer CN=tern test CA; valid until 2[0-9]{3}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC; names 127\.0\.0\.1, relay\.test$' \
	"certificate: subject, issuer, expiry, names"
has '^  ok    EHLO: STARTTLS used, AUTH [A-Z0-9 -]*PLAIN[A-Z0-9 -]*, SIZE [0-9]+, SMTPUTF8 yes, REQUIRETLS no, DSN no$' \
	"EHLO: the capabilities that matter"
has '^  ok    AUTH: CRAM-MD5 as u@x\.test: accepted$' "AUTH: mechanism and success"
has '^  ok    MAIL FROM: <u@x\.test> \(no from: the relay.s username\): 250 2\.1\.0 OK$' \
	"MAIL FROM: the sender, where it came from, the reply"
has '^  ok    RSET: accepted; no message was sent$' "RSET"
has '^relay good: passed$' "verdict: passed"
is "$(grep -c . <<<"$OUT")" 10 "ten lines, nothing else"
is "$(grep -E '^(MAIL|RCPT|DATA|RSET|QUIT)' "${PEER_TR[good]}" | tr -d '\r' | sed 's/ SIZE=.*//')" \
	"$(printf 'MAIL FROM:<u@x.test>\nRSET\nQUIT')" "the server saw MAIL FROM, RSET and QUIT only"
is "$(peer_count good)" 0 "no message was sent"

conf from "[relay good]" "host = relay.test" "port = ${PEER_PORT[good]}" \
	"tls_ca_file = $CA" "${LOGIN_LINES[@]}" "from = boss@x.test"
trelay from
has "^  ok    MAIL FROM: <boss@x\.test> \(the relay's from\): 250" "the relay's from is the sender tried"
conf nouser "[relay plain]" "host = 127.0.0.1" "port = ${PEER_PORT[plain]}" "tls = none"
trelay nouser
is "$RC" 0 "a relay without TLS or AUTH: exit 0"
has "^  info  TLS: none \(tls = none\)$" "no TLS, said as info"
has "^  info  AUTH: none \(no username\)$" "no AUTH, said as info"
has "^  ok    MAIL FROM: <[^@]+@example\.org> \(no from: your login name at origin\)" \
	"without from or an address as username: login name at origin"

# ---------------------------------------------------------------- TLS mode

one implicit "${PEER_PORT[good]}" "tls = implicit" "tls_ca_file = $CA"
is "$RC" 1 "implicit TLS on a STARTTLS port: exit 1"
has '^  FAIL  TLS: TLS handshake failed: (wrong version number|packet length too long|record layer failure)' \
	"the handshake fails as OpenSSL says"
fix "port ${PEER_PORT[good]} speaks plain SMTP first (STARTTLS): set tls = starttls" \
	"diagnosis: set tls = starttls"

one starttls "${PEER_PORT[implicit]}" "tls = starttls" "tls_ca_file = $CA"
is "$RC" 1 "STARTTLS on an implicit-TLS port: exit 1"
has '^  FAIL  greeting: .*no greeting within 8 s' "no greeting arrives"
fix "port ${PEER_PORT[implicit]} expects implicit TLS: set tls = implicit" \
	"diagnosis: set tls = implicit"

# The SPEC's own example, on port 465 itself when it can be had.
[ "$(id -u)" = 0 ] && port465_lock
if [ "$(id -u)" = 0 ] && ! (: </dev/tcp/127.0.0.1/465) 2>/dev/null; then
	peer_start p465 --port 465 --tls implicit --cert "$CERT" --key "$KEY"
	one p465 465 "tls = starttls" "tls_ca_file = $CA"
	fix "port 465 expects implicit TLS: set tls = implicit" \
		"on port 465: the SPEC's wording"
	peer_stop p465
else
	skip "the SPEC example on port 465" "port 465 is not ours to bind"
fi
port465_unlock

one nostarttls "${PEER_PORT[plain]}" "tls = starttls"
is "$RC" 1 "STARTTLS required but not offered: exit 1"
has '^  FAIL  STARTTLS: server at 127\.0\.0\.1 does not offer STARTTLS$' "the failing step"
has '^  ok    EHLO: STARTTLS no,' "EHLO shows STARTTLS missing"
fix "the server does not offer STARTTLS, so mail and password would cross the network in clear text: use the provider's TLS port (587 with tls = starttls, or 465 with tls = implicit)" \
	"diagnosis: use the TLS port"

# ---------------------------------------------------------------- certificates

conf unknownca "[relay r]" "host = relay.test" "port = ${PEER_PORT[good]}"
trelay unknownca
is "$RC" 1 "a certificate from an unknown CA: exit 1"
has '^  FAIL  TLS: TLS: certificate verify failed: unable to get local issuer certificate$' \
	"OpenSSL's reason"
has '^  info  certificate: subject CN=relay\.test; issuer CN=tern test CA;' \
	"the certificate read by a second, unverified connection"
fix "the certificate of relay.test is issued by CN=tern test CA, which this system does not trust: add that CA with tls_ca_file = /path/to/ca.pem" \
	"diagnosis: tls_ca_file"

conf mismatch "[relay r]" "host = other.test" "port = ${PEER_PORT[good]}" "tls_ca_file = $CA"
trelay mismatch
is "$RC" 1 "a certificate for another name: exit 1"
has '^  FAIL  TLS: TLS: certificate verify failed: hostname mismatch$' "hostname mismatch"
fix "the certificate is for 127.0.0.1, relay.test, not other.test: set host to one of those names" \
	"diagnosis: the names in the certificate"

conf expired "[relay r]" "host = relay.test" "port = ${PEER_PORT[expired]}" "tls_ca_file = $CA"
trelay expired
is "$RC" 1 "an expired certificate: exit 1"
has '^  FAIL  TLS: TLS: certificate verify failed: certificate has expired$' "expired"
fix "the server's certificate expired on 2020-02-01 00:00:00 UTC: the provider must renew it (tern will not send through it until then)" \
	"diagnosis: the expiry date"

# ---------------------------------------------------------------- network

one closed "$CLOSED_PORT"
is "$RC" 1 "a closed port: exit 1"
has "^  FAIL  connect: connect 127\.0\.0\.1:$CLOSED_PORT: Connection refused$" "connection refused"
fix "nothing accepts connections on 127.0.0.1 port $CLOSED_PORT: check host and port (submission is 587 with tls = starttls, or 465 with tls = implicit)" \
	"diagnosis: check host and port"

conf drop "[relay r]" "host = 127.0.0.1" "port = $DROP_PORT" "connect_timeout = 2s"
trelay drop
is "$RC" 1 "connections dropped: exit 1"
has "^  FAIL  connect: connect 127\.0\.0\.1:$DROP_PORT: timed out after 2 s$" "connect timed out"
fix "no answer from 127.0.0.1 port $DROP_PORT within 2 s: a firewall drops the connection (outgoing port $DROP_PORT blocked here or by the hosting provider?), or the port is wrong" \
	"diagnosis: a firewall, or the wrong port"

conf nx "[relay r]" "host = nosuch.test" "port = 587"
trelay nx
is "$RC" 1 "NXDOMAIN: exit 1"
has '^  FAIL  DNS: .*nosuch\.test.*\(NXDOMAIN\)$' "the lookup's failure"
fix "the host name nosuch.test does not exist (NXDOMAIN): correct host (or preset)" \
	"diagnosis: correct host"

conf servfail "[relay r]" "host = mail.broken.test" "port = 587"
trelay servfail
is "$RC" 75 "DNS servers failing, and nothing else: exit 75 (try again)"
has '^  FAIL  DNS: .*\(TEMPFAIL\)$' "a temporary DNS failure"
fix "the DNS servers gave no answer for mail.broken.test: check dns_servers and that they are reachable, then try again" \
	"diagnosis: check dns_servers"
has '^relay r: failed for now \(temporary; try again later\)$' "verdict: temporary"

# ---------------------------------------------------------------- AUTH

one afterstarttls "${PEER_PORT[good]}" "tls = none" "${LOGIN_LINES[@]}"
is "$RC" 1 "AUTH offered only after STARTTLS: exit 1"
has '^  FAIL  AUTH: refusing to send the password without TLS' "no password without TLS"
fix "the server offers AUTH only after STARTTLS: set tls = starttls" \
	"diagnosis: set tls = starttls"

one nomech "${PEER_PORT[cram]}" "tls_ca_file = $CA" "${LOGIN_LINES[@]}" "auth = plain"
is "$RC" 1 "no common AUTH mechanism: exit 1"
fix "the server offers AUTH CRAM-MD5, none of which fits auth = plain: set auth = auto or one of those (tern has PLAIN, LOGIN, CRAM-MD5 and XOAUTH2)" \
	"diagnosis: the mechanisms offered"

one a535 "${PEER_PORT[a535]}" "tls_ca_file = $CA" "${LOGIN_LINES[@]}"
is "$RC" 1 "535: exit 1"
has '^  FAIL  AUTH: 127\.0\.0\.1 said: 535 5\.7\.8 Authentication credentials invalid \(in reply to AUTH CRAM-MD5\)$' \
	"the server's reply"
fix "the login was refused: check username and the password in password_file" \
	"diagnosis: generic 535"

one qq "${PEER_PORT[a535]}" "preset = qq" "tls = starttls" "tls_ca_file = $CA" "${LOGIN_LINES[@]}"
is "$RC" 1 "535 from QQ: exit 1"
fix "the login was refused: use the authorization code (授权码) generated in the mailbox settings, not the login password (put it in password_file)" \
	"diagnosis: QQ (by preset) wants the authorization code"

conf gmail "[relay gm]" "host = smtp.gmail.com" "port = ${PEER_PORT[a535]}" \
	"tls = starttls" "tls_verify = no" "${LOGIN_LINES[@]}"
trelay gmail
is "$RC" 1 "535 from Gmail: exit 1"
has '^  ok    TLS: .*certificate not verified \(tls_verify = no\)$' "unverified TLS said so"
fix "the login was refused: use an app password (2-Step Verification) or OAuth2 (auth = xoauth2)" \
	"diagnosis: Gmail (by host name) wants an app password or OAuth2"

one o365 "${PEER_PORT[o365]}" "preset = office365" "tls_ca_file = $CA" "${LOGIN_LINES[@]}"
is "$RC" 1 "Office 365 with basic authentication off: exit 1"
has '^  FAIL  AUTH: .*535 5\.7\.139 Authentication unsuccessful, basic authentication is disabled\.' \
	"the server's reply"
fix "basic authentication is disabled for this tenant; use OAuth2 (auth = xoauth2)" \
	"diagnosis: basic authentication is off"

one brevo "${PEER_PORT[a535]}" "preset = brevo" "tls_ca_file = $CA" "${LOGIN_LINES[@]}"
has "^  fix:  the login was refused: check username and the password in password_file \(brevo: .*SMTP key" \
	"a preset's own note joins the generic advice"

# ---------------------------------------------------------------- MAIL FROM

one mailno "${PEER_PORT[mailno]}" "tls_ca_file = $CA" "${LOGIN_LINES[@]}" "from = app@other.test"
is "$RC" 1 "MAIL FROM refused: exit 1"
has '^  FAIL  MAIL FROM: <app@other\.test> \(the relay.s from\): 553 5\.7\.1 Sender address rejected: not owned by user$' \
	"the refusal"
has '^  ok    RSET: accepted; no message was sent$' "RSET after the refusal"
fix "the provider only accepts the account's own address as sender: set from = u@x.test" \
	"diagnosis: set from = the account"
is "$(grep -E '^(MAIL|RCPT|DATA|RSET)' "${PEER_TR[mailno]}" | tr -d '\r' | sed 's/ SIZE=.*//')" \
	"$(printf 'MAIL FROM:<app@other.test>\nRSET')" "MAIL FROM and RSET, nothing more"

one nologin "${PEER_PORT[good]}" "tls_ca_file = $CA"
is "$RC" 1 "MAIL FROM without the login the server wants: exit 1"
has '^  FAIL  MAIL FROM: .*: 530 5\.7\.0 Authentication required$' "530"
fix "the server wants a login before it takes mail: set username and password_file" \
	"diagnosis: set username and password_file"

# ---------------------------------------------------------------- greeting

one g421 "${PEER_PORT[g421]}" "tls = none"
is "$RC" 75 "greeting 421 alone: exit 75"
has '^  FAIL  greeting: 127\.0\.0\.1 refused to talk to us: 421 4\.3\.2 peer\.test Service not available$' \
	"the greeting"
fix "the server is busy or limiting connections from this host: wait and try again; if it persists, lower max_per_hour or ask the provider" \
	"diagnosis: rate limited"

one g554 "${PEER_PORT[g554]}" "tls = none"
is "$RC" 1 "greeting 554: exit 1"
fix "the server refuses to talk to this host (its IP address may be on a block list or not allowed by the provider): ask the provider, or send through another relay" \
	"diagnosis: blocked"

# ---------------------------------------------------------------- the rest

one notyet "${PEER_PORT[future]}" "tls_ca_file = $CA"
is "$RC" 1 "a certificate not valid yet: exit 1"
has '^  FAIL  TLS: TLS: certificate verify failed: certificate is not yet valid$' "not yet valid"
fix "the server's certificate is not valid yet: check this host's clock" "diagnosis: the clock"

one notls "${PEER_PORT[g554]}" "tls = implicit"
is "$RC" 1 "implicit TLS to a server that is neither TLS nor SMTP that works: exit 1"
fix "the TLS handshake failed: check that port ${PEER_PORT[g554]} is the provider's TLS port (465 with tls = implicit, 587 with tls = starttls); tern needs TLS 1.2 or newer" \
	"diagnosis: another handshake failure"

conf silent "[relay r]" "host = 127.0.0.1" "port = ${PEER_PORT[silent]}" \
	"tls = starttls" "connect_timeout = 2s" "command_timeout = 2s"
trelay silent
is "$RC" 1 "a port that says nothing: exit 1"
fix "no SMTP greeting from 127.0.0.1 port ${PEER_PORT[silent]}: this may not be a mail port; check port and tls" \
	"diagnosis: no greeting, implicit TLS does not help either"

one s454 "${PEER_PORT[s454]}" "tls_ca_file = $CA"
is "$RC" 1 "STARTTLS refused: exit 1"
has '^  FAIL  STARTTLS: .*454 4\.7\.0 TLS not available' "the refusal"
fix "the server refused STARTTLS: try the provider's implicit TLS port (465 with tls = implicit)" \
	"diagnosis: STARTTLS refused"

one ehlo "${PEER_PORT[ehlo]}" "tls_ca_file = $CA"
is "$RC" 1 "EHLO and HELO refused: exit 1"
has '^  FAIL  EHLO: .*550 5\.7\.1 host\.example\.org: not a name I accept \(in reply to HELO\)$' "the refusal"
fix "the server refused our EHLO name: set hostname to this host's fully qualified name" \
	"diagnosis: hostname"

one notlsatall "${PEER_PORT[plainauth]}" "tls = none" "${LOGIN_LINES[@]}"
is "$RC" 1 "AUTH without any TLS: exit 1"
fix "port ${PEER_PORT[plainauth]} offers no TLS and tern never sends a password in clear text: use the provider's TLS port (587 with tls = starttls, or 465 with tls = implicit)" \
	"diagnosis: no password in clear"

one noauth "${PEER_PORT[noauth]}" "tls_ca_file = $CA" "${LOGIN_LINES[@]}"
is "$RC" 1 "AUTH not offered: exit 1"
fix "the server does not offer AUTH here: remove username if it relays for this host without a login, else use the provider's submission port" \
	"diagnosis: AUTH not offered"

: >"$SANDBOX/empty"
chmod 0600 "$SANDBOX/empty"
one nosecret "${PEER_PORT[good]}" "tls_ca_file = $CA" "username = u@x.test" "password_file = $SANDBOX/empty"
is "$RC" 1 "an empty password file: exit 1"
fix "there is nothing to log in with: put the password in password_file (or, for auth = xoauth2, make oauth2_token_command print a token)" \
	"diagnosis: nothing to log in with"

one oauth "${PEER_PORT[oauth]}" "tls_ca_file = $CA" "username = u@x.test" \
	"auth = xoauth2" "oauth2_token_command = echo stale-token"
is "$RC" 1 "an OAuth2 token refused: exit 1"
fix "the OAuth2 token was refused: check that it is current and for u@x.test, with the provider's SMTP scope" \
	"diagnosis: the token"
one oauthok "${PEER_PORT[oauth]}" "tls_ca_file = $CA" "username = u@x.test" \
	"auth = xoauth2" "oauth2_token_command = echo good-token"
is "$RC" 0 "the right OAuth2 token: exit 0"
has '^  ok    AUTH: XOAUTH2 as u@x\.test: accepted$' "XOAUTH2 named"

one a454 "${PEER_PORT[a454]}" "tls_ca_file = $CA" "${LOGIN_LINES[@]}"
is "$RC" 75 "AUTH 454 alone: exit 75"
fix "the server could not check the login just now: try again later" "diagnosis: AUTH for now"

one a538 "${PEER_PORT[a538]}" "tls_ca_file = $CA" "${LOGIN_LINES[@]}"
is "$RC" 1 "AUTH refused otherwise: exit 1"
fix "the server refused AUTH: see its reply above; check auth, username and password_file" \
	"diagnosis: another AUTH refusal"

one m451 "${PEER_PORT[m451]}" "tls_ca_file = $CA" "${LOGIN_LINES[@]}"
is "$RC" 75 "MAIL FROM 451 alone: exit 75"
fix "the server deferred the sender (greylisting, a rate limit or a quota): try again later; if it persists, lower max_per_hour" \
	"diagnosis: MAIL FROM for now"

one m550 "${PEER_PORT[m550]}" "tls_ca_file = $CA" "${LOGIN_LINES[@]}"
is "$RC" 1 "MAIL FROM refused otherwise: exit 1"
fix "the server refused the sender <u@x.test>: set from to an address the provider accepts for this account" \
	"diagnosis: another sender refusal"

one mhang "${PEER_PORT[mhang]}" "tls_ca_file = $CA" "${LOGIN_LINES[@]}"
is "$RC" 75 "the connection cut at MAIL FROM: exit 75"
has '^  FAIL  session: .*connection closed by the server \(waiting for the reply to MAIL FROM\)$' \
	"where it broke"
fix "the connection broke off: try again; if it keeps happening, look for a firewall or proxy that cuts SMTP sessions" \
	"diagnosis: connection broke"

conf nodata "[relay r]" "host = txtonly.test" "port = 587"
trelay nodata
is "$RC" 1 "a host without an address record: exit 1"
fix "txtonly.test has no address (A or AAAA) record: correct host" "diagnosis: no address"

conf badname "[relay r]" "host = bad..name" "port = 587"
trelay badname
is "$RC" 1 "a host that is not a name: exit 1"
fix "bad..name is not a valid host name: correct host" "diagnosis: not a host name"

# ---------------------------------------------------------------- several, usage

conf two "[relay good]" "host = relay.test" "port = ${PEER_PORT[good]}" \
	"tls_ca_file = $CA" "${LOGIN_LINES[@]}" \
	"[relay bad]" "host = 127.0.0.1" "port = $CLOSED_PORT"
trelay two
is "$RC" 1 "one of two relays failing: exit 1"
has '^relay good: passed$' "the first passed"
has '^relay bad: FAILED$' "the second failed"
has '^2 relays tested: 1 passed, 1 failed, 0 failed for now, 0 with configuration problems$' \
	"a summary"
trelay two good
is "$RC" 0 "NAME tests that relay only: exit 0"
unlike "$OUT" "relay bad" "the other relay is left alone"

trelay two nosuch
is "$RC" 64 "an unknown NAME: exit 64"
like "$ERR" "no relay called 'nosuch'; the relays are: good, bad" "the relays are listed"
trelay two good bad
is "$RC" 64 "two names: exit 64"
like "$ERR" "usage: tern test-relay \[NAME\]" "usage"

conf norelay "delivery = direct"
trelay norelay
is "$RC" 78 "no relay to test: exit 78"

chmod 0644 "$PW"
conf openpw "[relay good]" "host = relay.test" "port = ${PEER_PORT[good]}" \
	"tls_ca_file = $CA" "${LOGIN_LINES[@]}"
trelay openpw
is "$RC" 78 "a password file others can read: exit 78"
has "^  FAIL  config: password_file $PW is readable or writable by others; make it private: chmod 600 $PW$" \
	"the fix for the password file"
chmod 0600 "$PW"


# ---------------------------------------------------------------- OAuth2

# The built-in client-credentials flow: a token from a local HTTPS
# endpoint (test/lib/token_endpoint.py), offered to an XOAUTH2 peer that
# takes only that token; then the endpoint refusing the client.
EP_DIR=$SANDBOX/endpoint
mkdir -p "$EP_DIR"
printf 'mode ok\ntoken tok-tr\nexpires 3600\n' >"$EP_DIR/control"
"$PYTHON" "$top_srcdir/test/lib/token_endpoint.py" --cert "$CERT" --key "$KEY" \
	--ready-file "$EP_DIR/ready" --control "$EP_DIR/control" \
	--requests "$EP_DIR/requests" --lifetime "$PEER_LIFETIME" 2>"$EP_DIR/log" &
_sb_pids+=("$!")
wait_for '[ -s "$EP_DIR/ready" ]' 10 ||
	bail_out "token_endpoint.py did not start: $(tail -n 5 "$EP_DIR/log")"
OSECRET=$SANDBOX/oauth2.secret
echo client-secret >"$OSECRET"
chmod 0600 "$OSECRET"
peer_start oauth "${STLS[@]}" --auth-user ops@x.test --auth-token tok-tr
OAUTH_LINES=("auth = xoauth2" "username = ops@x.test" "from = ops@x.test"
	"oauth2_token_url = https://relay.test:$(cat "$EP_DIR/ready")/token"
	"oauth2_client_id = tern" "oauth2_client_secret_file = $OSECRET"
	"tls_ca_file = $CA")
conf oauth "[relay o]" "host = relay.test" "port = ${PEER_PORT[oauth]}" \
	"tls = starttls" "${OAUTH_LINES[@]}"
trelay oauth
is "$RC" 0 "OAuth2 (built-in flow): the relay passes"
has "^  ok    OAuth2: a token from https://relay\.test:[0-9]+/token$" \
	"the token step is shown"
has "^  ok    AUTH: " "XOAUTH2 with the fetched token succeeds"
printf 'mode error\n' >"$EP_DIR/control"
trelay oauth
is "$RC" 1 "the token endpoint refuses the client: exit 1"
has "^  FAIL  OAuth2: POST to https://relay\.test:[0-9]+/token: .*401.*wrong secret" \
	"the endpoint's refusal is shown with its description"
fix "the token endpoint gave no token: check oauth2_token_url, oauth2_client_id, the secret in oauth2_client_secret_file and oauth2_scope (the endpoint's error is above)" \
	"the fix names the oauth2 keys"
unlike "$OUT" "client-secret" "the secret is never printed"

done_testing
