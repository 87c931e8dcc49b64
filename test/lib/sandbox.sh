# shellcheck shell=bash
# shellcheck disable=SC2034,SC2120  # globals and optional arguments for the tests
#
# sandbox.sh: shared code for the integration tests (sourced, bash).
#
#  - TAP output: plan/done_testing, pass/fail, ok/nok (run a command),
#    is/isnt/like/unlike, skip, diag, bail_out.  The script's exit code is
#    non-zero when any test point failed.
#  - A sandbox per test script, $top_builddir/test/sandbox/NAME, with its
#    own queue_dir, aliases file and tern.conf (exported as TERN_CONFIG).
#  - run/submit: run a staged program, capturing stdout, stderr and the
#    exit code (RC, OUT, ERR; the files $SANDBOX/stdout and stderr).
#  - Queue helpers: count maildrop files, check that nothing was left,
#    and split a maildrop file into envelope, message and trailer.
#  - A trigger listener (a Unix datagram socket bound with python3).
#  - port465_lock/port465_unlock: tests that need 127.0.0.1:465 take turns.
#  - Private mount namespaces for read-only and full-disk tests.
#
# The programs are the staged install ("make check" does
# "make install DESTDIR=test/destdir" first); mailq and newaliases are
# reached through symlinks in the sandbox, because the installed ones
# point at $TERN_SBINDIR/sendmail without the DESTDIR.  Nothing here
# uses the network or the system resolver, and every wait is bounded.

set -u
export LC_ALL=C
export TZ=UTC

# ---------------------------------------------------------------- locations

_sb_libdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$_sb_libdir/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${TERN_DESTDIR:=$top_builddir/test/destdir}"
: "${TERN_PREFIX:=/usr/local}"
: "${TERN_SBINDIR:=$TERN_PREFIX/sbin}"
: "${TERN_BINDIR:=$TERN_PREFIX/bin}"

SENDMAIL=$TERN_DESTDIR$TERN_SBINDIR/sendmail
TERN=$TERN_DESTDIR$TERN_SBINDIR/tern
# TERN_WRAPDIR: run the programs through wrappers of the same names
# there instead (test/valgrind.sh runs them under valgrind this way).
if [ -n "${TERN_WRAPDIR:-}" ]; then
	SENDMAIL=$TERN_WRAPDIR/sendmail
	TERN=$TERN_WRAPDIR/tern
fi
PYTHON=/usr/bin/python3

# Longest any one program may run before it counts as hung (seconds).
RUN_TIMEOUT=${RUN_TIMEOUT:-60}

# ---------------------------------------------------------------- TAP

_tap_n=0
_tap_failed=0
_tap_plan=
_tap_done=0

