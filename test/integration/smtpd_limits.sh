#!/bin/bash
# smtpd_limits: every limit of the listener is enforced and its reply
# names it.  One ternd, five listeners, each with its own limits:
#
#   conn   max_connections = 3: the 4th connection gets "421 4.7.0 HOST
#          Error: too many connections (limit 3); try again later"
#   perip  max_connections_per_ip = 2: the 3rd from 127.0.0.1 gets the
#          per-address 421, while 127.0.0.2 still gets in
#   proto  max_recipients = 3, max_errors = 3, max_connections = 3:
#          command lines over 2048 octets (500 5.5.2 ... limit 2048
#          octets), the 4th RCPT (452 4.5.3 ... limit 3; the first 3
#          get the message), max_message_size = 10K (552 5.3.4 for
#          SIZE=20000 at MAIL and for a 20K body after the dot, nothing
#          queued), the 3rd error reply followed by "421 4.7.0 HOST Error:
#          too many errors (limit 3)" and the close
#   idle   idle_timeout = 2s: "421 4.4.2 HOST Error: timeout exceeded
#          (idle_timeout 2s)" and the close
#   cmd    command_timeout = 2s, idle_timeout = 60s: a command line or a
#          DATA transfer dribbled a byte a second is cut off with
#          "(command_timeout 2s)" before it ends
#
# After every kind of close the session counts are freed: a listener at
# its limit takes exactly as many sessions again.  At the end ternd is
# alive and still delivers.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/listen.sh"

ternd_sandbox_init

# Longest a held connection waits for its release (seconds).
HOLD_MAX=60

# hold NAME PORT [--source ADDR]: a connection in the background that
# reads its greeting and stays until release (or HOLD_MAX seconds);
# its transcript in $SANDBOX/hold.NAME.  Waits (bounded) for the
# greeting or a refusal.
HOLD_PIDS=()
hold()
{
	local port=$2 f=$SANDBOX/hold.$1
	shift 2
	rm -f "$SANDBOX/release"
	: >"$f"
	timeout -k 5 $((HOLD_MAX + 10)) "$PYTHON" "$SMTP_CLIENT" --port "$port" \
		--timeout 15 "$@" read "hold:$SANDBOX/release:$HOLD_MAX" "cmd:QUIT" >"$f" 2>&1 &
	HOLD_PIDS+=("$!")
	_sb_pids+=("$!")
	wait_for "grep -q -E '^[0-9]{3} |^<' '$f'" 15
}

# held NAME: the first line the held connection NAME got.
held() { head -n 1 "$SANDBOX/hold.$1"; }

# release: let every held connection go, and wait (bounded) until each
# has ended.
release()
{
	local pid
	touch "$SANDBOX/release"
	for pid in "${HOLD_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	HOLD_PIDS=()
}

# disconnects: "disconnect from" lines in the log so far.
disconnects() { log_count 'disconnect from unknown\['; }

# greet_eventually PORT [ARGS...]: a new session is greeted with 220,
# tried a few times (a close may still be under way); bounded.
# shellcheck disable=SC2317  # called through ok
greet_eventually()
{
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		smtp "$@" read "cmd:QUIT" "eof:10"
		[[ $SMTP_OUT == "220 $HOST ESMTP tern"* ]] && return 0
		sleep 0.5
	done
	diag "last attempt:" "$SMTP_OUT"
	return 1
}

# distinct free ports
ports=()
while [ "${#ports[@]}" -lt 5 ]; do
	p=$(free_port)
	case " ${ports[*]} " in *" $p "*) continue ;; esac
	ports+=("$p")
done
CONN=${ports[0]} PERIP=${ports[1]} PROTO=${ports[2]} IDLE=${ports[3]} CMD=${ports[4]}

