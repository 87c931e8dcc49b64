#!/bin/bash
# tern_queue: queue control — tern queue, show, delete, hold, release,
# flush and stats, with ternd down (tern works on the queue's files)
# and up (over ternd's control socket), and safe while ternd delivers:
#
#  - daemon down: every command on the files; stats and flush say ternd
#    is not running (exit 69);
#  - daemon up: the same commands through the socket; the socket and its
#    directory admit only root and run_user's group (and ternd checks
#    the peer's credentials even when the modes would let others in);
#  - hold while the message's delivery is under way (a relay slow to
#    confirm the data): recipients delivered by that attempt stay
#    delivered, the rest wait in hold/, nothing is sent again until
#    release; delete while in flight: gone afterwards, never twice;
#  - stats: counters of received, sent, deferred, bounced, per relay.
# shellcheck disable=SC2016  # conditions are code for wait_for
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"

ternd_sandbox_init
plan 85

[ -x "$PYTHON" ] || bail_out "no $PYTHON"

# send SUBJECT RCPT...
send()
{
	local subj=$1 to
	shift
	to=$(printf '%s, ' "$@")
	tsm_ok "" "From: sender@example.org
To: ${to%, }
Subject: $subj

$subj
" -i -f sender@example.org "$@"
}

# id_of SUBJECT-RCPT: the queue ID of the message to that recipient
# (from tern queue --json, as the daemon's user).
id_of()
{
	tern_as queue --json
	"$PYTHON" -c 'import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if any(r["address"] == sys.argv[2] for r in o["recipients"]):
        print(o["id"])' "$SANDBOX/stdout" "$1"
}

# jq_py EXPR: evaluate EXPR over the JSON lines of the last stdout (a
# list L of objects).
jq_py()
{
	"$PYTHON" -c 'import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(eval(sys.argv[2]))' "$SANDBOX/stdout" "$1" 2>&1
}

in_queue() { [ -e "$QUEUE_DIR/$1/$2" ]; }

# ---------------------------------------------------------------- daemon down

# A relay nobody listens on: the messages are picked up and deferred.
DEAD=$(free_port)
RETRY_MIN=60s RETRY_MAX=120s ternd_config "$(relay dead "$DEAD" "tls = none")"
for n in 1 2 3; do send "down $n" "d$n@example.com"; done
ok "ternd starts" ternd_start
ok "three messages deferred" wait_for '[ "$(queue_count deferred)" = 3 ]' 10
ternd_stop
is "$(queue_count control)" 0 "ternd removes its control socket when it stops"
id1=$(id_of d1@example.com)
id2=$(id_of d2@example.com)
id3=$(id_of d3@example.com)

tern_as queue
is "$RC" 0 "down: tern queue exits 0"
like "$OUT" "^$id1 deferred .*<sender@example\\.org> -> <d1@example\\.com> \\(" \
	"down: tern queue lists a deferred message with its last error"
tern_as queue --json
is "$(jq_py '",".join(o["state"] for o in L)')" "deferred,deferred,deferred" \
	"down: tern queue --json: states"
is "$(jq_py 'sorted(L[0].keys())')" \
	"['arrival', 'arrival_time', 'attempts', 'id', 'last_error', 'next_attempt', 'recipients', 'sender', 'size', 'state']" \
	"down: tern queue --json: the keys of a message"
is "$(jq_py 'type(L[0]["next_attempt"]).__name__ + " " + L[0]["recipients"][0]["state"]')" \
	"int deferred" "down: next_attempt is a time, the recipient is deferred"

tern_as show "$id1"
is "$RC" 0 "down: tern show exits 0"
like "$OUT" "sender: +<sender@example\\.org>" "down: show names the sender"
like "$OUT" "recipient: +<d1@example\\.com> deferred \\(" "down: show: recipient, state, last reason"
like "$OUT" $'\nSubject: down 1\n' "down: show prints the header section"
unlike "$OUT" $'\ndown 1\n' "down: show does not print the body"
tern_as show "$id1" --json
is "$(jq_py 'L[0]["id"] + " " + str("Subject: down 1" in L[0]["headers"])')" "$id1 True" \
	"down: show --json: the id and the headers"
tern_as show 0000000000000000000
is "$RC" 66 "down: show of an ID not queued exits 66"
tern_as show nonsense
is "$RC" 64 "down: show of a malformed ID exits 64"

tern_as hold "$id1"
is "$RC/$OUT" "0/$id1: held" "down: hold"
ok "down: the envelope is in hold/" in_queue hold "$id1"
tern_as hold "$id1"
like "$RC/$OUT" "^0/$id1: already held" "down: hold of a held message says so"
tern_as queue --json
is "$(jq_py '[o["state"] for o in L if o["id"] == "'"$id1"'"][0]')" hold \
	"down: tern queue shows it as hold"
