#!/bin/bash
# submit_basic: what a plain "sendmail rcpt < message" puts into maildrop,
# and the trigger datagrams sendmail sends to a listening ternd.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"
sandbox_init

now=$(date +%s)

# ---------------------------------------------------------------- plain submit
msg=$'Subject: basic\nX-Test: 1\n\nhello\nworld\n'
submit "$msg" bob@example.com
is "$RC" 0 "plain submit exits 0"
is "$ERR" "" "plain submit prints nothing without -v"
assert_queued 1 "one file in maildrop"
assert_no_tmp "no tmp. file after a successful submit"
qf=$(newest_qf)
like "$(basename "$qf")" '^[0-9A-F]{19}$' "the file is named by a 19-hex-digit queue ID"
is "$(stat -c %a "$qf")" 600 "maildrop file mode is 0600"
qf_parse "$qf"
is "$(printf '%s\n' "$QF_ENVELOPE" | head -n 1)" "tern-envelope: 1" \
	"envelope starts with the version line"
is "$(qf_env sender)" "$LOGIN@example.org" "sender is login@origin"
is "$(qf_rcpts)" "bob@example.com" "one rcpt line with the recipient"
like "$(printf '%s\n' "$QF_ENVELOPE" | grep '^rcpt: ')" '^rcpt: bob@example\.com state=pending$' \
	"rcpt line is pending, without notify"
