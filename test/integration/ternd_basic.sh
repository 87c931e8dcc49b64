#!/bin/bash
# ternd_basic: the daemon delivers what sendmail queued, through one
# relay (test/lib/smtp_peer.py on loopback).  Mail queued while ternd
# is down goes out once it starts, exactly once; mail queued while it
# runs goes out at once (trigger).  What the relay receives: the
# Received header with the queue ID, no Bcc, dots and 8-bit bytes
# intact with BODY=8BITMIME, aliases expanded (newaliases and SIGHUP
# reload them), local names qualified with origin.  The log lines have
# Postfix's shape.  Sessions are reused across messages.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"

ternd_sandbox_init
plan 50

peer_start main
P=${PEER_PORT[main]}
RELAY_RE="relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P"
ternd_config "$(relay main "$P" "tls = none")"

# ---------------------------------------------------------------- down, then up

tsm_par 5 "From: Alice <alice@example.org>
To: bob@example.com
Subject: queued while down %N

message %N
" -i -f alice@example.org bob@example.com
is "$PAR_FAILED" 0 "5 sendmail runs exit 0 while ternd is down"
is "$(count_queued)" 5 "5 messages wait in maildrop while ternd is down"

ok "ternd starts" ternd_start
ok "all 5 reach the relay" wait_for '[ "$(peer_count main)" -ge 5 ] && [ "$(log_count ": removed$")" -ge 5 ]' 10
sleep 0.5
is "$(peer_count main)" 5 "the relay received exactly 5 messages"
n=0
for i in 1 2 3 4 5; do
	c=$(peer_find_all main "^Subject: queued while down $i\$" | wc -l)
	[ "$c" = 1 ] && n=$((n + 1))
done
is "$n" 5 "each of the 5 arrived exactly once"
ok "the queue is empty afterwards" queue_is_empty

mapfile -t ids < <(log_ids_from alice@example.org)
is "${#ids[@]}" 5 "5 pickup lines: ID: uid=$TUID from=<alice@example.org>"
good=0
for id in "${ids[@]}"; do
	lines=$(log_lines "^.*: $id: ")
	want=$(printf '%s\n' \
		"^$id: uid=$TUID from=<alice@example\.org>" \
		"^$id: from=<alice@example\.org>, size=[0-9]+, nrcpt=1 \(queue active\)" \
		"^$id: to=<bob@example\.com>, $RELAY_RE, delay=[0-9.]+, delays=[0-9.e-]+/[0-9.e-]+/[0-9.e-]+/[0-9.e-]+, dsn=2\.0\.0, status=sent \(250 .*queued as [0-9]+\.msg\)" \
		"^$id: removed")
	k=0 all=1
	while IFS= read -r re; do
		k=$((k + 1))
		[[ $(sed -n "${k}p" <<<"$lines") =~ $re ]] || { all=0; diag "$id line $k: $(sed -n "${k}p" <<<"$lines")" "  not like /$re/"; }
	done <<<"$want"
	[ "$(wc -l <<<"$lines")" = 4 ] || { all=0; diag "$id has $(wc -l <<<"$lines") lines"; }
	[ $all = 1 ] && good=$((good + 1))
done
is "$good" 5 "each message logs uid/from, queue active, to=... dsn=2.0.0, status=sent (250 ...), removed, in that order"
# SPEC: "status=sent (250 2.0.0 OK queued as X)": the relay's reply as it
# was given, enhanced status code included.
is "$(log_count ": to=<bob@example\.com>, $RELAY_RE, .*, status=sent \(250 2\.0\.0 OK queued as [0-9]+\.msg\)$")" 5 \
	"status=sent carries the relay's whole reply: (250 2.0.0 OK queued as N.msg)"

