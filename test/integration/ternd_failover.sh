#!/bin/bash
# ternd_failover: the failover table at work, against real SMTP peers
# (test/lib/smtp_peer.py) on loopback.
#
#  - relays A (closed port), B (451 to every RCPT), C (good), tried in
#    priority order: delivered via C after attempts at A and B; A then
#    cools down and is skipped.
#  - a 550 5.1.1 recipient bounces: an RFC 3464 report from <> reaches
#    the sender, while the other recipient is delivered.
#  - quotas: max_per_hour = 2 on A spills the rest over to B.
#  - every relay failing: deferred; the relay comes back, tern flush
#    delivers.
#  - a peer offering REQUIRETLS does not get the parameter on mail that
#    did not ask for it.
#  - [relay] from / from_name rewrite the envelope sender and From,
#    Reply-To keeps the author.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"

ternd_sandbox_init
plan 72

ip() { echo "127\.0\.0\.1\[127\.0\.0\.1\]:$1"; }

# send SUBJECT RCPT...: one message from sender@example.org.
send()
{
	local subj=$1
	shift
	tsm_ok "" "From: Sender <sender@example.org>
To: $(IFS=,; echo "$*")
Subject: $subj

$subj
" -i -f sender@example.org "$@"
}

# ---------------------------------------------------------------- A, B, C

PA=$(free_port)
peer_start b --fault rcpt-451
peer_start c
PB=${PEER_PORT[b]}
PC=${PEER_PORT[c]}
ternd_config "$(relay a "$PA" "tls = none" "priority = 1")" \
	"$(relay b "$PB" "tls = none" "priority = 2")" \
	"$(relay c "$PC" "tls = none" "priority = 3")"
ok "ternd starts with relays a, b, c" ternd_start
log_mark
send "failover one" one@example.com
ok "delivered via c" wait_for 'peer_find c "^Subject: failover one$" >/dev/null' 10
ok "and removed from the queue" wait_for 'queue_is_empty' 5
id=$(log_ids_from sender@example.org new | head -n 1)
to=$(log_lines "^.*: $id: to=<one@example\.com>," new)
diag "$to"
is "$(wc -l <<<"$to")" 3 "three to= lines: one per relay tried"
like "$(sed -n 1p <<<"$to")" "^$id: to=<one@example\.com>, relay=$(ip "$PA"), delay=[0-9.]+, delays=[^ ]+, dsn=4\.[0-9.]+, status=deferred \(.*[Cc]onnection refused" \
	"first a: deferred, connection refused"
like "$(sed -n 2p <<<"$to")" "^$id: to=<one@example\.com>, relay=$(ip "$PB"), .*dsn=4\.3\.0, status=deferred \(.*451 4\.3\.0 Try again later \(in reply to RCPT TO" \
	"then b: deferred, 451 4.3.0 in reply to RCPT TO"
like "$(sed -n 3p <<<"$to")" "^$id: to=<one@example\.com>, relay=$(ip "$PC"), .*dsn=2\.0\.0, status=sent \(250 " \
	"then c: sent"
like "$(log_lines "relay a " new)" "^(warning: )?relay a \($(ip "$PA")\): .*[Cc]onnection refused; not used until (59|60) s from now" \
	"relay a is logged as cooling down for 60 s"
is "$(peer_count b)" 0 "b received nothing"
like "$(grep '^RCPT' "${PEER_TR[b]}")" '^RCPT TO:<one@example\.com>' "b was asked (RCPT) and said 451"
f=$(peer_find c "^Subject: failover one$")
like "$(msg_env "$f")" $'^MAIL FROM:<sender@example\\.org> SIZE=[0-9]+\nRCPT TO:<one@example\\.com>$' \
	"c got the original envelope"

# A is cooling down: the next message does not try it.
log_mark
send "failover two" two@example.com
ok "the next message is delivered via c" wait_for 'peer_find c "^Subject: failover two$" >/dev/null' 10
wait_for 'log_has ": removed$" new' 5
is "$(log_count "relay=$(ip "$PA")" new)" 0 "a is not tried while it cools down"
like "$(log_lines ": to=<two@example\.com>," new | tail -n 1)" "relay=$(ip "$PC"), .*status=sent" \
	"two@ logged as sent via c"
