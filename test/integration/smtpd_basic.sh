#!/bin/bash
# smtpd_basic: ternd's SMTP listener ([listen] on loopback, networks
# left at its default, so 127.0.0.1 may relay) in front of one relay
# (test/lib/smtp_peer.py offering DSN).  What a client sees (the
# greeting, EHLO's keywords, "250 2.0.0 Ok: queued as ID" with a 19-hex
# ID), what the relay receives (the envelope and DSN parameters as
# given, a Received header "from HELO (unknown [127.0.0.1]) by HOST
# (tern) with ESMTP id ID"), and the log lines (connect, ID: client=,
# disconnect with command counts).  Clients: swaks (plain and
# --pipeline), a raw scripted client (several messages in one session,
# pipelined groups, BDAT), Postfix's smtp-source (200 messages over 5
# sessions, none lost, none doubled), sendmail beside SMTP.  A message
# acknowledged with 250 is in the queue: it survives kill -9.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/listen.sh"

PEER_LIFETIME=600
ternd_sandbox_init
plan 82

DATE_RE='[A-Z][a-z]{2}, [ 0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}'

peer_start main --fault advertise-dsn
P=${PEER_PORT[main]}
LP=$(free_port)
conf()
{
	ternd_config "max_message_size = 10M" "$(relay main "$1" "tls = none")" \
		"$(listen_section in "$LP")"
}
conf "$P"
ok "ternd starts with a [listen] section" ternd_start
ok "it logs the listener: [listen in]: listening on 127.0.0.1:$LP" \
	log_has "\[listen in\]: listening on 127\.0\.0\.1:$LP$"

# ---------------------------------------------------------------- greeting, EHLO

log_mark
chat "$LP" "<" ">EHLO client.example.net" "<" ">QUIT" "<" eof
is "$OUT" "220 $HOST ESMTP tern
250-$HOST
250-PIPELINING
250-SIZE 10485760
250-ENHANCEDSTATUSCODES
250-8BITMIME
250-DSN
250-SMTPUTF8
250 CHUNKING
221 2.0.0 Bye
<EOF>" "greeting, EHLO keywords exactly as in the catalogue (no STARTTLS, AUTH or REQUIRETLS without TLS), 221, close"
unlike "$OUT" "<NO-CR>" "every reply line ends in CRLF"
ok "log: connect from unknown[127.0.0.1]" \
	wait_for 'log_has "connect from unknown\[127\.0\.0\.1\]$" new' 5
ok "log: disconnect from unknown[127.0.0.1] ehlo=1 quit=1 commands=2" \
	wait_for 'log_has "disconnect from unknown\[127\.0\.0\.1\] ehlo=1 quit=1 commands=2$" new' 5

chat "$LP" "<" ">HELO old.example.net" "<" ">NOOP" "<" ">RSET" "<" \
	">VRFY bob" "<" ">HELP" "<" ">QUIT" "<"
is "$(printf '%s\n' "$OUT" | tail -n +2)" "250 $HOST
250 2.0.0 Ok
250 2.0.0 Ok
252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery
214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY
221 2.0.0 Bye" "HELO, NOOP, RSET, VRFY, HELP (no STARTTLS or AUTH on this listener), QUIT"

chat "$LP" "<" ">MAIL FROM:<a@example.org>" "<" ">FOO bar" "<" \
	">EHLO c.example.net" "<" ">RCPT TO:<b@example.com>" "<" ">MAIL FROM:<a@example.org>" "<" \
	">MAIL FROM:<a@example.org>" "<" ">DATA" "<" ">QUIT" "<"
is "$(replies_with '[45]')" "503 5.5.1 Error: send HELO/EHLO first
500 5.5.2 Error: command not recognized
503 5.5.1 Error: need MAIL command
503 5.5.1 Error: nested MAIL command
503 5.5.1 Error: need RCPT command" "MAIL before EHLO, an unknown command, RCPT before MAIL, MAIL twice, DATA before RCPT: the catalogue's errors"

# HELO (not EHLO) is enough for a transaction; the protocol is SMTP.
log_mark
chat "$LP" "<" ">HELO old.example.net" "<" ">MAIL FROM:<h@example.org>" "<" ">RCPT TO:<hr@example.com>" "<" \
	">DATA" "<" "=Subject: after helo\r\n\r\nhelo body\r\n.\r\n" "<" ">QUIT" "<"