# size= is the size of the queued message: what the relay got, less CRs.
id=${ids[0]}
f=$(peer_find main "^[[:space:]]+id $id(;|$)")
size=$(log_lines "^.*: $id: from=" | sed -E 's/.*size=([0-9]+),.*/\1/')
is "$size" "$(msg_data "$f" | wc -c | tr -d ' ')" "size= in the log is the size of the queued message"
like "$(msg_header "$f" Received)" "^Received: by host\.example\.org \(tern, from userid $TUID\) id $id for <bob@example\.com>; " \
	"a one-recipient message: Received ... id QUEUEID for <bob@example.com>; date"
like "$(msg_env "$f")" $'^MAIL FROM:<alice@example\\.org> SIZE=[0-9]+\nRCPT TO:<bob@example\\.com>$' \
	"the relay got MAIL FROM:<alice@example.org> and one RCPT"

# ---------------------------------------------------------------- while running

log_mark
t0=$(date +%s.%N)
tsm_ok "submit while ternd runs" "From: alice@example.org
To: carol@example.com
Subject: while running
Bcc: secret@example.net, Hidden <hidden@example.net>

Line one.
.
..
.leading dot
..two dots
...
end.
" -t -i -f alice@example.org
ok "delivered within 3 s of submission (the trigger wakes ternd)" \
	wait_for 'peer_find main "^Subject: while running$" >/dev/null' 3
t1=$(date +%s.%N)
diag "delivered after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
f=$(peer_find main "^Subject: while running$")
id=$(log_ids_from alice@example.org new | head -n 1)
like "$id" '^[0-9A-F]{19}$' "the new message has a queue ID in the log"
is "$(msg_env "$f" | grep '^RCPT' | sort)" $'RCPT TO:<carol@example.com>\nRCPT TO:<hidden@example.net>\nRCPT TO:<secret@example.net>' \
	"To and Bcc recipients each get a RCPT"
is "$(msg_header "$f" Bcc)" "" "no Bcc header reaches the relay"
unlike "$(msg_data "$f")" 'secret@|hidden@' "the Bcc addresses appear nowhere in the message"
recv=$(msg_header "$f" Received | head -n 1)
like "$recv" "^Received: by host\.example\.org \(tern, from userid $TUID\) id $id; [A-Z][a-z]{2}, [ 0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}\$" \
	"Received: by host.example.org (tern, from userid N) id QUEUEID; date"
is "$(msg_head "$f" | head -n 1 | cut -c1-9)" "Received:" "the Received header comes first"
is "$(msg_body "$f")" "Line one.
.
..
.leading dot
..two dots
...
end." "dot lines arrive intact (stuffed on the wire, unstuffed by the relay)"
is "$(log_count "$id: to=<(carol@example\.com|secret@example\.net|hidden@example\.net)>, $RELAY_RE, .*status=sent")" 3 \
	"one status=sent line per recipient"

# ---------------------------------------------------------------- 8-bit

log_mark
tsm_ok "" "From: alice@example.org
To: dave@example.com
Subject: eight bit
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße aus Köln — ½ €.
" -i dave@example.com
ok "the 8-bit message is delivered" wait_for 'peer_find main "^Subject: eight bit$" >/dev/null' 5
f=$(peer_find main "^Subject: eight bit$")
like "$(msg_env "$f" | head -n 1)" '^MAIL FROM:<[^>]*> .*BODY=8BITMIME' "MAIL FROM carries BODY=8BITMIME"
is "$(msg_body "$f")" "Grüße aus Köln — ½ €." "the 8-bit body arrives byte for byte"

# A 7-bit message does not claim 8BITMIME.
f=$(peer_find main "^Subject: queued while down 1$")
unlike "$(msg_env "$f" | head -n 1)" 'BODY=' "a 7-bit message has no BODY= parameter"

# ---------------------------------------------------------------- aliases

printf '%s\n' "# sandbox aliases" "team: alice@example.com, bob@example.com," \
	"  lead" "lead: erin@example.com" >"$ALIASES"
give "$ALIASES"
log_mark
run "${AS_USER[@]}" "$NEWALIASES" </dev/null
is "$RC" 0 "newaliases exits 0"
ok "ternd rereads the aliases after newaliases" \
	wait_for 'log_has "aliases reloaded from .* \(2 names\)" new' 5
