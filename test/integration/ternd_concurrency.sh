#!/bin/bash
# ternd_concurrency: max_connections bounds the sessions a relay gets at
# once; the messages beyond them wait for a free session, and all are
# delivered once.
# shellcheck disable=SC2016  # conditions are code for wait_for
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"

ternd_sandbox_init

peer_start one
P=${PEER_PORT[one]}
ternd_config "$(relay one "$P" "tls = none" "max_connections = 1")"
tsm_par 12 "Subject: one session %N

message %N
" -i -f alice@example.org bob@example.com
is "$PAR_FAILED" 0 "12 messages queued while ternd is down"
ok "ternd starts" ternd_start
ok "all 12 reach the relay" \
	wait_for '[ "$(peer_count one)" -eq 12 ] && queue_is_empty' 20
is "$(peer_count one)" 12 "each exactly once"
is "$(peer_sessions one)" 1 "through a single session (max_connections = 1)"
ternd_stop

peer_start four
P=${PEER_PORT[four]}
ternd_config "$(relay four "$P" "tls = none" "max_connections = 3")"
tsm_par 24 "Subject: three sessions %N

message %N
" -i -f alice@example.org bob@example.com
is "$PAR_FAILED" 0 "24 messages queued while ternd is down"
ok "ternd starts again" ternd_start
ok "all 24 reach the relay" \
	wait_for '[ "$(peer_count four)" -eq 24 ] && queue_is_empty' 20
n=$(peer_sessions four)
ok "at most 3 sessions for 24 messages (got $n)" test "$n" -ge 1 -a "$n" -le 3
ternd_stop
done_testing
