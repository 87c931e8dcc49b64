#!/bin/bash
# smtpd_relay: the listener is no open relay.  A listener with
# networks = 127.0.0.1/32; clients connect from 127.0.0.2 (outside
# networks: untrusted) and from 127.0.0.1 (trusted), through the raw
# client test/lib/smtp_client.py.  From the untrusted client every
# remote recipient and every trick that dresses one up as local (percent
# hack, bang path, quoted local part holding '@' or '%', source route,
# IP literal, in any case) gets 554 5.7.1 with its reason (a trailing dot
# in the domain is a syntax error for everyone: 501 5.1.3)
# and a Postfix-shaped "NOQUEUE: reject: RCPT" log line; postmaster
# (bare, @hostname, @origin, any case) and alias names are accepted and
# delivered through the relay peer, aliases expanded (and changed by
# SIGHUP).  Nothing else from the untrusted client reaches the peer.
# From the trusted client every syntactically valid recipient is taken.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/listen.sh"

ternd_sandbox_init

ORIGIN=example.org
SENDER=sender@client.example
HELO=client.example

# rcpt_reply SOURCE ADDR: a session from SOURCE that gives RCPT TO:<ADDR>
# after EHLO and MAIL; RCPT_REPLY is the reply to the RCPT.
rcpt_reply()
{
	smtp "$LP" --source "$1" read "cmd:EHLO $HELO" "cmd:MAIL FROM:<$SENDER>" \
		"cmd:RCPT TO:<$2>" "cmd:QUIT" "eof:10"
	RCPT_REPLY=$(printf '%s\n' "$SMTP_OUT" | sed -n '/^250 2\.1\.0 Ok$/{n;p;q;}')
}

# deliver SOURCE SUBJECT RCPT...: one message from SOURCE to RCPT...
# (each RCPT's reply in RCPT_REPLIES, one a line); DATA_REPLY is the
# reply after the final dot (or to DATA when that failed).
deliver()
{
	local src=$1 subj=$2 r steps=()
	shift 2
	steps=(read "cmd:EHLO $HELO" "cmd:MAIL FROM:<$SENDER>")
	for r in "$@"; do steps+=("cmd:RCPT TO:<$r>"); done
	steps+=("cmd:DATA"
		"send:From: <$SENDER>\r\nTo: whoever@client.example\r\nSubject: $subj\r\n\r\nbody of $subj\r\n.\r\n"
		read "cmd:QUIT" "eof:10")
	smtp "$LP" --source "$src" "${steps[@]}"
	RCPT_REPLIES=$(printf '%s\n' "$SMTP_OUT" | sed -n '/^250 2\.1\.0 Ok$/,/^354 \|^503 /p' | sed '1d;$d')
	DATA_REPLY=$(printf '%s\n' "$SMTP_OUT" | sed -n '/^354 /{n;p;q;}; /^503 /{p;q;}')
}

# peer_rcpts SUBJECT: the RCPT TO lines of the peer's message with that
# subject, sorted, lower-cased.
peer_rcpts()
{
	local f
	f=$(peer_find main "^Subject: $1\$") || return 0
	msg_env "$f" | sed -n 's/^RCPT TO://p' | tr '[:upper:]' '[:lower:]' | sort
}

# ---------------------------------------------------------------- setup

peer_start main
P=${PEER_PORT[main]}
LP=$(free_port)
printf '%s\n' "# relay test aliases" "support: help@corp.example" >"$ALIASES"
give "$ALIASES"
# max_errors high: one session below collects many refusals.
ternd_config "$(relay main "$P" "tls = none")" "[listen mx]" \
	"address = 127.0.0.1:$LP" "networks = 127.0.0.1/32" "max_errors = 100"
ternd_start || bail_out "ternd did not start"
ok "the listener is up" wait_for "log_has 'listening on 127\\.0\\.0\\.1:$LP'" 10

smtp "$LP" --source 127.0.0.2 read "cmd:QUIT" "eof:10"
is "$(printf '%s\n' "$SMTP_OUT" | head -n 1)" "220 $HOST ESMTP tern" \
	"a client from 127.0.0.2 (outside networks) is greeted"