peer_start main
P=${PEER_PORT[main]}
ternd_config "max_message_size = 10K" "$(relay main "$P" "tls = none")" \
	"[listen conn]" "address = 127.0.0.1:$CONN" "max_connections = 3" \
	"max_connections_per_ip = 3" \
	"[listen perip]" "address = 127.0.0.1:$PERIP" "max_connections_per_ip = 2" \
	"[listen proto]" "address = 127.0.0.1:$PROTO" "max_recipients = 3" \
	"max_errors = 3" "max_connections = 3" "max_connections_per_ip = 3" \
	"[listen idle]" "address = 127.0.0.1:$IDLE" "idle_timeout = 2s" "max_connections = 1" \
	"max_connections_per_ip = 1" \
	"[listen cmd]" "address = 127.0.0.1:$CMD" "command_timeout = 2s" \
	"idle_timeout = 60s" "max_connections = 1" "max_connections_per_ip = 1"
ternd_start || bail_out "ternd did not start"
ok "the five listeners are up" wait_for "[ \$(log_count 'listening on 127\\.0\\.0\\.1:') -ge 5 ]" 10

# ---------------------------------------------------------------- max_connections

hold c1 "$CONN"
hold c2 "$CONN"
hold c3 "$CONN" --source 127.0.0.2
is "$(held c1) $(held c2) $(held c3)" "220 $HOST ESMTP tern 220 $HOST ESMTP tern 220 $HOST ESMTP tern" \
	"max_connections = 3: three sessions are greeted"
log_mark
smtp "$CONN" --source 127.0.0.3 read "eof:10"
is "$SMTP_OUT" "421 4.7.0 $HOST Error: too many connections (limit 3); try again later
<EOF>" "the 4th connection: 421 4.7.0 HOST Error: too many connections (limit 3); try again later, then closed"
ok "the refusal is logged" log_has '\[listen conn\]: too many connections \(limit 3\)' new
d0=$(disconnects)
release
ok "the 3 held sessions end" wait_for "[ \$(disconnects) -ge $((d0 + 3)) ]" 10
hold c4 "$CONN"
hold c5 "$CONN"
hold c6 "$CONN"
is "$(held c4) $(held c5) $(held c6)" "220 $HOST ESMTP tern 220 $HOST ESMTP tern 220 $HOST ESMTP tern" \
	"after they closed, 3 sessions are greeted again"
smtp "$CONN" read "eof:10"
like "$SMTP_OUT" "^421 4\\.7\\.0 $HOST Error: too many connections \\(limit 3\\)" \
	"and the 4th is refused again: the count is exact"
d0=$(disconnects)
release
wait_for "[ \$(disconnects) -ge $((d0 + 3)) ]" 10

# ---------------------------------------------------------------- max_connections_per_ip

hold p1 "$PERIP"
hold p2 "$PERIP"
is "$(held p1) $(held p2)" "220 $HOST ESMTP tern 220 $HOST ESMTP tern" \
	"max_connections_per_ip = 2: two sessions from 127.0.0.1 are greeted"
log_mark
smtp "$PERIP" read "eof:10"
is "$SMTP_OUT" "421 4.7.0 $HOST Error: too many connections from 127.0.0.1 (limit 2); try again later
<EOF>" "the 3rd from 127.0.0.1: 421 4.7.0 HOST Error: too many connections from 127.0.0.1 (limit 2); try again later, then closed"
ok "logged: too many connections from 127.0.0.1 (limit 2)" \
	log_has 'too many connections from 127\.0\.0\.1 \(limit 2\)' new
smtp "$PERIP" --source 127.0.0.2 read "cmd:EHLO other.example" "cmd:QUIT" "eof:10"
like "$SMTP_OUT" "^220 $HOST ESMTP tern"$'\n'"250-$HOST"$'\n'".*221 2\\.0\\.0 Bye"$'\n''<EOF>$' \
	"meanwhile 127.0.0.2 still gets in (and is served)"
d0=$(disconnects)
release
ok "the held sessions end" wait_for "[ \$(disconnects) -ge $((d0 + 2)) ]" 10
hold p3 "$PERIP"
hold p4 "$PERIP"
is "$(held p3) $(held p4)" "220 $HOST ESMTP tern 220 $HOST ESMTP tern" \
	"after they closed, 127.0.0.1 gets two sessions again"
