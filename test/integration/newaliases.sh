#!/bin/bash
# newaliases (and sendmail -bi): validate the aliases file, report every
# problem as file:line, exit 0 or 78.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"
sandbox_init

inst=$TERN_DESTDIR$TERN_BINDIR/newaliases
if [ -L "$inst" ]; then
	is "$(readlink "$inst")" "$TERN_SBINDIR/sendmail" "installed newaliases links to $TERN_SBINDIR/sendmail"
else
	skip "installed newaliases links to sendmail" "no staged $inst"
fi

na() { run "$NEWALIASES" "$@" </dev/null; }
bi() { run "$SENDMAIL" -bi </dev/null; }

# ---------------------------------------------------------------- missing / empty
rm -f "$ALIASES"
na
is "$RC" 0 "missing aliases file: exit 0"
is "$OUT" "" "missing aliases file: nothing on stdout"
bi
is "$RC" 0 "missing aliases file: sendmail -bi exits 0"

: >"$ALIASES"
na -v
is "$RC" 0 "empty aliases file: exit 0"
like "$ERR" "0 aliases" "empty aliases file: -v counts 0 aliases"

# ---------------------------------------------------------------- valid
cat >"$ALIASES" <<'EOF'
# The aliases of the sandbox.

postmaster: root
root: admin@example.org,
	other@example.org,
  third@example.org
"john doe": jd@example.org
Mixed: Mixed Case <mc@example.org>
webmaster: <wm@example.org>
self: \self, copy@example.org
quoted: "a, b"@example.org
list: postmaster, root,jd@example.org , webmaster
EOF
na
is "$RC" 0 "valid aliases file: exit 0"
is "$ERR" "" "valid aliases file: quiet without -v"
is "$OUT" "" "valid aliases file: nothing on stdout"
na -v
is "$RC" 0 "valid aliases file with -v: exit 0"
like "$ERR" "$(basename "$ALIASES"): 8 aliases" "-v counts the aliases (8)"
bi
is "$RC/$ERR" "0/" "sendmail -bi on the valid file: exit 0, quiet"

# ---------------------------------------------------------------- warnings
cat >"$ALIASES" <<'EOF'
postmaster: root
prog: |/usr/bin/procmail
file: /var/mail/archive
inc: :include:/etc/mail/list
mixed: "|/bin/cat", real@example.org
EOF
na
is "$RC" 0 "|command, /file and :include: entries: exit 0"
like "$ERR" "aliases:2: warning: .*\|/usr/bin/procmail" "|command: a warning naming file:line and the value"
like "$ERR" "aliases:3: warning: .*/var/mail/archive" "/file: a warning naming file:line"
like "$ERR" "aliases:4: warning: .*:include:" ":include:: a warning naming file:line"
like "$ERR" "aliases:5: warning: " "a command among addresses: a warning for line 5"
unlike "$ERR" "error" "warnings are not errors"
bi
is "$RC" 0 "sendmail -bi with warnings: exit 0"
is "$(sed 's/^sendmail: //' <<<"$ERR")" "$(na; sed 's/^newaliases: //' <<<"$ERR")" \
	"sendmail -bi reports the same as newaliases"

# ---------------------------------------------------------------- errors
cat >"$ALIASES" <<'EOF'
postmaster: root
this line has no colon
ok: fine@example.org
empty:
: nameless@example.org
dup: a@example.org
dup: b@example.org
spaces: a b@example.org
bracket: <unclosed@example.org
domainless: user@
unquoted: "open@example.org
EOF
na
is "$RC" 78 "aliases file with errors: exit 78"
like "$ERR" "aliases:2: " "missing colon: file:line 2"
like "$ERR" "aliases:4: " "alias without values: file:line 4"
like "$ERR" "aliases:5: " "empty name: file:line 5"
like "$ERR" "aliases:7: .*line 6" "duplicate alias: line 7, naming the first (line 6)"
like "$ERR" "aliases:8: " "whitespace in a value: file:line 8"
like "$ERR" "aliases:9: " "unclosed angle bracket: file:line 9"
like "$ERR" "aliases:10: " "empty domain: file:line 10"
like "$ERR" "aliases:11: " "unterminated quote: file:line 11"
unlike "$ERR" "aliases:(1|3|6): " "good lines are not reported"
like "$ERR" "aliases: 8 errors" "the summary counts all 8 errors"
bi
is "$RC" 78 "sendmail -bi on the bad file: exit 78"
like "$ERR" "aliases:2: " "sendmail -bi names file:line too"

run "$TERN" check </dev/null
is "$RC" 78 "tern check with a bad aliases file: exit 78"
like "$ERR" "aliases:7: " "tern check names the aliases file:line"

printf 'lead:  x@example.org\n  continued@example.org\n' >"$ALIASES"
na
is "$RC" 0 "a continuation line after an alias is fine"
printf '  starts@example.org\nx: y@example.org\n' >"$ALIASES"
na
is "$RC" 78 "a continuation line before any alias: exit 78"
like "$ERR" "aliases:1: " "continuation before any alias: file:line 1"

printf 'a: b@example.org\nA: c@example.org\n' >"$ALIASES"
na
is "$RC" 78 "names differing only in case are duplicates: exit 78"

printf 'ok: a@example.org\nbad: x\001y@example.org\n' >"$ALIASES"
na
is "$RC" 78 "a control character: exit 78"
like "$ERR" "aliases:2: " "control character: file:line 2"

printf 'ok: a@example.org\nbad: j\366rg@example.org\n' >"$ALIASES"
na
is "$RC" 78 "invalid UTF-8: exit 78"
like "$ERR" "aliases:2: " "invalid UTF-8: file:line 2"

printf 'ok: a@example.org\nbad: nul\000here@example.org\n' >"$ALIASES"
na
is "$RC" 78 "a NUL byte: exit 78"
like "$ERR" "aliases:2: " "NUL byte: file:line 2"

{ printf 'long: '; head -c 70000 /dev/zero | tr '\0' 'l'; printf '@example.org\n'; } >"$ALIASES"
na
is "$RC" 78 "a line over 64 KiB: exit 78"
like "$ERR" "aliases:1: " "overlong line: file:line 1"

{ for i in $(seq 1 5000); do printf 'user%d: user%d@example.org\n' "$i" "$i"; done; } >"$ALIASES"
run timeout 60 "$NEWALIASES" -v </dev/null
is "$RC" 0 "5000 aliases: exit 0 in bounded time"
like "$ERR" "5000 aliases" "5000 aliases counted"

rm -f "$ALIASES"
mkdir "$ALIASES"
na
like "$RC" '^(7[0-9])$' "aliases path that is a directory: a sysexits failure ($RC)"
like "$ERR" "$(basename "$ALIASES")" "aliases path that is a directory: stderr names it"
rmdir "$ALIASES"

done_testing