ternd_stop
like "$(cat "$QUEUE_DIR/state/relays" 2>/dev/null)" "relay a failures=1 cool_until=[1-9]" \
	"state/relays keeps a's failure and cool-down"

# ---------------------------------------------------------------- bounce

peer_start bounce --fault rcpt-550:bad@example.com
PX=${PEER_PORT[bounce]}
ternd_reset "$(relay x "$PX" "tls = none")"
log_mark
send "half bad" good@example.com bad@example.com
ok "the good recipient's copy is delivered" wait_for 'peer_find bounce "^Subject: half bad$" >/dev/null' 10
ok "a delivery report reaches the sender" \
	wait_for 'peer_find bounce "^RCPT TO:<sender@example\.org>" >/dev/null' 10
f=$(peer_find bounce "^Subject: half bad$")
is "$(msg_env "$f" | grep '^RCPT')" "RCPT TO:<good@example.com>" "the original went to the good recipient only"
id=$(log_ids_from sender@example.org new | head -n 1)
like "$(log_lines ": $id: to=<bad@example\.com>," new)" \
	"relay=$(ip "$PX"), delay=[0-9.]+, delays=[^ ]+, dsn=5\.1\.1, status=bounced \(.*550 5\.1\.1 No such user here \(in reply to RCPT TO" \
	"log: bad@ dsn=5.1.1, status=bounced with the relay's reply"
like "$(log_lines ": $id: to=<good@example\.com>," new)" "dsn=2\.0\.0, status=sent" "log: good@ status=sent"
nid=$(log_lines ": $id: sender non-delivery notification: " new | sed -E 's/.*notification: ([0-9A-F]{19}).*/\1/')
like "$nid" '^[0-9A-F]{19}$' "log: ID: sender non-delivery notification: NEWID"
d=$(peer_find bounce "^RCPT TO:<sender@example\.org>")
like "$(msg_env "$d")" $'^MAIL FROM:<> SIZE=[0-9]+\nRCPT TO:<sender@example\\.org>$' \
	"the report's envelope: MAIL FROM:<>, RCPT TO the sender"
is "$(msg_addr "$d" From)" "Mail Delivery System|MAILER-DAEMON@host.example.org" \
	"From: Mail Delivery System <MAILER-DAEMON@host.example.org>"
is "$(msg_addr "$d" To)" "|sender@example.org" "To: the sender"
is "$(msg_header "$d" Auto-Submitted)" "Auto-Submitted: auto-replied" "Auto-Submitted: auto-replied"
dsn=$(msg_dsn "$d")
diag "$dsn"
like "$dsn" $'^type=multipart/report\nreport-type=delivery-status\nparts=text/plain,message/delivery-status,message/rfc822' \
	"multipart/report; report-type=delivery-status: text, status, the original"
like "$dsn" $'\nreporting-mta=dns; ?host\\.example\\.org\n' "Reporting-MTA: dns; host.example.org"
like "$dsn" $'\nrcpt=rfc822; ?bad@example\\.com\\|failed\\|5\\.1\\.1$' \
	"one recipient block: bad@example.com, Action: failed, Status: 5.1.1"
unlike "$dsn" 'good@' "the delivered recipient is not in the report"
like "$(msg_data "$d")" "Subject: half bad" "the original message is returned"
like "$(log_lines ": $nid: (from|to)=" new)" "^$nid: from=<>, size=[0-9]+, nrcpt=1 \(queue active\)
$nid: to=<sender@example\.org>, relay=$(ip "$PX"), .*status=sent" \
	"log: the report goes out from=<> and is sent"
ok "nothing is left in the queue" wait_for queue_is_empty 5

# DSN requests (RFC 3461) of the sender, to a relay without DSN.
log_mark
tsm_ok "" $'Subject: never tell\n\nx\n' -i -N never -f s-never@example.org bad@example.com
tsm_ok "" $'Subject: tell success\n\nx\n' -i -N success -f s-success@example.org ok@example.com
tsm_ok "" $'Subject: headers only\n\nthe body stays home\n' -i -R hdrs -f s-hdrs@example.org bad@example.com
ok "RET=HDRS: the report reaches the sender" \
	wait_for 'peer_find bounce "^RCPT TO:<s-hdrs@example\.org>" >/dev/null' 10
