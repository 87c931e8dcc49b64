#!/bin/sh
# valgrind.sh: run integration tests with sendmail, ternd and tern under
# valgrind's memcheck (--leak-check=full --error-exitcode=99) and fail
# on any error or leak it reports.  Not part of "make check" (valgrind
# makes every program ten times slower); CI runs it on its plain build:
#   test/valgrind.sh [TEST...]      e.g. test/integration/ternd_basic.sh
# Without arguments it runs eighteen integration tests that exercise
# every program: submission and its options, -bs, mailq, newaliases;
# the daemon relaying, failing over, fetching OAuth2 tokens, signing,
# delivering to MX hosts, reloading and stopping; the listener with its
# limits, TLS and AUTH; tern's queue commands, check and test-relay
# (about six minutes on two cores).  The last line is "valgrind: N
# passed, N failed": the tests' points plus one failure per program
# run that valgrind complained about.
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
[ $# -gt 0 ] || set -- test/integration/submit_basic.sh \
	test/integration/submit_options.sh test/integration/sendmail_bs.sh \
	test/integration/mailq.sh test/integration/newaliases.sh \
	test/integration/ternd_basic.sh test/integration/ternd_lifecycle.sh \
	test/integration/ternd_failover.sh test/integration/ternd_oauth2.sh \
	test/integration/ternd_dkim.sh test/integration/direct_mx.sh \
	test/integration/direct_delivery.sh test/integration/smtpd_basic.sh \
	test/integration/smtpd_limits.sh test/integration/smtpd_tls_auth.sh \
	test/integration/tern_queue.sh test/integration/tern_check.sh \
	test/integration/tern_test_relay.sh

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

# Slower programs: give every run and wait more time.
TERN_WRAPDIR=$w/bin RUN_TIMEOUT=300 \
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
pass=0 fail=$bad
for t in "$@"; do
	trs=$t.trs
	[ -f "$trs" ] || { fail=$((fail + 1)); continue; }
	pass=$((pass + $(grep -c '^:test-result: PASS' "$trs")))
	fail=$((fail + $(grep -c -E '^:test-result: (FAIL|ERROR|XPASS)' "$trs")))
done
[ "$runs" -gt 0 ] || fail=$((fail + 1))
[ "$status" -eq 0 ] || [ "$fail" -gt 0 ] || fail=1
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
