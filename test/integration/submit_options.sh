#!/bin/bash
# submit_options: every sendmail option, the compatibility options, the
# usage errors, and the command lines of cron and PHP.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"
sandbox_init

plain=$'Subject: opts\n\nbody\n'

# ---------------------------------------------------------------- -t
clear_queue
submit $'To: a@example.com, "Doe, John" <j@example.com>\nCc: c@example.com\nBcc: b@example.com,\n d@example.com\nSubject: t\n\nbody\n' -t
is "$RC" 0 "-t exits 0"
qf_parse_newest
is "$(qf_rcpts | tr '\n' ' ')" "a@example.com j@example.com c@example.com b@example.com d@example.com " \
	"-t collects To, Cc and Bcc recipients in order"
is "$(qf_header_count Bcc)" 0 "-t removes the Bcc field"
nok "-t removes the Bcc continuation line too" grep -q 'd@example\.com' "$QF_DATA"
is "$(qf_header To)" 'To: a@example.com, "Doe, John" <j@example.com>' "To kept as written"
is "$(qf_header Cc)" 'Cc: c@example.com' "Cc kept as written"
ok "-t: body intact" cmp -s "$QF_BODY" <(printf 'body\n')
is "$(qf_env size)" "$(file_size "$QF_DATA")" "-t: size is that of the message without Bcc"

clear_queue
submit $'tO: a@example.com\nCC: c@example.com\nbcc: b@example.com\n\nbody\n' -t
is "$RC" 0 "-t with odd-case field names exits 0"
qf_parse_newest
is "$(qf_rcpts | tr '\n' ' ')" "a@example.com c@example.com b@example.com " \
	"field names match case-insensitively"
is "$(qf_header_count Bcc)" 0 "'bcc:' is removed too"

clear_queue
submit $'To: a@example.com\nResent-To: r@example.com\nResent-Cc: rc@example.com\nResent-Bcc: rb@example.com\nBcc: b@example.com\nSubject: resent\n\nbody\n' -t
is "$RC" 0 "-t with Resent-* fields exits 0"
qf_parse_newest
is "$(qf_rcpts | tr '\n' ' ')" "r@example.com rc@example.com rb@example.com " \
	"with Resent-* present, only Resent-To/Cc/Bcc are recipients"
is "$(qf_header_count Resent-Bcc)" 0 "Resent-Bcc removed"
is "$(qf_header Resent-To)" "Resent-To: r@example.com" "Resent-To kept"
is "$(qf_header Resent-Cc)" "Resent-Cc: rc@example.com" "Resent-Cc kept"
is "$(qf_header To)" "To: a@example.com" "original To kept"

clear_queue
submit $'Resent-Bcc: rb@example.com\nTo: a@example.com\n\nbody\n' -t
is "$RC" 0 "-t with only Resent-Bcc exits 0"
qf_parse_newest
is "$(qf_rcpts)" "rb@example.com" "Resent-Bcc alone selects the resent recipients"

clear_queue
submit $'To: a@example.com\nSubject: plus\n\nbody\n' -t extra@example.com a@example.com
is "$RC" 0 "-t with command-line recipients exits 0"
qf_parse_newest
is "$(qf_rcpts | tr '\n' ' ')" "a@example.com extra@example.com " \
	"command-line recipients are added to the header ones (duplicates once)"

clear_queue
submit $'Bcc: hidden@example.com\nSubject: bcc only\n\nbody\n' -t
is "$RC" 0 "-t with only Bcc exits 0"
qf_parse_newest
is "$(qf_rcpts)" "hidden@example.com" "Bcc-only message: recipient taken"
is "$(qf_header_count Bcc)" 0 "Bcc-only message: Bcc removed"
is "$(qf_header To)" "To: undisclosed-recipients:;" "Bcc-only message: To: undisclosed-recipients:; added"

clear_queue
submit $'To: a@example.com\n\nTo: body@example.com\nCc: body2@example.com\n' -t
is "$RC" 0 "-t with address-like body lines exits 0"
qf_parse_newest
is "$(qf_rcpts)" "a@example.com" "-t does not read recipients from the body"

clear_queue
submit $'Subject: none\nX-To: x@example.com\n\nbody\n' -t
is "$RC" 65 "-t without recipient headers exits 65"
like "$ERR" "recipient" "-t without recipients: message on stderr"
assert_nothing_left "-t without recipients: nothing left"

