#!/bin/bash
# sendmail_bs: "sendmail -bs", SMTP on standard input and output — the
# listener's engine with the local user as a trusted client.  Sessions
# come from swaks --pipe and from raw SMTP (here-docs, CRLF and bare LF,
# pipelined); what they put into maildrop is checked as for a pipe.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"
sandbox_init

HOST=host.example.org
UIDN=$(id -u)

# bs_file [ARGS...]: sendmail -bs reading $SANDBOX/stdin; REPLIES is what
# it wrote without the CRs.
bs_file()
{
	run "$SENDMAIL" -bs "$@" <"$SANDBOX/stdin"
	REPLIES=$(tr -d '\r' <"$SANDBOX/stdout")
}

# session [ARGS...] <<EOF: a session from a here-doc, every LF sent as CRLF.
session()
{
	sed 's/$/\r/' >"$SANDBOX/stdin"
	bs_file "$@"
}

# raw TEXT [ARGS...]: a session of exactly these bytes.
raw()
{
	printf '%s' "$1" >"$SANDBOX/stdin"
	shift
	bs_file "$@"
}

# The IDs of "250 2.0.0 Ok: queued as ID", one a line.
queued_ids()
{
	printf '%s\n' "$REPLIES" | sed -n 's/^250 2\.0\.0 Ok: queued as //p'
}

# reply_to PATTERN: the reply lines that match an ERE.
replies_like()
{
	printf '%s\n' "$REPLIES" | grep -E -- "$1"
}

# ---------------------------------------------------------------- a session
clear_queue
session <<'EOF'
EHLO client.example.org
MAIL FROM:<alice@example.org>
RCPT TO:<bob@example.com>
DATA
Subject: first
X-Test: 1

hello
..leading dot
world
.
QUIT
EOF
is "$RC" 0 "a session ended by QUIT exits 0"
is "$ERR" "" "nothing on stderr without -v"
id=$(queued_ids)
is "$REPLIES" "220 $HOST ESMTP tern
250-$HOST
250-PIPELINING
250-SIZE 26214400
250-ENHANCEDSTATUSCODES
250-8BITMIME
250-DSN
250-SMTPUTF8
250 CHUNKING
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as $id
221 2.0.0 Bye" "the replies of the catalogue, EHLO without STARTTLS or AUTH"
ok "every reply line ends in CRLF" \
	test "$(grep -c $'\r$' "$SANDBOX/stdout")" = "$(grep -c '' "$SANDBOX/stdout")"
assert_queued 1 "one file in maildrop"
is "$(maildrop_ids)" "$id" "the file is named by the ID of the 250 reply"
assert_no_tmp "no tmp. file after the session"
qf_parse_newest
is "$(qf_env sender)" "alice@example.org" "envelope sender is MAIL FROM"
is "$(qf_rcpts)" "bob@example.com" "envelope recipient is RCPT TO"
like "$(printf '%s\n' "$QF_ENVELOPE" | grep '^rcpt: ')" '^rcpt: bob@example\.com state=pending$' \
	"rcpt line is pending, no DSN attributes"
is "$(qf_env uid)" "$UIDN" "uid is the invoking user"
is "$(qf_env body)" "7bit" "ASCII message: body: 7bit"
is "$(qf_env size)" "$QF_DLEN" "size: equals the data length"
ok "the trailer follows the data" qf_trailer_ok
ok "body stored with LF line ends and dot-unstuffed" \
	cmp -s "$QF_BODY" <(printf 'hello\n.leading dot\nworld\n')
is "$(head -n 2 "$QF_HEADERS")" $'Subject: first\nX-Test: 1' "the message's fields come first"
like "$(qf_header From)" "^From: (.* <$LOGIN@example\.org>|$LOGIN@example\.org)\$" \
	"From added for the invoking user"
like "$(qf_header Date)" '^Date: [A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [+-][0-9]{4}$' \
	"Date added"
like "$(qf_header Message-ID)" "^Message-ID: <[0-9]{14}\.$id@host\.example\.org>\$" \
	"Message-ID added with the queue ID and hostname"
is "$(qf_header To)" "To: undisclosed-recipients:;" "To added when there is no To/Cc/Bcc"
is "$(qf_header_count Received)" 0 "no Received field yet (ternd adds it at pickup)"

