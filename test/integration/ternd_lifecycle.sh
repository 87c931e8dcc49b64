#!/bin/bash
# ternd_lifecycle: the daemon's life and the queue's durability.
#
#  - one ternd per queue: a second one refuses to start;
#  - hostile maildrop files (garbage, no end marker, a symlink, a hard
#    link, a directory, a FIFO, a bad name) go to corrupt/ with a log
#    line, and the daemon goes on delivering;
#  - SIGHUP: a new relay port takes effect for the next message, a bad
#    config is refused and the running one kept;
#  - SIGTERM during a slow delivery: exit 0 at once, the message goes
#    out after a restart;
#  - kill -9 during delivery to a slow relay: after a restart every
#    message is delivered at least once;
#  - delay_warning: a delay notice to the sender; queue_lifetime: an
#    expired message bounces (status=expired) with a report; mail from
#    the null sender that fails is not bounced again.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"

ternd_sandbox_init
plan 81

ip() { echo "127\.0\.0\.1\[127\.0\.0\.1\]:$1"; }

# send SUBJECT RCPT [SENDER]
send()
{
	tsm_ok "" "From: sender@example.org
To: $2
Subject: $1

$1
" -i -f "${3:-sender@example.org}" "$2"
}

# ---------------------------------------------------------------- templates

# Complete maildrop files, made by sendmail while no ternd runs, kept
# outside the queue for the hostile-file tests.
for t in noend symlink hardlink badname; do
	send "hostile $t" "$t@example.com"
	mv "$(newest_qf)" "$SANDBOX/tpl.$t"
done
is "$(count_all)" 0 "templates made, maildrop empty"

peer_start main
PM=${PEER_PORT[main]}
ternd_config "$(relay main "$PM" "tls = none")"
ok "ternd starts" ternd_start

# ---------------------------------------------------------------- one per queue

run "${AS_USER[@]}" "$TERND" -c "$CONF" -f </dev/null
is "$RC" 75 "a second ternd on the same queue exits 75"
like "$ERR" "another ternd \(pid $TERND_PID\) is running on $QUEUE_DIR" \
	"and names the running one's pid and the queue"
ok "the first one still runs" ternd_alive
is "$(cat "$QUEUE_DIR/state/ternd.pid" 2>/dev/null)" "$TERND_PID" "state/ternd.pid still holds the first one's pid"

# ---------------------------------------------------------------- hostile maildrop