is "$(printf '%s\n' "$OUT" | tail -n +2 | sed -E "s/$ID_RE\$/ID/")" "250 $HOST
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID
221 2.0.0 Bye" "after HELO: MAIL, RCPT, DATA are accepted and the message is queued"
if peer_wait "after helo"; then
	like "$(msg_header "$F" Received)" "^Received: from old\.example\.net \(unknown \[127\.0\.0\.1\]\) by $HOST_RE \(tern\) with SMTP id $ID_RE for <hr@example\.com>; " \
		"after HELO: relayed, Received ... with SMTP"
	# A trusted client's message gets what it left out.
	is "$(msg_header "$F" From)" "From: <h@example.org>" "a missing From is the envelope sender"
	like "$(msg_header "$F" Message-ID)" "^Message-ID: <[0-9]{14}\.$ID_RE@$HOST_RE>$" "a missing Message-ID is added"
	like "$(msg_header "$F" Date)" "^Date: [A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} 20[0-9]{2} " "a missing Date is added"
	is "$(msg_header "$F" To)" "To: undisclosed-recipients:;" "no recipient field: To: undisclosed-recipients:;"
else
	fail "after HELO: relayed, Received ... with SMTP" "the relay did not get it"
	for t in From Message-ID Date To; do fail "missing $t added" "the relay did not get it"; done
fi

# ---------------------------------------------------------------- swaks

if [ "$HAVE_SWAKS" = 1 ]; then
	log_mark
	run swaks --server "127.0.0.1:$LP" --ehlo client.example.net \
		--from alice@example.org --to bob@example.com \
		--header "Subject: swaks one" --body "hello from swaks"
	is "$RC" 0 "swaks: the session succeeds"
	like "$OUT" "<- +250 2\.0\.0 Ok: queued as $ID_RE"$'\n' "swaks: 250 2.0.0 Ok: queued as <19 hex digits>"
	ID=$(printf '%s\n' "$OUT" | sed -n -E "s/^<- +250 2\.0\.0 Ok: queued as ($ID_RE)\$/\1/p")
	ok "swaks: the relay receives the message" peer_wait "swaks one"
	is "$(msg_env "$F" | sed -E 's/ SIZE=[0-9]+$//')" "MAIL FROM:<alice@example.org>
RCPT TO:<bob@example.com>" "the envelope sender and recipient are kept"
	is "$(msg_data "$F" | head -n 2 | sed -E 's/; .*//')" "Received: from client.example.net (unknown [127.0.0.1])
	by $HOST (tern) with ESMTP id $ID" \
		"Received: from <helo> (unknown [127.0.0.1])\\n\\tby <hostname> (tern) with ESMTP id <ID>"
	like "$(msg_header "$F" Received | head -n 1)" \
		"^Received: from client\.example\.net \(unknown \[127\.0\.0\.1\]\) by $HOST_RE \(tern\) with ESMTP id $ID for <bob@example\.com>; $DATE_RE\$" \
		"the Received header ends with for <rcpt>; date"
	is "$(msg_header "$F" Received | wc -l | tr -d ' ')" 1 "one Received header (tern's own)"
	is "$(msg_body "$F")" "hello from swaks" "the body arrives"
	ok "log: $ID: client=unknown[127.0.0.1]" log_has ": $ID: client=unknown\[127\.0\.0\.1\]$" new
	ok "log: disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5" \
		wait_for 'log_has "disconnect from unknown\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5$" new' 5
	ok "log: $ID: to=<bob@example.com>, relay=127.0.0.1[127.0.0.1]:$P ... status=sent" \
		wait_for 'log_has ": $ID: to=<bob@example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P, .*status=sent" new' 10
	lines=$(log_lines "connect from|: $ID: client=" new | tr '\n' '|')
	like "$lines" "^connect from unknown\[127\.0\.0\.1\]\|$ID: client=unknown\[127\.0\.0\.1\]\|disconnect from " \
		"connect, ID: client=, disconnect, in that order"

	log_mark
	run swaks --server "127.0.0.1:$LP" --pipeline --ehlo pipe.example.net \
		--from carol@example.org --to dave@example.com,erin@example.net \
		--header "Subject: swaks pipelined" --body "pipelined body"
	is "$RC" 0 "swaks --pipeline: the session succeeds"
	like "$OUT" "<- +250-PIPELINING" "swaks --pipeline: the server offers PIPELINING"
	like "$OUT" "<- +250 2\.0\.0 Ok: queued as $ID_RE" "swaks --pipeline: queued"
	ok "swaks --pipeline: delivered" peer_wait "swaks pipelined"
	is "$(msg_env "$F" | sed -E 's/ SIZE=[0-9]+$//')" "MAIL FROM:<carol@example.org>