smtp "$PERIP" read "eof:10"
like "$SMTP_OUT" "^421 4\\.7\\.0 $HOST Error: too many connections from 127\\.0\\.0\\.1 \\(limit 2\\)" \
	"and the 3rd is refused again: the per-address count is exact"
d0=$(disconnects)
release
wait_for "[ \$(disconnects) -ge $((d0 + 2)) ]" 10

# ---------------------------------------------------------------- line length

# "NOOP " + x... + CRLF of exactly N octets.
noop_of() { printf 'NOOP %s\\r\\n' "$(head -c $(($1 - 7)) /dev/zero | tr '\0' x)"; }

smtp "$PROTO" read "cmd:EHLO client.example" \
	"send:$(noop_of 2048)" read \
	"send:$(noop_of 2049)" read \
	"cmd:QUIT" "eof:10"
is "$(after '^250 CHUNKING$')" "250 2.0.0 Ok
500 5.5.2 Error: command line too long (limit 2048 octets)
221 2.0.0 Bye
<EOF>" "a command line of 2048 octets (CRLF included) is taken; 2049 octets: 500 5.5.2 Error: command line too long (limit 2048 octets)"

# A long line is one error, whatever it holds past the limit: its tail
# is never taken as a command of its own.
smtp "$PROTO" read "cmd:EHLO client.example" \
	"send:NOOP $(head -c 3000 /dev/zero | tr '\0' x)RSET\\r\\nNOOP\\r\\n" "replies:2" \
	"cmd:QUIT" "eof:10"
is "$(after '^250 CHUNKING$')" "500 5.5.2 Error: command line too long (limit 2048 octets)
250 2.0.0 Ok
221 2.0.0 Bye
<EOF>" "a 3000-octet line, then NOOP: one 500 for the long line, then 250 for NOOP"

# ---------------------------------------------------------------- max_recipients

smtp "$PROTO" read "cmd:EHLO client.example" "cmd:MAIL FROM:<alice@client.example>" \
	"cmd:RCPT TO:<r1@remote.example>" "cmd:RCPT TO:<r2@remote.example>" \
	"cmd:RCPT TO:<r3@remote.example>" "cmd:RCPT TO:<r4@remote.example>" \
	"cmd:DATA" "send:Subject: three of four\r\n\r\nfor the first three\r\n.\r\n" read \
	"cmd:QUIT" "eof:10"
is "$(after '^250 2\.1\.0 Ok$' | head -n 4)" "250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
452 4.5.3 Error: too many recipients (limit 3)" \
	"max_recipients = 3: the 4th RCPT gets 452 4.5.3 Error: too many recipients (limit 3)"
like "$(after '^354 ' | head -n 1)" '^250 2\.0\.0 Ok: queued as [0-9A-F]{19}$' "the message to the first 3 is queued"
ok "and delivered" wait_for 'peer_find main "^Subject: three of four$" >/dev/null' 20
f=$(peer_find main "^Subject: three of four$")
is "$(msg_env "$f" | sed -n 's/^RCPT //p' | sort)" "TO:<r1@remote.example>
TO:<r2@remote.example>
TO:<r3@remote.example>" "the peer gets the first 3 recipients, not the 4th"

# ---------------------------------------------------------------- max_message_size

smtp "$PROTO" read "cmd:EHLO client.example" \
	"cmd:MAIL FROM:<alice@client.example> SIZE=20000" \
	"cmd:MAIL FROM:<alice@client.example> SIZE=10240" "cmd:QUIT" "eof:10"
like "$(printf '%s\n' "$SMTP_OUT" | grep '^250-SIZE')" '^250-SIZE 10240$' "EHLO offers SIZE 10240 (max_message_size = 10K)"
is "$(after '^250 CHUNKING$')" "552 5.3.4 Message size exceeds fixed limit (10240 bytes)
250 2.1.0 Ok
221 2.0.0 Bye
<EOF>" "MAIL with SIZE=20000: 552 5.3.4 Message size exceeds fixed limit (10240 bytes); SIZE=10240 is taken"

