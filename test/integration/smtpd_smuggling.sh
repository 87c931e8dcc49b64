#!/bin/bash
# smtpd_smuggling: SMTP smuggling, both directions.
#
# Inbound: only <CRLF>.<CRLF> ends DATA.  A "." line framed by a bare LF
# or bare CR on either side (\n.\n, \r\n.\n, \n.\r\n, \r.\r, \r\n.\r,
# \r.\r\n, \r.\n, \n.\r) is message text, so the commands after it
# ("MAIL FROM:<evil@x>", "RCPT TO:<victim@y>", "DATA", ...) stay text of
# the one message: exactly one message is queued and relayed, and no
# message goes to victim@y.  The same bytes as BDAT content (one chunk,
# or split with a CR at a chunk's end) also make one message.  Bare LF
# and bare CR lines are normalised: the relay peer gets CRLF lines.
#
# Outbound: what ternd relays is dot-stuffed, so the "." lines of the
# message never end the peer's DATA early: the peer (aiosmtpd, which
# stores the content with CRLF after unstuffing) gets one message whose
# body still holds the "." lines and every line after them, and its
# transcript never shows the would-be smuggled MAIL command.  A message
# submitted with sendmail -i holding "\n.\n" goes out as one message.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/listen.sh"

ternd_sandbox_init

SENDER=alice@client.example
RCPT=bob@remote.example

# crlf_only FILE: the data part of a peer message file (after the first
# empty line) has only CRLF line ends: no bare LF, no bare CR.
# shellcheck disable=SC2317  # called through ok
crlf_only()
{
	"$PYTHON" - "$1" <<'EOF'
import re, sys
raw = open(sys.argv[1], "rb").read()
data = raw.split(b"\n\n", 1)[1] if b"\n\n" in raw else b""
sys.exit(1 if re.search(rb"(?<!\r)\n|\r(?!\n)", data) else 0)
EOF
}

# peer_one SUBJECT: exactly one peer message has that subject; PF is it.
peer_one()
{
	local all
	all=$(peer_find_all main "^Subject: $1\$")
	PF=$(printf '%s\n' "$all" | head -n 1)
	[ -n "$all" ] && [ "$(printf '%s\n' "$all" | wc -l)" = 1 ]
}

SMUGGLED='MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\nsmuggled\r\n.\r\n'
SMUGGLED_BODY='line
.
MAIL FROM:<evil@x>
RCPT TO:<victim@y>
DATA
smuggled'

# check_relayed NAME SUBJECT BODY: the peer got SUBJECT exactly once,
# with BODY (CRs removed), CRLF line ends only.
check_relayed()
{
	local name=$1 subj=$2 body=$3
	if peer_one "$subj"; then
		pass "$name: the peer received exactly one message"
	else
		fail "$name: the peer received exactly one message" \
			"messages with Subject: $subj: $(peer_find_all main "^Subject: $subj\$" | wc -l)"
		return 0
	fi
	is "$(msg_body "$PF")" "$body" "$name: the body holds the '.' line and the would-be commands as text"
	ok "$name: the peer got CRLF lines only (bare CR and LF normalised)" crlf_only "$PF"
	is "$(msg_env "$PF" | sed -n 's/^RCPT //p')" "TO:<$RCPT>" "$name: to $RCPT only"
}

# ---------------------------------------------------------------- setup

peer_start main
P=${PEER_PORT[main]}
LP=$(free_port)
ternd_config "$(relay main "$P" "tls = none")" "[listen mx]" "address = 127.0.0.1:$LP"
ternd_start || bail_out "ternd did not start"
ok "the listener is up" wait_for "log_has 'listening on 127\\.0\\.0\\.1:$LP'" 10
sent=0

# ---------------------------------------------------------------- DATA

# NAME|SEPARATOR (as escapes for smtp_client.py's send:)
seps=(
	'LF.LF|\n.\n'
	'CRLF.LF|\r\n.\n'
	'LF.CRLF|\n.\r\n'
	'CR.CR|\r.\r'
	'CRLF.CR|\r\n.\r'
	'CR.CRLF|\r.\r\n'
	'CR.LF|\r.\n'
	'LF.CR|\n.\r'
)