# A description on one line, with '#' escaped (it would start a directive).
_tap_desc()
{
	local d=${1//$'\n'/ }
	d=${d//$'\r'/ }
	printf '%s' "${d//#/\\#}"
}

plan()
{
	_tap_plan=$1
	echo "1..$1"
}

# diag LINE...: a TAP comment per line, each cut to 300 characters, at
# most 40 lines.
diag()
{
	local arg line n=0
	for arg in "$@"; do
		while IFS= read -r line && [ "$n" -lt 40 ]; do
			printf '# %s\n' "${line:0:300}"
			n=$((n + 1))
		done <<<"$arg"
	done
}

pass()
{
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $(_tap_desc "$1")"
}

# fail DESC [DIAG...]
fail()
{
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $(_tap_desc "$1")"
	shift
	[ $# -gt 0 ] && diag "$@"
	return 0
}

# skip DESC REASON
skip()
{
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $(_tap_desc "$1") # SKIP $(_tap_desc "$2")"
}

# ok DESC CMD...: passes when CMD exits 0.  nok: when it does not.
ok()
{
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc" "command failed: $*"; fi
}

nok()
{
	local desc=$1
	shift
	if "$@"; then fail "$desc" "command succeeded: $*"; else pass "$desc"; fi
}

# is GOT WANT DESC
is()
{
	if [ "$1" == "$2" ]; then
		pass "$3"
	else
		fail "$3" "got:      '${1:0:2000}'" "expected: '${2:0:2000}'"
	fi
}

# isnt GOT UNWANTED DESC
isnt()
{
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3" "got the unwanted value '${1:0:2000}'"
	fi
}

# like GOT ERE DESC (bash =~, byte-wise under LC_ALL=C)
like()
{
	if [[ $1 =~ $2 ]]; then
		pass "$3"
	else
		fail "$3" "got:       '${1:0:2000}'" "not like:  /$2/"
	fi
}

unlike()
{
	if [[ $1 =~ $2 ]]; then
		fail "$3" "got:   '${1:0:2000}'" "is like /$2/"
	else
		pass "$3"
	fi
}

bail_out()
{
	echo "Bail out! $(_tap_desc "$1")"
	_tap_done=1
	exit 99
}

# End of the script: print the plan when none was given, and exit
# non-zero on any failure or a plan that was not kept.
done_testing()
{
	_tap_done=1
	if [ -z "$_tap_plan" ]; then
		echo "1..$_tap_n"
	elif [ "$_tap_plan" -ne "$_tap_n" ]; then
		echo "# planned $_tap_plan tests but ran $_tap_n"
		exit 1
	fi
	if [ "$_tap_failed" -gt 0 ]; then
		echo "# failed $_tap_failed of $_tap_n tests"
		exit 1
	fi
	exit 0
}

# ---------------------------------------------------------------- cleanup

_sb_pids=()

_sb_cleanup()
{
	local rc=$? pid
	for pid in "${_sb_pids[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	if [ "$_tap_done" = 0 ]; then
		echo "# the script stopped early (exit $rc) after $_tap_n tests"
		[ "$rc" = 0 ] && rc=1
	fi
	exit "$rc"
}
trap _sb_cleanup EXIT

# ---------------------------------------------------------------- sandbox

# sandbox_init [NAME]: a fresh sandbox for this script.  Sets SANDBOX,
# QUEUE_DIR, MAILDROP, CONF, ALIASES, MAILQ, NEWALIASES and exports
# TERN_CONFIG.
sandbox_init()
{
	SANDBOX_NAME=${1:-$(basename "$0" .sh)}
	SANDBOX=$top_builddir/test/sandbox/$SANDBOX_NAME
	case $SANDBOX_NAME in
	'' | */* | . | ..) bail_out "bad sandbox name '$SANDBOX_NAME'" ;;
	esac
	[ -d "$SANDBOX" ] && { chmod -R u+rwx "$SANDBOX" 2>/dev/null; rm -rf -- "$SANDBOX"; }
	mkdir -p "$SANDBOX/bin" || bail_out "cannot create $SANDBOX"
	QUEUE_DIR=$SANDBOX/queue
	MAILDROP=$QUEUE_DIR/maildrop
	CONF=$SANDBOX/tern.conf
	ALIASES=$SANDBOX/aliases
	write_config
	export TERN_CONFIG=$CONF
	[ -x "$SENDMAIL" ] || bail_out "no staged sendmail at $SENDMAIL (run make check)"
	[ -x "$TERN" ] || bail_out "no staged tern at $TERN (run make check)"
	# argv[0] decides: mailq and newaliases are sendmail by another name.
	ln -s "$SENDMAIL" "$SANDBOX/bin/mailq"
	ln -s "$SENDMAIL" "$SANDBOX/bin/newaliases"
	MAILQ=$SANDBOX/bin/mailq
	NEWALIASES=$SANDBOX/bin/newaliases
	LOGIN=$(id -un 2>/dev/null || echo "uid$(id -u)")
	cd "$SANDBOX" || bail_out "cannot enter $SANDBOX"
}

# write_config [LINE...]: the sandbox's tern.conf, plus extra lines.
write_config()
{
	{
		echo "# integration test sandbox"
		echo "log = stderr"
		echo "hostname = host.example.org"
		echo "origin = example.org"
		echo "queue_dir = $QUEUE_DIR"
		echo "aliases = $ALIASES"
		local line
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	} >"$CONF"
}

# ---------------------------------------------------------------- running

# run CMD...: run with the caller's stdin (bounded by RUN_TIMEOUT),
# setting RC, OUT and ERR; the bytes are in $SANDBOX/stdout and stderr.
run()
{
	timeout -k 5 "$RUN_TIMEOUT" "$@" >"$SANDBOX/stdout" 2>"$SANDBOX/stderr"
	RC=$?
	OUT=$(tr -d '\0' <"$SANDBOX/stdout")
	ERR=$(tr -d '\0' <"$SANDBOX/stderr")
	return 0
}

# sm ARGS...: sendmail with stdin from /dev/null.
sm()
{
	run "$SENDMAIL" "$@" </dev/null
}

# submit TEXT ARGS...: sendmail reading TEXT (exact bytes, no newline
# added; use $'...' for escapes).  The input stays in $SANDBOX/stdin.
submit()
{
	printf '%s' "$1" >"$SANDBOX/stdin"
	shift
	run "$SENDMAIL" "$@" <"$SANDBOX/stdin"
}

# submit_file FILE ARGS...
submit_file()
{
	local f=$1
	shift
	run "$SENDMAIL" "$@" <"$f"
}

# ---------------------------------------------------------------- queue

# Queue files (valid IDs) in maildrop, oldest first.
maildrop_ids()
{
	[ -d "$MAILDROP" ] || return 0
	find "$MAILDROP" -mindepth 1 -maxdepth 1 -printf '%f\n' |
		grep -E '^[0-9A-F]{19}$' | sort
}

count_queued()
{
	maildrop_ids | wc -l | tr -d ' '
}

# Every entry of maildrop, whatever its name.
count_all()
{
	[ -d "$MAILDROP" ] || { echo 0; return; }
	find "$MAILDROP" -mindepth 1 -maxdepth 1 | wc -l | tr -d ' '
}

count_tmp()
{
	[ -d "$MAILDROP" ] || { echo 0; return; }
	find "$MAILDROP" -mindepth 1 -maxdepth 1 -name 'tmp.*' | wc -l | tr -d ' '
}

# Empty maildrop (and the other queues).
clear_queue()
{
	local q
	for q in maildrop incoming active deferred hold corrupt; do
		[ -d "$QUEUE_DIR/$q" ] && find "$QUEUE_DIR/$q" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
	done
	return 0
}

# Path of the newest queue file in maildrop (empty when none).
newest_qf()
{
	local id
	id=$(maildrop_ids | tail -n 1)
	[ -n "$id" ] && echo "$MAILDROP/$id"
}

# assert_nothing_left DESC: maildrop holds no file at all (no tmp.*).
assert_nothing_left()
{
	local n
	n=$(count_all)
	if [ "$n" = 0 ]; then
		pass "$1"
	else
		fail "$1" "maildrop holds $n entries:" "$(ls -la "$MAILDROP" 2>&1)"
	fi
}

assert_no_tmp()
{
	local n
	n=$(count_tmp)
	if [ "$n" = 0 ]; then
		pass "$1"
	else
		fail "$1" "maildrop holds $n tmp.* files:" "$(ls -la "$MAILDROP" 2>&1)"
	fi
}

# assert_queued N DESC
assert_queued()
{
	is "$(count_queued)" "$1" "$2"
}

# qf_parse FILE: split a maildrop file.  Sets QF, QF_ENVELOPE (the
# records before "data:"), QF_DLEN (N of "data: N"), QF_DATA (a file
# holding the N message bytes), QF_TRAILER (a file with the rest) and
# QF_HEADERS / QF_BODY (files: the header section without the empty
# line, and the body after it).  Returns 1 when there is no data line.
qf_parse()
{
	local k off blank
	QF=$1
	QF_ENVELOPE=
	QF_DLEN=
	QF_DATA=$SANDBOX/qf.data
	QF_TRAILER=$SANDBOX/qf.trailer
	QF_HEADERS=$SANDBOX/qf.headers
	QF_BODY=$SANDBOX/qf.body
	: >"$QF_DATA"; : >"$QF_TRAILER"; : >"$QF_HEADERS"; : >"$QF_BODY"
	[ -n "$QF" ] && [ -f "$QF" ] || return 1
	k=$(grep -a -n -m 1 -E '^data: [0-9]+$' "$QF" | cut -d: -f1)
	[ -n "$k" ] || return 1
	QF_ENVELOPE=$(head -n $((k - 1)) "$QF")
	QF_DLEN=$(head -n "$k" "$QF" | tail -n 1 | sed 's/^data: //')
	off=$(head -n "$k" "$QF" | wc -c)
	tail -c +$((off + 1)) "$QF" | head -c "$QF_DLEN" >"$QF_DATA"
	tail -c +$((off + QF_DLEN + 1)) "$QF" >"$QF_TRAILER"
	blank=$(grep -a -n -m 1 '^$' "$QF_DATA" | cut -d: -f1)
	if [ -n "$blank" ]; then
		head -n $((blank - 1)) "$QF_DATA" >"$QF_HEADERS"
		tail -n +$((blank + 1)) "$QF_DATA" >"$QF_BODY"
	else
		cp "$QF_DATA" "$QF_HEADERS"
	fi
	return 0
}

# qf_parse_newest: qf_parse the newest maildrop file.
qf_parse_newest()
{
	qf_parse "$(newest_qf)"
}

# qf_env KEY: the values of the envelope records called KEY.
qf_env()
{
	printf '%s\n' "$QF_ENVELOPE" | sed -n "s/^$1: //p"
}

# qf_rcpts: the recipient addresses (as encoded), one a line.
qf_rcpts()
{
	printf '%s\n' "$QF_ENVELOPE" | sed -n 's/^rcpt: \([^ ]*\).*/\1/p'
}

# qf_header NAME: the header fields called NAME (first lines only).
qf_header()
{
	grep -a -i "^$1:" "$QF_HEADERS"
}

# Number of header fields called NAME.
qf_header_count()
{
	grep -a -c -i "^$1:" "$QF_HEADERS"
}

# Bytes of a file.
file_size()
{
	wc -c <"$1" | tr -d ' '
}

# The trailer is exactly "end\n".
qf_trailer_ok()
{
	[ "$(od -An -c "$QF_TRAILER" | tr -d ' \n')" = 'end\n' ]
}

# ---------------------------------------------------------------- trigger

# trigger_listen COUNT [SECONDS]: bind the trigger socket and collect up
# to COUNT datagrams for at most SECONDS (default 10).  Returns 1 when the
# listener did not come up.  trigger_wait prints what it got.
trigger_listen()
{
	local count=$1 secs=${2:-10}
	_sb_trig_out=$SANDBOX/trigger.out
	_sb_trig_ready=$SANDBOX/trigger.ready
	rm -f "$_sb_trig_out" "$_sb_trig_ready"
	mkdir -p "$QUEUE_DIR/public"
	"$PYTHON" - "$QUEUE_DIR/public/trigger" "$_sb_trig_out" "$_sb_trig_ready" \
		"$count" "$secs" <<'EOF' &
import os, socket, sys, time
path, out, ready = sys.argv[1], sys.argv[2], sys.argv[3]
count, limit = int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s.bind(path)
open(ready, "w").close()
deadline = time.monotonic() + limit
got = b""
try:
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            got += s.recv(64)
        except socket.timeout:
            break
finally:
    s.close()
    os.unlink(path)
    with open(out, "wb") as f:
        f.write(got)
EOF
	_sb_trig_pid=$!
	_sb_pids+=("$_sb_trig_pid")
	for _ in $(seq 1 200); do
		[ -e "$_sb_trig_ready" ] && return 0
		kill -0 "$_sb_trig_pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

trigger_wait()
{
	wait "$_sb_trig_pid" 2>/dev/null
	cat "$_sb_trig_out" 2>/dev/null
}

# ---------------------------------------------------------------- ports

# port465_lock / port465_unlock: 127.0.0.1:465 is one port for every
# test, and make -j runs tests at once: the tests that need it take it
# in turn (waiting at most 120 s) instead of skipping their check.
port465_lock()
{
	mkdir -p "$top_builddir/test/sandbox" &&
		exec {_sb_p465_fd}>"$top_builddir/test/sandbox/.port465.lock" &&
		flock -w 120 "$_sb_p465_fd"
}

port465_unlock()
{
	[ -n "${_sb_p465_fd:-}" ] && exec {_sb_p465_fd}>&-
	_sb_p465_fd=
	return 0
}

# ---------------------------------------------------------------- namespaces

# A private mount namespace: as root plain "unshare -m", otherwise a
# user namespace too ("unshare -rm").  mount_ns_works tells whether
# tmpfs and read-only bind mounts can be made there.
if [ "$(id -u)" = 0 ]; then
	_SB_UNSHARE=(unshare -m --propagation private)
else
	_SB_UNSHARE=(unshare -r -m --propagation private)
fi

mount_ns_works()
{
	local rc
	command -v unshare >/dev/null 2>&1 || return 1
	mkdir -p "$SANDBOX/mnt-probe"
	timeout 20 "${_SB_UNSHARE[@]}" sh -c 'mount -t tmpfs -o size=64k tmpfs "$1" &&
		mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"' \
		_ "$SANDBOX/mnt-probe" >/dev/null 2>&1
	rc=$?
	rmdir "$SANDBOX/mnt-probe" 2>/dev/null
	return $rc
}

# ns_run SETUP CMD...: in a private mount namespace, run the shell
# commands SETUP (exit 200 when they fail), then CMD, with run's
# capture (RC, OUT, ERR).  The caller's stdin goes to CMD.
ns_run()
{
	local setup=$1
	shift
	run "${_SB_UNSHARE[@]}" bash -c 'eval "$1" || exit 200; shift; exec "$@"' \
		_ "$setup" "$@"
}
