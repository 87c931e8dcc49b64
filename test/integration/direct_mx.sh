#!/bin/bash
# direct_mx: direct delivery picks its next hops from the DNS.  The
# test's dnsmasq publishes the MX, A and AAAA records; every MX host is
# a loopback address (127.0.0.x, ::1) where a smtp_peer.py listens, or
# nothing does, on one port given to ternd as direct_port.
#
#  - MX preference: 10 gets the mail, 20 does not;
#  - a dead primary (nothing listening) or one greeting with 421: the
#    secondary gets the mail, and the failed host is logged by name;
#  - 451 to RCPT: that recipient alone moves on to the next MX; 451 at
#    every MX: deferred, quoting the reply;
#  - null MX (RFC 7505): bounced at once, 5.1.10, a report to the sender;
#  - NXDOMAIN: bounced, 5.1.2;
#  - the MX lookup refused (a temporary DNS failure): deferred, 4.4.3,
#    and delivered once the zone answers again;
#  - no MX records: the domain's own A record (implicit MX);
#  - a host with AAAA ::1 and an A record: the other family is tried
#    when the first does not answer, both ways;
#  - equal preferences: 20 domains with the same two MX hosts, both hosts
#    get mail;
#  - at most 10 MX hosts (the 11th, listening, is never tried) and at
#    most 4 addresses of one host (5 A records, none listening);
#  - an MX pointing at ternd's own hostname with nothing better:
#    deferred, 4.4.6, and the worse MX is not used (RFC 5321 5.1).
# shellcheck disable=SC2016,SC2119,SC2317  # conditions are code for wait_for; ternd_stop takes optional arguments; helpers called through ok
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/direct.sh"

direct_init
plan 59

S=sender@snd.test
P=$DPORT
# relay HOST ADDR: the relay= value of a log line, as an ERE.
rl() { echo "relay=$(re "$1")\[$(re "$2")\]:$P,"; }

dnsmasq_refuser
EQ=()
for i in $(seq 1 20); do
	EQ+=("--mx-host=eq$i.test,mxa.eq.test,10" "--mx-host=eq$i.test,mxb.eq.test,10")
done
mapfile -t RECORDS < <(
	mx snd.test 10 mx.snd.test 127.0.0.2
	mx pref.test 10 mx1.pref.test 127.0.0.3
	mx pref.test 20 mx2.pref.test 127.0.0.4
	mx dead.test 10 mx1.dead.test 127.0.0.5
	mx dead.test 20 mx2.dead.test 127.0.0.6
	mx greet.test 10 mx1.greet.test 127.0.0.7
	mx greet.test 20 mx2.greet.test 127.0.0.8
	echo "--mx-host=nullmx.test,.,0"
	echo "--host-record=implicit.test,127.0.0.10"
	mx v6.test 10 mx.v6.test 127.0.0.11 ::1
	mx v6b.test 10 mx.v6b.test 127.0.0.12 ::1
	echo "--host-record=mxa.eq.test,127.0.0.13"
	echo "--host-record=mxb.eq.test,127.0.0.14"
	mx self.test 10 "$TERN_HOST" 127.0.0.15
	mx self.test 20 mx2.self.test 127.0.0.16
	mx temp.test 10 mx1.temp.test 127.0.0.17
	mx temp.test 20 mx2.temp.test 127.0.0.18
	mx split.test 10 mx1.split.test 127.0.0.19
	mx split.test 20 mx2.split.test 127.0.0.20
	for i in $(seq 1 11); do
		mx many.test "$i" "mx$i.many.test" "127.0.0.$((20 + i))"
	done
	mx utf.test 10 mx1.utf.test 127.0.0.40
	mx utf.test 20 mx2.utf.test 127.0.0.41
	mx noutf.test 10 mx.noutf.test 127.0.0.42
	echo "--mx-host=addrs.test,mx.addrs.test,10"
	# (--host-record keeps one IPv4 address; --address takes several)
	for i in 32 33 34 35 36; do echo "--address=/mx.addrs.test/127.0.0.$i"; done
)
# flaky.test: every query refused, until dns_restart publishes it.
dns_up "${RECORDS[@]}" "${EQ[@]}" "--server=/flaky.test/$REFUSER_ADDR"
FLAKY=$(mx flaky.test 10 mx1.flaky.test 127.0.0.9)

