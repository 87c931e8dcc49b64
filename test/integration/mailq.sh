#!/bin/bash
# mailq: the Postfix-format queue listing (mailq, sendmail -bp), broken
# files in the queue, and "tern queue [--json]".
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"
sandbox_init

HEADER='-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------'
INDENT=$(printf '%41s' '')

# The installed mailq is a symlink to sendmail (absolute, without DESTDIR).
inst=$TERN_DESTDIR$TERN_BINDIR/mailq
if [ -L "$inst" ]; then
	is "$(readlink "$inst")" "$TERN_SBINDIR/sendmail" "installed mailq links to $TERN_SBINDIR/sendmail"
else
	skip "installed mailq links to sendmail" "no staged $inst"
fi

# ---------------------------------------------------------------- empty
rm -rf "$QUEUE_DIR"
run "$MAILQ" </dev/null
is "$RC" 0 "mailq with no queue_dir at all exits 0"
is "$OUT" "Mail queue is empty" "no queue_dir: 'Mail queue is empty'"

submit $'Subject: setup\n\nx\n' a@example.com
clear_queue
run "$MAILQ" </dev/null
is "$RC" 0 "mailq on an empty queue exits 0"
ok "empty queue: stdout is exactly 'Mail queue is empty' and a newline" \
	cmp -s "$SANDBOX/stdout" <(printf 'Mail queue is empty\n')
is "$ERR" "" "empty queue: nothing on stderr"
sm -bp
ok "sendmail -bp on an empty queue: the same" cmp -s "$SANDBOX/stdout" <(printf 'Mail queue is empty\n')
run "$TERN" queue </dev/null
is "$RC/$OUT" "0/the queue is empty" "tern queue on an empty queue"
run "$TERN" queue --json </dev/null
is "$RC/$OUT" "0/" "tern queue --json on an empty queue prints nothing"

# ---------------------------------------------------------------- one message
submit $'Subject: one\n\nbody\n' -f alice@example.org bob@example.com
id1=$(maildrop_ids | tail -n 1)
qf_parse "$MAILDROP/$id1"
size1=$(qf_env size)
arr1=$(qf_env arrival)
when1=$(date -d "@${arr1%.*}" '+%a %b %e %H:%M:%S')
run "$MAILQ" </dev/null
is "$RC" 0 "mailq with one message exits 0"
# Postfix's layout: "%-11s %7ld %-20s %s" (ID plus status character),
# Kbytes rounded down.
expect=$(printf '%s\n%-11s %7s %-20s %s\n%s%s\n\n-- %d Kbytes in 1 Request.' \
	"$HEADER" "$id1" "$size1" "$when1" alice@example.org "$INDENT" bob@example.com $((size1 / 1024)))
is "$OUT" "$expect" "one message: the whole listing is in Postfix's format"
is "$(sed -n 1p "$SANDBOX/stdout")" "$HEADER" "the header line is exact"
like "$(sed -n 2p "$SANDBOX/stdout")" \
	"^$id1 +[0-9]+ (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}  alice@example\\.org\$" \
	"message line: ID, size, arrival time, sender"
is "$(sed -n 2p "$SANDBOX/stdout" | awk '{print $2}')" "$size1" "the size column is the envelope size"
is "$(sed -n 3p "$SANDBOX/stdout")" "${INDENT}bob@example.com" "recipient indented by 41 spaces"
is "$(sed -n 4p "$SANDBOX/stdout")" "" "a blank line after the message"
is "$(tail -n 1 "$SANDBOX/stdout")" "-- $((size1 / 1024)) Kbytes in 1 Request." "footer: 1 Request, singular"
is "$ERR" "" "one message: nothing on stderr"
run "$SENDMAIL" -bp </dev/null
is "$OUT" "$expect" "sendmail -bp prints the same listing"

# ---------------------------------------------------------------- several
submit $'Subject: two\n\nbody\n' -f '<>' c@example.com d@example.com e@example.com
id2=$(maildrop_ids | tail -n 1)
{ printf 'Subject: three\n\n'; head -c 5000 /dev/zero | tr '\0' 'y' | fold -w 70; echo; } >"$SANDBOX/big"
submit_file "$SANDBOX/big" $'j\xc3\xb6rg@example.com'
id3=$(maildrop_ids | tail -n 1)
run "$MAILQ" </dev/null
is "$RC" 0 "mailq with three messages exits 0"
is "$(grep -c '^[0-9A-F]\{19\}' "$SANDBOX/stdout")" 3 "three message lines"
is "$(grep -o '^[0-9A-F]\{19\}' "$SANDBOX/stdout" | tr '\n' ' ')" "$id1 $id2 $id3 " \
	"messages are listed in arrival order"
like "$(grep "^$id2" "$SANDBOX/stdout")" '  MAILER-DAEMON$' "the null sender shows as MAILER-DAEMON"
is "$(grep -A3 "^$id2" "$SANDBOX/stdout" | tail -n 3 | tr '\n' '|')" \
	"${INDENT}c@example.com|${INDENT}d@example.com|${INDENT}e@example.com|" \
	"every recipient on its own indented line, in order"