clear_queue
submit $'To: undisclosed-recipients:;\n\nbody\n' -t
is "$RC" 65 "-t with only an empty group exits 65"
assert_nothing_left "-t with only an empty group: nothing left"

clear_queue
submit $'To: <broken@example.com\n\nbody\n' -t
is "$RC" 67 "-t with an unparseable To exits 67"
like "$ERR" "To" "-t unparseable To: stderr names the field"
assert_nothing_left "-t unparseable To: nothing left"

# ---------------------------------------------------------------- dots
dotmsg=$'Subject: dots\n\nl1\n.\nl2\n'
clear_queue
submit "$dotmsg" a@example.com
is "$RC" 0 "default: a lone dot is accepted (exit 0)"
qf_parse_newest
ok "default: a lone '.' ends the message, the rest is ignored" cmp -s "$QF_BODY" <(printf 'l1\n')

clear_queue
submit $'Subject: dots\r\n\r\nl1\r\n.\r\nl2\r\n' a@example.com
qf_parse_newest
ok "default: a lone '.' with CRLF ends the message" cmp -s "$QF_BODY" <(printf 'l1\n')

clear_queue
submit $'Subject: dots\n\n..\n. \n.x\nend\n' a@example.com
qf_parse_newest
ok "default: '..', '. ' and '.x' lines are kept verbatim" cmp -s "$QF_BODY" <(printf '..\n. \n.x\nend\n')

clear_queue
submit $'.\nSubject: after\n' a@example.com
is "$RC" 0 "default: a lone '.' on the first line gives an empty message (exit 0)"
qf_parse_newest
nok "default: nothing after the first-line dot is stored" grep -q after "$QF_DATA"

for opt in -i -oi; do
	clear_queue
	submit "$dotmsg" "$opt" a@example.com
	is "$RC" 0 "$opt exits 0"
	qf_parse_newest
	ok "$opt: a lone '.' line is kept and reading goes on" cmp -s "$QF_BODY" <(printf 'l1\n.\nl2\n')
done

clear_queue
submit $'To: x@example.com\n\nl1\n.\nl2\n' -ti
is "$RC" 0 "-ti (bundled flags) exits 0"
qf_parse_newest
ok "-ti: the dot is kept" cmp -s "$QF_BODY" <(printf 'l1\n.\nl2\n')

# ---------------------------------------------------------------- sender
clear_queue
submit "$plain" -f sender@example.net a@example.com
is "$RC" 0 "-f ADDR exits 0"
qf_parse_newest
is "$(qf_env sender)" "sender@example.net" "-f sets the envelope sender"
like "$(qf_header From)" "$LOGIN@example\.org" "-f does not change the added From (login@origin)"

clear_queue
submit "$plain" -fsender2@example.net a@example.com
qf_parse_newest
is "$RC/$(qf_env sender)" "0/sender2@example.net" "-fADDR (attached value) sets the sender"

clear_queue
submit "$plain" -f '<>' a@example.com
is "$RC" 0 "-f '<>' exits 0"
qf_parse_newest
is "$(printf '%s\n' "$QF_ENVELOPE" | grep '^sender:')" "sender: " "-f '<>': null sender, empty sender record"

clear_queue
submit "$plain" -f '<bracketed@example.net>' a@example.com
qf_parse_newest
is "$RC/$(qf_env sender)" "0/bracketed@example.net" "-f '<addr>' strips the brackets"

clear_queue
submit "$plain" -f 'Some One <named@example.net>' a@example.com
qf_parse_newest
is "$RC/$(qf_env sender)" "0/named@example.net" "-f 'Name <addr>' keeps the address only"

clear_queue
submit "$plain" -r rsender@example.net a@example.com
is "$RC" 0 "-r ADDR exits 0"
qf_parse_newest
is "$(qf_env sender)" "rsender@example.net" "-r sets the envelope sender"

clear_queue
submit "$plain" -f 'bad@@example.net' a@example.com
is "$RC" 64 "-f with an unparseable address exits 64"
like "$ERR" "-f" "-f unparseable: stderr names -f"
assert_nothing_left "-f unparseable: nothing left"

