#!/bin/bash
# submit_hostile: input that is malformed, huge or made to hurt; after
# every failure nothing of the message may be left in maildrop.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"
sandbox_init

IN=$SANDBOX/input

# ---------------------------------------------------------------- NUL bytes
clear_queue
printf 'Subject: nul\n\nline with a \0 byte\nmore\n' >"$IN"
submit_file "$IN" a@example.com
is "$RC" 65 "a NUL byte in the body exits 65"
like "$ERR" "line 3" "NUL: the message names the line"
like "$ERR" "NUL" "NUL: the message says what is wrong"
assert_nothing_left "NUL: nothing left in maildrop"

clear_queue
printf 'Sub\0ject: nul\n\nbody\n' >"$IN"
submit_file "$IN" a@example.com
is "$RC" 65 "a NUL byte in a header exits 65"
like "$ERR" "line 1" "NUL in a header: the message names line 1"
assert_nothing_left "NUL in a header: nothing left"

clear_queue
printf 'Subject: nul\n\nlast line\0' >"$IN"
submit_file "$IN" a@example.com
is "$RC" 65 "a NUL byte in an unterminated last line exits 65"
assert_nothing_left "NUL at the end: nothing left"

clear_queue
printf 'Subject: nul\n\nbody\n' >"$IN"
head -c 300000 /dev/zero | tr '\0' 'a' >>"$IN"
printf '\n\0\n' >>"$IN"
submit_file "$IN" -i a@example.com
is "$RC" 65 "a NUL byte after 300 KB exits 65"
assert_nothing_left "late NUL: nothing left"

# ---------------------------------------------------------------- long lines
clear_queue
{ printf 'Subject: long line\n\n'; head -c 1048576 /dev/zero | tr '\0' 'x'; printf '\nafter\n'; } >"$IN"
submit_file "$IN" a@example.com
is "$RC" 0 "a 1 MiB body line is accepted"
qf_parse_newest
ok "the 1 MiB line is stored intact" cmp -s "$QF_BODY" <(tail -n +3 "$IN")
is "$(qf_env size)" "$(file_size "$QF_DATA")" "1 MiB line: size matches the data"
ok "1 MiB line: trailer present" qf_trailer_ok

clear_queue
{ printf 'Subject: '; head -c 1048576 /dev/zero | tr '\0' 's'; printf '\n\nbody\n'; } >"$IN"
submit_file "$IN" a@example.com
is "$RC" 0 "a 1 MiB header line is accepted"
qf_parse_newest
ok "the 1 MiB header line is stored intact" cmp -s <(head -n 1 "$QF_HEADERS") <(head -n 1 "$IN")

clear_queue
{ printf 'Subject: many lines\n\n'; seq 1 500000; } >"$IN"
run timeout 60 "$SENDMAIL" -i a@example.com <"$IN"
is "$RC" 0 "a 3 MB message of 500,000 lines is accepted in bounded time"
qf_parse_newest
ok "500,000 lines stored intact" cmp -s "$QF_BODY" <(seq 1 500000)

clear_queue
{ for i in $(seq 1 10000); do printf 'X-Junk-%d: %d\n' "$i" "$i"; done; printf '\nbody\n'; } >"$IN"
run timeout 60 "$SENDMAIL" a@example.com <"$IN"
is "$RC" 0 "10,000 header fields are accepted in bounded time"
qf_parse_newest
is "$(grep -a -c '^X-Junk-' "$QF_HEADERS")" 10000 "10,000 header fields kept"

# ---------------------------------------------------------------- degenerate messages
clear_queue
submit $'just a body line\nand another\n' a@example.com
is "$RC" 0 "no headers at all: exit 0"
qf_parse_newest
ok "no headers: body intact after the added headers" cmp -s "$QF_BODY" <(printf 'just a body line\nand another\n')

clear_queue
submit $'Subject: no body\n' a@example.com
is "$RC" 0 "no body: exit 0"
qf_parse_newest
is "$(file_size "$QF_BODY")" 0 "no body: empty body stored"

