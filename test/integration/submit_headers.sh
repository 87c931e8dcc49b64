#!/bin/bash
# submit_headers: the header fields sendmail adds (and only those), the
# header/body split, and address syntax in To/Cc/Bcc with -t.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"
sandbox_init

# submit_exact TEXT ARGS...: queue TEXT and check it is stored unchanged.
submit_exact()
{
	local text=$1 desc=$2
	shift 2
	clear_queue
	submit "$text" "$@"
	is "$RC" 0 "$desc: exit 0"
	qf_parse_newest
	ok "$desc: stored byte for byte" cmp -s "$QF_DATA" "$SANDBOX/stdin"
}

# ---------------------------------------------------------------- added fields
clear_queue
submit $'Subject: none of them\n\nbody\n' a@example.com
is "$RC" 0 "message without From/Date/Message-ID/To: exit 0"
qf_parse_newest
is "$(qf_header_count From)" 1 "From added"
is "$(qf_header_count Date)" 1 "Date added"
is "$(qf_header_count Message-ID)" 1 "Message-ID added"
is "$(qf_header To)" "To: undisclosed-recipients:;" "To: undisclosed-recipients:; added"
is "$(head -n 1 "$QF_HEADERS")" "Subject: none of them" "the original field stays first"
ok "body unchanged" cmp -s "$QF_BODY" <(printf 'body\n')

# Each field alone missing: only that one is added.
full_from='From: Alice Example <alice@example.org>'
full_date='Date: Mon, 01 Jan 2024 10:00:00 +0100'
full_mid='Message-ID: <unique.1@client.example.org>'
full_to='To: bob@example.com'
for missing in From Date Message-ID; do
	hdrs=
	[ "$missing" != From ] && hdrs+="$full_from"$'\n'
	[ "$missing" != Date ] && hdrs+="$full_date"$'\n'
	[ "$missing" != Message-ID ] && hdrs+="$full_mid"$'\n'
	hdrs+="$full_to"$'\n'
	clear_queue
	submit "${hdrs}Subject: lacks $missing"$'\n\nbody\n' bob@example.com
	qf_parse_newest
	is "$RC/$(qf_header_count "$missing")" "0/1" "only $missing missing: it is added"
	is "$(grep -a -c "" "$QF_HEADERS")" 5 "only $missing missing: nothing else added"
	ok "only $missing missing: the original fields come first, unchanged" \
		cmp -s <(head -n 4 "$QF_HEADERS") <(printf '%s' "${hdrs}Subject: lacks $missing"$'\n')
done

# Everything present: the message is stored exactly as given.
submit_exact "$full_from"$'\n'"$full_date"$'\n'"$full_mid"$'\n'"$full_to"$'\nSubject: complete\n\nbody\n' \
	"complete message" bob@example.com

# Odd but valid spellings are kept byte for byte.
submit_exact $'FROM:   Weird   Spacing   <w@example.org>   (comment)\ndate:Mon, 1 Jan 2024 00:00:00 -0000\nmessage-id:\n  <folded.id@example.org>\nTO:\tbob@example.com\nsubject: =?UTF-8?Q?caf=C3=A9?=\n\nbody\n' \
	"fields with odd case, spacing and folding" bob@example.com

submit_exact $'From: a@example.org\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <m@example.org>\nTo: bob@example.com\nSubject: this subject is\n folded over\n\tthree lines\nX-Empty:\nX-Long: '"$(printf 'x%.0s' $(seq 1 2000))"$'\n\nbody\n' \
	"folded, empty and 2000-character fields" bob@example.com

# To is added only when there is no To, Cc or Bcc.
clear_queue
submit $'Cc: c@example.com\nSubject: cc only\n\nbody\n' a@example.com
qf_parse_newest
is "$RC/$(qf_header_count To)" "0/0" "Cc present: no To added"
clear_queue
submit $'To: \nSubject: empty to\n\nbody\n' a@example.com
qf_parse_newest
is "$(qf_header_count To)" 1 "an empty To counts as present: no second To"
clear_queue
submit $'Bcc: hidden@example.com\nSubject: bcc\n\nbody\n' a@example.com
qf_parse_newest
is "$RC/$(qf_header_count Bcc)" "0/0" "Bcc is removed without -t too"
is "$(qf_rcpts)" "a@example.com" "without -t the Bcc address is not a recipient"
nok "without -t: the Bcc address appears nowhere in the message" grep -q hidden "$QF_DATA"

clear_queue
submit $'Sender: s@example.org\nReply-To: r@example.org\n\nbody\n' a@example.com
qf_parse_newest
is "$(qf_header_count From)" 1 "Sender or Reply-To do not stand in for From"

# ---------------------------------------------------------------- header/body split
clear_queue
submit $'This is not a header\nSubject: looks like one\n\nbody\n' a@example.com
is "$RC" 0 "message without headers: exit 0"
qf_parse_newest
is "$(qf_header_count Subject)" 0 "no headers: a later 'Subject:' line in the body is not a header"
ok "no headers: body kept whole after the added header section" \
	cmp -s "$QF_BODY" <(printf 'This is not a header\nSubject: looks like one\n\nbody\n')
is "$(qf_header_count From)/$(qf_header_count Date)/$(qf_header_count Message-ID)" "1/1/1" \
	"no headers: From, Date and Message-ID added"