mx_peer_start snd 127.0.0.2
mx_peer_start p1 127.0.0.3
mx_peer_start p2 127.0.0.4
mx_peer_start d2 127.0.0.6
mx_peer_start g1 127.0.0.7 --fault refuse-greeting-421
mx_peer_start g2 127.0.0.8
mx_peer_start fl 127.0.0.9
mx_peer_start im 127.0.0.10
mx_peer_start v4 127.0.0.11
mx_peer_start ea 127.0.0.13
mx_peer_start eb 127.0.0.14
mx_peer_start s2 127.0.0.16
mx_peer_start t1 127.0.0.17 --fault rcpt-451
mx_peer_start t2 127.0.0.18 --fault rcpt-451
mx_peer_start sp1 127.0.0.19 --fault rcpt-451:x@split.test
mx_peer_start sp2 127.0.0.20
mx_peer_start m11 127.0.0.31
mx_peer_start u1 127.0.0.40 --fault no-smtputf8
mx_peer_start u2 127.0.0.41
mx_peer_start nu 127.0.0.42 --fault no-smtputf8

direct_config "delivery = direct"
ok "ternd starts with delivery = direct, direct_port = $P" ternd_start

# delivered PEER SUBJECT: wait until PEER has the message.
delivered()
{
	wait_for "peer_find $1 '^Subject: $2\$' >/dev/null" 15
}

# ---------------------------------------------------------------- preference

log_mark
send $S "pref" u@pref.test
ok "MX 10 gets the mail" delivered p1 pref
wait_for 'log_has ": removed$" new' 5
is "$(peer_count p2)" 0 "MX 20 gets nothing"
like "$(to_lines u@pref.test new)" "^[0-9A-F]{19}: to=<u@pref\.test>, $(rl mx1.pref.test 127.0.0.3) delay=[0-9.]+, delays=[^ ]+, dsn=2\.0\.0, status=sent \(250 " \
	"log: relay=mx1.pref.test[127.0.0.3]:$P, dsn=2.0.0, status=sent (250 ...)"
f=$(peer_find p1 '^Subject: pref$')
like "$(msg_env "$f")" $'^MAIL FROM:<sender@snd\\.test>[^\n]*\nRCPT TO:<u@pref\\.test>$' \
	"the MX host got the envelope sender and the recipient"
like "$(grep '^EHLO ' "${PEER_TR[p1]}" | head -n 1)" "^EHLO $(re "$TERN_HOST")$" \
	"EHLO names ternd's hostname"

# ---------------------------------------------------------------- dead primary

log_mark
send $S "dead primary" u@dead.test
ok "nothing listens at MX 10: MX 20 gets the mail" delivered d2 "dead primary"
wait_for 'log_has ": removed$" new' 5
like "$(to_lines u@dead.test new | tail -n 1)" "$(rl mx2.dead.test 127.0.0.6) .*dsn=2\.0\.0, status=sent \(250 " \
	"log: sent via mx2.dead.test[127.0.0.6]"
ok "log: the failed MX 10 is named (mx1.dead.test, 127.0.0.5)" \
	log_has "mx1\.dead\.test.*127\.0\.0\.5|127\.0\.0\.5.*mx1\.dead\.test" new
is "$(log_count "to=<u@dead\.test>, $(rl mx1.dead.test 127.0.0.5) .*status=sent" new)" 0 \
	"no 'sent' claimed for the dead host"

# ---------------------------------------------------------------- 421