# ---------------------------------------------------------------- -F
clear_queue
submit "$plain" -F "Full Name" a@example.com
is "$RC" 0 "-F exits 0"
qf_parse_newest
is "$(qf_header From)" "From: Full Name <$LOGIN@example.org>" "-F: From: Full Name <login@origin>"

clear_queue
submit "$plain" -F $'J\xc3\xb6rg M\xc3\xbcller' a@example.com
is "$RC" 0 "-F with a UTF-8 name exits 0"
qf_parse_newest
from=$(qf_header From)
like "$from" "^From: =\\?[Uu][Tt][Ff]-8\\?[BbQq]\\?[^ ]+\\?=( =\\?[Uu][Tt][Ff]-8\\?[BbQq]\\?[^ ]+\\?=)* <$LOGIN@example\\.org>\$" \
	"-F UTF-8 name is RFC 2047 encoded"
unlike "$from" $'[\x80-\xff]' "-F UTF-8: the From field is pure ASCII"
if [ -x "$PYTHON" ]; then
	decoded=$("$PYTHON" -c 'import sys
from email.header import decode_header, make_header
print(str(make_header(decode_header(sys.argv[1]))))' "${from#From: }" 2>&1)
	is "$decoded" $'J\xc3\xb6rg M\xc3\xbcller <'"$LOGIN@example.org>" "-F UTF-8: the encoded words decode to the name"
else
	skip "-F UTF-8: decode" "no $PYTHON"
fi

clear_queue
submit "$plain" -F 'Doe, John' a@example.com
qf_parse_newest
is "$(qf_header From)" "From: \"Doe, John\" <$LOGIN@example.org>" "-F with a comma is quoted"

clear_queue
submit $'From: Real <real@example.net>\n\nbody\n' -F "Ignored Name" a@example.com
qf_parse_newest
is "$(qf_header From)" "From: Real <real@example.net>" "-F does not touch an existing From"

# ---------------------------------------------------------------- DSN
clear_queue
submit "$plain" -N never a@example.com b@example.com
is "$RC" 0 "-N never exits 0"
qf_parse_newest
is "$(printf '%s\n' "$QF_ENVELOPE" | grep -c '^rcpt: .* notify=never$')" 2 "-N never: notify=never on every rcpt"

clear_queue
submit "$plain" -N success,delay,failure a@example.com b@example.com
is "$RC" 0 "-N success,delay,failure exits 0"
qf_parse_newest
n=0
while IFS= read -r line; do
	nt=${line##*notify=}
	nt=${nt%% *}
	case ",$nt," in *,success,*) ;; *) continue ;; esac
	case ",$nt," in *,delay,*) ;; *) continue ;; esac
	case ",$nt," in *,failure,*) ;; *) continue ;; esac
	n=$((n + 1))
done < <(printf '%s\n' "$QF_ENVELOPE" | grep '^rcpt: ')
is "$n" 2 "-N success,delay,failure: all three on every rcpt"

clear_queue
submit "$plain" -N failure a@example.com
qf_parse_newest
like "$(printf '%s\n' "$QF_ENVELOPE" | grep '^rcpt: ')" ' notify=failure$' "-N failure: notify=failure"

clear_queue
submit $'To: t@example.com\n\nbody\n' -t -N delay
qf_parse_newest
like "$(printf '%s\n' "$QF_ENVELOPE" | grep '^rcpt: ')" ' notify=delay$' "-N applies to -t recipients too"

for bad in bogus 'never,success' '' 'success,,failure'; do
	clear_queue
	submit "$plain" -N "$bad" a@example.com
	is "$RC" 64 "bad -N '$bad' exits 64"
	like "$ERR" "-N" "bad -N '$bad': stderr explains -N"
	assert_nothing_left "bad -N '$bad': nothing queued"
done

for r in full hdrs; do
	clear_queue
	submit "$plain" -R "$r" a@example.com
	is "$RC" 0 "-R $r exits 0"
	qf_parse_newest
	is "$(qf_env ret)" "$r" "-R $r: ret: $r"