# newid N: a well-formed queue ID of now, made unique by N.
newid() { printf '%013X%06X' $(($(date +%s) * 1000000 + $1)) $((900000 + $1)); }
G_GARBAGE=$(newid 1)
G_NOEND=$(newid 2)
G_SYMLINK=$(newid 3)
G_HARD=$(newid 4)
G_DIR=$(newid 5)
G_FIFO=$(newid 6)
G_BADNAME=not-a-queue-id
printf 'this is not an envelope\n\0\1\2 garbage\n' >"$MAILDROP/$G_GARBAGE"
head -c -4 "$SANDBOX/tpl.noend" >"$MAILDROP/$G_NOEND"
ln -s "$SANDBOX/tpl.symlink" "$MAILDROP/$G_SYMLINK"
cp "$SANDBOX/tpl.hardlink" "$MAILDROP/$G_HARD"
ln "$MAILDROP/$G_HARD" "$SANDBOX/hardlink.other"
mkdir "$MAILDROP/$G_DIR"
mkfifo "$MAILDROP/$G_FIFO"
cp "$SANDBOX/tpl.badname" "$MAILDROP/$G_BADNAME"
printf 'in progress' >"$MAILDROP/tmp.$(newid 7)"
chown -h "$TUID:$TGID" "$MAILDROP"/* 2>/dev/null || true
tpl_sum=$(md5sum <"$SANDBOX/tpl.symlink")
log_mark
send "good after hostile" good@example.com
ok "a good message submitted after the hostile files is delivered" \
	wait_for 'peer_find main "^Subject: good after hostile$" >/dev/null' 10
ok "every hostile file has left maildrop" \
	wait_for '[ "$(find "$MAILDROP" -mindepth 1 ! -name "tmp.*" | wc -l)" = 0 ]' 5
for g in GARBAGE NOEND SYMLINK HARD DIR FIFO BADNAME; do
	v=G_$g
	name=${!v}
	if log_has "$name: malformed maildrop file (moved to corrupt/|\(.*\); cannot move it)" new; then
		pass "$g: logged as a malformed maildrop file"
	else
		fail "$g: logged as a malformed maildrop file" "$(log_new | tail -n 20)"
	fi
done
is "$(find "$QUEUE_DIR/corrupt" -mindepth 1 -maxdepth 1 -printf "%f\n" 2>/dev/null | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$G_GARBAGE" "$G_NOEND" "$G_SYMLINK" "$G_HARD" "$G_DIR" "$G_FIFO" "$G_BADNAME" | sort | tr '\n' ' ')" \
	"all seven are in corrupt/"
ok "corrupt/$G_SYMLINK is still the symlink, not its target" [ -L "$QUEUE_DIR/corrupt/$G_SYMLINK" ]
is "$(md5sum <"$SANDBOX/tpl.symlink")" "$tpl_sum" "the symlink's target is untouched"
is "$(peer_find_all main "^Subject: hostile " | wc -l | tr -d ' ')" 0 "none of the hostile files was delivered"
is "$(find "$MAILDROP" -mindepth 1 -name 'tmp.*' | wc -l | tr -d ' ')" 1 "a fresh tmp.* file (a submission in progress) is left alone"
ok "ternd is still running" ternd_alive
rm -f "$MAILDROP"/tmp.*
send "good after hostile 2" good2@example.com
ok "and still delivers" wait_for 'peer_find main "^Subject: good after hostile 2$" >/dev/null' 10

# ---------------------------------------------------------------- SIGHUP

peer_start h2
P2=${PEER_PORT[h2]}
before=$(peer_count main)
ternd_config "$(relay main "$P2" "tls = none")"
log_mark
kill -HUP "$TERND_PID"
ok "SIGHUP: ternd reloads" wait_for 'log_has "reloading $CONF" new && log_has "aliases reloaded" new' 5
send "after hup" hup@example.com
ok "the next message goes to the new port" wait_for 'peer_find h2 "^Subject: after hup$" >/dev/null' 10
is "$(peer_count main)" "$before" "the old port gets nothing more"
like "$(log_lines ": to=<hup@example\.com>," new)" "relay=$(ip "$P2"), .*status=sent" "the log names the new port"

write_config "dns_servers = 127.0.0.1:$DNS_PORT" "no_such_key = 1" "$(relay main "$PM" "tls = none")"
log_mark
kill -HUP "$TERND_PID"
ok "SIGHUP with a bad config: the error is logged with file:line" \
	wait_for 'log_has "$CONF:[0-9]+: .*no_such_key" new' 5
ok "ternd keeps running" ternd_alive
# sendmail reads the config too: it gets a good copy.
ternd_config "$(relay main "$P2" "tls = none")"
cp "$CONF" "$SANDBOX/good.conf"
give "$SANDBOX/good.conf"
write_config "dns_servers = 127.0.0.1:$DNS_PORT" "no_such_key = 1" "$(relay main "$PM" "tls = none")"
tsm_ok "" $'Subject: after bad hup\n\nafter bad hup\n' -C "$SANDBOX/good.conf" -i -f sender@example.org badhup@example.com
ok "with the previous config: the message still goes to the new port" \
	wait_for 'peer_find h2 "^Subject: after bad hup$" >/dev/null' 10
ternd_config "$(relay main "$PM" "tls = none")"

# ---------------------------------------------------------------- SIGTERM mid-delivery

peer_start slower --fault slow-reply:5
ternd_reset "$(relay slower "${PEER_PORT[slower]}" "tls = none")"
send "term while slow" term@example.com
ok "the slow relay is in the middle of the transaction" \
	wait_for 'grep -q "^MAIL " "${PEER_TR[slower]}"' 10
ternd_stop 10
is "$TERND_RC" 0 "SIGTERM mid-transaction: exit 0"
ok "within 2 s (not waiting for the relay's reply)" [ "$TERND_STOP_SECS" -le 20 ]
diag "stopped in $TERND_STOP_SECS tenths of a second"
is "$(queue_count incoming)$(queue_count deferred)" "10" "the message is still queued"
ternd_config "$(relay main "$PM" "tls = none")"
log_mark
ok "ternd starts again" ternd_start
ok "after the restart the message is delivered" \
	wait_for 'peer_find main "^Subject: term while slow$" >/dev/null' 10
is "$(peer_count slower)" 0 "the slow relay never got it"
peer_stop slower

# ---------------------------------------------------------------- kill -9

peer_start slow --fault slow-reply:1.5
ternd_reset "$(relay slow "${PEER_PORT[slow]}" "tls = none")"
tsm_par 6 $'Subject: crash %N\n\ncrash %N\n' -i -f sender@example.org "c%N@example.com"
is "$PAR_FAILED" 0 "6 messages queued for a slow relay"
ok "deliveries are in flight" wait_for '[ "$(grep -c "^MAIL " "${PEER_TR[slow]}")" -ge 2 ]' 10
ternd_kill9
started=$(grep -c "^MAIL " "${PEER_TR[slow]}")
done_before=$(peer_count slow)
diag "at kill -9: $started transactions started, $done_before messages complete"
log_mark
ok "ternd starts after kill -9" ternd_start
like "$(log_lines "queue: [0-9]+ messages to deliver" new)" "queue: [1-6] messages to deliver" "it finds the messages left"
all6='k=0; for m in 1 2 3 4 5 6; do peer_find slow "^Subject: crash $m\$" >/dev/null && k=$((k + 1)); done; [ $k = 6 ]'
ok "every message is delivered at least once" wait_for "$all6" 20
ok "the queue empties" wait_for queue_is_empty 10
total=$(peer_count slow)
dups=$((total - 6))
diag "6 messages, $total deliveries: $dups duplicates (at most $((started - done_before)) were in flight)"
ok "duplicates only for messages that were in flight" [ "$dups" -ge 0 ] && [ "$dups" -le $((started - done_before)) ]
peer_stop slow

# Now killed after the relay stored messages but before it said 250
# (test/lib/ternd_peer.py --slow-dot): those were delivered without
# ternd knowing, so they must go again (duplicates, never losses).
peer_start dot --slow-dot 1.5
ternd_reset "$(relay dot "${PEER_PORT[dot]}" "tls = none")"
tsm_par 6 $'Subject: dot %N\n\ndot %N\n' -i -f sender@example.org "d%N@example.com"
is "$PAR_FAILED" 0 "6 messages queued for a relay slow to confirm"
ok "the relay holds a message whose 250 is still to come" wait_for '[ "$(peer_count dot)" -ge 1 ]' 10
ternd_kill9
started=$(grep -c "^MAIL " "${PEER_TR[dot]}")
stored=$(peer_count dot)
diag "at kill -9: $started transactions started, $stored messages stored without their 250"
ok "ternd starts after kill -9" ternd_start
all6='k=0; for m in 1 2 3 4 5 6; do peer_find dot "^Subject: dot $m\$" >/dev/null && k=$((k + 1)); done; [ $k = 6 ]'
ok "every message is delivered at least once" wait_for "$all6" 20
ok "the queue empties" wait_for queue_is_empty 10
dups=$(($(peer_count dot) - 6))
diag "6 messages, $(peer_count dot) deliveries: $dups duplicates"
ok "the messages stored without a 250 were delivered again ($dups >= $stored)" [ "$dups" -ge "$stored" ]
ok "and only those in flight ($dups <= $started)" [ "$dups" -le "$started" ]
peer_stop dot

# ---------------------------------------------------------------- delay warning, expiry, null sender

peer_start dw --fault rcpt-451:stuck@example.com --fault rcpt-550:bad@example.com
PD=${PEER_PORT[dw]}
ternd_reset "delay_warning = 1s" "queue_lifetime = 60s" "$(relay dw "$PD" "tls = none")"
log_mark
send "stuck" stuck@example.com
send "null stuck" stuck@example.com '<>'
ok "a delay notice reaches the sender" \
	wait_for 'peer_find dw "^RCPT TO:<sender@example\.org>" >/dev/null' 15
id=$(log_ids_from sender@example.org new | head -n 1)
nullid=$(log_ids_from "" new | head -n 1)
like "$nullid" '^[0-9A-F]{19}$' "the null sender's message to stuck@ is queued too"
like "$(log_lines ": $id: to=<stuck@example\.com>," new | head -n 1)" \
	"relay=$(ip "$PD"), .*dsn=4\.3\.0, status=deferred \(.*451 4\.3\.0 Try again later" "the recipient is deferred (451)"
like "$(log_lines ": $id: sender delay notification: " new)" "sender delay notification: [0-9A-F]{19}" \
	"log: ID: sender delay notification: NEWID"
d=$(peer_find dw "^RCPT TO:<sender@example\.org>")
like "$(msg_env "$d")" $'^MAIL FROM:<> SIZE=[0-9]+\nRCPT TO:<sender@example\\.org>$' "the notice comes from <>"
dsn=$(msg_dsn "$d")
diag "$dsn"
like "$dsn" $'^type=multipart/report\nreport-type=delivery-status\n' "the notice is a multipart/report"
like "$dsn" $'\nrcpt=rfc822; ?stuck@example\\.com\\|delayed\\|4\\.3\\.0$' "Action: delayed, Status: 4.3.0 for stuck@"
ok "the envelope records that the notice was sent" \
	wait_for 'grep -q "^delay-warned: yes" "$QUEUE_DIR/deferred/$id" 2>/dev/null' 5
ternd_stop
is "$(peer_find_all dw "^Action: delayed" | wc -l | tr -d ' ')" 1 "one delay notice, however many retries"

# Backdate the arrival past queue_lifetime (as the ternd user: the file
# is its), then flush.
arr=$(($(date +%s) - 120))
"${AS_USER[@]}" sed -i "s/^arrival: .*/arrival: $arr.000000/" "$QUEUE_DIR/deferred/$id" "$QUEUE_DIR/deferred/$nullid"
is "$(sed -n 's/^arrival: //p' "$QUEUE_DIR/deferred/$id" "$QUEUE_DIR/deferred/$nullid" | sort -u)" "$arr.000000" \
	"arrivals backdated by 2 minutes"