log_mark
send $S "greeting 421" u@greet.test
ok "MX 10 greets with 421: MX 20 gets the mail" delivered g2 "greeting 421"
ok "MX 10 was connected to" [ "$(peer_total_sessions g1)" -ge 1 ]
ok "log: the 421 host is named (mx1.greet.test, 127.0.0.7)" \
	log_has "mx1\.greet\.test.*127\.0\.0\.7|127\.0\.0\.7.*mx1\.greet\.test" new
wait_for 'log_has ": removed$" new' 5
like "$(to_lines u@greet.test new | tail -n 1)" "$(rl mx2.greet.test 127.0.0.8) .*status=sent" \
	"log: sent via mx2.greet.test"

# ---------------------------------------------------------------- 4xx to RCPT

log_mark
send $S "split" w@split.test x@split.test
ok "451 for x@ at MX 10: x@ goes to MX 20" delivered sp2 split
ok "w@ is delivered at MX 10" delivered sp1 split
is "$(msg_env "$(peer_find sp1 '^Subject: split$')" | grep '^RCPT' | tr '\n' ' ')/$(msg_env "$(peer_find sp2 '^Subject: split$')" | grep '^RCPT' | tr '\n' ' ')" \
	"RCPT TO:<w@split.test> /RCPT TO:<x@split.test> " "MX 10 took w@ only, MX 20 x@ only"
wait_for 'log_has ": removed$" new' 5
like "$(to_lines x@split.test new | tail -n 1)" "$(rl mx2.split.test 127.0.0.20) .*status=sent" \
	"log: x@split.test sent via mx2.split.test"

log_mark
send $S "all 451" u@temp.test
ok "451 at every MX: deferred" wait_for 'log_has "to=<u@temp\.test>, .*status=deferred" new' 15
asked() { grep -q '^RCPT TO:<u@temp\.test>' "${PEER_TR[$1]}"; }
ok "both MX hosts were asked" eval 'asked t1 && asked t2'
like "$(to_lines u@temp.test new | head -n 1)" "dsn=4\.[0-9.]+, status=deferred \(.*451 4\.3\.0 Try again later" \
	"log: deferred, quoting the last 451"

# ---------------------------------------------------------------- null MX

# dsn_for RCPT-ERE: the report at the sender's MX naming that recipient.
dsn_for() { peer_find snd "^Final-Recipient: rfc822; ?$1"; }

log_mark
send $S "null mx" u@nullmx.test
ok "null MX: bounced" wait_for 'log_has "to=<u@nullmx\.test>, .*status=bounced" new' 15
like "$(to_lines u@nullmx.test new)" '^[0-9A-F]{19}: to=<u@nullmx\.test>, relay=none, delay=[0-9.]+, delays=[^ ]+, dsn=5\.1\.10, status=bounced \(.*null MX' \
	"log: relay=none, dsn=5.1.10, status=bounced (... null MX ...)"
if wait_for 'dsn_for "u@nullmx\.test" >/dev/null' 15; then
	d=$(dsn_for "u@nullmx\.test")
	like "$(msg_env "$d")" $'^MAIL FROM:<>[^\n]*\nRCPT TO:<sender@snd\\.test>$' \
		"a delivery report from <> reaches the sender's MX"
	like "$(msg_dsn "$d")" $'\nrcpt=rfc822; ?u@nullmx\\.test\\|failed\\|5\\.1\\.10$' \
		"the report: u@nullmx.test failed, 5.1.10"
else
	fail "a delivery report reaches the sender's MX" "$(log_tail)"
	fail "the report: u@nullmx.test failed, 5.1.10" "no report"
fi

# ---------------------------------------------------------------- NXDOMAIN