done
clear_queue
submit "$plain" a@example.com
qf_parse_newest
is "$(qf_env ret)" "" "without -R: no ret record"
is "$(qf_env envid)" "" "without -V: no envid record"
is "$(printf '%s\n' "$QF_ENVELOPE" | grep -c 'notify=')" 0 "without -N: no notify"
clear_queue
submit "$plain" -R everything a@example.com
is "$RC" 64 "bad -R exits 64"
like "$ERR" "-R" "bad -R: stderr explains -R"
assert_nothing_left "bad -R: nothing queued"

clear_queue
submit "$plain" -V 'envid-123.X+y' a@example.com
is "$RC" 0 "-V ENVID exits 0"
qf_parse_newest
is "$(qf_env envid)" "envid-123.X+y" "-V: envid record"

v100=$(printf 'v%.0s' $(seq 1 100))
clear_queue
submit "$plain" -V "$v100" a@example.com
qf_parse_newest
is "$RC/$(qf_env envid)" "0/$v100" "-V with 100 characters is accepted"
for bad in 'has space' "${v100}v" $'tab\there' $'caf\xc3\xa9'; do
	clear_queue
	submit "$plain" -V "$bad" a@example.com
	is "$RC" 64 "bad -V '${bad:0:20}' exits 64"
	assert_nothing_left "bad -V '${bad:0:20}': nothing queued"
done

clear_queue
submit "$plain" -B 8BITMIME a@example.com
qf_parse_newest
is "$RC/$(qf_env body)" "0/8bitmime" "-B 8BITMIME on ASCII: body: 8bitmime"
clear_queue
submit "$plain" -B 7BIT a@example.com
qf_parse_newest
is "$RC/$(qf_env body)" "0/7bit" "-B 7BIT: body: 7bit"
clear_queue
submit "$plain" -B 8bitmime a@example.com
qf_parse_newest
is "$RC/$(qf_env body)" "0/8bitmime" "-B is case-insensitive"
clear_queue
submit "$plain" -B BINARYMIME a@example.com
is "$RC" 64 "bad -B exits 64"
like "$ERR" "-B" "bad -B: stderr explains -B"
assert_nothing_left "bad -B: nothing queued"

# ---------------------------------------------------------------- -C
other=$SANDBOX/other
mkdir -p "$other"
cat >"$other/tern.conf" <<EOF
log = stderr
hostname = other.example.net
origin = other.example.net
queue_dir = $other/queue
aliases = $ALIASES
EOF
clear_queue
submit "$plain" -C "$other/tern.conf" a@example.com
is "$RC" 0 "-C FILE exits 0"
n=$(find "$other/queue/maildrop" -maxdepth 1 -type f 2>/dev/null | wc -l)
is "$n/$(count_all)" "1/0" "-C FILE beats TERN_CONFIG: the message is in -C's queue"
qf_parse "$(find "$other/queue/maildrop" -maxdepth 1 -type f | head -n 1)"
is "$(qf_env sender)" "$LOGIN@other.example.net" "-C FILE: origin from that file"
submit "$plain" -C "$SANDBOX/nonexistent.conf" a@example.com
is "$RC" 78 "-C with a missing file exits 78"
like "$ERR" "nonexistent\.conf" "-C missing file: stderr names it"
assert_nothing_left "-C missing file: nothing queued"

# ---------------------------------------------------------------- modes
clear_queue
submit "$plain" -bm a@example.com
is "$RC" 0 "-bm exits 0"
assert_queued 1 "-bm queues the message"

sm -bp
bp_rc=$RC bp_out=$OUT
run "$MAILQ" </dev/null
is "$bp_rc" 0 "-bp exits 0"
is "$bp_out" "$OUT" "-bp prints the same as mailq"
like "$bp_out" "a@example\.com" "-bp lists the queued message"

sm -bi
is "$RC" 0 "-bi exits 0 (no aliases file)"

sm -bs
is "$RC" 0 "-bs with empty input exits 0"
like "$OUT" "^220 [^ ]+ ESMTP tern" "-bs greets with 220"

sm -q
is "$RC" 69 "-q without ternd exits 69"
like "$ERR" "ternd" "-q without ternd: stderr names ternd"

clear_queue
submit "$plain" -v a@example.com
is "$RC" 0 "-v exits 0"
like "$ERR" "queued as" "-v: stderr says queued as"