clear_queue
submit $'\n\n\n' a@example.com
is "$RC" 0 "only empty lines: exit 0"
qf_parse_newest
ok "only empty lines: two empty body lines stored" cmp -s "$QF_BODY" <(printf '\n\n')

clear_queue
submit $'.\n' a@example.com
is "$RC/$(count_queued)" "0/1" "only a lone dot: exit 0, an empty message queued"

clear_queue
"$PYTHON" -c 'import sys
b = bytes(x for x in range(1, 256) if x not in (10, 13)) * 40
sys.stdout.buffer.write(b"\n".join([b] * 10) + b"\n")' >"$IN" 2>/dev/null ||
	{ for i in 1 2 3; do printf 'bin\x01\x7f\xff\xfe line %d\n' "$i"; done >"$IN"; }
submit_file "$IN" a@example.com
is "$RC" 0 "binary-looking text without NUL/CR is accepted"
qf_parse_newest
ok "binary-looking text stored intact as the body" cmp -s "$QF_BODY" "$IN"
is "$(qf_env body)" "8bitmime" "binary-looking text: body: 8bitmime"

clear_queue
run "$SENDMAIL" a@example.com <"$SANDBOX"
is "$RC" 74 "standard input that cannot be read (a directory) exits 74"
like "$ERR" "standard input" "unreadable stdin: the message says so"
assert_nothing_left "unreadable stdin: nothing left"

# ---------------------------------------------------------------- many recipients
rcpts=()
for i in $(seq 1 10000); do
	rcpts+=("user$i@example.com")
done
clear_queue
printf 'Subject: 10k\n\nbody\n' >"$IN"
run timeout 60 "$SENDMAIL" "${rcpts[@]}" <"$IN"
is "$RC" 0 "10,000 command-line recipients: exit 0 within 60 s"
qf_parse_newest
is "$(qf_rcpts | wc -l | tr -d ' ')" 10000 "10,000 command-line recipients: 10,000 rcpt lines"
is "$(qf_rcpts | sort -u | wc -l | tr -d ' ')" 10000 "10,000 command-line recipients: all distinct"
is "$(qf_rcpts | tail -n 1)" "user10000@example.com" "10,000 command-line recipients: order kept"

clear_queue
{
	printf 'To: user1@example.com'
	for i in $(seq 2 10000); do printf ', user%d@example.com' "$i"; done
	printf '\nSubject: 10k\n\nbody\n'
} >"$IN"
run timeout 60 "$SENDMAIL" -t <"$IN"
is "$RC" 0 "10,000 recipients in one To field with -t: exit 0 within 60 s"
qf_parse_newest
is "$(qf_rcpts | wc -l | tr -d ' ')" 10000 "10,000 To recipients: 10,000 rcpt lines"
ok "10,000 To recipients: the To field is kept whole" cmp -s <(head -n 1 "$QF_HEADERS") <(head -n 1 "$IN")

clear_queue
{
	printf 'To: u1@x.org'
	for i in $(seq 2 100001); do printf ',\n u%d@x.org' "$i"; done
	printf '\n\nbody\n'
} >"$IN"
run timeout 60 "$SENDMAIL" -t <"$IN"
is "$RC" 65 "100,001 recipients (over the limit) exits 65"
like "$ERR" "too many recipients" "too many recipients: the message says so"
assert_nothing_left "too many recipients: nothing left"

clear_queue
{ printf 'To: '; for i in $(seq 1 5000); do printf 'same@example.com, '; done; printf 'same@example.com\n\nbody\n'; } >"$IN"
run timeout 60 "$SENDMAIL" -t <"$IN"
qf_parse_newest
is "$RC/$(qf_rcpts)" "0/same@example.com" "5,001 copies of one address give one recipient"