clear_queue
submit $'Subject: no blank line\nX-Mailer: test\nThis starts the body\nsecond line\n' a@example.com
is "$RC" 0 "headers without a blank line before the body: exit 0"
qf_parse_newest
is "$(qf_header Subject)/$(qf_header X-Mailer)" "Subject: no blank line/X-Mailer: test" \
	"headers before the first non-header line are headers"
ok "a blank line is put before the body" cmp -s "$QF_BODY" <(printf 'This starts the body\nsecond line\n')

clear_queue
submit $'Hello world: not a field name\n\nbody\n' a@example.com
qf_parse_newest
ok "a first line with a space in the 'name' is body" \
	cmp -s "$QF_BODY" <(printf 'Hello world: not a field name\n\nbody\n')

clear_queue
submit $' indented first line\nSubject: x\n\nbody\n' a@example.com
qf_parse_newest
is "$RC/$(qf_header_count Subject)" "0/0" "a continuation line cannot start the header section"

clear_queue
submit $'\nSubject: in the body\n' a@example.com
qf_parse_newest
is "$RC/$(qf_header_count Subject)" "0/0" "an empty first line: everything is body"
ok "empty first line: the body is kept" cmp -s "$QF_BODY" <(printf 'Subject: in the body\n')

clear_queue
submit $'Subject: headers only\nX-A: 1\n' a@example.com
is "$RC" 0 "headers only, no body: exit 0"
qf_parse_newest
is "$(qf_header Subject)" "Subject: headers only" "headers only: headers kept"
is "$(file_size "$QF_BODY")" 0 "headers only: empty body"

# ---------------------------------------------------------------- -t address syntax
clear_queue
submit $'To: "Doe, John" <j@x.org>, undisclosed:;, =?UTF-8?B?SsO2cmc=?= <k@x.org>\nSubject: syntax\n\nbody\n' -t
is "$RC" 0 "-t with a quoted comma, an empty group and an encoded word: exit 0"
qf_parse_newest
is "$(qf_rcpts | tr '\n' ' ')" "j@x.org k@x.org " "-t: the quoted comma does not split, empty group adds nothing"
is "$(qf_header To)" 'To: "Doe, John" <j@x.org>, undisclosed:;, =?UTF-8?B?SsO2cmc=?= <k@x.org>' \
	"-t: To kept as written"

clear_queue
submit $'To: team: m1@x.org, "M Two" <m2@x.org>;, solo@x.org\nCc: (a comment) c1@x.org (another), c2@x.org (nested (comment) here)\n\nbody\n' -t
is "$RC" 0 "-t with a group and comments: exit 0"
qf_parse_newest
is "$(qf_rcpts | tr '\n' ' ')" "m1@x.org m2@x.org solo@x.org c1@x.org c2@x.org " \
	"-t: group members and commented addresses"

clear_queue
submit $'To: "john doe"@x.org, "a\\"b"@x.org, user@[192.0.2.1]\n\nbody\n' -t
is "$RC" 0 "-t with quoted local parts and a domain literal: exit 0"
qf_parse_newest
is "$(qf_rcpts | tr '\n' ' ')" '"john%20doe"@x.org "a\"b"@x.org user@[192.0.2.1] ' \
	"-t: quoted local parts stay quoted (space escaped in the envelope), literal kept"

clear_queue
submit $'To: <@route.example:routed@x.org>, Name <plain@x.org>\n\nbody\n' -t
is "$RC" 0 "-t with a source route: exit 0"
qf_parse_newest
is "$(qf_rcpts | tr '\n' ' ')" "routed@x.org plain@x.org " "-t: the source route is dropped"

clear_queue
submit $'To: first@x.org,\n second@x.org,\n\tthird@x.org\nTo: fourth@x.org\nCc: , ,fifth@x.org,\n\nbody\n' -t
is "$RC" 0 "-t with folded and repeated fields: exit 0"
qf_parse_newest
is "$(qf_rcpts | tr '\n' ' ')" "first@x.org second@x.org third@x.org fourth@x.org fifth@x.org " \
	"-t: folded lists, repeated To and empty list elements"

clear_queue
submit $'To: "a <b@x.org>" <c@x.org>\r\nReply-To: not-me@x.org\r\n\r\nbody\r\n' -t
qf_parse_newest
is "$RC/$(qf_rcpts)" "0/c@x.org" "-t: brackets inside a quoted name are not the address; Reply-To ignored"

clear_queue
submit $'To: J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbccher.example>\n\nbody\n' -t
is "$RC" 0 "-t with a raw UTF-8 display name and address: exit 0"
qf_parse_newest
is "$(qf_rcpts)" $'j\xc3\xb6rg@b\xc3\xbccher.example' "-t: UTF-8 address extracted"
is "$(qf_env smtputf8)" "yes" "-t: UTF-8 address sets smtputf8"

clear_queue
submit $'To: =?ISO-8859-1?Q?J=F6rg?= <iso@x.org>, =?UTF-8?Q?a=2C_b?= <q@x.org>\n\nbody\n' -t
is "$RC/$(qf_parse_newest; qf_rcpts | tr '\n' ' ')" "0/iso@x.org q@x.org " \
	"-t: encoded words (ISO-8859-1, an encoded comma) do not disturb the list"

done_testing