RCPT TO:<dave@example.com>
RCPT TO:<erin@example.net>" "swaks --pipeline: sender and both recipients"
	like "$(msg_data "$F" | head -n 2 | tr '\n' '|')" "^Received: from pipe\.example\.net \(unknown \[127\.0\.0\.1\]\)\|	by $HOST_RE \(tern\) with ESMTP id $ID_RE;" \
		"two recipients: the Received header has no for clause"
else
	for t in rc queued delivered envelope received received-for one-received body client disconnect sent order \
		pipe-rc pipe-offered pipe-queued pipe-delivered pipe-envelope pipe-received; do
		skip "swaks: $t" "swaks is not installed"
	done
fi

# ---------------------------------------------------------------- DSN parameters

log_mark
chat "$LP" "<" ">EHLO dsn.example.net" "<" \
	">MAIL FROM:<dsn@example.org> RET=HDRS ENVID=env+2Bid-42" "<" \
	">RCPT TO:<r1@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig1@example.com" "<" \
	">RCPT TO:<r2@example.com> NOTIFY=NEVER" "<" \
	">RCPT TO:<r3@example.com>" "<" ">DATA" "<" \
	"=Subject: dsn params\r\n\r\nbody\r\n.\r\n" "<" ">QUIT" "<"
is "$(printf '%s\n' "$OUT" | grep -v '^250-' | tail -n +3)" "250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as $(queued_ids)
221 2.0.0 Bye" "DSN parameters accepted: 250 2.1.0, 250 2.1.5 each, 354, queued"
ok "the DSN message is relayed" peer_wait "dsn params"
is "$(msg_env "$F" | sed -E 's/ SIZE=[0-9]+ / SIZE=N /')" "MAIL FROM:<dsn@example.org> SIZE=N RET=HDRS ENVID=env+2Bid-42
RCPT TO:<r1@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig1@example.com
RCPT TO:<r2@example.com> NOTIFY=NEVER
RCPT TO:<r3@example.com>" "RET, ENVID (xtext), NOTIFY and ORCPT are passed on to a relay that offers DSN"

# ---------------------------------------------------------------- several messages, pipelined

log_mark
chat "$LP" "<" ">EHLO multi.example.net" "<" \
	"=MAIL FROM:<m1@example.org>\r\nRCPT TO:<x1@example.com>\r\nDATA\r\n" "<3" \
	"=Subject: multi 1\r\n\r\none\r\n.\r\n" "<" \
	"=MAIL FROM:<m2@example.org>\r\nRCPT TO:<x2@example.com>\r\nRCPT TO:<y2@example.com>\r\nDATA\r\n" "<4" \
	"=Subject: multi 2\r\n\r\ntwo\r\n.\r\n" "<" \
	"=RSET\r\nMAIL FROM:<m3@example.org>\r\nRCPT TO:<x3@example.com>\r\nNOOP\r\n" "<4" \
	">DATA" "<" "=Subject: multi 3\r\n\r\nthree\r\n.\r\n" "<" ">QUIT" "<"
mapfile -t ids < <(queued_ids)
is "${#ids[@]}" 3 "three messages in one session, two of them in pipelined groups: three queued replies"
is "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l | tr -d ' ')" 3 "three different queue IDs"
is "$(printf '%s\n' "$OUT" | grep -v '^2[25]0-' | cut -c1-3 | tr '\n' ' ')" \
	"220 250 250 250 354 250 250 250 250 354 250 250 250 250 250 354 250 221 " \
	"every pipelined command gets its reply, in order"
ok "all three are delivered" \
	wait_for 'peer_find main "^Subject: multi 1$" >/dev/null && peer_find main "^Subject: multi 2$" >/dev/null && peer_find main "^Subject: multi 3$" >/dev/null' 15
F=$(peer_find main "^Subject: multi 2$")
is "$(msg_env "$F" | grep '^RCPT')" "RCPT TO:<x2@example.com>
RCPT TO:<y2@example.com>" "the second message has its own two recipients"
F=$(peer_find main "^Subject: multi 3$")
like "$(msg_data "$F" | head -n 2 | tr '\n' '|')" "^Received: from multi\.example\.net \(unknown \[127\.0\.0\.1\]\)\|	by $HOST_RE \(tern\) with ESMTP id ${ids[2]}" \
	"the third message's Received header has its own ID"
