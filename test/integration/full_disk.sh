#!/bin/bash
# full_disk: ternd, sendmail and the listener on a queue filesystem that
# fills up (as root: queue_dir is a small tmpfs in a private mount
# namespace, which ternd, sendmail and tern enter with nsenter; skipped
# otherwise).  submit_queue_errors.sh covers sendmail alone on a full
# disk (exit 75, a partial write, no inodes); this is the daemon's side.
# With mail already queued (deferred for a relay that is down, and in
# maildrop while ternd is stopped), the filesystem is filled:
#  - ternd starts anyway, does not crash, does not spin (its CPU time
#    and log lines over a few seconds of retries are measured), leaves
#    no tmp. file and moves nothing to corrupt/;
#  - sendmail exits 75 (EX_TEMPFAIL) with a message on stderr and
#    leaves nothing;
#  - the listener answers MAIL 452 4.3.1 while free space is under
#    queue_minfree (or 1.5 x max_message_size, or that plus SIZE=),
#    says so once in the log, and takes mail again when there is room;
#  - a disk that fills up during DATA gets 452 (or 451) at the final
#    dot, never 250 or 5xx, and nothing half-written; the session goes
#    on (RSET, QUIT);
# then space is freed and the relay comes back: every queued message is
# delivered and new submissions through both doors succeed.
# shellcheck disable=SC2016,SC2317  # conditions are code for wait_for (and call qempty)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/listen.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (a tmpfs queue in a private mount namespace)"; exit 0; }
command -v nsenter >/dev/null 2>&1 || { echo "1..0 # SKIP no nsenter (util-linux)"; exit 0; }
ternd_sandbox_init
mount_ns_works || skip_all "cannot make tmpfs mounts in a private mount namespace here"

# ---------------------------------------------------------------- namespace

# A process holding a private mount namespace in which queue_dir is a
# 4 MB tmpfs of the daemon's user; everything that touches the queue
# enters it.
mkdir -p "$QUEUE_DIR"
give "$QUEUE_DIR"
"${_SB_UNSHARE[@]}" sh -c 'mount -t tmpfs -o "size=4m,mode=0700,uid=$2,gid=$3" tmpfs "$1" &&
	: >"$4" && exec sleep 600' _ "$QUEUE_DIR" "$TUID" "$TGID" "$SANDBOX/ns.ready" &
NS_PID=$!
_sb_pids+=("$NS_PID")
wait_for '[ -e "$SANDBOX/ns.ready" ] || ! kill -0 $NS_PID 2>/dev/null' 10
[ -e "$SANDBOX/ns.ready" ] || bail_out "the mount namespace holder did not start"
IN_NS=(nsenter "--mount=/proc/$NS_PID/ns/mnt")
AS_USER=("${IN_NS[@]}" "${AS_USER[@]}")

# ns COMMAND...: run in the namespace as root.
ns() { "${IN_NS[@]}" "$@"; }

# fill: the tmpfs filled to its last byte; unfill: space again;
# fill_leave KB: filled up to about KB kilobytes free.
fill() { ns dd if=/dev/zero of="$QUEUE_DIR/fill" bs=4k 2>/dev/null; ns sync; }
unfill() { ns rm -f "$QUEUE_DIR/fill"; }
avail_kb() { ns df -k --output=avail "$QUEUE_DIR" | tail -n 1 | tr -d ' '; }
fill_leave()
{
	unfill
	ns dd if=/dev/zero of="$QUEUE_DIR/fill" bs=4k \
		count=$(( ($(avail_kb) - $1) / 4 )) 2>/dev/null
}

# In-namespace views of the queue (the host sees the empty directory).
qcount() { ns find "$QUEUE_DIR/$1" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l | tr -d ' '; }
qtmp() { ns find "$QUEUE_DIR" -name 'tmp.*' 2>/dev/null; }
qlist() { ns sh -c "cd '$QUEUE_DIR' && ls -la maildrop incoming active deferred hold data corrupt" 2>&1; }
qempty()
{
	local q
	for q in maildrop incoming active deferred hold data; do
		[ "$(qcount "$q")" = 0 ] || return 1
	done
	return 0
}
# Messages queued: maildrop, incoming, active, deferred.
qmsgs() { echo $(( $(qcount maildrop) + $(qcount incoming) + $(qcount active) + $(qcount deferred) )); }

# smtp_msg SUBJECT: a whole transaction on the listener, then RSET and
# QUIT; OUT holds the replies.
smtp_msg()
{
	chat "$LP" "<" ">EHLO client.example.net" "<" \
		">MAIL FROM:<smtp@example.org>" "<" ">RCPT TO:<rcpt@example.com>" "<" \
		">DATA" "<" "=Subject: $1\r\n\r\nbody of $1\r\n.\r\n" "<" \
		">RSET" "<" ">QUIT" "<"
}