like "$(grep -A1 "^$id3" "$SANDBOX/stdout" | tail -n 1)" $'j\xc3\xb6rg@example\\.com$' "a UTF-8 recipient is shown"
total=0
for id in $id1 $id2 $id3; do
	qf_parse "$MAILDROP/$id"
	total=$((total + $(qf_env size)))
done
is "$(tail -n 1 "$SANDBOX/stdout")" "-- $((total / 1024)) Kbytes in 3 Requests." \
	"footer: total Kbytes (rounded down, as Postfix), 3 Requests, plural"
is "$(grep -c '^$' "$SANDBOX/stdout")" 3 "one blank line after each message"
is "$(wc -l <"$SANDBOX/stdout" | tr -d " ")" $((1 + 3 + 5 + 3 + 1)) "line count: header, blocks, footer"

# ---------------------------------------------------------------- tern queue
run "$TERN" queue </dev/null
is "$RC" 0 "tern queue exits 0"
is "$(grep -c . "$SANDBOX/stdout")" 3 "tern queue: one line per message"
like "$(sed -n 1p "$SANDBOX/stdout")" "^$id1 .*<alice@example\\.org>.*<bob@example\\.com>" "tern queue: id, sender and recipient"

run "$TERN" queue --json </dev/null
is "$RC" 0 "tern queue --json exits 0"
is "$(grep -c . "$SANDBOX/stdout")" 3 "tern queue --json: one line per message"
if [ -x "$PYTHON" ]; then
	check=$("$PYTHON" - "$SANDBOX/stdout" "$id1" "$id2" "$id3" <<'EOF'
import json, re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
ids = sys.argv[2:]
out = []
try:
    objs = [json.loads(l) for l in lines]
except Exception as e:
    print("invalid JSON: %s" % e); sys.exit(0)
out.append("valid")
out.append("ids=" + ",".join(o.get("id", "?") for o in objs))
for o in objs:
    for k in ("id", "state", "size", "arrival", "sender", "recipients"):
        if k not in o:
            out.append("missing %s in %s" % (k, o.get("id")))
    if not isinstance(o.get("size"), int):
        out.append("size not an integer")
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", str(o.get("arrival"))):
        out.append("arrival not ISO 8601: %r" % o.get("arrival"))
    for r in o.get("recipients", []):
        if "address" not in r:
            out.append("recipient without address")
out.append("states=" + ",".join(o.get("state", "?") for o in objs))
out.append("senders=" + ",".join(o.get("sender", "?") for o in objs))
out.append("rcpts=" + ";".join(",".join(r.get("address", "?") for r in o.get("recipients", [])) for o in objs))
print("\n".join(out))
EOF
)
	is "$(sed -n 1p <<<"$check")" "valid" "tern queue --json: every line is valid JSON"
	is "$(sed -n 2p <<<"$check")" "ids=$id1,$id2,$id3" "tern queue --json: ids in arrival order"
	is "$(grep -c '^missing\|^size not\|^arrival not\|^recipient without' <<<"$check")" 0 \
		"tern queue --json: id, state, size, arrival, sender, recipients[].address present and well-typed"
	is "$(grep '^states=' <<<"$check")" "states=maildrop,maildrop,maildrop" "tern queue --json: state of fresh mail is maildrop"
	is "$(grep '^senders=' <<<"$check")" "senders=alice@example.org,,$LOGIN@example.org" \
		"tern queue --json: senders (null sender is empty)"
	is "$(grep '^rcpts=' <<<"$check")" $'rcpts=bob@example.com;c@example.com,d@example.com,e@example.com;j\xc3\xb6rg@example.com' \
		"tern queue --json: recipient addresses"
	sz=$("$PYTHON" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["size"])' "$SANDBOX/stdout")
	is "$sz" "$size1" "tern queue --json: size is the envelope size"
else
	for i in 1 2 3 4 5 6 7; do skip "tern queue --json check $i" "no $PYTHON"; done
fi
run "$TERN" queue --xml </dev/null
is "$RC" 64 "tern queue with an unknown argument exits 64"

# ---------------------------------------------------------------- other queues
# The same file format in hold/, active/ and deferred/ (as ternd moves it).
mkid() { printf '%s%s' "${1:0:13}" "$2"; }
idh=$(mkid "$id3" AAAAA1)
ida=$(mkid "$id3" AAAAA2)
idd=$(mkid "$id3" AAAAA3)
cp "$MAILDROP/$id1" "$QUEUE_DIR/hold/$idh"
cp "$MAILDROP/$id1" "$QUEUE_DIR/active/$ida"
sed 's/^rcpt: bob@example\.com state=pending$/rcpt: bob@example.com state=deferred reason=connect%20to%20mx.example.com:%20Connection%20refused\nrcpt: done@example.com state=sent\nrcpt: gone@example.com state=bounced/' \
	"$MAILDROP/$id1" >"$QUEUE_DIR/deferred/$idd"