tern_as release "$id1"
is "$RC/$OUT" "0/$id1: released" "down: release"
ok "down: released into incoming/ (due at the next start)" in_queue incoming "$id1"
tern_as delete "$id2"
is "$RC/$OUT" "0/$id2: deleted" "down: delete"
ok "down: both files of the deleted message are gone" \
	eval '! in_queue deferred "$id2" && ! in_queue data "$id2"'
tern_as delete "$id2"
is "$RC" 66 "down: delete of an ID no longer queued exits 66"
tern_as stats
is "$RC" 69 "down: tern stats exits 69"
like "$ERR" "ternd is not running" "down: stats says ternd is not running"
tern_as flush
is "$RC" 69 "down: tern flush exits 69 (as before)"

# ---------------------------------------------------------------- daemon up

ok "ternd starts again" ternd_start
ok "the control socket is there" test -S "$QUEUE_DIR/control/socket"
is "$(stat -c %a "$QUEUE_DIR/control")/$(stat -c %a "$QUEUE_DIR/control/socket")" \
	"750/660" "control/ is 0750, the socket 0660"
ok "the released message is tried again" wait_for \
	'[ "$(queue_count deferred)" = 2 ] && [ "$(queue_count incoming)" = 0 ]' 10
tern_as queue --json
is "$(jq_py 'len(L)')" 2 "up: tern queue --json through ternd lists both messages"
tern_as hold "$id3"
is "$RC/$OUT" "0/$id3: held" "up: hold"
ok "up: the envelope moved to hold/" in_queue hold "$id3"
ok "up: logged" log_has "$id3: placed on hold"
tern_as show "$id3"
like "$RC/$OUT" $'^0/id: +'"$id3"$'\nstate: +hold\n.*\nSubject: down 3\n' "up: show through ternd"
tern_as show 0000000000000000000
is "$RC" 66 "up: show of an ID not queued exits 66"

# A relay that works now; flush sends what is deferred, not what is held.
peer_start main
ternd_stop
RETRY_MIN=60s RETRY_MAX=120s ternd_config "$(relay main "${PEER_PORT[main]}" "tls = none")"
ok "ternd starts with a working relay" ternd_start
tern_as flush
is "$RC" 0 "up: tern flush exits 0"
like "$OUT" "^flush: [0-9]+ messages scheduled" "up: flush says how many were scheduled"
ok "up: the deferred message is delivered" wait_for 'peer_find main "^Subject: down 1$" >/dev/null' 10
ok "up: the queue holds only the held one" wait_for \
	'[ "$(queue_count deferred)$(queue_count incoming)" = 00 ] && [ "$(queue_count hold)" = 1 ]' 10
is "$(peer_find_all main '^Subject: down 3$' | wc -l)" 0 "up: the held message was not sent"
tern_as release "$id3"
is "$RC/$OUT" "0/$id3: released" "up: release"
ok "up: the released message is delivered" wait_for 'peer_find main "^Subject: down 3$" >/dev/null' 10
ok "up: the queue empties" wait_for queue_is_empty 10
tern_as release "$id3"
is "$RC" 66 "up: release of a message that is gone exits 66"

tern_as stats --json
is "$RC" 0 "up: tern stats --json exits 0"
is "$(jq_py 'sorted(L[0].keys())')" \
	"['active', 'bounced', 'deferred', 'pid', 'received', 'relays', 'scheduled', 'sent', 'since']" \
	"up: stats --json: the keys"
is "$(jq_py '"%d %s" % (L[0]["sent"], [(r["name"], r["sent"]) for r in L[0]["relays"]])')" \
	"2 [('main', 2)]" "up: stats: two recipients sent, both through relay main"
tern_as stats
like "$OUT" $'sent: +2 recipients.*\nrelay main: sent 2, deferred 0, bounced 0' "up: stats as text"
send "counted" c@example.com
ok "a new message is delivered" wait_for 'peer_find main "^Subject: counted$" >/dev/null' 10
tern_as stats --json
is "$(jq_py 'L[0]["received"]')" 1 "up: stats: the message received since start is counted"

# ---------------------------------------------------------------- in flight