# A 20K body: refused after the dot, nothing queued.
{
	printf 'Subject: too big\r\n\r\n'
	for i in $(seq 1 250); do printf '%079d\r\n' "$i"; done
	printf '.\r\n'
} >"$SANDBOX/big.txt"
log_mark
smtp "$PROTO" read "cmd:EHLO client.example" "cmd:MAIL FROM:<alice@client.example>" \
	"cmd:RCPT TO:<big@remote.example>" "cmd:DATA" "sendfile:$SANDBOX/big.txt" read \
	"cmd:NOOP" "cmd:QUIT" "eof:10"
is "$(after '^354 ')" "552 5.3.4 Message size exceeds fixed limit (10240 bytes)
250 2.0.0 Ok
221 2.0.0 Bye
<EOF>" "a $(file_size "$SANDBOX/big.txt")-octet message: 552 5.3.4 after the dot, and the session goes on"
ok "the refusal is logged: NOQUEUE: reject: DATA from unknown[127.0.0.1]: 552 5.3.4 ..." \
	log_has 'NOQUEUE: reject: DATA from unknown\[127\.0\.0\.1\]: 552 5\.3\.4 Message size exceeds fixed limit \(10240 bytes\)' new
is "$(log_count ': client=unknown\[' new)" 0 "nothing is queued for it (no client= line)"

# ---------------------------------------------------------------- max_errors

smtp "$PROTO" read "cmd:EHLO client.example" "cmd:RCPT TO:<x@remote.example>" \
	"cmd:MAIL FROM:bad" "cmd:FOO" "eof:10" "cmd:NOOP"
is "$(after '^250 CHUNKING$' | head -n 5)" "503 5.5.1 Error: need MAIL command
501 5.5.4 Syntax: MAIL FROM:<address>
500 5.5.2 Error: command not recognized
421 4.7.0 $HOST Error: too many errors (limit 3)
<EOF>" "max_errors = 3: the 3rd error reply is followed by 421 4.7.0 HOST Error: too many errors (limit 3), then the close"
unlike "$(after '^<EOF>$')" '^2[0-9][0-9] ' "nothing is answered after the close"

# Errors count per session: a new one starts from zero.
smtp "$PROTO" read "cmd:EHLO client.example" "cmd:FOO" "cmd:FOO" "cmd:NOOP" "cmd:QUIT" "eof:10"
is "$(after '^250 CHUNKING$')" "500 5.5.2 Error: command not recognized
500 5.5.2 Error: command not recognized
250 2.0.0 Ok
221 2.0.0 Bye
<EOF>" "a new session may make 2 errors and go on"

# ---------------------------------------------------------------- idle_timeout

log_mark
smtp "$IDLE" read "cmd:EHLO client.example" "eof:20"
is "$(after '^250 CHUNKING$')" "421 4.4.2 $HOST Error: timeout exceeded (idle_timeout 2s)
<EOF>" "idle_timeout = 2s: an idle client gets 421 4.4.2 HOST Error: timeout exceeded (idle_timeout 2s), then the close"
# Postfix's "timeout after EHLO from ..." or tern's "timeout (idle_timeout
# 2s) from ...".
ok "the timeout is logged" log_has 'timeout (after [A-Z]+|\(idle_timeout 2s\)) from unknown\[127\.0\.0\.1\]' new
smtp "$IDLE" read "eof:20"
is "$SMTP_OUT" "220 $HOST ESMTP tern
421 4.4.2 $HOST Error: timeout exceeded (idle_timeout 2s)
<EOF>" "a client silent from the greeting on is timed out the same way"
ok "max_connections = 1 on that listener: after the timeouts a new session is greeted" \
	greet_eventually "$IDLE"

# ---------------------------------------------------------------- command_timeout

log_mark
smtp "$CMD" read "cmd:EHLO client.example" "send:MAIL FROM:<a@b" \
	"drip:1:cccccccccccccccccccccccccccccc"