is "$(qf_env uid)" "$(id -u)" "uid is the submitting user"
arrival=$(qf_env arrival)
like "$arrival" '^[0-9]+\.[0-9]{6}$' "arrival is seconds.microseconds"
a=${arrival%.*}
ok "arrival is now" test "${a:-0}" -ge $((now - 5)) -a "${a:-0}" -le $(($(date +%s) + 5))
is "$(file_size "$QF_DATA")" "$QF_DLEN" "data: N matches the bytes that follow"
is "$(qf_env size)" "$QF_DLEN" "size: equals the data length"
is "$(file_size "$qf")" $(( $(printf '%s\n' "$QF_ENVELOPE" | wc -c) + \
	${#QF_DLEN} + 7 + QF_DLEN + 4 )) "file is envelope, data line, data and trailer, nothing else"
ok "data is followed by the end trailer" qf_trailer_ok
is "$(qf_env body)" "7bit" "ASCII message: body: 7bit"
is "$(qf_env smtputf8)" "" "ASCII addresses: no smtputf8 record"
ok "body is stored byte for byte" cmp -s "$QF_BODY" <(printf 'hello\nworld\n')
is "$(qf_header Subject)" "Subject: basic" "Subject kept"
is "$(qf_header X-Test)" "X-Test: 1" "unknown header kept"
is "$(head -n 2 "$QF_HEADERS")" $'Subject: basic\nX-Test: 1' \
	"the message's own headers come first, in order"
like "$(qf_header From)" "^From: (.* <$LOGIN@example\.org>|$LOGIN@example\.org)\$" \
	"From added with login@origin"
like "$(qf_header Date)" \
	'^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}$' \
	"Date added in RFC 5322 form"
like "$(qf_header Message-ID)" '^Message-ID: <[^<>@ ]+@host\.example\.org>$' \
	"Message-ID added, right side is hostname"
is "$(qf_header To)" "To: undisclosed-recipients:;" \
	"To: undisclosed-recipients:; added when there is no To/Cc/Bcc"
is "$(grep -a -c $'^[^ \t]' "$QF_HEADERS")" 6 "exactly four header fields added"

# A second message gets its own, later ID.
first=$(basename "$qf")
submit "$msg" bob@example.com
is "$RC" 0 "second submit exits 0"
assert_queued 2 "two files in maildrop"
second=$(basename "$(newest_qf)")
ok "second queue ID sorts after the first" test "$first" \< "$second"

# umask does not change the file mode.
clear_queue
printf 'x\n' >"$SANDBOX/in.txt"
run bash -c 'umask 000; exec "$@"' _ "$SENDMAIL" bob@example.com <"$SANDBOX/in.txt"
is "$RC" 0 "submit with umask 000 exits 0"
is "$(stat -c %a "$(newest_qf)" 2>/dev/null)" 600 "file mode is 0600 even with umask 000"

# ---------------------------------------------------------------- -v
clear_queue
submit "$msg" -v bob@example.com
is "$RC" 0 "-v exits 0"
id=$(maildrop_ids | tail -n 1)
like "$ERR" "queued as $id" "-v prints 'queued as ID' with the file's ID"
like "$ERR" "ternd is not running" "-v says ternd is not running"

# ---------------------------------------------------------------- queue setup
rm -rf "$QUEUE_DIR"
submit "$msg" bob@example.com
is "$RC" 0 "submit into a missing queue_dir exits 0"
missing=
for d in maildrop incoming active deferred hold corrupt public; do
	[ -d "$QUEUE_DIR/$d" ] || missing="$missing $d"
done
is "$missing" "" "queue_dir and all its subdirectories are created"
is "$(stat -c %a "$QUEUE_DIR")" 700 "created queue_dir has mode 0700"
assert_queued 1 "the message is in the new maildrop"
rm -rf "$MAILDROP"
submit "$msg" bob@example.com
is "$RC" 0 "submit with maildrop missing exits 0"
assert_queued 1 "maildrop is recreated and holds the message"

# ---------------------------------------------------------------- line ends
clear_queue
submit $'Subject: crlf\r\nX-A: b\r\n\r\nline1\r\nline2\r\n' bob@example.com
is "$RC" 0 "CRLF input exits 0"
qf_parse_newest
nok "no CR left in the stored message" grep -q $'\r' "$QF_DATA"
is "$(qf_header Subject)" "Subject: crlf" "CRLF header stored with LF"
ok "CRLF body stored with LF" cmp -s "$QF_BODY" <(printf 'line1\nline2\n')
is "$(qf_env size)" "$(file_size "$QF_DATA")" "size counts the LF-normalised message"

clear_queue
submit $'Subject: cr\n\na\rb\n' bob@example.com
is "$RC" 0 "bare CR inside a line exits 0"
qf_parse_newest
ok "a CR that does not end a line is kept" cmp -s "$QF_BODY" <(printf 'a\rb\n')

clear_queue
submit $'Subject: mixed\r\n\nlf\r\ncrlf\nlast' bob@example.com
is "$RC" 0 "mixed LF/CRLF input exits 0"
qf_parse_newest
ok "mixed line ends normalised, missing final newline added" \
	cmp -s "$QF_BODY" <(printf 'lf\ncrlf\nlast\n')

clear_queue
submit $'Subject: nonl\n\nno newline at the end' bob@example.com
is "$RC" 0 "last line without newline exits 0"
qf_parse_newest
ok "last line gets a newline" cmp -s "$QF_BODY" <(printf 'no newline at the end\n')
ok "trailer still follows the data" qf_trailer_ok

clear_queue
submit 'just one line' bob@example.com
is "$RC" 0 "input of one line without newline exits 0"
qf_parse_newest
ok "the line is kept as the body, with a newline" cmp -s "$QF_BODY" <(printf 'just one line\n')

# ---------------------------------------------------------------- From_ line
clear_queue
submit $'From alice@example.org Sat Nov 21 10:00:00 2026\nSubject: mbox\n\nFrom here on\n>From there\n' bob@example.com
is "$RC" 0 "input with a leading From_ line exits 0"
qf_parse_newest
nok "the leading 'From ' line is dropped" grep -q '^From alice' "$QF_DATA"
is "$(head -n 1 "$QF_HEADERS")" "Subject: mbox" "the first header follows the dropped line"
ok "'From ' lines in the body are kept" cmp -s "$QF_BODY" <(printf 'From here on\n>From there\n')

clear_queue
submit $'From: alice@example.org\nSubject: keep\n\nx\n' bob@example.com
qf_parse_newest
is "$(head -n 1 "$QF_HEADERS")" "From: alice@example.org" "a leading From: header is not an mbox line"
is "$(qf_header_count From)" 1 "no From added when one is present"

# ---------------------------------------------------------------- empty input
clear_queue
submit '' bob@example.com
is "$RC" 0 "empty input is accepted"
assert_queued 1 "empty input is queued"
qf_parse_newest
is "$(qf_header_count From)" 1 "empty input: From added"
is "$(qf_header_count Date)" 1 "empty input: Date added"
is "$(qf_header_count Message-ID)" 1 "empty input: Message-ID added"
is "$(qf_header To)" "To: undisclosed-recipients:;" "empty input: To added"
is "$(file_size "$QF_BODY")" 0 "empty input: empty body"
is "$(tail -c 1 "$QF_DATA" | od -An -c | tr -d ' ')" '\n' "empty input: header section ends with a newline"
is "$(qf_env size)" "$QF_DLEN" "empty input: size matches data"

# ---------------------------------------------------------------- body type
clear_queue
submit $'Subject: 8bit\n\nGr\xc3\xbc\xc3\x9fe\n' bob@example.com
is "$RC" 0 "8-bit body exits 0"
qf_parse_newest
is "$(qf_env body)" "8bitmime" "8-bit body: body: 8bitmime"
ok "8-bit body stored intact" cmp -s "$QF_BODY" <(printf 'Gr\xc3\xbc\xc3\x9fe\n')

clear_queue
submit $'Subject: Gr\xc3\xbc\xc3\x9fe\n\nascii body\n' bob@example.com
qf_parse_newest
is "$(qf_env body)" "8bitmime" "8-bit header: body: 8bitmime"

# ---------------------------------------------------------------- addresses
clear_queue
submit $'Subject: utf8\n\nx\n' $'j\xc3\xb6rg@ex\xc3\xa4mple.org'
is "$RC" 0 "UTF-8 recipient exits 0"
qf_parse_newest
is "$(qf_env smtputf8)" "yes" "UTF-8 recipient: smtputf8: yes"
is "$(qf_rcpts)" $'j\xc3\xb6rg@ex\xc3\xa4mple.org' "UTF-8 recipient stored as UTF-8"

clear_queue
submit $'Subject: dup\n\nx\n' a@example.com A@EXAMPLE.COM '<a@example.com>' \
	'A Person <a@example.com>' b@example.com a@example.com
is "$RC" 0 "duplicate recipients exit 0"
qf_parse_newest
is "$(qf_rcpts | tr '\n' ' ')" "a@example.com b@example.com " \
	"duplicates are queued once, first spelling and order kept"

clear_queue
submit $'Subject: list\n\nx\n' 'a@example.com, b@example.com' c@example.com
is "$RC" 0 "comma-separated list argument exits 0"
qf_parse_newest
is "$(qf_rcpts | tr '\n' ' ')" "a@example.com b@example.com c@example.com " \
	"a list argument gives one rcpt per address"

clear_queue
submit $'Subject: local\n\nx\n' bob
is "$RC" 0 "unqualified recipient exits 0"
qf_parse_newest
like "$(qf_rcpts)" '^bob(@example\.org)?$' "unqualified recipient kept (or qualified with origin)"

# ---------------------------------------------------------------- trigger
trig_path=$QUEUE_DIR/public/trigger
if [ ! -x "$PYTHON" ]; then
	for t in listener W -v F A -bi stale-submit stale-v stale-q; do
		skip "trigger: $t" "no $PYTHON"
	done
elif [ ${#trig_path} -ge 108 ]; then
	for t in listener W -v F A -bi stale-submit stale-v stale-q; do
		skip "trigger: $t" "socket path too long for AF_UNIX"
	done
else
	clear_queue
	if trigger_listen 1 10; then
		pass "trigger listener bound $trig_path"
		submit "$msg" -v bob@example.com
		got=$(trigger_wait)
		is "$RC/$got" "0/W" "submit sends W to a listening ternd"
		unlike "$ERR" "not running" "-v does not claim ternd is down when it listens"
	else
		fail "trigger listener bound $trig_path"
		skip "submit sends W" "no listener"
		skip "-v with a listener" "no listener"
	fi
	if trigger_listen 1 10; then
		sm -q
		got=$(trigger_wait)
		is "$RC/$got" "0/F" "sendmail -q exits 0 and sends F"
	else
		fail "sendmail -q sends F" "listener did not start"
	fi
	if trigger_listen 1 10; then
		run "$NEWALIASES" </dev/null
		got=$(trigger_wait)
		is "$RC/$got" "0/A" "newaliases exits 0 and sends A"
	else
		fail "newaliases sends A" "listener did not start"
	fi
	if trigger_listen 1 10; then
		sm -bi
		got=$(trigger_wait)
		is "$RC/$got" "0/A" "sendmail -bi exits 0 and sends A"
	else
		fail "sendmail -bi sends A" "listener did not start"
	fi
	# A socket left behind by a dead ternd: nobody reads it.
	"$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.close()' "$trig_path"
	clear_queue
	submit "$msg" -v bob@example.com
	is "$RC/$(count_queued)" "0/1" "with a stale trigger socket the message is still queued (exit 0)"
	like "$ERR" "ternd is not running" "-v with a stale socket says ternd is not running"
	sm -q
	is "$RC" 69 "sendmail -q with a stale socket exits 69"
	rm -f "$trig_path"
fi

done_testing