# ---------------------------------------------------------------- swaks
if command -v swaks >/dev/null 2>&1; then
	clear_queue
	run swaks --pipe "$SENDMAIL -bs" --from a@example.org \
		--to bob@example.com,carol@example.net --header "Subject: via swaks" \
		--add-header "Bcc: hidden@example.com" --body "swaks body"
	is "$RC" 0 "swaks --pipe: the session succeeds"
	like "$OUT" "<- +250 2\.0\.0 Ok: queued as [0-9A-F]{19}" "swaks sees the queued reply"
	like "$OUT" "<- +221 2\.0\.0 Bye" "swaks sees 221 after its QUIT"
	assert_queued 1 "swaks: one file in maildrop"
	qf_parse_newest
	is "$(qf_env sender)" "a@example.org" "swaks: sender"
	is "$(qf_rcpts | tr '\n' ' ')" "bob@example.com carol@example.net " "swaks: both recipients in order"
	is "$(qf_header Subject)" "Subject: via swaks" "swaks: its Subject is kept"
	is "$(qf_header_count Date)/$(qf_header_count Message-Id)/$(qf_header_count From)" "1/1/1" \
		"swaks: its Date, Message-Id and From are not duplicated"
	is "$(qf_header_count Bcc)" 0 "swaks: the Bcc field is removed"
	ok "swaks: the body is kept" grep -q '^swaks body$' "$QF_BODY"

	clear_queue
	run swaks --pipe "$SENDMAIL -bs" --pipeline --from a@example.org --to bob@example.com \
		--body "pipelined"
	is "$RC/$(count_queued)" "0/1" "swaks --pipeline: queued"
else
	for t in rc queued 221 count sender rcpts subject dups bcc body pipeline; do
		skip "swaks: $t" "swaks is not installed"
	done
fi

# ---------------------------------------------------------------- DSN, null sender, 8-bit
clear_queue
session <<'EOF'
EHLO c
MAIL FROM:<> RET=HDRS ENVID=env-42 BODY=8BITMIME
RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.com
RCPT TO:<carol@example.net> NOTIFY=NEVER
DATA
To: bob@example.com
Bcc: secret@example.com
Subject: dsn

body
.
QUIT
EOF
is "$RC" 0 "DSN session exits 0"
qf_parse_newest
is "$(printf '%s\n' "$QF_ENVELOPE" | grep -c '^sender: $')" 1 "null sender kept as sender: (empty)"
is "$(qf_env ret)" "hdrs" "RET=HDRS stored"
is "$(qf_env envid)" "env-42" "ENVID stored"
is "$(qf_env body)" "8bitmime" "BODY=8BITMIME stored"
like "$(printf '%s\n' "$QF_ENVELOPE" | grep '^rcpt: bob')" \
	'notify=(success,failure|failure,success) orcpt=rfc822;bob@example\.com' "NOTIFY and ORCPT stored"
like "$(printf '%s\n' "$QF_ENVELOPE" | grep '^rcpt: carol')" 'notify=never' "NOTIFY=NEVER stored"
is "$(qf_header_count Bcc)" 0 "Bcc removed"
is "$(qf_header To)" "To: bob@example.com" "To kept, no undisclosed-recipients added"
nok "the Bcc address appears nowhere in the message" grep -q secret "$QF_DATA"

clear_queue
raw $'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: 8\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n.\r\nQUIT\r\n'
qf_parse_newest
is "$(qf_env body)" "8bitmime" "8-bit content without BODY=: body: 8bitmime"

# ---------------------------------------------------------------- several messages
clear_queue
session <<'EOF'
EHLO c
MAIL FROM:<a@example.org>
RCPT TO:<one@example.com>
DATA
Subject: one

1
.
MAIL FROM:<a@example.org>
RCPT TO:<dropped@example.com>
RSET
MAIL FROM:<b@example.org>
RCPT TO:<two@example.com>
DATA
Subject: two

2
.
QUIT
EOF
is "$RC" 0 "two messages in one pipelined session: exit 0"
assert_queued 2 "two messages: two files"
is "$(queued_ids | tr '\n' ' ')" "$(maildrop_ids | tr '\n' ' ')" "two messages: two replies with the files' IDs"
qf_parse "$MAILDROP/$(maildrop_ids | tail -n 1)"
is "$(qf_env sender)/$(qf_rcpts)" "b@example.org/two@example.com" \
	"RSET dropped the transaction between them"
is "$(replies_like '^250 2\.0\.0 Ok$')" "250 2.0.0 Ok" "RSET: 250 2.0.0 Ok"

clear_queue
session <<'EOF'
EHLO c
MAIL FROM:<a@example.org>
RCPT TO:<b@example.com>
RSET
QUIT
EOF
assert_nothing_left "RSET then QUIT: nothing queued"

