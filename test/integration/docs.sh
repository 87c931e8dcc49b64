#!/bin/bash
# The documentation matches the code: every config key of the schema
# table is documented in tern.conf(5) and listed in tern.conf.sample,
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
