#!/bin/bash
# crash_safety: nothing is lost when ternd dies.  CRASH_N messages
# (default 600 in the suite; "make check-crash" runs the full 5,000) go
# in through sendmail (parallel submitters) and through the SMTP
# listener (test/lib/smtp_submit.py, which sends a message again until it
# is acknowledged), while ternd delivers to a relay slow to confirm
# each message (test/lib/ternd_peer.py --slow-dot: stored first, 250
# later).  Meanwhile ternd is killed with SIGKILL CRASH_KILLS (20) times
# at random moments and started again each time.  Then it drains, and:
#  - every message arrived at the relay at least once, whole;
#  - duplicates (reported) number at most kills x max_connections (the
#    deliveries in flight at a kill) plus the listener's messages whose
#    session broke after DATA (the client sent those again);
#  - the queue is empty: no tmp. file, nothing in corrupt/;
#  - every sendmail exited 0 and every SMTP message got its 250.
# sendmail itself is also killed (SIGKILL) mid-submission CRASH_SM_KILLS
# (6) times: each such message arrives whole or not at all, one that
# exited 0 arrives, and a killed one leaves at most its own tmp. file in
# maildrop (removed by ternd after a day), never a queue file.
# The random moments come from CRASH_SEED (printed), to replay a run.
# shellcheck disable=SC2016  # conditions are code for wait_for
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/listen.sh"

