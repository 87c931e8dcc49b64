#!/bin/bash
# The documentation matches the code: every config key of the schema
# table is documented in tern.conf(5) and listed in tern.conf.sample,
# every subcommand of tern's table is in tern(8) (SYNOPSIS and an item
# of DESCRIPTION), every signal ternd handles is in ternd(8)'s SIGNALS,
# and every man page passes mandoc's linter.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }

# "{ CONFIG_SEC_RELAY, "host", ..." -> "relay host"
keys=$(grep -o 'CONFIG_SEC_[A-Z]*, "[a-z0-9_]*"' "$src/src/config_schema.c" |
    sed 's/CONFIG_SEC_\([A-Z]*\), "\(.*\)"/\1 \2/' | tr 'A-Z' 'a-z')
[ "$(echo "$keys" | wc -l)" -gt 40 ] && ok "schema table parsed" ||
    not_ok "schema table parsed ($(echo "$keys" | wc -l) keys)"

while read -r section key; do
	if grep -q "^\.It Cm $key\( \|$\)" "$src/man/tern.conf.5"; then
		ok "tern.conf.5 documents $section $key"
	else
		not_ok "tern.conf.5 documents $section $key"
	fi
	if grep -q "^#\?$key = " "$src/etc/tern.conf.sample"; then
		ok "tern.conf.sample lists $section $key"
	else
		not_ok "tern.conf.sample lists $section $key"
	fi
done <<KEYS
$keys
KEYS

# section NAME FILE: the lines of one .Sh section of a man page.
section()
{
	awk -v want="$1" '/^\.Sh / { on = ($0 == ".Sh " want) ; next } on' "$2"
}

# '{ "queue", tern_cmd_queue,' -> queue
cmds=$(sed -n 's/^[[:space:]]*{ "\([a-z0-9-]*\)", tern_cmd_.*/\1/p' \
    "$src/src/tern_main.c")
[ "$(echo "$cmds" | wc -w)" -ge 5 ] && ok "tern's command table parsed" ||
    not_ok "tern's command table parsed ($(echo "$cmds" | wc -w) commands)"
synopsis=$(section SYNOPSIS "$src/man/tern.8")
# An item is ".It Cm NAME ..." or ".It Xo" then ".Cm NAME ...".
# The commands of "Not yet in this release" do not count.
items=$(section DESCRIPTION "$src/man/tern.8" |
    awk '/^\.Ss Not yet/ { exit }
	/^\.It Xo/ { xo = 1; next }
	xo { print; xo = 0; next }
	/^\.It Cm / { sub(/^\.It /, ""); print }')
for c in $cmds; do
	if echo "$synopsis" | grep -q "^\.Cm $c\( \|$\)"; then
		ok "tern.8 SYNOPSIS has $c"
	else
		not_ok "tern.8 SYNOPSIS has $c"
	fi
	if echo "$items" | grep -q "^\.\?Cm $c\( \|$\)"; then
		ok "tern.8 DESCRIPTION documents $c"
	else
		not_ok "tern.8 DESCRIPTION documents $c"
	fi
done

# 'evsignal_new(b, SIGHUP, ...' -> SIGHUP
sigs=$(grep -o 'evsignal_new([^,]*, *SIG[A-Z0-9]*' "$src/src/ternd_main.c" |
    sed 's/.*\(SIG[A-Z0-9]*\)$/\1/' | sort -u)
[ -n "$sigs" ] && ok "ternd's signals found" || not_ok "ternd's signals found"
signals=$(section SIGNALS "$src/man/ternd.8" | grep '^\.It ')
for sig in $sigs; do
	if echo "$signals" | grep -q "Dv $sig\( \|$\)"; then
		ok "ternd.8 SIGNALS documents $sig"
	else
		not_ok "ternd.8 SIGNALS documents $sig"
	fi
done

for page in "$src"/man/*.[0-9]; do
	out=$(mandoc -Tlint -W warning "$page" 2>&1)
	if [ -z "$out" ]; then
		ok "mandoc lint $(basename "$page")"
	else
		not_ok "mandoc lint $(basename "$page")"
		echo "$out" | sed 's/^/# /'
	fi
done
echo "1..$n"
exit $failed
