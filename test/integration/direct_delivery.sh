#!/bin/bash
# direct_delivery: how ternd delivers to MX hosts once it has them, with
# no [relay] (direct is then the default), against smtp_peer.py peers on
# loopback addresses named by the test's dnsmasq.
#
#  - one message to three domains (good, dead, bouncing): one
#    transaction per domain carrying all its recipients, a status per
#    recipient in the log; the dead domain's recipient alone stays in the
#    queue (mailq, the envelope) and is delivered at a retry once its
#    host is up; the report to the sender names only the bounced one;
#  - 10 messages one after another to one domain: the session is reused;
#  - direct_max_connections = 2 and a slow host: never more than two
#    sessions at once;
#  - TLS: opportunistic STARTTLS when offered, plain text when not;
#    [tls DOMAIN] level = verify (certificate from the test CA for the MX
#    name: delivered; for another name, or a CA only the test trusts
#    without tls_ca_file: deferred), the default level is verify,
#    level = encrypt (no STARTTLS: deferred; an unverifiable certificate
#    is fine), level = none (no STARTTLS even when offered), and a
#    ".domain" section matching subdomains.
# shellcheck disable=SC2016,SC2119,SC2317  # conditions are code for wait_for; ternd_stop takes optional arguments; helpers called through ok
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/direct.sh"

direct_init
plan 52

S=sender@snd.test
P=$DPORT
rl() { echo "relay=$(re "$1")\[$(re "$2")\]:$P,"; }

mx_certs
cert_for mx1.vok.test DNS:mx1.vok.test
cert_for wrong.test DNS:wrong.test
cert_for mx1.vdef.test DNS:mx1.vdef.test
cert_for mx1.vsys.test DNS:mx1.vsys.test

mapfile -t RECORDS < <(
	mx snd.test 10 mx.snd.test 127.0.0.2
	mx good.test 10 mx.good.test 127.0.0.3
	mx dead.test 10 mx.dead.test 127.0.0.4
	mx bad.test 10 mx.bad.test 127.0.0.5
	mx reuse.test 10 mx.reuse.test 127.0.0.6
	mx slow.test 10 mx.slow.test 127.0.0.7
	mx opp.test 10 mx.opp.test 127.0.0.8
	mx plain.test 10 mx.plain.test 127.0.0.9
	mx vok.test 10 mx1.vok.test 127.0.0.10
	mx vbad.test 10 mx1.vbad.test 127.0.0.11
	mx enc.test 10 mx1.enc.test 127.0.0.12
	mx x.sub.test 10 mx1.x.sub.test 127.0.0.13
	mx y.none.test 10 mx1.y.none.test 127.0.0.14
	mx vdef.test 10 mx1.vdef.test 127.0.0.15
	mx vsys.test 10 mx1.vsys.test 127.0.0.16
)
dns_up "${RECORDS[@]}"

tls() { echo --tls starttls --cert "$CERTS/$1.pem" --key "$CERTS/$1.key"; }
# shellcheck disable=SC2046  # tls prints separate words
{
	mx_peer_start snd 127.0.0.2
	mx_peer_start good 127.0.0.3
	mx_peer_start bad 127.0.0.5 --fault rcpt-550:c@bad.test
	mx_peer_start reuse 127.0.0.6
	mx_peer_start slow 127.0.0.7 --fault slow-reply:0.5
	mx_peer_start opp 127.0.0.8 --tls starttls --cert "$CERT" --key "$KEY"
	mx_peer_start plain 127.0.0.9
	mx_peer_start vok 127.0.0.10 $(tls mx1.vok.test)
	mx_peer_start vbad 127.0.0.11 $(tls wrong.test)
	mx_peer_start enc 127.0.0.12
	mx_peer_start sub 127.0.0.13 $(tls wrong.test)
	mx_peer_start none 127.0.0.14 $(tls wrong.test)
	mx_peer_start vdef 127.0.0.15 $(tls mx1.vdef.test)
	mx_peer_start vsys 127.0.0.16 $(tls mx1.vsys.test)
}

direct_config "direct_max_connections = 2" \
	"[tls vok.test]" "level = verify" "tls_ca_file = $CA" \
	"[tls vbad.test]" "level = verify" "tls_ca_file = $CA" \
	"[tls vdef.test]" "tls_ca_file = $CA" \
	"[tls vsys.test]" "level = verify" \
	"[tls enc.test]" "level = encrypt" \
	"[tls .sub.test]" "level = encrypt" \
	"[tls .none.test]" "level = none"
ok "ternd starts with no [relay] (direct delivery by default)" ternd_start

# ---------------------------------------------------------------- three domains

log_mark
send $S "three domains" a1@good.test b@dead.test c@bad.test a2@good.test c2@bad.test
ok "good.test gets its copy" wait_for 'peer_find good "^Subject: three domains$" >/dev/null' 15
ok "bad.test gets the copy for its accepted recipient" \
	wait_for 'peer_find bad "^Subject: three domains$" >/dev/null' 15