N=${CRASH_N:-600}
KILLS=${CRASH_KILLS:-20}
SM_KILLS=${CRASH_SM_KILLS:-6}
SEED=${CRASH_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED
MAXCONN=4
# Submission is spread over about this many seconds, the kills over
# about as long, and the relay confirms slowly enough that deliveries
# are still under way when the last kill comes.
WINDOW=20
PEER_LIFETIME=900
RUN_TIMEOUT=120

ternd_sandbox_init
SMTP_SUBMIT=$top_srcdir/test/lib/smtp_submit.py
diag "CRASH_N=$N CRASH_KILLS=$KILLS CRASH_SM_KILLS=$SM_KILLS CRASH_SEED=$SEED"

NSM=$((N / 2))          # through sendmail
NSMTP=$((N - NSM))      # through the listener
W=2                     # submitters of each kind
slow=$(awk -v c=$MAXCONN -v w=$WINDOW -v n="$N" \
	'BEGIN { s = c * w / n; if (s > 0.2) s = 0.2; printf "%.3f", s }')
peer_start main --slow-dot "$slow" --sessions-file "$SANDBOX/sessions"
LP=$(free_port)
ternd_config "$(relay main "${PEER_PORT[main]}" "tls = none" \
	"max_connections = $MAXCONN")" "$(listen_section in "$LP")"
ok "ternd starts" ternd_start || bail_out "ternd does not start"
diag "the relay answers each final dot after $slow s"

# ---------------------------------------------------------------- submitters

# crash_msg TAG K: message K of TAG (as smtp_submit.py makes them).
crash_msg()
{
	local i
	printf 'Subject: crash %s-%d\n\nbody of %s-%d\n' "$1" "$2" "$1" "$2"
	for ((i = 0; i < 20; i++)); do printf 'line %d of %s-%d\n' "$i" "$1" "$2"; done
	printf 'end of %s-%d\n' "$1" "$2"
}

# sm_worker FIRST COUNT INTERVAL OUT: sendmail for messages FIRST...,
# writing "K EXIT" lines to OUT.
sm_worker()
{
	local k end=$((SECONDS + 300))
	for ((k = $1; k < $1 + $2 && SECONDS < end; k++)); do
		crash_msg sm "$k" >"$SANDBOX/sm.$k.in"
		timeout -k 5 60 "${AS_USER[@]}" "$SENDMAIL" -i -f sm@example.org \
			sink@example.com <"$SANDBOX/sm.$k.in" 2>>"$SANDBOX/sm.err"
		echo "$k $?" >>"$4"
		rm -f "$SANDBOX/sm.$k.in"
		sleep "$3"
	done
}

per_sm=$(( (NSM + W - 1) / W ))
per_smtp=$(( (NSMTP + W - 1) / W ))
iv_sm=$(awk -v w=$WINDOW -v n=$per_sm 'BEGIN { printf "%.3f", w / n }')
iv_smtp=$(awk -v w=$WINDOW -v n=$per_smtp 'BEGIN { printf "%.3f", w / n }')
: >"$SANDBOX/sm.results"
: >"$SANDBOX/smtp.results"
workers=()
for ((w = 0; w < W; w++)); do
	first=$((w * per_sm + 1))
	count=$(( NSM - w * per_sm < per_sm ? NSM - w * per_sm : per_sm ))
	sm_worker "$first" "$count" "$iv_sm" "$SANDBOX/sm.results" &
	workers+=("$!")
	_sb_pids+=("$!")
	first=$((w * per_smtp + 1))
	count=$(( NSMTP - w * per_smtp < per_smtp ? NSMTP - w * per_smtp : per_smtp ))
	"$PYTHON" "$SMTP_SUBMIT" --port "$LP" --prefix smtp --first "$first" \
		--count "$count" --interval "$iv_smtp" --deadline 400 \
		--out "$SANDBOX/smtp.results" 2>>"$SANDBOX/smtp.err" &
	workers+=("$!")
	_sb_pids+=("$!")
done

# ---------------------------------------------------------------- kills

# subjects FILE DIR...: the "TAG-K" of every crash message in DIR...
# (tmp. files left out), sorted, into FILE.
subjects()
{
	local out=$1
	shift
	grep -r -h -a -m 1 --exclude='tmp.*' '^Subject: crash ' "$@" 2>/dev/null |
		tr -d '\r' | sed 's/^Subject: crash //' | sort -u >"$out"
}

# After each kill, with ternd dead (the queue cannot change), what is
# queued (q.I) and what the relay holds (p.I, a moment later: a final
# dot sent just before the kill is stored by then).  A message in both
# was in flight at kill I: delivered, or being delivered, and not yet
# removed from the queue.  Only such a message may arrive twice.
t0=$SECONDS
started_ok=0
for ((i = 1; i <= KILLS; i++)); do
	# 0.2 to 1.4 s, in tenths.
	sleep "$(awk -v r=$((RANDOM % 13)) 'BEGIN { printf "%.1f", 0.2 + r / 10 }')"
	ternd_kill9
	subjects "$SANDBOX/q.$i" "$QUEUE_DIR"/{maildrop,incoming,active,deferred,data}
	sleep 0.2
	subjects "$SANDBOX/p.$i" "${PEER_MD[main]}"
	comm -12 "$SANDBOX/q.$i" "$SANDBOX/p.$i" >"$SANDBOX/f.$i"
	ternd_start && started_ok=$((started_ok + 1))
done
is "$started_ok" "$KILLS" "ternd started again after each of the $KILLS SIGKILLs"
diag "$KILLS kills in $((SECONDS - t0)) s"
inflight_sum=0 inflight_max=0 inflight_each=
for ((i = 1; i <= KILLS; i++)); do
	n=$(wc -l <"$SANDBOX/f.$i" | tr -d ' ')
	inflight_sum=$((inflight_sum + n))
	[ "$n" -gt "$inflight_max" ] && inflight_max=$n
	inflight_each="$inflight_each $n"
done
sort -u "$SANDBOX"/f.* >"$SANDBOX/inflight"
diag "in flight at each kill (delivered or being delivered, still queued):$inflight_each"

# ---------------------------------------------------------------- sendmail killed

# Each: sendmail reads its message slowly (two pauses) and is killed
# at a random moment, sometimes after it finished.
: >"$SANDBOX/smkill.results"
for ((j = 1; j <= SM_KILLS; j++)); do
	{
		crash_msg kill "$j" | head -n 3
		sleep 0.2
		crash_msg kill "$j" | sed -n '4,10p'
		sleep 0.2
		crash_msg kill "$j" | tail -n +11
	} | "${AS_USER[@]}" "$SENDMAIL" -i -f kill@example.org sink@example.com \
		2>/dev/null &
	pid=$!
	sleep "0.$((RANDOM % 6))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	echo "$j $? $(printf '%06X' $((pid & 0xFFFFFF)))" >>"$SANDBOX/smkill.results"
done
killed=$(awk '$2 != 0' "$SANDBOX/smkill.results" | wc -l)
diag "sendmail killed mid-submission $killed of $SM_KILLS times (the others had finished)"

# ---------------------------------------------------------------- drain

for pid in "${workers[@]}"; do wait "$pid"; done
diag "submission ended $((SECONDS - t0)) s after the first kill"

# arrivals: "COUNT TAG-K" per message the relay got, in $SANDBOX/arrivals.
arrivals()
{
	find "${PEER_MD[main]}" -maxdepth 1 -name '*.msg' -print0 |
		xargs -0 -r grep -h -a -m 1 '^Subject: crash ' | tr -d '\r' |
		sed 's/^Subject: crash //' | sort | uniq -c |
		awk '{ print $1, $2 }' >"$SANDBOX/arrivals"
}

# The messages that must arrive: every sm-K and smtp-K, and the kill-J
# whose sendmail exited 0.
{
	for ((k = 1; k <= NSM; k++)); do echo "sm-$k"; done
	for ((k = 1; k <= NSMTP; k++)); do echo "smtp-$k"; done
	awk '$2 == 0 { print "kill-" $1 }' "$SANDBOX/smkill.results"
} | sort >"$SANDBOX/expected"
nexp=$(wc -l <"$SANDBOX/expected")

all_arrived()
{
	arrivals
	[ -z "$(awk '{ print $2 }' "$SANDBOX/arrivals" |
		comm -23 "$SANDBOX/expected" -)" ]
}
t1=$SECONDS
for ((i = 0; i < 300; i++)); do
	all_arrived && break
	sleep 1
done
diag "drained $((SECONDS - t1)) s after submission ended"
ok "ternd is still running" ternd_alive
ok "the queue empties" wait_for queue_is_empty 30

is "$(awk '$2 != 0' "$SANDBOX/sm.results" | head -n 5)" "" \
	"every sendmail submission exited 0"
is "$(wc -l <"$SANDBOX/sm.results" | tr -d ' ')" "$NSM" "$NSM sendmail submissions ran"
[ -s "$SANDBOX/sm.err" ] && diag "sendmail stderr:" "$(sort "$SANDBOX/sm.err" | uniq -c | head -n 10)"
is "$(grep -c '^ack ' "$SANDBOX/smtp.results")" "$NSMTP" \
	"every SMTP message was acknowledged ($NSMTP)"
uncertain=$(grep -c '^uncertain ' "$SANDBOX/smtp.results")
diag "SMTP: $(grep -c '^fail ' "$SANDBOX/smtp.results") 4xx/5xx replies, $uncertain sessions broken after DATA"
grep '^fail ' "$SANDBOX/smtp.results" | sed 's/^fail [0-9]* //' | sort | uniq -c | head -n 5 |
	while IFS= read -r l; do diag "  $l"; done
is "$(grep '^fail [0-9]* 5' "$SANDBOX/smtp.results" | head -n 3)" "" \
	"the listener never answered 5xx"

missing=$(awk '{ print $2 }' "$SANDBOX/arrivals" | comm -23 "$SANDBOX/expected" - | head -n 20)
is "$missing" "" "every one of the $nexp messages arrived at least once"

total=$(find "${PEER_MD[main]}" -maxdepth 1 -name '*.msg' | wc -l | tr -d ' ')
distinct=$(wc -l <"$SANDBOX/arrivals" | tr -d ' ')
dups=$((total - distinct))
maxsess=$(sed -n 's/^max //p' "$SANDBOX/sessions" 2>/dev/null)
diag "$total deliveries of $distinct messages: $dups duplicates" \
	"(sessions open at once at the relay, at most: ${maxsess:-?})"
diag "duplicated: $(awk '$1 > 1 { printf "%s(%d) ", $2, $1 }' "$SANDBOX/arrivals" | head -c 600)"
# The client's own resends (its session broke after DATA) may be
# duplicates too.
grep '^uncertain ' "$SANDBOX/smtp.results" | awk '{ print "smtp-" $2 }' |
	sort -u >"$SANDBOX/resent"
sort -u "$SANDBOX/inflight" "$SANDBOX/resent" >"$SANDBOX/may-repeat"
is "$(awk '$1 > 1 { print $2 }' "$SANDBOX/arrivals" | sort |
	comm -23 - "$SANDBOX/may-repeat" | head -n 10)" "" \
	"only messages in flight at a kill (or resent by the client) arrived twice"