got=$(after '^250 CHUNKING$')
like "$got" "^421 4\\.4\\.2 $HOST Error: timeout exceeded \\(command_timeout 2s\\)"$'\n''<EOF>' \
	"command_timeout = 2s (idle 60s): a line dribbled a byte a second gets 421 4.4.2 HOST Error: timeout exceeded (command_timeout 2s), then the close"
k=$(printf '%s\n' "$got" | sed -n 's/^<drip: sent \([0-9]*\) of 30>$/\1/p')
ok "the dribbling client is cut off before its 30 bytes are out (sent ${k:-?})" test "${k:-99}" -lt 30
ok "the timeout is logged" log_has 'timeout (after [A-Z]+|\(command_timeout 2s\)) from unknown\[127\.0\.0\.1\]' new

# A DATA transfer dribbled: the same limit, nothing queued.
log_mark
smtp "$CMD" read "cmd:EHLO client.example" "cmd:MAIL FROM:<a@client.example>" \
	"cmd:RCPT TO:<slow@remote.example>" "cmd:DATA" "send:Subject: dribbled\r\n\r\n" \
	"drip:1:dddddddddddddddddddddddddddddd"
got=$(after '^354 ')
like "$got" "^421 4\\.4\\.2 $HOST Error: timeout exceeded \\(command_timeout 2s\\)"$'\n''<EOF>' \
	"a DATA transfer dribbled a byte a second: 421 (command_timeout 2s), then the close"
k=$(printf '%s\n' "$got" | sed -n 's/^<drip: sent \([0-9]*\) of 30>$/\1/p')
ok "cut off before its 30 bytes are out (sent ${k:-?})" test "${k:-99}" -lt 30
is "$(log_count ': client=unknown\[' new)" 0 "the dribbled message is not queued"
ok "max_connections = 1 on that listener: after the cut a new session is greeted" \
	greet_eventually "$CMD"

# ---------------------------------------------------------------- counts freed, still serving

# proto (max_connections = 3) has seen sessions end by QUIT, by too many
# errors and by a long line; conn and perip by clients going away and by
# refusals: each takes its full count again.
hold q1 "$PROTO"
hold q2 "$PROTO"
hold q3 "$PROTO"
is "$(held q1) $(held q2) $(held q3)" "220 $HOST ESMTP tern 220 $HOST ESMTP tern 220 $HOST ESMTP tern" \
	"proto: after every kind of close, 3 sessions are greeted"
smtp "$PROTO" read "eof:10"
like "$SMTP_OUT" "^421 4\\.7\\.0 $HOST Error: too many connections \\(limit 3\\)" "and a 4th is refused"
d0=$(disconnects)
release
wait_for "[ \$(disconnects) -ge $((d0 + 3)) ]" 10
hold r1 "$CONN"
hold r2 "$CONN"
hold r3 "$CONN"
is "$(held r1) $(held r2) $(held r3)" "220 $HOST ESMTP tern 220 $HOST ESMTP tern 220 $HOST ESMTP tern" \
	"conn: 3 sessions are greeted at the end"
release
ok "perip: 127.0.0.1 is greeted at the end" greet_eventually "$PERIP"

ok "ternd is alive after all of it" ternd_alive
smtp "$PROTO" read "cmd:EHLO client.example" "cmd:MAIL FROM:<alice@client.example>" \
	"cmd:RCPT TO:<last@remote.example>" "cmd:DATA" \
	"send:Subject: still serving\r\n\r\nthe end\r\n.\r\n" read "cmd:QUIT" "eof:10"
like "$(after '^354 ' | head -n 1)" '^250 2\.0\.0 Ok: queued as ' "ternd still takes a message"
ok "and delivers it" wait_for 'peer_find main "^Subject: still serving$" >/dev/null' 20
is "$(peer_count main)" 2 "the peer got exactly the 2 messages that were accepted"
ternd_stop
is "$TERND_RC" 0 "ternd exits 0"

done_testing