n=0
for id in "${ids[@]}"; do log_has ": $id: client=unknown\[127\.0\.0\.1\]$" new && n=$((n + 1)); done
is "$n" 3 "one ID: client=unknown[127.0.0.1] line per message"
ok "one connect line for the session" test "$(log_count "connect from unknown\[127\.0\.0\.1\]$" new)" = 1
wait_for 'log_has "disconnect from unknown\[127\.0\.0\.1\]" new' 5
line=$(log_lines "disconnect from unknown\[127\.0\.0\.1\]" new)
like "$line" "^disconnect from unknown\[127\.0\.0\.1\] .*commands=14$" "disconnect line: commands=14"
like "$line" " ehlo=1 .*mail=3 rcpt=4 data=3 .*quit=1 " "disconnect line: ehlo=1 mail=3 rcpt=4 data=3 ... quit=1"

# ---------------------------------------------------------------- CHUNKING

c1=$'Subject: bdat chunks\r\nX-Chunk: yes\r\n\r\nfirst '
c2=$'part\r\nsecond line\r\n'
log_mark
chat "$LP" "<" ">EHLO chunk.example.net" "<" ">MAIL FROM:<chunk@example.org> BODY=8BITMIME" "<" \
	">RCPT TO:<c@example.com>" "<" "=BDAT ${#c1}\r\n$c1" "<" "=BDAT ${#c2} LAST\r\n$c2" "<" \
	">MAIL FROM:<chunk2@example.org>" "<" ">RCPT TO:<c2@example.com>" "<" \
	"=BDAT 3\r\nabc" "<" ">DATA" "<" ">RSET" "<" \
	">MAIL FROM:<chunk3@example.org>" "<" ">RCPT TO:<c3@example.com>" "<" \
	"=BDAT 31\r\nSubject: bdat empty last\r\n\r\nx\r\n" "<" ">BDAT 0 LAST" "<" ">QUIT" "<"
is "$(printf '%s\n' "$OUT" | grep -v '^2[25]0-' | tail -n +3)" "250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 ${#c1} octets received
250 2.0.0 Ok: queued as $(queued_ids | sed -n 1p)
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 3 octets received
503 5.5.1 Error: DATA after BDAT
250 2.0.0 Ok
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 31 octets received
250 2.0.0 Ok: queued as $(queued_ids | sed -n 2p)
221 2.0.0 Bye" "BDAT: N octets received, LAST queues; DATA after BDAT is 503; BDAT 0 LAST ends a message"
ok "the chunked message is relayed" peer_wait "bdat chunks"
is "$(msg_body "$F")" "first part
second line" "the chunks are joined into one body"
is "$(msg_header "$F" X-Chunk)" "X-Chunk: yes" "its header section is intact"
ok "the message ended by BDAT 0 LAST is relayed" peer_wait "bdat empty last"
is "$(msg_body "$F")" "x" "and its body is the first chunk's"
is "$(grep -c '^MAIL FROM:<chunk2@' "${PEER_TR[main]}")" 0 \
	"the transaction refused with DATA after BDAT is not relayed"

# ---------------------------------------------------------------- sendmail beside SMTP

log_mark
tsm_ok "sendmail queues a message while the listener runs" $'Subject: via sendmail\n\nfrom sendmail\n' \
	-i -f local@example.org lr@example.com
chat "$LP" "<" ">EHLO beside.example.net" "<" ">MAIL FROM:<remote@example.org>" "<" \
	">RCPT TO:<rr@example.com>" "<" ">DATA" "<" "=Subject: via smtp\r\n\r\nfrom smtp\r\n.\r\n" "<" ">QUIT" "<"
like "$OUT" "250 2\.0\.0 Ok: queued as $ID_RE" "and a message over SMTP is queued too"
ok "the sendmail message is relayed" peer_wait "via sendmail"
like "$(msg_header "$F" Received)" "^Received: by $HOST_RE \(tern, from userid $TUID\) id $ID_RE for <lr@example\.com>; " \
	"the sendmail message has the local Received form"
ok "the SMTP message is relayed" peer_wait "via smtp"
like "$(msg_header "$F" Received)" "^Received: from beside\.example\.net \(unknown \[127\.0\.0\.1\]\) by $HOST_RE \(tern\) with ESMTP id $ID_RE for <rr@example\.com>; " \
	"the SMTP message has the SMTP Received form"