run "$MAILQ" </dev/null
is "$RC" 0 "mailq over maildrop, hold, active and deferred exits 0"
is "$ERR" "" "other queues: no complaints on stderr"
like "$(grep "^$idh" "$SANDBOX/stdout")" "^$idh! " "held message: '!' after the ID"
like "$(grep "^$ida" "$SANDBOX/stdout")" "^$ida\\* " "active message: '*' after the ID"
like "$(grep "^$idd" "$SANDBOX/stdout")" "^$idd +[0-9]+ " "deferred message: no status character after the ID"
reason_line=$(grep -A1 "^$idd" "$SANDBOX/stdout" | tail -n 1)
like "$reason_line" '^ +\(connect to mx\.example\.com: Connection refused\)$' \
	"deferred recipient: the reason in parentheses above it"
is "${#reason_line}" 78 "the reason is right-aligned to column 78, as Postfix does"
is "$(grep -A2 "^$idd" "$SANDBOX/stdout" | tail -n 1)" "${INDENT}bob@example.com" \
	"deferred recipient: the address follows its reason"
is "$(grep -c 'done@example\.com\|gone@example\.com' "$SANDBOX/stdout")" 0 \
	"sent and bounced recipients are not listed"
is "$(tail -n 1 "$SANDBOX/stdout" | sed 's/.* in //')" "6 Requests." "footer counts all six"
if [ -x "$PYTHON" ]; then
	run "$TERN" queue --json </dev/null
	states=$("$PYTHON" -c 'import json,sys
print(",".join(json.loads(l)["state"] for l in open(sys.argv[1])))' "$SANDBOX/stdout" 2>&1)
	is "$states" "maildrop,maildrop,maildrop,hold,active,deferred" "tern queue --json: states by queue"
else
	skip "tern queue --json: states by queue" "no $PYTHON"
fi
for q in hold active deferred; do find "$QUEUE_DIR/$q" -mindepth 1 -delete; done

# ---------------------------------------------------------------- broken files
head -c 150 "$MAILDROP/$id1" >"$MAILDROP/0000000000001000001"
printf 'garbage, not an envelope\n' >"$MAILDROP/0000000000002000001"
ln -s "$id1" "$MAILDROP/0000000000003000001"
ln "$MAILDROP/$id2" "$MAILDROP/0000000000004000001"
: >"$MAILDROP/0000000000005000001"
{ cat "$MAILDROP/$id1"; printf 'trailing junk\n'; } >"$MAILDROP/0000000000006000001"
sed 's/^data: \([0-9]*\)$/data: 99999/' "$MAILDROP/$id1" >"$MAILDROP/0000000000007000001"
mkdir "$MAILDROP/0000000000008000001"
cp "$MAILDROP/$id1" "$MAILDROP/tmp.0000000000009000001"
cp "$MAILDROP/$id1" "$MAILDROP/not-an-id"
run "$MAILQ" </dev/null
is "$RC" 0 "mailq with broken files in maildrop exits 0"
listed=$(grep -o '^[0-9A-F]\{19\}' "$SANDBOX/stdout" | tr '\n' ' ')
is "$listed" "$id1 $id3 " "only the intact messages are listed (the hard-linked one is refused)"
is "$(tail -n 1 "$SANDBOX/stdout" | sed 's/.* in //')" "2 Requests." "the footer counts the intact messages only"
for name in 0000000000001000001 0000000000002000001 0000000000003000001 \
	0000000000004000001 0000000000005000001 0000000000006000001 0000000000007000001 \
	0000000000008000001; do
	like "$ERR" "$name" "broken file $name: a note on stderr names it"
done
like "$ERR" "hard link" "the hard-linked file: the note says why"
like "$ERR" "$id2" "the original of the hard link is refused too, with a note"
unlike "$ERR" "tmp\\.|not-an-id" "tmp. files and other names are ignored silently"
unlike "$OUT" "garbage|trailing junk" "nothing of a broken file reaches stdout"
run "$TERN" queue </dev/null
is "$RC/$(grep -c . "$SANDBOX/stdout")" "0/2" "tern queue skips the broken files too"
like "$ERR" "0000000000002000001" "tern queue: a note on stderr for a broken file"

clear_queue
printf 'garbage\n' >"$MAILDROP/0000000000002000001"
run "$MAILQ" </dev/null
is "$RC/$OUT" "0/Mail queue is empty" "only broken files: 'Mail queue is empty'"

# ---------------------------------------------------------------- many
clear_queue
for i in $(seq 1 30); do
	submit $'Subject: many\n\nx\n' "r$i@example.com"
done
run "$MAILQ" </dev/null
is "$RC/$(grep -c '^[0-9A-F]\{19\}' "$SANDBOX/stdout")" "0/30" "30 messages listed"
is "$(grep -o '^ *r[0-9]*@' "$SANDBOX/stdout" | tr -d ' @' | tr '\n' ' ')" "$(printf 'r%d ' $(seq 1 30))" \
	"30 messages in submission order"
like "$(tail -n 1 "$SANDBOX/stdout")" '^-- [0-9]+ Kbytes in 30 Requests\.$' "footer for 30 messages"

done_testing