log_mark
send $S "nxdomain" u@nx.test
ok "NXDOMAIN: bounced" wait_for 'log_has "to=<u@nx\.test>, .*status=bounced" new' 15
like "$(to_lines u@nx.test new)" '^[0-9A-F]{19}: to=<u@nx\.test>, relay=none, .*dsn=5\.1\.2, status=bounced \(.*(NXDOMAIN|does not exist)' \
	"log: relay=none, dsn=5.1.2, status=bounced (... NXDOMAIN / does not exist)"
if wait_for 'dsn_for "u@nx\.test" >/dev/null' 15; then
	like "$(msg_dsn "$(dsn_for "u@nx\.test")")" $'\nrcpt=rfc822; ?u@nx\\.test\\|failed\\|5\\.1\\.2$' \
		"the report to the sender: u@nx.test failed, 5.1.2"
else
	fail "the report to the sender: u@nx.test failed, 5.1.2" "no report: $(log_tail)"
fi

# ---------------------------------------------------------------- DNS failure

log_mark
send $S "dns refused" u@flaky.test
ok "MX lookup refused: deferred" wait_for 'log_has "to=<u@flaky\.test>, .*status=deferred" new' 15
like "$(to_lines u@flaky.test new | head -n 1)" '^[0-9A-F]{19}: to=<u@flaky\.test>, relay=none, .*dsn=4\.4\.3, status=deferred \(' \
	"log: relay=none, dsn=4.4.3, status=deferred"
run "${AS_USER[@]}" "$MAILQ"
like "$OUT" "u@flaky\.test" "mailq lists the deferred recipient"
is "$(peer_count fl)" 0 "nothing delivered while the zone is refused"
mapfile -t fixed <<<"$FLAKY"
dns_restart "${RECORDS[@]}" "${EQ[@]}" "${fixed[@]}"
ok "the zone answers again: delivered at a retry" delivered fl "dns refused"
wait_for 'log_has "to=<u@flaky\.test>, .*status=sent" new' 5
like "$(to_lines u@flaky.test new | tail -n 1)" "$(rl mx1.flaky.test 127.0.0.9) .*dsn=2\.0\.0, status=sent" \
	"log: sent via mx1.flaky.test"

# ---------------------------------------------------------------- implicit MX

log_mark
send $S "implicit" u@implicit.test
ok "no MX records: delivered to the domain's A record" delivered im implicit
wait_for 'log_has "to=<u@implicit\.test>, .*status=sent" new' 5
like "$(to_lines u@implicit.test new)" "$(rl implicit.test 127.0.0.10) .*dsn=2\.0\.0, status=sent" \
	"log: relay=implicit.test[127.0.0.10]"

# ---------------------------------------------------------------- IPv6 and IPv4

log_mark
send $S "v6 dead" u@v6.test
ok "AAAA ::1 (nothing there) and A 127.0.0.11: delivered over IPv4" delivered v4 "v6 dead"
wait_for 'log_has "to=<u@v6\.test>, .*status=sent" new' 5
like "$(to_lines u@v6.test new | tail -n 1)" "$(rl mx.v6.test 127.0.0.11) .*status=sent" \
	"log: sent via mx.v6.test[127.0.0.11]"
ok "log: ::1 was tried first and is named" log_has "mx\.v6\.test.*::1|::1.*mx\.v6\.test" new
if [ "$HAVE_IPV6" = 1 ]; then
	mx_peer_start v6 ::1
	log_mark
	send $S "v4 dead" u@v6b.test
	ok "AAAA ::1 (listening) and A 127.0.0.12 (nothing there): delivered over IPv6" \
		delivered v6 "v4 dead"
	wait_for 'log_has "to=<u@v6b\.test>, .*status=sent" new' 5
	like "$(to_lines u@v6b.test new | tail -n 1)" "$(rl mx.v6b.test ::1) .*status=sent" \
		"log: sent via mx.v6b.test[::1]"
else
	skip "delivered over IPv6" "::1 cannot be bound here"
	skip "log: sent via mx.v6b.test[::1]" "::1 cannot be bound here"
fi

# ---------------------------------------------------------------- equal preferences