# ---------------------------------------------------------------- smtp-source

if postfix_tools; then
	before=$(peer_count main)
	log_mark
	smtp_source -d -N -s 5 -m 200 -M source.example.net -f src@example.org -t bulk@example.com "127.0.0.1:$LP"
	is "$RC" 0 "smtp-source -s 5 -m 200 -d -N exits 0"
	[ "$RC" = 0 ] || diag "$OUT" "$ERR"
	ok "all 200 reach the relay" wait_for '[ "$(peer_count main)" -ge $((before + 200)) ]' 90
	sleep 1
	is "$(($(peer_count main) - before))" 200 "exactly 200 (no duplicates)"
	rcpts=$(for f in $(peer_msgs main); do msg_env "$f"; done | grep -E '^RCPT TO:<[0-9]+bulk@example\.com>$')
	is "$(printf '%s\n' "$rcpts" | grep -c .)/$(printf '%s\n' "$rcpts" | sort -u | grep -c .)" "200/200" \
		"200 recipients 1bulk..200bulk, each once"
	is "$(log_count ": $ID_RE: client=unknown\[127\.0\.0\.1\]$" new)" 200 "200 ID: client= lines"
	is "$(log_count "^.*: connect from unknown\[127\.0\.0\.1\]$" new)" 5 "5 sessions (connect lines)"
	wait_for '[ "$(log_count "disconnect from unknown\[127\.0\.0\.1\]" new)" -ge 5 ]' 10
	is "$(log_lines "disconnect from unknown\[127\.0\.0\.1\]" new | sed -E 's/.* mail=([0-9]+) .*/\1/' |
		awk '{ s += $1 } END { print s }')" 200 "the disconnect lines count 200 MAIL commands"
	ok "the queue empties" wait_for queue_is_empty 30
else
	for t in rc all exact rcpts client sessions disconnect queue; do
		skip "smtp-source: $t" "$PF_WHY"
	done
fi

# ---------------------------------------------------------------- 250 means on disk

ternd_stop
DEAD=$(free_port)
conf "$DEAD"
ok "ternd starts with its relay down" ternd_start
log_mark
chat "$LP" "<" ">EHLO durable.example.net" "<" \
	">MAIL FROM:<keep@example.org> RET=FULL ENVID=keep-1" "<" \
	">RCPT TO:<kept@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;first@example.com" "<" \
	">DATA" "<" "=Subject: durable\r\n\r\nmust survive\r\n.\r\n" "<"
ID=$(queued_ids)
like "$ID" "^$ID_RE\$" "250 2.0.0 Ok: queued as ID while the relay is down"
ok "data/ID is in the queue when the client has the 250" test -f "$QUEUE_DIR/data/$ID"
# The envelope moves incoming -> active -> deferred: read it where it is.
env=
for _ in 1 2 3 4 5; do
	env=$(cat "$QUEUE_DIR"/incoming/"$ID" "$QUEUE_DIR"/active/"$ID" "$QUEUE_DIR"/deferred/"$ID" 2>/dev/null)
	[ -n "$env" ] && break
	sleep 0.1
done
like "$env" "(^|"$'\n'")sender: keep@example\.org"$'\n' "and its envelope, with the sender"
like "$env" $'\nrcpt: kept@example\\.com [^\n]*notify=delay,failure|'$'\nrcpt: kept@example\\.com [^\n]*notify=failure,delay' \
	"the envelope stores NOTIFY"
like "$env" $'\nrcpt: kept@example\\.com [^\n]*orcpt=rfc822;first@example\\.com' "the envelope stores ORCPT"
like "$env" $'\nret: full\n' "the envelope stores RET"
like "$env" $'\nenvid: keep-1\n' "the envelope stores ENVID"
pid=$TERND_PID
ternd_kill9
nok "ternd is gone (kill -9) right after the 250" kill -0 "$pid"
conf "$P"
ok "ternd starts again with the relay up" ternd_start
ok "the message acknowledged before kill -9 is delivered" peer_wait durable 30
like "$(msg_header "$F" Received)" " with ESMTP id $ID for <kept@example\.com>; " "under the ID the client was given"
like "$(msg_env "$F" | head -n 1)" "^MAIL FROM:<keep@example\.org> SIZE=[0-9]+ RET=FULL ENVID=keep-1$" \
	"with its RET and ENVID"
ok "the queue empties" wait_for queue_is_empty 10
ok "the daemon is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0 on SIGTERM"

done_testing
