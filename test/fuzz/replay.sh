#!/bin/sh
# The fuzz harnesses built with the project's compiler (and, in the
# sanitizer build, its sanitizers) replay the seed corpus and every
# input a fuzzing run ever broke them with (test/fuzz/regressions/),
# so what was fixed stays fixed.  One TAP test point per target.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
targets="smtpd smtpc_reply header addr envelope config proxy aliases"
set -- $targets
echo "1..$#"
n=0
for t in $targets; do
	n=$((n + 1))
	dirs=$top_srcdir/test/fuzz/corpus/$t
	[ -d "$top_srcdir/test/fuzz/regressions/$t" ] &&
	    dirs="$dirs $top_srcdir/test/fuzz/regressions/$t"
	# shellcheck disable=SC2086
	if out=$(TMPDIR=${TMPDIR:-/tmp} \
	    "$top_builddir/test/fuzz/replay_$t" $dirs 2>&1); then
		echo "ok $n - $t: $(echo "$out" | tail -n 1)"
	else
		echo "not ok $n - $t"
		echo "$out" | tail -n 20 | sed 's/^/# /'
	fi
done