ok "dead.test: deferred" wait_for 'log_has "to=<b@dead\.test>, .*status=deferred" new' 15
id=$(log_ids_from "$(re $S)" new | head -n 1)
f=$(peer_find good "^Subject: three domains$")
is "$(msg_env "$f" | grep '^RCPT' | sort | tr '\n' ' ')" "RCPT TO:<a1@good.test> RCPT TO:<a2@good.test> " \
	"good.test: one transaction for both of its recipients, and no other domain's"
f=$(peer_find bad "^Subject: three domains$")
is "$(msg_env "$f" | grep '^RCPT' | tr '\n' ' ')" "RCPT TO:<c2@bad.test> " \
	"bad.test: the accepted recipient only"
like "$(grep '^RCPT' "${PEER_TR[bad]}" | tr '\n' ' ')" "RCPT TO:<c@bad\.test>" \
	"bad.test was asked for c@ (and said 550)"
for r in a1@good.test a2@good.test; do
	like "$(to_lines "$r" new)" "^$id: to=<$(re "$r")>, $(rl mx.good.test 127.0.0.3) delay=[0-9.]+, delays=[^ ]+, dsn=2\.0\.0, status=sent \(250 " \
		"log: $r sent via mx.good.test[127.0.0.3]"
done
like "$(to_lines c@bad.test new)" "^$id: to=<c@bad\.test>, $(rl mx.bad.test 127.0.0.5) .*dsn=5\.1\.1, status=bounced \(.*550 5\.1\.1 No such user here" \
	"log: c@bad.test relay=mx.bad.test, dsn=5.1.1, status=bounced (550 5.1.1 ...)"
like "$(to_lines c2@bad.test new)" "$(rl mx.bad.test 127.0.0.5) .*status=sent" "log: c2@bad.test sent"
like "$(to_lines b@dead.test new | head -n 1)" "^$id: to=<b@dead\.test>, .*dsn=4\.4\.1, status=deferred \(.*([Cc]onnection refused|127\.0\.0\.4)" \
	"log: b@dead.test dsn=4.4.1, status=deferred, quoting the error"