d=$(peer_find bounce "^RCPT TO:<s-hdrs@example\.org>")
like "$(msg_dsn "$d")" $'\nparts=text/plain,message/delivery-status,text/rfc822-headers\n' \
	"RET=HDRS: the report returns text/rfc822-headers"
unlike "$(msg_data "$d")" "the body stays home" "RET=HDRS: the body is not returned"
ok "NOTIFY=SUCCESS through a relay without DSN: a 'relayed' report reaches the sender" \
	wait_for 'peer_find bounce "^RCPT TO:<s-success@example\.org>" >/dev/null' 10
d=$(peer_find bounce "^RCPT TO:<s-success@example\.org>")
like "$(msg_dsn "$d")" $'\nrcpt=rfc822; ?ok@example\\.com\\|relayed\\|2\\.0\\.0$' \
	"Action: relayed, Status: 2.0.0 for ok@"
ok "NOTIFY=NEVER: the failure is logged" \
	wait_for 'log_has ": to=<bad@example\.com>, .*status=bounced" new && [ "$(log_count ": removed$" new)" -ge 5 ]' 10
nv=$(log_ids_from s-never@example.org new)
is "$(log_count ": $nv: sender .*notification" new)" 0 "NOTIFY=NEVER: no report"
is "$(peer_find_all bounce "^RCPT TO:<s-never@example\.org>" | wc -l | tr -d ' ')" 0 "NOTIFY=NEVER: nothing to the sender"

# The same to a relay that offers DSN: the request travels with the
# mail and the relay reports, not tern (RFC 3461 section 5.2.2).
peer_start dsn --fault advertise-dsn
ternd_reset "$(relay dsn "${PEER_PORT[dsn]}" "tls = none")"
log_mark
tsm_ok "" $'Subject: tell success via dsn\n\nx\n' -i -N success,failure -f s-dsn@example.org ok@example.com
ok "delivered to a relay offering DSN" wait_for 'peer_find dsn "^Subject: tell success via dsn$" >/dev/null && log_has ": removed$" new' 10
f=$(peer_find dsn "^Subject: tell success via dsn$")
like "$(msg_env "$f" | grep '^RCPT')" '^RCPT TO:<ok@example\.com> NOTIFY=SUCCESS,FAILURE' \
	"RCPT carries NOTIFY=SUCCESS,FAILURE to the DSN relay"
sleep 0.3
is "$(log_count "sender .*notification" new)" 0 "tern sends no 'relayed' report of its own"
is "$(peer_count dsn)" 1 "the relay got only the message"

# ---------------------------------------------------------------- quota

peer_start qa
peer_start qb
ternd_stop
ternd_config "$(relay qa "${PEER_PORT[qa]}" "tls = none" "priority = 1" "max_per_hour = 2")" \
	"$(relay qb "${PEER_PORT[qb]}" "tls = none" "priority = 2")"
rm -f "$QUEUE_DIR/state/relays"
queue_empty_all
tsm_par 5 $'Subject: quota %N\n\nquota %N\n' -i -f sender@example.org "q%N@example.com"
is "$PAR_FAILED" 0 "5 messages queued while ternd is down"
log_mark
ok "ternd starts with qa (max_per_hour = 2) and qb" ternd_start
ok "all 5 are delivered" wait_for '[ "$(log_count ": removed$" new)" -ge 5 ]' 15
sleep 0.3
is "$(peer_count qa):$(peer_count qb)" "2:3" "2 via qa (its hourly quota), 3 via qb"
is "$(log_count "relay=$(ip "${PEER_PORT[qa]}"), .*status=sent" new):$(log_count "relay=$(ip "${PEER_PORT[qb]}"), .*status=sent" new)" \
	"2:3" "the log agrees: 2 sent via qa, 3 via qb"
log_mark
send "quota later" q6@example.com
ok "a sixth message goes via qb too" wait_for 'peer_find qb "^Subject: quota later$" >/dev/null' 10
is "$(peer_count qa)" 2 "qa stays at its quota"

# ---------------------------------------------------------------- all failing, then flush