for c in "${seps[@]}"; do
	name=${c%%|*}
	sep=${c#*|}
	subj="smuggle data $name"
	log_mark
	smtp "$LP" read "cmd:EHLO client.example" "cmd:MAIL FROM:<$SENDER>" \
		"cmd:RCPT TO:<$RCPT>" "cmd:DATA" \
		"send:Subject: $subj\r\n\r\nline${sep}${SMUGGLED}QUIT\r\n" "drain:5"
	got=$(after '^354 ')
	if [[ $got =~ ^250\ 2\.0\.0\ Ok:\ queued\ as\ [0-9A-F]{19}$'\n'221\ 2\.0\.0\ Bye$'\n'\<EOF\>$ ]]; then
		pass "DATA with $name: one '250 ... queued as', then 221 to QUIT: nothing smuggled"
	else
		fail "DATA with $name: one '250 ... queued as', then 221 to QUIT: nothing smuggled" \
			"sent: line${sep}${SMUGGLED}QUIT\\r\\n" "replies after 354:" "$got"
	fi
	sent=$((sent + 1))
	ok "DATA with $name: the peer gets it" wait_for "peer_find main '^Subject: $subj\$' >/dev/null" 20
	is "$(log_count ': client=unknown\[127\.0\.0\.1\]$' new)" 1 "DATA with $name: one message queued (one client= line)"
	check_relayed "DATA with $name" "$subj" "$SMUGGLED_BODY"
done

# A "." after a bare LF followed by QUIT: still inside DATA, so QUIT is
# text and gets no reply; the real <CRLF>.<CRLF> ends the message.
subj="smuggle quit"
smtp "$LP" read "cmd:EHLO client.example" "cmd:MAIL FROM:<$SENDER>" \
	"cmd:RCPT TO:<$RCPT>" "cmd:DATA" "send:Subject: $subj\r\n\r\nline\n.\nQUIT\r\n" \
	"drain:2" "send:after quit\r\n.\r\n" "read" "cmd:QUIT" "eof:10"
like "$(after '^354 ')" '^<TIMEOUT>'$'\n''250 2\.0\.0 Ok: queued as [0-9A-F]{19}'$'\n''221 2\.0\.0 Bye'$'\n''<EOF>$' \
	"LF.LF then QUIT: no reply (still in DATA) until <CRLF>.<CRLF>, then queued"
sent=$((sent + 1))
ok "the message with QUIT inside reaches the peer" wait_for "peer_find main '^Subject: $subj\$' >/dev/null" 20
check_relayed "QUIT inside" "$subj" "line
.
QUIT
after quit"

# Bare LF lines throughout, dot lines after LF (kept: only lines after
# CRLF are unstuffed) and after CRLF (unstuffed).
subj="bare lf lines"
smtp "$LP" read "cmd:EHLO client.example" "cmd:MAIL FROM:<$SENDER>" \
	"cmd:RCPT TO:<$RCPT>" "cmd:DATA" \
	"send:Subject: $subj\nX-Bare: lf\n\nline1\nline2\r\n..stuffed\n.after-lf\n..two-after-lf\rcr line\r\n.\r\n" \
	"read" "cmd:QUIT" "eof:10"
like "$(after '^354 ')" '^250 2\.0\.0 Ok: queued as [0-9A-F]{19}'$'\n''221 ' "bare LF message: queued"
sent=$((sent + 1))
ok "bare LF message: relayed" wait_for "peer_find main '^Subject: $subj\$' >/dev/null" 20
if peer_one "$subj"; then
	is "$(msg_header "$PF" X-Bare)" "X-Bare: lf" "bare LF message: headers split at bare LF"
	is "$(msg_body "$PF")" "line1
line2
.stuffed
.after-lf
..two-after-lf
cr line" "bare LF message: CRLF-framed ..stuffed unstuffed, dot lines after bare LF kept as sent"
	ok "bare LF message: the peer got CRLF lines only" crlf_only "$PF"
else
	fail "bare LF message: exactly one at the peer"
fi

# ---------------------------------------------------------------- BDAT

# bdat_len TEXT: octets of the escaped TEXT.
bdat_len() { printf '%b' "$1" | wc -c | tr -d ' '; }

for c in "${seps[@]}"; do
	name=${c%%|*}
	sep=${c#*|}
	subj="smuggle bdat $name"
	content="Subject: $subj\r\n\r\nline${sep}${SMUGGLED}"
	log_mark
	smtp "$LP" read "cmd:EHLO client.example" "cmd:MAIL FROM:<$SENDER>" \
		"cmd:RCPT TO:<$RCPT>" "send:BDAT $(bdat_len "$content") LAST\r\n${content}QUIT\r\n" "drain:5"
	got=$(after '^250 2\.1\.5 Ok$')
	if [[ $got =~ ^250\ 2\.0\.0\ Ok:\ queued\ as\ [0-9A-F]{19}$'\n'221\ 2\.0\.0\ Bye$'\n'\<EOF\>$ ]]; then
		pass "BDAT with $name: one '250 ... queued as', then 221 to QUIT"
	else
		fail "BDAT with $name: one '250 ... queued as', then 221 to QUIT" "replies after RCPT:" "$got"
	fi
	sent=$((sent + 1))
	ok "BDAT with $name: the peer gets it" wait_for "peer_find main '^Subject: $subj\$' >/dev/null" 20
	is "$(log_count ': client=unknown\[127\.0\.0\.1\]$' new)" 1 "BDAT with $name: one message queued"
	# BDAT has no end marker: the final ".\r\n" is a line of the text.
	check_relayed "BDAT with $name" "$subj" "$SMUGGLED_BODY
."
done

# Chunks that end in a CR: the CR waits for the next chunk, so CR | LF
# across chunks is one line end, not two.
subj="smuggle bdat split"
c1="Subject: $subj\r\n\r\nline\r"
c2='\n.\r'
c3="\\n${SMUGGLED}"
smtp "$LP" read "cmd:EHLO client.example" "cmd:MAIL FROM:<$SENDER>" "cmd:RCPT TO:<$RCPT>" \
	"send:BDAT $(bdat_len "$c1")\r\n$c1" read \
	"send:BDAT $(bdat_len "$c2")\r\n$c2" read \
	"send:BDAT $(bdat_len "$c3") LAST\r\n$c3" read "cmd:QUIT" "eof:10"
like "$(after '^250 2\.1\.5 Ok$')" "^250 2\\.0\\.0 $(bdat_len "$c1") octets received"$'\n'"250 2\\.0\\.0 $(bdat_len "$c2") octets received"$'\n''250 2\.0\.0 Ok: queued as [0-9A-F]{19}'$'\n''221 2\.0\.0 Bye' \
	"BDAT in 3 chunks ending in CR: N octets received, N octets received, queued"
sent=$((sent + 1))
ok "split BDAT: the peer gets it" wait_for "peer_find main '^Subject: $subj\$' >/dev/null" 20
check_relayed "split BDAT" "$subj" "$SMUGGLED_BODY
."

# ---------------------------------------------------------------- sendmail

tsm_ok "sendmail -i takes a message holding LF.LF" "From: $SENDER
To: $RCPT
Subject: smuggle sendmail

line
.
MAIL FROM:<evil@x>
RCPT TO:<victim@y>
DATA
smuggled
.
end
" -i -f "$SENDER" "$RCPT"
sent=$((sent + 1))
ok "the sendmail message is relayed" wait_for "peer_find main '^Subject: smuggle sendmail\$' >/dev/null" 20
check_relayed "sendmail -i" "smuggle sendmail" "$SMUGGLED_BODY
.
end"

# ---------------------------------------------------------------- nothing smuggled

ok "every message sent reached the peer" wait_for "[ \"\$(peer_count main)\" -ge $sent ]" 20
sleep 1
is "$(peer_count main)" "$sent" "the peer got exactly $sent messages, one per message sent"
is "$(grep -c '^MAIL ' "${PEER_TR[main]}")" "$sent" "the peer saw exactly $sent MAIL commands: no DATA of ours ended early"
unlike "$(cat "${PEER_TR[main]}")" 'evil@x|victim@y' "the peer's transcript never shows the smuggled MAIL or RCPT"
bad=$(for f in $(peer_msgs main); do msg_env "$f"; done | grep -E 'evil@x|victim@y')
is "$bad" "" "no message at the peer is from evil@x or to victim@y"
is "$(log_count 'victim@y|evil@x')" 0 "ternd's log never names victim@y or evil@x (nothing was queued for them)"
ok "the queue is empty at the end" wait_for queue_is_empty 10

ok "ternd is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0"

done_testing