# smtp_mail [PARAM]: EHLO and a MAIL (with PARAM), then QUIT; MAILR
# holds the reply to MAIL.
smtp_mail()
{
	chat "$LP" "<" ">EHLO client.example.net" "<" \
		">MAIL FROM:<smtp@example.org>${1:+ $1}" "<" ">QUIT" "<"
	MAILR=$(printf '%s\n' "$OUT" | sed -n '/^250 [^-]/{n;p;q}')
}

peer_start main
P=${PEER_PORT[main]}
LP=$(free_port)
# queue_minfree 1M is over 1.5 x max_message_size (384K): it rules.
ternd_config "max_message_size = 256K" "queue_minfree = 1M" \
	"$(relay main "$P" "tls = none")" "$(listen_section in "$LP")"
ok "ternd starts on the tmpfs queue" ternd_start || bail_out "ternd does not start"
diag "queue tmpfs: $(avail_kb) KB free"

tsm_ok "" $'Subject: before 1\n\nbody\n' -i -f sm@example.org rcpt@example.com
smtp_msg "before 2"
like "$OUT" "250 2\.0\.0 Ok: queued as" "the listener queues a message"
ok "both are delivered" wait_for 'peer_find main "^Subject: before 1$" >/dev/null && peer_find main "^Subject: before 2$" >/dev/null' 10

# ---------------------------------------------------------------- mail queued

# The relay goes away: these stay queued, deferred.
peer_stop main
log_mark
for i in 1 2 3; do
	tsm_ok "" "Subject: deferred sm $i"$'\n\nbody\n' -i -f sm@example.org rcpt@example.com
	smtp_msg "deferred smtp $i"
	like "$OUT" "250 2\.0\.0 Ok: queued as" "deferred smtp $i is queued"
done
ok "the six are deferred (the relay is down)" \
	wait_for '[ "$(log_count "status=deferred" new)" -ge 6 ]' 15
ternd_stop
is "$TERND_RC" 0 "ternd stops"
for i in 1 2; do
	tsm_ok "" "Subject: maildrop $i"$'\n\nbody\n' -i -f sm@example.org rcpt@example.com
done
is "$(qcount maildrop)" 2 "two more wait in maildrop while ternd is stopped"

# ---------------------------------------------------------------- full

fill
is "$(avail_kb)" 0 "the queue filesystem is full"
before=$(qmsgs)
log_mark
ok "ternd starts on a full queue filesystem" ternd_start
if ! ternd_alive; then
	diag "$(log_tail 20)"
	bail_out "ternd does not run on a full disk"
fi

tsm $'Subject: full sm\n\nbody\n' -i -f sm@example.org rcpt@example.com
is "$RC" 75 "sendmail on a full disk exits 75 (EX_TEMPFAIL)"
like "$ERR" "space" "sendmail says why (no space)"

smtp_mail
is "$MAILR" "452 4.3.1 Insufficient system storage" "the listener answers MAIL 452 4.3.1 on a full disk"
like "$(printf '%s\n' "$OUT" | tail -n 1)" '^221 ' "the session goes on: QUIT 221"
smtp_mail "SIZE=1000"
is "$MAILR" "452 4.3.1 Insufficient system storage" "  and with SIZE=1000"
is "$(log_count 'queue file system low on space' new)" 1 "the log says the queue is low on space, once"
is "$(log_count 'NOQUEUE: reject: MAIL from .*: 452 4\.3\.1 Insufficient system storage' new)" 2 "each refused MAIL has its NOQUEUE line"

# Retries (retry_min 1s, retry_max 2s) and pickup run against the full
# disk for a while.  ternd must neither die nor spin.
pstat() { awk '{ print $14 + $15 }' "/proc/$TERND_PID/stat" 2>/dev/null; }
lines0=$(wc -l <"$TLOG")
cpu0=$(pstat)
t0=$(date +%s%N)
sleep 4
cpu1=$(pstat)
t1=$(date +%s%N)
lines1=$(wc -l <"$TLOG")
ok "ternd is still running on the full disk" ternd_alive
tck=$(getconf CLK_TCK)
cpu_ms=$(( (${cpu1:-0} - ${cpu0:-0}) * 1000 / tck ))
wall_ms=$(( (t1 - t0) / 1000000 ))
diag "on the full disk: ternd (CPU ticks since start: $cpu1) used $cpu_ms ms of CPU in $wall_ms ms and wrote $((lines1 - lines0)) log lines"
ok "ternd does not spin (CPU $cpu_ms ms in $wall_ms ms: under a quarter)" \
	test -n "$cpu0" -a -n "$cpu1" -a $((cpu_ms * 4)) -lt "$wall_ms"
ok "nor floods the log (fewer than 200 lines in 4 s)" [ $((lines1 - lines0)) -lt 200 ]
diag "what ternd said:" "$(log_new | sed -E 's/^.* tern\/ternd\[[0-9]+\]: //' | sort | uniq -c | sort -rn | head -n 12)"
is "$(qtmp)" "" "no tmp. file anywhere in the queue"
is "$(qcount corrupt)" 0 "nothing moved to corrupt/"
is "$(qcount data)" "$(( $(qcount incoming) + $(qcount active) + $(qcount deferred) ))" \
	"no data file without its envelope (nothing half-written by the listener)"