log_mark
tsm_ok "" $'Subject: to the team\n\nhello team\n' -i team
ok "mail to an alias is delivered" wait_for 'peer_find main "^Subject: to the team$" >/dev/null' 5
f=$(peer_find main "^Subject: to the team$")
is "$(msg_env "$f" | grep '^RCPT' | sort)" $'RCPT TO:<alice@example.com>\nRCPT TO:<bob@example.com>\nRCPT TO:<erin@example.com>' \
	"the alias expands to its members, nested aliases too"
unlike "$(msg_env "$f")" 'team@|lead@' "the alias names themselves get no RCPT"

printf '%s\n' "team: frank@example.com" >"$ALIASES"
give "$ALIASES"
log_mark
kill -HUP "$TERND_PID"
ok "SIGHUP rereads the aliases" wait_for 'log_has "aliases reloaded from .* \(1 names\)" new' 5
tsm_ok "" $'Subject: team after hup\n\nhello again\n' -i team
ok "mail to the changed alias is delivered" \
	wait_for 'peer_find main "^Subject: team after hup$" >/dev/null' 5
f=$(peer_find main "^Subject: team after hup$")
is "$(msg_env "$f" | grep '^RCPT')" "RCPT TO:<frank@example.com>" "the new alias value is used"

# ---------------------------------------------------------------- qualification

log_mark
tsm_ok "" $'Subject: local name\n\nfor a local user\n' -i localuser
ok "mail to a local name is delivered" wait_for 'peer_find main "^Subject: local name$" >/dev/null' 5
f=$(peer_find main "^Subject: local name$")
is "$(msg_env "$f" | grep '^RCPT')" "RCPT TO:<localuser@example.org>" "an unqualified recipient is qualified with origin"
like "$(msg_env "$f" | head -n 1)" "^MAIL FROM:<$TUSER@example\.org> " \
	"the sender defaults to the submitter's login at origin"
like "$(log_lines ": to=<localuser@example\.org>," new)" "status=sent" "the log names the qualified recipient"

# ---------------------------------------------------------------- session reuse

ternd_stop
is "$TERND_RC" 0 "ternd exits 0 on SIGTERM"
peer_start reuse
PR=${PEER_PORT[reuse]}
ternd_config "$(relay reuse "$PR" "tls = none")"
tsm_par 10 "Subject: reuse %N

%N
" -i -f alice@example.org "r%N@example.com"
is "$(count_queued)" 10 "10 messages queued for one relay"
log_mark
ok "ternd starts again" ternd_start
ok "all 10 are delivered" wait_for '[ "$(peer_count reuse)" -ge 10 ] && [ "$(log_count ": removed$" new)" -ge 10 ]' 15
sessions=$(peer_sessions reuse)
mails=$(grep -c '^MAIL ' "${PEER_TR[reuse]}")
diag "10 messages over $sessions sessions ($mails MAIL commands)"
is "$mails" 10 "10 transactions"
ok "fewer sessions than messages: sessions are reused" [ "$sessions" -lt 10 ]
ok "every message went to the reuse relay" \
	[ "$(log_count ": to=<r[0-9]+@example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PR, .*status=sent" new)" = 10 ]
ok "the queue is empty at the end" queue_is_empty

# Postfix prints delays as plain decimals ("0.01", "0"); pflogsumm and
# the like read them with [0-9.]+.  Reused sessions have tiny setup
# times, which must not come out as "2.2e-05".
bad=$(grep -E -o 'delays?=[^ ,]+' "$TLOG" | grep -E -v '^delay=[0-9]+(\.[0-9]+)?$|^delays=[0-9]+(\.[0-9]+)?(/[0-9]+(\.[0-9]+)?){3}$' | sort -u | head -n 5)
is "$bad" "" "every delay= and delays= value is a plain decimal (no exponent notation)"
ok "the daemon is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0 at the end"

done_testing
