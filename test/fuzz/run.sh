#!/bin/sh
# make fuzz: build the libFuzzer harnesses with clang (fuzz.mk) and run
# each for FUZZ_SECONDS (default 60) on its seed corpus, with its
# dictionary (test/fuzz/dict/TARGET.dict).  New inputs go
# to a scratch corpus under the build tree, never into the source tree;
# an input that breaks a harness is copied to
# test/fuzz/regressions/TARGET/ in the source tree (replayed by "make
# check" from then on).  Prints one line per target and, last,
# "fuzz: N passed, N failed"; exits non-zero when any target failed.
#   test/fuzz/run.sh SRCDIR BUILDDIR [TARGET...]
set -u
srcdir=$(cd "${1:?srcdir}" && pwd) || exit 1
builddir=$(cd "${2:?builddir}" && pwd) || exit 1
shift 2
seconds=${FUZZ_SECONDS:-60}
targets=${*:-smtpd smtpc_reply header addr envelope config proxy aliases}
obj=$builddir/test/fuzz/obj
work=$builddir/test/fuzz/work

if ! command -v "${CLANG:-clang}" >/dev/null 2>&1; then
	echo "fuzz: clang not found (apt-get install clang libclang-rt-14-dev)"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
if ! ${MAKE:-make} -s -f "$srcdir/test/fuzz/fuzz.mk" srcdir="$srcdir" \
    builddir="$builddir" -j"$(nproc 2>/dev/null || echo 2)" all; then
	echo "fuzz: build failed"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi

pass=0 fail=0
for t in $targets; do
	dir=$work/$t
	rm -rf "$dir/artifacts"
	mkdir -p "$dir/corpus" "$dir/artifacts" || exit 1
	# The target's dictionary of tokens (verbs, keywords, field names)
	# lets the fuzzer reach past the first parse error sooner.
	dict=$dir/dict
	cat "$srcdir/test/fuzz/dict/$t.dict" >"$dict" 2>/dev/null || : >"$dict"
	if [ "$t" = config ]; then
		grep -o 'CONFIG_SEC_[A-Z]*, "[a-z0-9_]*"' \
		    "$srcdir/src/config_schema.c" |
		    sed 's/.*"\(.*\)"/"\1 = "/' | sort -u >>"$dict"
	fi
	# -timeout and -rss_limit_mb turn a hang or a memory blow-up into
	# a failure too; the fuzzer's TMPDIR is the scratch directory.
	TMPDIR=$dir "$obj/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 -dict="$dict" \
	    -artifact_prefix="$dir/artifacts/" \
	    "$dir/corpus" "$srcdir/test/fuzz/corpus/$t" >"$dir/log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
	found=$(find "$dir/artifacts" -type f | wc -l)
	if [ "$rc" -eq 0 ] && [ "$found" -eq 0 ]; then
		pass=$((pass + 1))
		echo "fuzz: $t: ok, ${runs:-?} runs in ${seconds} s"
		continue
	fi
	fail=$((fail + 1))
	echo "fuzz: $t: FAILED (exit $rc), log in $dir/log:"
	grep -E 'ERROR|property broken|SUMMARY' "$dir/log" | head -n 5
	mkdir -p "$srcdir/test/fuzz/regressions/$t"
	for a in "$dir"/artifacts/*; do
		[ -f "$a" ] || continue
		cp "$a" "$srcdir/test/fuzz/regressions/$t/" &&
		    echo "fuzz: $t: kept $(basename "$a") in" \
			"test/fuzz/regressions/$t/"
	done
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