bound=$((inflight_sum + uncertain))
ok "duplicates ($dups) <= those in flight at the kills ($inflight_sum; at most $inflight_max at one, $KILLS kills) + $uncertain resent by the client" \
	[ "$dups" -le "$bound" ]
# A session takes its next message as soon as the relay says 250; the
# one it sent is removed by the queue's worker thread a moment later,
# so a kill may find two messages per session in flight.
diag "at most $inflight_max in flight at one kill ($MAXCONN sessions)"

# Whole messages only: each file ends with its "end of" line.
half=$(find "${PEER_MD[main]}" -maxdepth 1 -name '*.msg' -print0 |
	xargs -0 -r grep -L -a '^end of ' | head -n 5)
is "$half" "" "every message delivered is whole"

# The killed sendmails: whole or absent.
smk_ok=1
while read -r j rc _; do
	n=$(awk -v m="kill-$j" '$2 == m { print $1 }' "$SANDBOX/arrivals")
	diag "sendmail kill-$j: exit $rc, arrived ${n:-0} times"
	if [ "$rc" = 0 ] && [ -z "$n" ]; then
		smk_ok=0
		diag "kill-$j exited 0 but never arrived"
	fi
	[ "${n:-0}" -gt 1 ] && { smk_ok=0; diag "kill-$j arrived $n times"; }
