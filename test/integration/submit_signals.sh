#!/bin/bash
# A submission killed before it is acknowledged leaves nothing behind:
# SIGTERM/SIGINT/SIGHUP while the file is being made durable (held there
# by strace's fault injection, which delays fsync) exits 75 and removes
# the file, whether it still had its temporary name or already its final
# one.
set -u
# shellcheck source=../lib/sandbox.sh
. "${top_srcdir:?}/test/lib/sandbox.sh"
sandbox_init

if ! command -v strace >/dev/null ||
    ! strace -o /dev/null -e trace=fsync -e inject=fsync:delay_enter=1 \
    true 2>/dev/null; then
	echo "1..0 # SKIP strace with fault injection (and ptrace) needed"
	exit 0
fi
printf 'Subject: interrupted\n\nbody\n' >"$SANDBOX/msg"
# Make the queue exist first.
"$SENDMAIL" setup@example.com <"$SANDBOX/msg"
clear_queue

# kill_during SIGNAL WHICH-FSYNC: 1 = the file's, 2 = the directory's.
kill_during() {
	local sig=$1 when=$2 pid i rc
	strace -f -o /dev/null -e trace=fsync \
	    -e inject=fsync:delay_enter=5000000:when="$when" \
	    "$SENDMAIL" -i victim@example.com <"$SANDBOX/msg" &
	local tracer=$!
	pid=
	for i in $(seq 50); do # up to 5 s for the file to appear
		pid=$(pgrep -P "$tracer" 2>/dev/null | head -n 1)
		[ -n "$pid" ] && [ "$(count_all)" -gt 0 ] && break
		sleep 0.1
	done
	is "$(count_all)" 1 "SIG$sig during fsync $when: the file exists when the signal comes"
	kill -s "$sig" "$pid" 2>/dev/null
	wait "$tracer"
	rc=$?
	is "$rc" 75 "SIG$sig during fsync $when: exit 75 (try again)"
	is "$(count_all)" 0 "SIG$sig during fsync $when: nothing left in maildrop"
}

for sig in TERM INT HUP; do
	kill_during "$sig" 1
done
kill_during TERM 2
done_testing