log_mark
ok "ternd starts" ternd_start
tern_as flush
is "$RC" 0 "tern flush exits 0"
ok "the expired message is logged as status=expired" \
	wait_for 'log_has ": $id: to=<stuck@example\.com>, .*status=expired" new' 10
like "$(log_lines ": $id: to=<stuck@example\.com>, .*status=expired" new)" \
	"^$id: to=<stuck@example\.com>, relay=[^,]+, delay=1[0-9][0-9], delays=[^ ]+, dsn=4\.4\.7, status=expired \(" \
	"expired: delay=~120 s, dsn=4.4.7"
ok "a non-delivery report reaches the sender" \
	wait_for '[ "$(peer_find_all dw "^Action: failed" | wc -l)" -ge 1 ]' 10
d=$(peer_find_all dw "^Action: failed" | head -n 1)
dsn=$(msg_dsn "$d")
diag "$dsn"
like "$(msg_env "$d")" $'^MAIL FROM:<> SIZE=[0-9]+\nRCPT TO:<sender@example\\.org>$' "the report comes from <> to the sender"
like "$dsn" $'\nrcpt=rfc822; ?stuck@example\\.com\\|failed\\|4\\.4\\.7$' "Action: failed, Status: 4.4.7 for stuck@"
like "$(log_lines ": $id: sender non-delivery notification: " new)" "notification: [0-9A-F]{19}" \
	"log: ID: sender non-delivery notification: NEWID"