PF1=$(free_port)
PF2=$(free_port)
RETRY_MIN=60s RETRY_MAX=60s ternd_reset "$(relay f1 "$PF1" "tls = none" "priority = 1")" \
	"$(relay f2 "$PF2" "tls = none" "priority = 2")"
log_mark
send "all failing" late@example.com
ok "every relay failing: the message is deferred" \
	wait_for '[ "$(queue_count deferred)" = 1 ] && log_has "to=<late@example\.com>, relay=$(ip "$PF2"), .*status=deferred" new' 10
like "$(log_lines "to=<late@example\.com>," new | head -n 1)" "relay=$(ip "$PF1"), .*status=deferred \(.*[Cc]onnection refused" \
	"f1 tried first: connection refused"
is "$(queue_count incoming):$(queue_count data)" "0:1" "the envelope moved to deferred/, the data stays"
next=$(sed -n 's/^next-attempt: //p' "$QUEUE_DIR/deferred/"* 2>/dev/null)
now=$(date +%s)
ok "the next attempt is scheduled about a minute away (retry_min = 60s)" \
	[ -n "$next" ] && [ "$next" -ge $((now + 30)) ] && [ "$next" -le $((now + 75)) ]
peer_start f2 --port "$PF2"
sleep 1
is "$(peer_count f2)" 0 "with the relay back, nothing goes before the retry time"
log_mark
tern_as flush
is "$RC" 0 "tern flush exits 0"
ok "after tern flush the message is delivered" wait_for 'peer_find f2 "^Subject: all failing$" >/dev/null' 10
like "$(log_lines "flush" new)" "flush: retrying 1 deferred messages? now" "the log says it flushed"
ok "the queue is empty" wait_for queue_is_empty 5

# ---------------------------------------------------------------- REQUIRETLS

peer_start rt --fault advertise-requiretls
ternd_reset "$(relay rt "${PEER_PORT[rt]}" "tls = none")"
send "requiretls offered" rt@example.com
ok "delivered to a peer offering REQUIRETLS" wait_for 'peer_find rt "^Subject: requiretls offered$" >/dev/null' 10
ok "the peer does offer REQUIRETLS in its EHLO reply" "$PYTHON" -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("probe.test")
ok = s.has_extn("requiretls")
s.quit()
sys.exit(0 if ok else 1)' "${PEER_PORT[rt]}"
unlike "$(grep '^MAIL' "${PEER_TR[rt]}")" 'REQUIRETLS' "MAIL FROM has no REQUIRETLS parameter (the mail did not ask for it)"

# ---------------------------------------------------------------- from rewriting

peer_start fr
ternd_reset "$(relay fr "${PEER_PORT[fr]}" "tls = none" "from = account@relay.test" \
	"from_name = Tërn Relay, Inc.")"
tsm_ok "" "From: Alice Example <alice@example.org>
To: bob@example.com
Subject: rewritten

hello
" -i -f alice@example.org bob@example.com
ok "delivered through the rewriting relay" wait_for 'peer_find fr "^Subject: rewritten$" >/dev/null' 10
f=$(peer_find fr "^Subject: rewritten$")
like "$(msg_env "$f" | head -n 1)" '^MAIL FROM:<account@relay\.test> ' "the envelope sender is the relay's from"
is "$(msg_header "$f" From | wc -l | tr -d ' ')" 1 "one From header"
is "$(msg_addr "$f" From)" "Tërn Relay, Inc.|account@relay.test" "From: the relay's from_name and from"
is "$(msg_addr "$f" Reply-To)" "Alice Example|alice@example.org" "Reply-To: the original From"
tsm_ok "" "From: Alice Example <alice@example.org>
Reply-To: list@example.org
To: bob@example.com
Subject: rewritten with reply-to

hello
" -i -f alice@example.org bob@example.com
ok "a message with a Reply-To is delivered" wait_for 'peer_find fr "^Subject: rewritten with reply-to$" >/dev/null' 10
f=$(peer_find fr "^Subject: rewritten with reply-to$")
is "$(msg_header "$f" Reply-To)" "Reply-To: list@example.org" "an existing Reply-To is kept, not added to"

ok "ternd is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0"

done_testing