# ---------------------------------------------------------------- content rules
clear_queue
raw $'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: smuggle\r\n\r\nbefore\n.\nMAIL FROM:<evil@example.net>\nRCPT TO:<victim@example.net>\nDATA\nafter\r\n.\r\nQUIT\r\n'
is "$RC" 0 "smuggling attempt: exit 0"
is "$(queued_ids | wc -l)" 1 "a bare-LF dot line does not end the message: one queued reply"
assert_queued 1 "smuggling: one file"
qf_parse_newest
is "$(qf_rcpts)" "b@example.com" "smuggling: the smuggled RCPT is not a recipient"
ok "smuggling: the bare-LF lines are message text" cmp -s "$QF_BODY" \
	<(printf 'before\n.\nMAIL FROM:<evil@example.net>\nRCPT TO:<victim@example.net>\nDATA\nafter\n')

clear_queue
raw $'EHLO c\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.com>\nDATA\nSubject: lf\n\nbare\n.\nstill text\r\n.\r\nQUIT\n'
is "$RC" 0 "commands with bare LF: exit 0"
is "$(replies_like '^(250 2\.1|354)' | wc -l)" 3 "commands ending in bare LF are answered"
qf_parse_newest
ok "bare LF session: only CRLF.CRLF ended the data" cmp -s "$QF_BODY" <(printf 'bare\n.\nstill text\n')

clear_queue
{
	printf 'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: big\r\n\r\n'
	{ head -c 300000 /dev/zero | tr '\0' 'y' | fold -w 998; echo; } | sed 's/$/\r/'
	printf '.\r\nQUIT\r\n'
} >"$SANDBOX/stdin"
bs_file
is "$RC/$(count_queued)" "0/1" "a 300 KB message over many reads is queued"
qf_parse_newest
ok "the 300 KB body arrives intact" cmp -s "$QF_BODY" \
	<(head -c 300000 /dev/zero | tr '\0' 'y' | fold -w 998; echo)

# BDAT (CHUNKING): CRLF becomes LF.
clear_queue
raw $'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 21 LAST\r\nSubject: bdat\r\n\r\nhi\r\nQUIT\r\n'
is "$(replies_like '^250 2\.0\.0 Ok: queued' | wc -l)" 1 "BDAT LAST: queued"
qf_parse_newest
is "$(qf_header Subject)/$(cat "$QF_BODY")" "Subject: bdat/hi" "BDAT: the message is stored"

# ---------------------------------------------------------------- rejected content
clear_queue
# (printf, not $'...': a shell string cannot hold a NUL.)
printf 'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: nul\r\n\r\na\0b\r\n.\r\nNOOP\r\nQUIT\r\n' \
	>"$SANDBOX/stdin"
bs_file
is "$RC" 0 "NUL in the content: the session still exits 0"
like "$REPLIES" $'\n554 5\\.6\\.0 Error: message contains a NUL byte\n250 2\\.0\\.0 Ok\n221' \
	"NUL: 554 5.6.0 after the data, and the session goes on"
assert_nothing_left "NUL: nothing queued"

write_config "max_message_size = 2000"
clear_queue
{
	printf 'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: big\r\n\r\n'
	{ head -c 3000 /dev/zero | tr '\0' 'z' | fold -w 100; echo; } | sed 's/$/\r/'
	printf '.\r\nQUIT\r\n'
} >"$SANDBOX/stdin"
bs_file
is "$RC" 0 "oversize: exit 0"
like "$REPLIES" '250-SIZE 2000' "EHLO announces the configured size"
like "$REPLIES" $'\n552 5\\.3\\.4 Message size exceeds fixed limit \\(2000 bytes\\)\n221' "oversize: 552 5.3.4"
assert_nothing_left "oversize: nothing queued"

# Under the limit as sent, over it once From/Date/Message-ID/To are added.
clear_queue
{
	printf 'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: edge\r\n\r\n'
	head -c 1900 /dev/zero | tr '\0' 'z'
	printf '\r\n.\r\nQUIT\r\n'
} >"$SANDBOX/stdin"
bs_file
like "$REPLIES" $'\n552 5\\.3\\.4 Message size exceeds fixed limit \\(2000 bytes\\)\n221' \
	"over the limit with the added fields: 552 5.3.4"
assert_nothing_left "over the limit with the added fields: nothing queued"
write_config