# A relay that stores the data at once and confirms it 3 s later, and
# refuses one recipient for now: the attempt delivers one recipient of
# two.
peer_start slow --slow-dot 3 --fault rcpt-451:stuck@example.com
ternd_stop
RETRY_MIN=60s RETRY_MAX=120s ternd_config "$(relay slow "${PEER_PORT[slow]}" "tls = none")"
ok "ternd starts with the slow relay" ternd_start
send "fly hold" h@example.com stuck@example.com
ok "hold: the relay has the data, its 250 still to come" wait_for '[ "$(peer_count slow)" -ge 1 ]' 10
idh=$(id_of h@example.com)
tern_as hold "$idh"
like "$RC/$OUT" "^0/$idh: in delivery: held when the attempt ends" "hold in flight: pending"
tern_as queue --json
is "$(jq_py '[(o["state"], o.get("pending")) for o in L if o["id"] == "'"$idh"'"]')" \
	"[('active', 'hold')]" "hold in flight: tern queue shows active, hold pending"
ok "hold in flight: held when the attempt ends" wait_for 'in_queue hold "$idh"' 15
ok "hold in flight: h@ was delivered by that attempt" log_has "to=<h@example.com>.*status=sent"
ok "hold in flight: the envelope keeps h@ as sent" \
	grep -q '^rcpt: h@example.com state=sent' "$QUEUE_DIR/hold/$idh"
tern_as flush
ok "hold in flight: nothing left elsewhere" \
	eval '! in_queue deferred "$idh" && ! in_queue incoming "$idh" && in_queue data "$idh"'
is "$(peer_count slow)" 1 "hold in flight: flushing sends nothing of a held message"
log_mark
tern_as release "$idh"
is "$RC/$OUT" "0/$idh: released" "hold in flight: release"
ok "released: the remaining recipient is tried again" \
	wait_for 'log_has "to=<stuck@example.com>.*status=deferred" new' 15
is "$(log_count 'to=<h@example.com>.*status=sent')" 1 "released: h@ is not sent again"
is "$(peer_count slow)" 1 "released: the relay has the message once"

send "fly delete" x@example.com stuck@example.com
ok "delete: the relay has the data, its 250 still to come" wait_for '[ "$(peer_count slow)" -ge 2 ]' 10
idx=$(id_of x@example.com)
log_mark
tern_as delete "$idx"
like "$RC/$OUT" "^0/$idx: in delivery: deleted when the attempt ends" "delete in flight: pending"
ok "delete in flight: removed when the attempt ends" wait_for 'log_has "$idx: removed" new' 15
ok "delete in flight: no file of it is left" eval \
	'! in_queue deferred "$idx" && ! in_queue incoming "$idx" && ! in_queue hold "$idx" && ! in_queue data "$idx"'
tern_as flush
tern_as delete "$idh"
is "$RC/$OUT" "0/$idh: deleted" "delete of a deferred message"
ok "the queue empties" wait_for queue_is_empty 10
is "$(peer_find_all slow '^Subject: fly delete$' | wc -l)" 1 "delete in flight: delivered once, never again"

send "all 1" a1@example.com stuck@example.com
send "all 2" a2@example.com stuck@example.com
ok "two more in the queue" wait_for '[ "$(peer_count slow)" -ge 4 ] && [ "$(queue_count deferred)" = 2 ]' 20
tern_as delete --all
is "$RC" 0 "delete --all exits 0"
is "$(grep -c ': deleted$' "$SANDBOX/stdout")" 2 "delete --all: one line per message"
ok "delete --all: the queue is empty" wait_for queue_is_empty 10

# ---------------------------------------------------------------- who may connect

if [ "$(id -u)" = 0 ]; then
	OTHER=(setpriv --reuid=54321 --regid=54321 --clear-groups)
	MEMBER=(setpriv --reuid=54321 --regid="$TGID" --clear-groups)
	# As make install leaves it: queue_dir may be entered by anyone.
	chmod 0755 "$QUEUE_DIR"
	run "${OTHER[@]}" "$TERN" stats </dev/null
	is "$RC" 77 "a user outside run_user's group cannot connect (exit 77)"
	like "$ERR" "only root and members of the group of" "and is told who may"
	run "${MEMBER[@]}" "$TERN" stats </dev/null
	is "$RC" 0 "a member of run_user's group may"
	run "$TERN" stats </dev/null
	is "$RC" 0 "root may"
	# The modes opened up by mistake: ternd still checks the peer.
	chmod 0755 "$QUEUE_DIR/control"
	chmod 0666 "$QUEUE_DIR/control/socket"
	run "${OTHER[@]}" "$TERN" queue </dev/null
	is "$RC" 77 "with open modes, ternd itself refuses the stranger (exit 77)"
	ok "and logs it" log_has "control: refused uid 54321"
else
	for t in 1 2 3 4 5 6; do skip "permissions $t" "needs root"; done
fi
ternd_stop
is "$TERND_RC" 0 "ternd stops cleanly"
done_testing