# ---------------------------------------------------------------- compatibility
for opt in -odb -odi -odq -oem -oep -oeq -oew -om -oA/x -oMrsmtp \
	"-O DeliveryMode=b" -G -U "-L tag" "-h 5" -ODeliveryMode=i -Ltag2 -h5; do
	clear_queue
	# shellcheck disable=SC2086
	submit "$plain" $opt a@example.com
	is "$RC/$ERR/$(count_queued)" "0//1" "compatibility option $opt accepted silently"
done
clear_queue
submit "$plain" -odb -odi -odq -oem -oep -oeq -oew -om -oA/x -oMrsmtp \
	-O a=b -G -U -L tag -h 5 a@example.com
is "$RC/$(count_queued)" "0/1" "all compatibility options together: exit 0"

# ---------------------------------------------------------------- usage errors
for opt in -X -bd -bz -oz -ob -y --help; do
	clear_queue
	submit "$plain" "$opt" a@example.com
	is "$RC" 64 "unknown option $opt exits 64"
	like "$(head -n 1 <<<"$ERR")" "${opt#-}" "unknown option $opt: the message names it"
	assert_nothing_left "unknown option $opt: nothing queued"
done

for opt in -f -r -F -N -R -V -B -C -L -O -h -o -b; do
	clear_queue
	submit "$plain" "$opt"
	is "$RC" 64 "$opt without its value exits 64"
	# The first line is the message; the usage text after it names options too.
	first=$(head -n 1 <<<"$ERR")
	like "$first" "-${opt#-}([^A-Za-z]|\$)" "$opt without its value: the message names $opt"
	like "$first" "needs a value|requires an argument|missing" "$opt without its value: the message says the value is missing"
done

clear_queue
submit "$plain"
is "$RC" 64 "no recipients without -t exits 64"
like "$ERR" "recipient" "no recipients: stderr explains"
assert_nothing_left "no recipients: nothing left"

clear_queue
submit "$plain" -- -dashed@example.com
like "$RC" '^(0|67)$' "-- before '-dashed': recipient (0) or address error (67)"
unlike "$ERR" "unknown option|usage:" "-- before '-dashed': not parsed as an option"
if [ "$RC" = 0 ]; then
	qf_parse_newest
	is "$(qf_rcpts)" "-dashed@example.com" "-- before '-dashed': queued as the recipient"
else
	assert_nothing_left "-- before '-dashed': nothing queued"
fi

clear_queue
submit "$plain" -i -- a@example.com -f
like "$RC" '^(0|67)$' "options after -- are recipients, not options"
unlike "$ERR" "needs a value|usage:" "'-f' after -- is not an option"

# ---------------------------------------------------------------- real callers
clear_queue
submit $'Subject: cron <user@host> /usr/bin/job\nContent-Type: text/plain; charset=UTF-8\n\nresult \xe2\x9c\x93\n.\ndone\n' \
	-FCronDaemon -i -B8BITMIME -oem user
is "$RC" 0 "cron: sendmail -FCronDaemon -i -B8BITMIME -oem user exits 0"
qf_parse_newest
like "$(qf_rcpts)" '^user(@example\.org)?$' "cron: recipient user"
is "$(qf_header From)" "From: CronDaemon <$LOGIN@example.org>" "cron: From: CronDaemon <login@origin>"
is "$(qf_env body)" "8bitmime" "cron: body: 8bitmime"
ok "cron: the lone dot is kept (-i)" cmp -s "$QF_BODY" <(printf 'result \xe2\x9c\x93\n.\ndone\n')

clear_queue
submit $'To: php@example.com\nSubject: Contact form\nX-PHP-Originating-Script: 1000:form.php\nFrom: webmaster@example.com\nReply-To: visitor@example.net\r\nMIME-Version: 1.0\r\n\r\nHello\r\n.\r\nBye\r\n' -t -i
is "$RC" 0 "PHP: sendmail -t -i exits 0"
qf_parse_newest
is "$(qf_rcpts)" "php@example.com" "PHP: recipient from To"
is "$(qf_env sender)" "$LOGIN@example.org" "PHP: sender is login@origin"
is "$(qf_header From)" "From: webmaster@example.com" "PHP: From kept"
ok "PHP: body with the lone dot kept, CRLF normalised" cmp -s "$QF_BODY" <(printf 'Hello\n.\nBye\n')

done_testing