# ---------------------------------------------------------------- bad addresses
for addr in 'a@b@c' '<unterminated' '"unterminated' 'user@' '(comment' '@example.com' \
	'a b@example.com' 'user@exa mple.com' '<a@example.com' 'a@example.com>' 'a..b@example.com' \
	'.a@example.com' 'user@example..com' 'user@[1.2.3.4' $'ctl\x01@example.com' '<>'; do
	clear_queue
	submit $'Subject: bad\n\nbody\n' "$addr"
	is "$RC" 67 "unparseable recipient '$addr' exits 67"
	like "$ERR" "." "unparseable recipient '$addr': message on stderr"
	assert_nothing_left "unparseable recipient '$addr': nothing left"
done

clear_queue
submit $'Subject: bad\n\nbody\n' good@example.com 'bad@@example.com' other@example.com
is "$RC" 67 "one bad recipient among good ones exits 67"
like "$ERR" "bad@@example\.com" "the message names the bad address"
assert_nothing_left "one bad recipient: nothing queued for the good ones either"

long=$(printf 'l%.0s' $(seq 1 2000))
clear_queue
submit $'Subject: long\n\nbody\n' "$long@example.com"
is "$RC" 67 "a 2000-character address exits 67"
assert_nothing_left "overlong address: nothing left"

for bad in $'j\xf6rg@example.com' $'\xc0\xafx@example.com' $'x@ex\x80ample.com' $'x@example.com\xe2\x82' $'\xed\xa0\x80@example.com'; do
	clear_queue
	submit $'Subject: utf8\n\nbody\n' "$bad"
	is "$RC" 67 "invalid UTF-8 in a recipient ($(printf '%s' "$bad" | od -An -tx1 | tr -d ' \n' | cut -c1-16)) exits 67"
	assert_nothing_left "invalid UTF-8 recipient: nothing left"
done

clear_queue
submit $'To: j\xf6rg@example.com\n\nbody\n' -t
is "$RC" 67 "invalid UTF-8 in a To address with -t exits 67"
assert_nothing_left "invalid UTF-8 in To: nothing left"

clear_queue
deep=$(printf '(%.0s' $(seq 1 20000))$(printf ')%.0s' $(seq 1 20000))
printf 'To: %sa@example.com\n\nbody\n' "$deep" >"$IN"
run timeout 60 "$SENDMAIL" -t <"$IN"
like "$RC" '^(0|67)$' "20,000 nested comments: accepted or 67, no crash"
if [ "$RC" = 0 ]; then
	pass "deep comments: accepted"
else
	assert_nothing_left "deep comments: nothing left"
fi

clear_queue
words=$(for i in $(seq 1 3000); do printf '=?UTF-8?B?w7w=?= '; done)
submit "To: $words<w@example.com>"$'\n\nbody\n' -t
is "$RC/$(qf_parse_newest; qf_rcpts)" "0/w@example.com" "3,000 encoded words in a display name: exit 0"

# ---------------------------------------------------------------- injection
clear_queue
submit $'Subject: inject\n\nbody\n' $'a@example.com\nrcpt: evil@example.com'
is "$RC" 67 "a recipient with a newline exits 67"
assert_nothing_left "recipient with a newline: nothing left"

clear_queue
submit $'Subject: inject\n\nbody\n' $'a@example.com\r\nBcc: evil@example.com'
is "$RC" 67 "a recipient with CRLF and a header exits 67"
assert_nothing_left "recipient with CRLF: nothing left"

clear_queue
submit $'Subject: inject\n\nbody\n' -f $'s@example.com\nrcpt: evil@example.com' a@example.com
is "$RC" 64 "-f with a newline exits 64"
assert_nothing_left "-f with a newline: nothing left"

clear_queue
submit $'Subject: inject\n\nbody\n' -V $'id\nrcpt: evil@example.com' a@example.com
is "$RC" 64 "-V with a newline exits 64"