done <"$SANDBOX/smkill.results"
is "$smk_ok" 1 "a killed sendmail's message arrived once or not at all; one that exited 0 arrived"

# What is left: only tmp. files of the killed sendmails, in maildrop.
leftover=$(cd "$QUEUE_DIR" && find maildrop incoming active deferred hold data corrupt \
	-mindepth 1 2>/dev/null | sort)
stray=
for f in $leftover; do
	case $f in
	maildrop/tmp.*)
		grep -q " ${f: -6}\$" "$SANDBOX/smkill.results" && continue ;;
	esac
	stray="$stray $f"
done
is "$stray" "" "nothing left in the queue (no tmp. file but a killed sendmail's, nothing in corrupt/)"
diag "killed sendmails left $(echo "$leftover" | grep -c 'maildrop/tmp\.') tmp. files in maildrop"
is "$(find "$QUEUE_DIR" -name 'tmp.*' ! -path '*/maildrop/*' | head -n 3)" "" \
	"no tmp. file outside maildrop"
is "$(log_count 'corrupt|panic|fatal|AddressSanitizer|runtime error')" 0 \
	"the log reports nothing corrupt, no panic, no sanitizer error"

# The same, made certain: files a killed ternd was writing (tmp. in
# incoming/, deferred/ and data/) are removed when it starts again; a
# submission in progress in maildrop (sendmail's tmp.) is not.
ternd_kill9
id=$(printf '%013X%06X' "$(date +%s%6N)" 1)
for d in incoming deferred data maildrop; do
	printf 'version: 1\nsender: half\n' >"$QUEUE_DIR/$d/tmp.$id"
	give "$QUEUE_DIR/$d/tmp.$id"
done
log_mark
ok "ternd starts after a kill with half-written files" ternd_start
is "$(find "$QUEUE_DIR"/{incoming,deferred,data} -name 'tmp.*' | wc -l | tr -d ' ')" 0 \
	"its half-written files are removed at start"
ok "and it says so" log_has "removed 3 unfinished queue files \(tmp\.\*\)" new
ok "a sendmail's tmp. file in maildrop is left alone" [ -e "$QUEUE_DIR/maildrop/tmp.$id" ]
rm -f "$QUEUE_DIR/maildrop/tmp.$id"

ternd_stop 10
is "$TERND_RC" 0 "ternd stops cleanly at the end"
diag "run time $SECONDS s"
done_testing