# Twenty domains, each with the same two MX hosts at preference 10: one
# message each, so no session of one domain can carry another's mail.
log_mark
tsm_par 20 $'From: <sender@snd.test>\nSubject: eq %N\n\neq %N\n' -i -f $S "u@eq%N.test"
is "$PAR_FAILED" 0 "20 messages to eq1..eq20.test queued"
ok "all 20 are delivered" wait_for '[ $(($(peer_count ea) + $(peer_count eb))) -ge 20 ]' 30
diag "mxa.eq.test got $(peer_count ea), mxb.eq.test $(peer_count eb)"
ok "equal preferences: mxa.eq.test got some" [ "$(peer_count ea)" -ge 1 ]
ok "equal preferences: mxb.eq.test got some" [ "$(peer_count eb)" -ge 1 ]

# ---------------------------------------------------------------- limits

# first_attempt ID: that message's log lines up to its first to= line.
first_attempt() { log_lines "^.*: $1: " new | sed '/: to=</q'; }

log_mark
send $S "eleven" u@many.test
ok "11 MX hosts, the first 10 dead: deferred" \
	wait_for 'log_has "to=<u@many\.test>, .*status=deferred" new' 30
id=$(log_ids_from "$(re $S)" new | head -n 1)
tried=$(first_attempt "$id" | grep -o -E 'mx[0-9]+\.many\.test' | sort -u | tr '\n' ' ')
diag "tried: $tried"
is "$(wc -w <<<"$tried" | tr -d ' ')" 10 "the 10 best hosts were tried and named in the log"
is "$(peer_total_sessions m11):$(peer_count m11)" "0:0" "the 11th MX host (listening) is never connected to"

log_mark
send $S "five addresses" u@addrs.test
ok "one MX host with 5 A records, none listening: deferred" \
	wait_for 'log_has "to=<u@addrs\.test>, .*status=deferred" new' 30
id=$(log_ids_from "$(re $S)" new | head -n 1)
tried=$(first_attempt "$id" | grep -o -E '127\.0\.0\.3[2-6]' | sort -u | tr '\n' ' ')
diag "tried: $tried"
is "$(wc -w <<<"$tried" | tr -d ' ')" 4 "4 of its addresses were tried"

# ---------------------------------------------------------------- SMTPUTF8

# A non-ASCII address needs SMTPUTF8: an MX host without it is passed
# over (route.c, direct rule 8); with no host that has it, a bounce.
JOERG="j$(printf '\303\266')rg"
log_mark
send $S "utf8 next host" "$JOERG@utf.test"
ok "SMTPUTF8: MX 10 lacks it, MX 20 takes the mail" delivered u2 "utf8 next host"
is "$(peer_count u1)" 0 "... and MX 10 got nothing"
log_mark
send $S "utf8 nowhere" "$JOERG@noutf.test"
ok "SMTPUTF8 at no MX host: bounced with 5.6.7" \
	wait_for 'log_has "rg@noutf\.test>, .*dsn=5\.6\.7, status=bounced" new' 15

# ---------------------------------------------------------------- ourselves

log_mark
send $S "to myself" u@self.test
ok "MX 10 is ternd's own hostname: deferred" wait_for 'log_has "to=<u@self\.test>, .*status=deferred" new' 15
like "$(to_lines u@self.test new | head -n 1)" '^[0-9A-F]{19}: to=<u@self\.test>, .*dsn=4\.4\.6, status=deferred \(.*loops back to myself' \
	"log: dsn=4.4.6, status=deferred (... loops back to myself)"
sleep 1
is "$(peer_total_sessions s2):$(peer_count s2)" "0:0" \
	"the MX 20 behind ourselves is not used (RFC 5321 5.1)"
is "$(log_count "to=<u@self\.test>, .*status=(sent|bounced)" new)" 0 "neither sent nor bounced"

ok "ternd is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0"

done_testing