k=0
for name in $'Evil\nBcc: victim@example.com' $'Evil\r\nX-Injected: 1' $'Evil\n\nbody injection'; do
	k=$((k + 1))
	clear_queue
	submit $'Subject: inject\n\nbody\n' -F "$name" a@example.com
	if [ "$RC" = 0 ]; then
		qf_parse_newest
		is "$(qf_header_count Bcc)/$(qf_header_count X-Injected)/$(qf_header_count From)" "0/0/1" \
			"-F with line break $k cannot add header fields"
		ok "-F with line break $k: the From field is one line" \
			test "$(grep -a -A1 '^From:' "$QF_HEADERS" | sed -n 2p | cut -c1)" != ' '
		is "$(qf_rcpts)" "a@example.com" "-F with line break $k: recipients unchanged"
		ok "-F with line break $k: body unchanged" cmp -s "$QF_BODY" <(printf 'body\n')
	else
		is "$RC" 64 "-F with line break $k is refused with 64"
		pass "-F with line break $k: refused"
		assert_nothing_left "-F with line break $k: nothing left"
		pass "-F with line break $k: refused"
	fi
done

clear_queue
submit $'Subject: inject\n\nbody\n' '"a%20b\nc"@example.com' 'x%41@example.com'
is "$RC" 0 "recipients with '%' are accepted"
qf_parse_newest
is "$(qf_rcpts | wc -l | tr -d ' ')" 2 "recipients with '%': one rcpt line each"
unlike "$QF_ENVELOPE" $'\nrcpt: c' "'%' sequences cannot split an envelope line"

# ---------------------------------------------------------------- size limit
write_config "max_message_size = 1K"

clear_queue
submit $'Subject: small\n\nbody\n' a@example.com
is "$RC" 0 "max_message_size = 1K: a small message is accepted"

clear_queue
{ printf 'Subject: big\n\n'; for i in $(seq 1 100); do printf 'line %03d of a message that is too big\n' "$i"; done; } >"$IN"
submit_file "$IN" a@example.com
is "$RC" 65 "a 4 KB message over max_message_size = 1K exits 65"
like "$ERR" "max_message_size" "too large: the message names max_message_size"
assert_nothing_left "too large: nothing left"

clear_queue
head -c 5000 /dev/zero | tr '\0' 'z' >"$IN"
submit_file "$IN" a@example.com
is "$RC" 65 "one 5000-byte line without newline over 1K exits 65"
assert_nothing_left "one long line over the limit: nothing left"

clear_queue
{ printf 'Subject: borderline\n\n'; head -c 900 /dev/zero | tr '\0' 'b'; printf '\n'; } >"$IN"
submit_file "$IN" a@example.com
is "$RC" 65 "a 923-byte message that the added headers push over 1K exits 65"
assert_nothing_left "pushed over by added headers: nothing left (no tmp. file)"

hdr=$'From: a@example.org\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@example.org>\nTo: b@example.org\n\n'
fill() { head -c "$1" /dev/zero | tr '\0' "$2"; }
{ printf '%s' "$hdr"; fill $((1024 - ${#hdr} - 1)) c; printf '\n'; } >"$IN.exact"
{ printf '%s' "$hdr"; fill $((1025 - ${#hdr} - 1)) c; printf '\n'; } >"$IN.over"
clear_queue
submit_file "$IN.exact" a@example.com
is "$(file_size "$IN.exact")/$RC" "1024/0" "a complete message of exactly 1024 bytes is accepted"
qf_parse_newest
ok "the 1024-byte message is stored unchanged" cmp -s "$QF_DATA" "$IN.exact"
clear_queue
submit_file "$IN.over" a@example.com
is "$(file_size "$IN.over")/$RC" "1025/65" "a complete message of 1025 bytes exits 65"
assert_nothing_left "1025 bytes: nothing left"

clear_queue
{ printf 'Subject: crlf\r\n\r\n'; for i in $(seq 1 350); do printf 'a\r\n'; done; } >"$IN"
submit_file "$IN" a@example.com
is "$RC" 0 "CRLF input of $(file_size "$IN") bytes, $(tr -d '\r' <"$IN" | wc -c) with LF ends, fits 1K: accepted"

write_config

done_testing