# ---------------------------------------------------------------- queue errors
clear_queue
rm -rf "$MAILDROP"
printf 'in the way\n' >"$MAILDROP"
session <<'EOF'
EHLO c
MAIL FROM:<a@example.org>
RCPT TO:<b@example.com>
DATA
Subject: q

x
.
QUIT
EOF
is "$RC" 0 "queue not writable: the session still exits 0"
like "$REPLIES" $'\n451 4\\.3\\.0 Error: queue file write error\n221' "queue not writable: 451 4.3.0"
like "$ERR" "maildrop" "queue not writable: stderr names maildrop"
is "$(cat "$MAILDROP")" "in the way" "queue not writable: the file in the way is untouched"
rm -f "$MAILDROP"

if mount_ns_works; then
	cat >"$SANDBOX/full.sh" <<'EOF'
q=$1 sm=$2
"$sm" -bs <"$q.in"; echo "rc=$?" >&2
echo "left=$(find "$q/maildrop" -mindepth 1 | wc -l)" >&2
EOF
	{
		printf 'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: full\r\n\r\n'
		{ head -c 200000 /dev/zero | tr '\0' 'f' | fold -w 100; echo; } | sed 's/$/\r/'
		printf '.\r\nQUIT\r\n'
	} >"$QUEUE_DIR.in"
	rm -rf "$QUEUE_DIR"
	mkdir -p "$QUEUE_DIR"
	ns_run "mount -t tmpfs -o size=64k tmpfs '$QUEUE_DIR'" \
		bash "$SANDBOX/full.sh" "$QUEUE_DIR" "$SENDMAIL" </dev/null
	REPLIES=$(tr -d '\r' <<<"$OUT")
	like "$REPLIES" $'\n452 4\\.3\\.1 Insufficient system storage\n221' "full disk: 452 4.3.1"
	like "$ERR" "rc=0" "full disk: the session exits 0"
	like "$ERR" "left=0" "full disk: nothing left in maildrop"
	rm -rf "$QUEUE_DIR" "$QUEUE_DIR.in"
else
	for t in 452 rc left; do
		skip "full disk: $t" "cannot make tmpfs mounts here"
	done
fi

# ---------------------------------------------------------------- the catalogue
clear_queue
session <<'EOF'
MAIL FROM:<a@example.org>
HELO client.example.org
NOOP
VRFY bob
HELP
FROB
RCPT TO:<b@example.com>
DATA
STARTTLS
AUTH PLAIN AGxvZ2luAHB3
MAIL FROM:<a@example.org>
MAIL FROM:<a@example.org>
DATA
RCPT TO:<anyone@far-away.example>
QUIT
NOOP
EOF
is "$RC" 0 "a session full of errors ended by QUIT exits 0"
is "$REPLIES" "220 $HOST ESMTP tern
503 5.5.1 Error: send HELO/EHLO first
250 $HOST
250 2.0.0 Ok
252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery
$(replies_like '^214 ')
500 5.5.2 Error: command not recognized
503 5.5.1 Error: need MAIL command
503 5.5.1 Error: need MAIL command
502 5.5.1 Error: command not implemented
503 5.5.1 Error: authentication not enabled
250 2.1.0 Ok
503 5.5.1 Error: nested MAIL command
503 5.5.1 Error: need RCPT command
250 2.1.5 Ok
221 2.0.0 Bye" "catalogue replies; a trusted local user may relay; nothing after QUIT"
like "$(replies_like '^214 ')" '^214 2\.0\.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY$' \
	"HELP lists no STARTTLS or AUTH"
assert_nothing_left "no message in that session"

printf 'FROB\r\n%.0s' $(seq 1 12) >"$SANDBOX/stdin"
bs_file
is "$RC" 0 "too many errors: exit 0"
like "$REPLIES" "421 4\\.7\\.0 $HOST Error: too many errors \\(limit 10\\)\$" "too many errors: 421 and close"
is "$(replies_like '^500 ' | wc -l)" 10 "ten errors are answered, the next command gets the 421"

# ---------------------------------------------------------------- end of input
clear_queue
raw $'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: cut\r\n\r\nhalf a mess'
is "$RC" 0 "end of input in the middle of DATA exits 0"
assert_nothing_left "end of input in DATA: nothing queued"

raw $'EHLO c\r\n'
is "$RC" 0 "end of input without QUIT exits 0"

# ---------------------------------------------------------------- options, logging
sm -bs bob@example.com
is "$RC" 64 "-bs with a recipient argument is a usage error (64)"