ok "the expired message is removed" wait_for 'log_has ": $id: removed" new && queue_is_empty' 10
is "$(peer_find_all dw "^Action: delayed" | wc -l | tr -d ' ')" 1 "still only one delay notice"
like "$(log_lines ": $nullid: to=<stuck@example\.com>, " new)" "dsn=4\.4\.7, status=expired" \
	"the null sender's message expires too"
ok "and is removed" wait_for 'log_has ": $nullid: removed" new' 5
is "$(log_count ": $nullid: sender .*notification")" 0 "with no report, and no delay notice before"

# The null sender: a permanent failure is logged, never bounced.
log_mark
n_before=$(peer_count dw)
send "null sender" bad@example.com '<>'
ok "null sender, 550 5.1.1: bounced in the log" \
	wait_for 'log_has ": to=<bad@example\.com>, .*dsn=5\.1\.1, status=bounced" new' 10
nid=$(log_lines ": to=<bad@example\.com>, .*status=bounced" new | sed -E 's/^([0-9A-F]{19}):.*/\1/')
like "$(log_lines "^.*: $nid: from=" new)" "^$nid: from=<>, size=[0-9]+, nrcpt=1" "it was the null sender's"
ok "and removed" wait_for 'log_has ": $nid: removed" new' 5
sleep 0.5
is "$(log_count ": $nid: sender .*notification" new)" 0 "no report is made about it"
is "$(peer_count dw)" "$n_before" "and nothing more reaches the relay"
ok "the queue is empty" queue_is_empty

ok "ternd is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0"

done_testing