ok "the greeting session logs connect from unknown[127.0.0.2]" \
	wait_for 'log_has "connect from unknown\[127\.0\.0\.2\]"' 5

# ---------------------------------------------------------------- refusals

# ADDRESS|REASON (empty: the plain "Relay access denied").
PCT="the percent hack is not allowed"
BANG="bang paths are not allowed"
QAT="a quoted local part may not hold '@'"
SRC="source routes are not accepted"
# A trailing dot is bad syntax for every client: the engine refuses it
# before the relay policy is asked (501 5.1.3), so it never relays.
DOT="=syntax"
LIT="IP address literals are not accepted"
cases=(
	"user@remote.example|"
	"USER@REMOTE.EXAMPLE|"
	"User@Remote.Example|"
	"postmaster@remote.example|"
	"support@remote.example|"
	"nosuchname@$HOST|"
	"nosuchname@$ORIGIN|"
	"NoSuchName|"
	"user%remote.example@$HOST|$PCT"
	"USER%REMOTE.EXAMPLE@HOST.EXAMPLE.ORG|$PCT"
	"user%remote.example@$ORIGIN|$PCT"
	"user%remote.example|$PCT"
	"postmaster%remote.example@$HOST|$PCT"
	"remote.example!user@$HOST|$BANG"
	"REMOTE.EXAMPLE!USER@$ORIGIN|$BANG"
	"remote.example!user|$BANG"
	"\"user@remote.example\"@$HOST|$QAT"
	"\"USER@REMOTE.EXAMPLE\"@$ORIGIN|$QAT"
	"\"postmaster@remote.example\"@$HOST|$QAT"
	"\"user%remote.example\"@$HOST|$PCT"
	"@$HOST:user@remote.example|$SRC"
	"@$HOST,@other.example:user@remote.example|$SRC"
	"@$HOST:postmaster@$HOST|$SRC"
	"user@remote.example.|$DOT"
	"postmaster@$HOST.|$DOT"
	"user@[127.0.0.1]|$LIT"
	"postmaster@[127.0.0.1]|$LIT"
	"user@[IPv6:::1]|$LIT"
)

