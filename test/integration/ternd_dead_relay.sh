#!/bin/bash
# ternd_dead_relay: when the only relay is down, ternd does not make a
# connection per message (Postfix's "delivery temporarily suspended"):
# one message probes the cooling relay at a time, at most once per
# retry_min, and the rest wait.  Once the relay is back, tern flush
# delivers everything, each message exactly once.
# shellcheck disable=SC2016  # conditions are code for wait_for
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"

ternd_sandbox_init

# A port nobody listens on yet; the peer takes it later.
P=$(free_port)
RETRY_MIN=5s RETRY_MAX=10s ternd_config "$(relay dead "$P" "tls = none")"

tsm_par 30 "Subject: while the relay is down %N

message %N
" -i -f alice@example.org bob@example.com
is "$PAR_FAILED" 0 "30 messages queued"

ok "ternd starts" ternd_start
ok "the relay is found dead" wait_for 'log_has "relay dead .*not used until"' 10
sleep 3
tries=$(log_count "relay dead .*not used until")
# The first messages open the relay's first sessions (at most 4) before
# it is known to be dead; after that, one probe per retry_min (5 s).
ok "at most 5 connection attempts in ~3 s for 30 messages (got $tries)" \
	test "$tries" -le 5
ok "parallel failures are one outage: the cool-down stays at 60 s" \
	test "$(log_count "relay dead .*not used until (600|3600) s")" -eq 0
ok "the others are logged as suspended" \
	log_has "status=deferred \\(delivery temporarily suspended: relay dead is failing"
is "$(($(queue_count deferred) + $(queue_count incoming)))" 30 \
	"all 30 wait in the queue"

peer_start back --port "$P"
ok "tern flush" tern_as flush
ok "after the flush all 30 reach the relay, once each" \
	wait_for '[ "$(peer_count back)" -eq 30 ] && queue_is_empty' 20
ternd_stop
done_testing
