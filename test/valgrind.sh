#!/bin/sh
# valgrind.sh: run integration tests with sendmail, ternd and tern under
# valgrind's memcheck (--leak-check=full --error-exitcode=99) and fail
# on any error or leak it reports.  Not part of "make check" (valgrind
# makes every program ten times slower); CI runs it on its plain build:
#   test/valgrind.sh [TEST...]      e.g. test/integration/ternd_basic.sh
# Without arguments it runs every integration test but five (listed
# below, with why), about ten minutes on two cores.  The last line is
# "valgrind: N passed, N failed": the tests' points plus one failure per
# program run that valgrind complained about.
# Needs a configured tree built without --enable-sanitizers, and
# valgrind (sudo contrib/install-deps valgrind).
#
# The tests reach the programs through wrappers (TERN_WRAPDIR, see
# test/lib/sandbox.sh); each run writes a log file only when valgrind
# has something to say (-q), and every such log is printed at the end.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind.sh: valgrind is missing (sudo contrib/install-deps valgrind)" >&2
	exit 77
fi
if [ ! -f Makefile ]; then
	echo "valgrind.sh: run ./configure first" >&2
	exit 1
fi
if grep -q -e '-fsanitize' Makefile; then
	echo "valgrind.sh: this tree is built with sanitizers; valgrind needs a plain build" >&2
	exit 1
fi
# Without arguments: every integration test but these, which measure
# or stress what valgrind changes: crash_safety.sh (thousands of
# messages and SIGKILLs), hostile_smtp.sh (peak memory bounds, 100,000
# header fields), full_disk.sh (ternd's CPU use), install.sh (it runs
# the programs it installs with make install, not the wrappers) and
# docs.sh (no program at all).
if [ $# -eq 0 ]; then
	for t in test/integration/*.sh; do
		case ${t##*/} in
		crash_safety.sh | hostile_smtp.sh | full_disk.sh | install.sh | \
		docs.sh) ;;
		*) set -- "$@" "$t" ;;
		esac
	done
fi

make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null || exit 1

# Wrappers and logs where the daemon's user (nobody, as root) can reach
# them.
w=$(mktemp -d /tmp/tern-valgrind.XXXXXX) || exit 1
trap 'rm -rf "$w"' EXIT
chmod 0755 "$w"
mkdir -p "$w/bin" "$w/real" "$w/log"
chmod 1777 "$w/log"
ln -s "$top/src/sendmail" "$w/real/sendmail"
ln -s "$top/src/sendmail" "$w/real/mailq"
ln -s "$top/src/sendmail" "$w/real/newaliases"
ln -s "$top/src/ternd" "$w/real/ternd"
ln -s "$top/src/tern" "$w/real/tern"
for p in sendmail ternd tern; do
	cat >"$w/bin/$p" <<WRAP
#!/bin/sh
# argv[0] decides what sendmail is (mailq, newaliases): keep the name.
n=\$(basename "\$0")
exec valgrind -q --leak-check=full --error-exitcode=99 --num-callers=40 \\
	--suppressions="$top/test/valgrind.supp" \\
	--log-file="$w/log/\$n.%p.log" "$w/real/\$n" "\$@"
WRAP
	chmod 0755 "$w/bin/$p"
done

# Slower programs: give every run, wait and test peer more time.
TERN_WRAPDIR=$w/bin RUN_TIMEOUT=300 PEER_LIFETIME=900 \
	make -j"$(nproc 2>/dev/null || echo 2)" check TESTS="$*"
status=$?

bad=0
for f in "$w"/log/*.log; do
	[ -s "$f" ] || continue
	bad=$((bad + 1))
	echo "==== valgrind: $(basename "$f")"
	head -n 80 "$f"
done
runs=$(find "$w/log" -name '*.log' | wc -l | tr -d ' ')
for p in sendmail mailq newaliases ternd tern; do
	printf 'valgrind: %s ran %s times\n' "$p" \
		"$(find "$w/log" -name "$p.*.log" | wc -l | tr -d ' ')"
done
echo "valgrind: $runs program runs, $bad with errors or leaks; tests exit $status"
# The total, as CI counts it: the tests' points, plus one failure for
# each program run valgrind complained about.  No run at all means the
# wrappers were not used: that is a failure too.
read -r pass fail _ <<EOF
$("$top/test/trs-count" $(for t in "$@"; do echo "$t.trs"; done))
EOF
fail=$((fail + bad))
[ "$runs" -gt 0 ] || fail=$((fail + 1))
[ "$status" -eq 0 ] || [ "$fail" -gt 0 ] || fail=1
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