clear_queue
session -v <<'EOF'
EHLO c
MAIL FROM:<a@example.org>
RCPT TO:<b@example.com>
RCPT TO:<>
DATA
Subject: log

x
.
QUIT
EOF
id=$(queued_ids)
like "$ERR" "connect from local\\[uid=$UIDN\\]" "-v: the connect line names local[uid=N]"
like "$ERR" "$id: client=local\\[uid=$UIDN\\]" "-v: the commit is logged with its client"
like "$ERR" "$id: uid=$UIDN from=<a@example\\.org>, size=[0-9]+, nrcpt=1 \\(queued in maildrop\\)" \
	"-v: the queued line of a piped message"
like "$ERR" "queued as $id" "-v: 'queued as ID' on stderr"
like "$ERR" "NOQUEUE: reject: RCPT from local\\[uid=$UIDN\\]: 5[0-9][0-9] " \
	"-v: a rejected RCPT is logged as NOQUEUE: reject"
like "$ERR" "disconnect from local\\[uid=$UIDN\\] .*commands=[0-9]+" "-v: the disconnect line with counts"

# A reply that cannot be written: 74.
printf 'EHLO c\r\nQUIT\r\n' >"$SANDBOX/stdin"
if [ -w /dev/full ]; then
	run bash -c 'exec "$1" -bs <"$2" >/dev/full' _ "$SENDMAIL" "$SANDBOX/stdin"
	is "$RC" 74 "stdout that cannot be written: exit 74"
else
	skip "stdout that cannot be written: exit 74" "no /dev/full"
fi

# A signal in the middle of a session: 75, nothing left.
clear_queue
rm -f "$SANDBOX/fifo"
mkfifo "$SANDBOX/fifo"
"$SENDMAIL" -bs <"$SANDBOX/fifo" >"$SANDBOX/stdout" 2>"$SANDBOX/stderr" &
smpid=$!
_sb_pids+=("$smpid")
exec 7>"$SANDBOX/fifo"
printf 'EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: sig\r\n\r\npart\r\n' >&7
for _ in $(seq 1 100); do
	grep -q '^354' "$SANDBOX/stdout" 2>/dev/null && break
	sleep 0.05
done
kill -TERM "$smpid" 2>/dev/null
wait "$smpid"
rc=$?
exec 7>&-
is "$rc" 75 "SIGTERM during a session exits 75"
assert_nothing_left "SIGTERM during a session: nothing left"

# A person at a terminal: Enter sends a bare LF, yet "." ends the message.
if [ -x "$PYTHON" ]; then
	clear_queue
	cat >"$SANDBOX/typed_session.py" <<'EOF'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "-bs"])
out = b""
def pump(secs):
    global out
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                out += os.read(fd, 4096)
            except OSError:
                return
for line in ["EHLO c", "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>",
             "DATA", "Subject: typed", "", "by hand", ".", "QUIT"]:
    os.write(fd, line.encode() + b"\r")
    pump(0.2)
pump(1)
_, st = os.waitpid(pid, 0)
pump(0.5)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
sys.stdout.write("exit=%d\n" % os.WEXITSTATUS(st))
EOF
	run "$PYTHON" "$SANDBOX/typed_session.py" "$SENDMAIL" </dev/null
	like "$OUT" $'\n250 2\\.0\\.0 Ok: queued as [0-9A-F]{19}\n' "at a terminal, a typed . ends the message"
	like "$OUT" "exit=0" "at a terminal: QUIT exits 0"
	qf_parse_newest
	is "$(cat "$QF_BODY")" "by hand" "at a terminal: the typed body is queued"
else
	for t in dot exit body; do
		skip "terminal: $t" "no $PYTHON"
	done
fi

# ---------------------------------------------------------------- trigger
trig_path=$QUEUE_DIR/public/trigger
if [ ! -x "$PYTHON" ] || [ ${#trig_path} -ge 108 ]; then
	skip "-bs wakes ternd" "no $PYTHON or socket path too long"
else
	clear_queue
	if trigger_listen 2 10; then
		session <<'EOF'
EHLO c
MAIL FROM:<a@example.org>
RCPT TO:<b@example.com>
DATA
x
.
MAIL FROM:<a@example.org>
RCPT TO:<c@example.com>
DATA
y
.
QUIT
EOF
		got=$(trigger_wait)
		is "$RC/$got" "0/WW" "each queued message wakes ternd (W per message)"
	else
		fail "-bs wakes ternd" "listener did not start"
	fi
fi

done_testing