log_mark
for c in "${cases[@]}"; do
	addr=${c%%|*}
	reason=${c#*|}
	want="554 5.7.1 <$addr>: Relay access denied${reason:+ ($reason)}"
	[ "$reason" = "=syntax" ] && want="501 5.1.3 <$addr>: Bad recipient address syntax"
	rcpt_reply 127.0.0.2 "$addr"
	is "$RCPT_REPLY" "$want" "untrusted RCPT TO:<$addr> -> ${want%% <*}${reason:+ ($reason)}"
	[ "$RCPT_REPLY" = "$want" ] || diag "session:" "$SMTP_OUT"
done

# Each refusal has its log line, in Postfix's shape.
missing=()
for c in "${cases[@]}"; do
	addr=${c%%|*}
	reason=${c#*|}
	want="NOQUEUE: reject: RCPT from unknown[127.0.0.2]: 554 5.7.1 <$addr>: Relay access denied${reason:+ ($reason)}; from=<$SENDER> to=<$addr> proto=ESMTP helo=<$HELO>"
	[ "$reason" = "=syntax" ] && want="NOQUEUE: reject: RCPT from unknown[127.0.0.2]: 501 5.1.3 <$addr>: Bad recipient address syntax; from=<$SENDER> to=<$addr> proto=ESMTP helo=<$HELO>"
	log_new | grep -F -q -- "$want" || missing+=("$want")
done
is "${#missing[@]}" 0 "each of the ${#cases[@]} refusals is logged: NOQUEUE: reject: RCPT from unknown[127.0.0.2]: 554 5.7.1 <...>: Relay access denied...; from=<...> to=<...> proto=ESMTP helo=<...>"
[ "${#missing[@]}" = 0 ] || diag "missing:" "${missing[@]:0:5}" "log:" "$(log_new | grep 'reject:' | head -n 10)"

# A session with only refused recipients cannot send a message: DATA
# has no recipient.
smtp "$LP" --source 127.0.0.2 read "cmd:EHLO $HELO" "cmd:MAIL FROM:<$SENDER>" \
	"cmd:RCPT TO:<victim@remote.example>" "cmd:RCPT TO:<victim%remote.example@$HOST>" \
	"cmd:DATA" "send:Subject: should never arrive\r\n\r\nno\r\n.\r\n" "cmd:QUIT" "eof:10"
like "$SMTP_OUT" $'\n503 5\\.5\\.1 Error: need RCPT command\n' \
	"DATA after only refused RCPTs: 503 5.5.1 Error: need RCPT command"
unlike "$SMTP_OUT" 'queued as' "nothing is queued from that session"

# ---------------------------------------------------------------- accepted

# Postmaster (RFC 5321 4.5.1) in every form, and the alias "support".
accepted=(
	"postmaster"
	"Postmaster@$HOST"
	"postmaster@$ORIGIN"
	"POSTMASTER@HOST.EXAMPLE.ORG"
	"PostMaster@Example.Org"
	"support"
	"support@$HOST"
	"Support@Example.Org"
)
for addr in "${accepted[@]}"; do
	rcpt_reply 127.0.0.2 "$addr"
	is "$RCPT_REPLY" "250 2.1.5 Ok" "untrusted RCPT TO:<$addr> is accepted"
done

deliver 127.0.0.2 "to bare postmaster" postmaster
like "$DATA_REPLY" '^250 2\.0\.0 Ok: queued as [0-9A-F]{19}$' "the reply after the dot: 250 2.0.0 Ok: queued as ID"
deliver 127.0.0.2 "to postmaster at host" "Postmaster@$HOST"
deliver 127.0.0.2 "to postmaster at origin" "postmaster@$ORIGIN"
deliver 127.0.0.2 "to support at host" "support@$HOST"
# Refused and accepted recipients in one transaction: only the accepted
# ones get the message.
deliver 127.0.0.2 "mixed recipients" "user@remote.example" "postmaster" \
	"user%remote.example@$HOST" "SUPPORT" "@$HOST:user@remote.example" "nosuchname@$HOST"
is "$RCPT_REPLIES" "554 5.7.1 <user@remote.example>: Relay access denied
250 2.1.5 Ok
554 5.7.1 <user%remote.example@$HOST>: Relay access denied ($PCT)
250 2.1.5 Ok
554 5.7.1 <@$HOST:user@remote.example>: Relay access denied ($SRC)
554 5.7.1 <nosuchname@$HOST>: Relay access denied" "mixed transaction: each RCPT gets its own answer"
like "$DATA_REPLY" '^250 2\.0\.0 Ok: queued as ' "mixed transaction: the message is queued for the accepted recipients"

ok "the 5 messages reach the peer" wait_for '[ "$(peer_count main)" -ge 5 ]' 20
is "$(peer_rcpts "to bare postmaster")" "<postmaster@$ORIGIN>" \
	"bare postmaster is delivered to postmaster@ORIGIN through the relay"
like "$(peer_rcpts "to postmaster at host")" "^<postmaster@($HOST|$ORIGIN)>\$" \
	"Postmaster@HOST is delivered to the relay"
is "$(peer_rcpts "to postmaster at origin")" "<postmaster@$ORIGIN>" \
	"postmaster@ORIGIN is delivered to the relay"
is "$(peer_rcpts "to support at host")" "<help@corp.example>" \
	"the alias support@HOST is expanded: the peer gets help@corp.example"
is "$(peer_rcpts "mixed recipients")" "<help@corp.example>
<postmaster@$ORIGIN>" "mixed transaction: the peer gets only postmaster and the alias's member"

# ---------------------------------------------------------------- aliases for postmaster

printf '%s\n' "# relay test aliases, 2" "support: help@corp.example" \
	"postmaster: admin@corp.example" "sales: orders@corp.example" >"$ALIASES"
give "$ALIASES"
log_mark
kill -HUP "$TERND_PID"
ok "SIGHUP rereads the aliases" wait_for 'log_has "aliases reloaded from .* \(3 names\)" new' 10
deliver 127.0.0.2 "postmaster aliased" postmaster
like "$DATA_REPLY" '^250 2\.0\.0 Ok: queued as ' "postmaster (aliased now) is still accepted from the untrusted client"
deliver 127.0.0.2 "postmaster at host aliased" "Postmaster@$HOST"
rcpt_reply 127.0.0.2 "sales@$HOST"
is "$RCPT_REPLY" "250 2.1.5 Ok" "a name added to the aliases is accepted after SIGHUP"
deliver 127.0.0.2 "to sales" "Sales"
ok "the 3 messages reach the peer" wait_for '[ "$(peer_count main)" -ge 8 ]' 20
is "$(peer_rcpts "postmaster aliased")" "<admin@corp.example>" \
	"postmaster is mapped by the aliases file: the peer gets admin@corp.example"
is "$(peer_rcpts "postmaster at host aliased")" "<admin@corp.example>" \
	"Postmaster@HOST too"
is "$(peer_rcpts "to sales")" "<orders@corp.example>" "the new alias is expanded"

# ---------------------------------------------------------------- nothing else

# Every message the peer got from the untrusted sender went only to the
# accepted local names (after alias expansion).
bad=$(for f in $(peer_msgs main); do
	msg_env "$f" | grep -q "^MAIL FROM:<$SENDER>" || continue
	msg_env "$f" | sed -n 's/^RCPT TO://p'
done | tr '[:upper:]' '[:lower:]' |
	grep -v -E "^<(postmaster@($ORIGIN|$HOST)|help@corp\.example|admin@corp\.example|orders@corp\.example)>\$")
is "$bad" "" "nothing from the untrusted client reaches the peer but the accepted local names"
is "$(peer_count main)" 8 "the peer got exactly the 8 accepted messages"
unlike "$(cat "${PEER_TR[main]}")" 'remote\.example|victim|should never' \
	"the peer's transcript never names a refused recipient"
is "$(log_count 'to=<[^>]*remote\.example[^>]*>, relay=')" 0 "no delivery to a remote.example address is logged"

# ---------------------------------------------------------------- trusted

# From 127.0.0.1 (in networks) every syntactically valid recipient is
# accepted, tricks and all: the relay policy does not apply.
trusted=(
	"user@remote.example"
	"USER@REMOTE.EXAMPLE"
	"user%remote.example@$HOST"
	"remote.example!user@$HOST"
	"\"user@remote.example\"@$HOST"
	"\"user%remote.example\"@$HOST"
	"@$HOST:user@remote.example"
	"@$HOST,@other.example:user@remote.example"
	"user@[127.0.0.1]"
	"user@[IPv6:::1]"
	"nosuchname@$HOST"
	"postmaster"
)
log_mark
for addr in "${trusted[@]}"; do
	rcpt_reply 127.0.0.1 "$addr"
	is "$RCPT_REPLY" "250 2.1.5 Ok" "trusted RCPT TO:<$addr> is accepted"
done
# "user@remote.example." is no valid domain (RFC 5321 4.1.2): the
# trusted client may get a syntax error, never a relay refusal.
rcpt_reply 127.0.0.1 "user@remote.example."
like "$RCPT_REPLY" '^(250 2\.1\.5 Ok|501 5\.1\.3 <user@remote\.example\.>: Bad recipient address syntax)$' \
	"trusted RCPT TO:<user@remote.example.>: accepted or a syntax error, not 554"
is "$(log_count 'reject: RCPT from unknown\[127\.0\.0\.1\]: 554' new)" 0 "no relay refusal is logged for the trusted client"

deliver 127.0.0.1 "trusted relay" "user@remote.example" "Other@Elsewhere.Example"
like "$DATA_REPLY" '^250 2\.0\.0 Ok: queued as ' "the trusted client's message to remote recipients is queued"
ok "it is relayed" wait_for 'peer_find main "^Subject: trusted relay$" >/dev/null' 20
is "$(peer_rcpts "trusted relay")" "<other@elsewhere.example>
<user@remote.example>" "the peer gets both remote recipients from the trusted client"
f=$(peer_find main "^Subject: trusted relay$")
like "$(msg_header "$f" Received | head -n 1)" "^Received: from $HELO \\(unknown \\[127\\.0\\.0\\.1\\]\\)" \
	"its Received header names the client: from HELO (unknown [127.0.0.1])"

ok "ternd is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0"

done_testing