# mailq_waiting: the recipients mailq lists as waiting, sorted, on one line.
mailq_waiting()
{
	run "${AS_USER[@]}" "$MAILQ"
	grep -E '^ +[^ (]+@' "$SANDBOX/stdout" | tr -d ' ' | sort | tr '\n' ' '
}
# env_waiting: the same from the message's envelope file.
env_waiting()
{
	local f
	f=$(grep -l -s "^rcpt: b@dead\.test" "$QUEUE_DIR"/deferred/* "$QUEUE_DIR"/active/* \
		"$QUEUE_DIR"/incoming/* | head -n 1)
	[ -n "$f" ] && grep '^rcpt: ' "$f" | grep -v -E 'state=(sent|bounced)' |
		cut -d' ' -f2 | tr '\n' ' '
}
wait_for '[ "$(mailq_waiting)" = "b@dead.test " ]' 5
is "$(mailq_waiting)" "b@dead.test " "mailq lists only b@dead.test as waiting"
wait_for '[ "$(env_waiting)" = "b@dead.test " ]' 5
is "$(env_waiting)" "b@dead.test " "the envelope has only b@dead.test left to deliver"

mx_peer_start dead 127.0.0.4
ok "dead.test's host is up: b@ is delivered at a retry" \
	wait_for 'peer_find dead "^Subject: three domains$" >/dev/null' 15
f=$(peer_find dead "^Subject: three domains$")
is "$(msg_env "$f" | grep '^RCPT' | tr '\n' ' ')" "RCPT TO:<b@dead.test> " "dead.test: b@ only"
ok "the message leaves the queue" wait_for 'log_has "^.*: $id: removed$" new' 10
is "$(peer_count good):$(peer_count bad)" "1:1" "the retry sent nothing again to good.test or bad.test"
like "$(to_lines b@dead.test new | tail -n 1)" "$(rl mx.dead.test 127.0.0.4) .*status=sent" "log: b@dead.test sent at last"
if wait_for 'peer_find snd "^Final-Recipient: rfc822; ?c@bad\.test" >/dev/null' 15; then
	d=$(peer_find snd "^Final-Recipient: rfc822; ?c@bad\.test")
	like "$(msg_env "$d")" $'^MAIL FROM:<>[^\n]*\nRCPT TO:<sender@snd\\.test>$' \
		"a report from <> reaches the sender's MX"
	dsn=$(msg_dsn "$d")
	diag "$dsn"
	like "$(grep '^rcpt=' <<<"$dsn")" '^rcpt=rfc822; ?c@bad\.test\|failed\|5\.1\.1$' \
		"the report names c@bad.test alone: failed, 5.1.1"
	is "$(peer_find_all snd '^Final-Recipient:' | wc -l | tr -d ' ')" 1 "one report only"
else
	fail "a report from <> reaches the sender's MX" "$(log_tail)"
	fail "the report names c@bad.test alone" "no report"
	fail "one report only" "no report"
fi

# ---------------------------------------------------------------- reuse

log_mark
for i in $(seq 1 10); do
	send $S "reuse $i" "r$i@reuse.test"
	wait_for "peer_find reuse '^Subject: reuse $i\$' >/dev/null" 10 || break
done
is "$(peer_count reuse)" 10 "10 messages one after another to reuse.test: all delivered"
diag "reuse.test: $(peer_total_sessions reuse) connections, $(peer_sessions reuse) EHLOs"
ok "the session is reused: at most 3 connections for 10 messages" \
	[ "$(peer_total_sessions reuse)" -le 3 ]
ok "... and at most 3 EHLOs" [ "$(peer_sessions reuse)" -le 3 ]

# ---------------------------------------------------------------- concurrency

log_mark
tsm_par 10 $'From: <sender@snd.test>\nSubject: slow %N\n\nslow %N\n' -i -f $S "s%N@slow.test"
is "$PAR_FAILED" 0 "10 messages to slow.test queued at once"
ok "all 10 are delivered by the slow host" wait_for '[ "$(peer_count slow)" -ge 10 ]' 40
diag "slow.test: at most $(peer_max_sessions slow) sessions at once, $(peer_total_sessions slow) in all"
ok "direct_max_connections = 2: never more than 2 sessions at once" \
	[ "$(peer_max_sessions slow)" -le 2 ]
# Postfix's delays=a/b/c/d: c is the connection setup, d the
# transmission; the host took at least 0.5 s to answer MAIL FROM, so
# c + d cannot be less (a lower bound the peer enforces, not a timing).
dl=$(log_lines ": to=<s1@slow\.test>, .*status=sent" new | head -n 1 |
	sed -E 's/.* delays=([^,]+),.*/\1/')
ok "log: delays=a/b/c/d counts the slow MAIL reply in c + d (delays=$dl)" \
	awk -v d="$dl" 'BEGIN { n = split(d, a, "/"); exit !(n == 4 && a[3] + a[4] >= 0.45) }'

# ---------------------------------------------------------------- TLS

log_mark
for d in opp plain vok vbad enc x.sub y.none vdef vsys; do
	send $S "tls $d" "u@$d.test"
done
# sent PEER SUBJECT
sent() { wait_for "peer_find $1 '^Subject: $2\$' >/dev/null" 15; }
starttls() { grep -q '^STARTTLS$' "${PEER_TR[$1]}"; }

ok "no [tls] section, STARTTLS offered: delivered" sent opp "tls opp"
ok "... over STARTTLS (an unverifiable certificate is fine)" starttls opp
ok "no [tls] section, STARTTLS not offered: delivered" sent plain "tls plain"
nok "... in plain text" starttls plain

ok "level = verify, certificate of the test CA for mx1.vok.test: delivered" sent vok "tls vok"
ok "... over STARTTLS" starttls vok
ok "level left out (verify), tls_ca_file, certificate for the MX name: delivered" sent vdef "tls vdef"

ok "level = encrypt (.sub.test), STARTTLS with a certificate for another name: delivered" \
	sent sub "tls x.sub"
ok "... over STARTTLS" starttls sub

ok "level = none (.none.test), STARTTLS offered: delivered" sent none "tls y.none"
nok "... without STARTTLS" starttls none

ok "level = verify, certificate for another name: deferred" \
	wait_for 'log_has "to=<u@vbad\.test>, .*status=deferred" new' 15
like "$(to_lines u@vbad.test new | head -n 1)" "status=deferred \(.*([Cc]ertificate|[Vv]erif)" \
	"log: the certificate problem is named"
ok "... the host was reached (STARTTLS)" starttls vbad

ok "level = verify, test CA not in the system store: deferred" \
	wait_for 'log_has "to=<u@vsys\.test>, .*status=deferred" new' 15
like "$(to_lines u@vsys.test new | head -n 1)" "status=deferred \(.*([Cc]ertificate|[Vv]erif|issuer)" \
	"log: the certificate problem is named"

ok "level = encrypt, no STARTTLS offered: deferred" \
	wait_for 'log_has "to=<u@enc\.test>, .*status=deferred" new' 15
like "$(to_lines u@enc.test new | head -n 1)" "status=deferred \(.*(STARTTLS|TLS)" \
	"log: the missing STARTTLS is named"
sleep 1
is "$(peer_count vbad):$(peer_count vsys):$(peer_count enc)" "0:0:0" \
	"nothing was delivered to the hosts that failed their TLS level"
run "${AS_USER[@]}" "$MAILQ"
like "$OUT" "u@vbad\.test" "mailq: u@vbad.test waits"
like "$OUT" "u@enc\.test" "mailq: u@enc.test waits"

ok "ternd is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0"

done_testing