is "$(qmsgs)" "$before" "every queued message is still there ($before)"
is "$(log_count 'AddressSanitizer|runtime error|LeakSanitizer')" 0 "no sanitizer report"

# ---------------------------------------------------------------- low, not full

# Under queue_minfree but far from full: MAIL waits, and takes mail again
# as soon as there is room; SIZE= counts on top of queue_minfree.
fill_leave 700
diag "queue tmpfs: $(avail_kb) KB free"
smtp_mail
is "$MAILR" "452 4.3.1 Insufficient system storage" "under queue_minfree (1M), 700K free: MAIL 452 4.3.1"
log_mark
fill_leave 1150
diag "queue tmpfs: $(avail_kb) KB free"
smtp_mail
is "$MAILR" "250 2.1.0 Ok" "1150K free, over queue_minfree: MAIL 250"
is "$(log_count 'queue file system has room again' new)" 1 "the log says there is room again"
smtp_mail "SIZE=50000"
is "$MAILR" "250 2.1.0 Ok" "SIZE=50000 with 1150K free: 250"
smtp_mail "SIZE=200000"
is "$MAILR" "452 4.3.1 Insufficient system storage" "SIZE=200000 with 1150K free (under queue_minfree 1M + SIZE): 452 4.3.1"
is "$(log_count 'queue file system low on space' new)" 0 "  (a SIZE too large for the room left is not a low-space episode)"

# The disk fills up between MAIL and the final dot.
log_mark
( chat "$LP" "<" ">EHLO client.example.net" "<" \
	">MAIL FROM:<smtp@example.org>" "<" ">RCPT TO:<rcpt@example.com>" "<" \
	">DATA" "<" sleep:3 "=Subject: filled during data\r\n\r\nbody\r\n.\r\n" "<" \
	">RSET" "<" ">QUIT" "<"
  printf '%s\n' "$OUT" >"$SANDBOX/data.out" ) &
chat_pid=$!
sleep 1
fill
wait "$chat_pid"
OUT=$(cat "$SANDBOX/data.out")
diag "the disk filled during DATA:" "$OUT"
like "$OUT" $'(^|\n)250 2\\.1\\.0 Ok' "MAIL was taken (there was room)"
final=$(printf '%s\n' "$OUT" | sed -n '/^354 /{n;p;q}')
like "$final" "^45[12] " "the listener answers the final dot 452/451"
like "$final" "^452 4\.3\.1 " "  (452 4.3.1, insufficient storage)"
unlike "$OUT" $'(^|\n)(5[0-9][0-9]|250 2\\.0\\.0 Ok: queued)' "no 5xx and no 'queued' reply"
like "$(printf '%s\n' "$OUT" | tail -n 2)" $'^250 [^\n]*\n221 ' "the session goes on: RSET 250, QUIT 221"
is "$(qtmp)" "" "no tmp. file left by it"
is "$(qcount data)" "$(( $(qcount incoming) + $(qcount active) + $(qcount deferred) ))" \
	"no data file without its envelope"

# ---------------------------------------------------------------- space again

unfill
peer_start main --port "$P"
log_mark
tern_as flush
is "$RC" 0 "tern flush after space is freed"
six='k=0; for s in "deferred sm 1" "deferred sm 2" "deferred sm 3" "deferred smtp 1" "deferred smtp 2" "deferred smtp 3"; do peer_find main "^Subject: $s\$" >/dev/null && k=$((k + 1)); done; [ $k = 6 ]'
if ok "the deferred messages are delivered" wait_for "$six" 20; then :; else
	diag "$(qlist)" "$(log_tail 15)"
fi

# A new submission wakes pickup, which takes the two left in maildrop
# too (without it, its scan every 30 s would).
tsm_ok "sendmail works again" $'Subject: after sm\n\nbody\n' -i -f sm@example.org rcpt@example.com
smtp_msg "after smtp"
like "$OUT" "250 2\.0\.0 Ok: queued as" "the listener queues again"
four='k=0; for s in "after sm" "after smtp" "maildrop 1" "maildrop 2"; do peer_find main "^Subject: $s\$" >/dev/null && k=$((k + 1)); done; [ $k = 4 ]'
if ok "they and the two from maildrop are delivered" wait_for "$four" 20; then :; else
	diag "$(qlist)" "$(log_tail 15)"
fi
is "$(peer_find_all main "^Subject: (full sm|filled during data)$")" "" "the refused ones were not delivered"
ok "the queue empties" wait_for qempty 10
is "$(qtmp)" "" "no tmp. file left"
is "$(qcount corrupt)" 0 "nothing in corrupt/"
ternd_stop
is "$TERND_RC" 0 "ternd stops cleanly"
done_testing
