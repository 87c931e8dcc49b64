#!/bin/bash
# ternd_sdnotify: ternd as a service.
#
#  - sd_notify: with NOTIFY_SOCKET pointing at a Unix datagram socket the
#    test binds (a path, then an abstract "@name"), ternd sends READY=1
#    once its listener accepts and the queue is loaded, RELOADING=1 (with
#    MONOTONIC_USEC) then READY=1 on SIGHUP, READY=1 with a status that
#    says so when the new config is refused, and STOPPING=1 on SIGTERM;
#    a bad NOTIFY_SOCKET costs a warning, not the daemon;
#  - the log file: SIGHUP reopens it, so a file renamed by logrotate is
#    left alone and a new one is written; when the new one cannot be
#    made, ternd warns and goes on writing to the old one.
# shellcheck disable=SC2016  # conditions are code for wait_for
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"

ternd_sandbox_init

# notify_listen ADDR: bind a datagram socket at ADDR ("/path" or
# "@name", readable by the daemon's user) and write each datagram it
# gets to $NOTES as one line, newlines made '|'.  Stops after 120 s.
NOTES=$SANDBOX/notes
notify_listen()
{
	rm -f "$NOTES" "$SANDBOX/notify.ready"
	: >"$NOTES"
	"$PYTHON" - "$1" "$NOTES" "$SANDBOX/notify.ready" <<'EOF' &
import os, socket, sys, time
addr, out, ready = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if addr.startswith("@"):
    s.bind("\0" + addr[1:])
else:
    s.bind(addr)
    os.chmod(addr, 0o666)
open(ready, "w").close()
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    s.settimeout(deadline - time.monotonic())
    try:
        d = s.recv(4096)
    except socket.timeout:
        break
    with open(out, "a") as f:
        f.write(d.decode("utf-8", "replace").replace("\n", "|") + "\n")
EOF
	NOTIFY_PID=$!
	_sb_pids+=("$NOTIFY_PID")
	wait_for "[ -e '$SANDBOX/notify.ready' ]" 10
}

notify_stop()
{
	kill "$NOTIFY_PID" 2>/dev/null
	wait "$NOTIFY_PID" 2>/dev/null
}

notes_count() { grep -c -E -- "$1" "$NOTES"; }
# The datagrams after the first N.
notes_after() { tail -n +$(($1 + 1)) "$NOTES"; }

port_accepts()
{
	"$PYTHON" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.close()' "$1" 2>/dev/null
}

# ---------------------------------------------------------------- path socket
LPORT=$(free_port)
ternd_config "[listen lan]" "address = 127.0.0.1:$LPORT"
notify_listen "$SANDBOX/notify.sock" || bail_out "notify listener did not start"
export NOTIFY_SOCKET=$SANDBOX/notify.sock
ok "ternd starts with NOTIFY_SOCKET set" ternd_start
unset NOTIFY_SOCKET
if wait_for '[ "$(notes_count "^READY=1")" -ge 1 ]' 10; then
	pass "READY=1 after the start"
else
	fail "READY=1 after the start" "got: $(cat "$NOTES")"
fi
ok "at READY=1 the listener accepts" port_accepts "$LPORT"
is "$(head -n 1 "$NOTES")" "READY=1|STATUS=delivering" \
	"READY=1 is the first datagram, with a status"

n=$(wc -l <"$NOTES")
kill -HUP "$TERND_PID"
wait_for '[ "$(notes_after '"$n"' | grep -c "^READY=1")" -ge 1 ]' 10
got=$(notes_after "$n")
like "$(echo "$got" | sed -n 1p)" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|STATUS=reloading$' \
	"SIGHUP: RELOADING=1 with MONOTONIC_USEC first"
is "$(echo "$got" | sed -n 2p)" "READY=1|STATUS=reloaded; delivering" \
	"SIGHUP: READY=1 once reloaded"
usec=$(echo "$got" | sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p' | head -n 1)
now=$("$PYTHON" -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)')
if [ -n "$usec" ] && [ "$usec" -gt 0 ] && [ "$usec" -le "$now" ]; then
	pass "MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds"
else
	fail "MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds" "got '$usec', now $now"
fi

# A broken config: refused, yet systemd must hear READY=1 again.
cp "$CONF" "$SANDBOX/good.conf"
echo "no_such_key = 1" >>"$CONF"
n=$(wc -l <"$NOTES")
kill -HUP "$TERND_PID"
wait_for '[ "$(notes_after '"$n"' | grep -c "^READY=1")" -ge 1 ]' 10
got=$(notes_after "$n")
like "$(echo "$got" | sed -n 1p)" '^RELOADING=1\|' "bad config: RELOADING=1"
is "$(echo "$got" | sed -n 2p)" \
	"READY=1|STATUS=reload refused (see the log); running the previous config" \
	"bad config: READY=1 with a status saying it was refused"
ok "bad config: ternd still runs" ternd_alive
cp "$SANDBOX/good.conf" "$CONF"

n=$(wc -l <"$NOTES")
ternd_stop
is "$TERND_RC" 0 "SIGTERM: ternd exits 0"
is "$(notes_after "$n" | head -n 1)" "STOPPING=1|STATUS=stopping" \
	"SIGTERM: STOPPING=1"
is "$(notes_count '^READY=1')" 3 "READY=1 three times in all (start, two reloads)"
notify_stop

# ---------------------------------------------------------------- abstract
name="@tern-test-$$-$RANDOM"
notify_listen "$name" || bail_out "notify listener did not start"
export NOTIFY_SOCKET=$name
ok "ternd starts with an abstract NOTIFY_SOCKET" ternd_start
unset NOTIFY_SOCKET
if wait_for '[ "$(notes_count "^READY=1")" -ge 1 ]' 10; then
	pass "abstract socket: READY=1"
else
	fail "abstract socket: READY=1" "got: $(cat "$NOTES")"
fi
ternd_stop
like "$(tail -n 1 "$NOTES")" '^STOPPING=1' "abstract socket: STOPPING=1"
notify_stop

# ---------------------------------------------------------------- bad socket
log_mark
export NOTIFY_SOCKET=relative/notify
ok "ternd starts with a bad NOTIFY_SOCKET" ternd_start
unset NOTIFY_SOCKET
ok "a bad NOTIFY_SOCKET is a warning that names it" \
	log_has 'warning: cannot notify the service manager: NOTIFY_SOCKET=relative/notify is neither' new
ternd_stop
is "$TERND_RC" 0 "bad NOTIFY_SOCKET: ternd still stops with 0"

# ---------------------------------------------------------------- log file
# Without -f ternd logs to the file of "log" and goes to the background.
LOGDIR=$SANDBOX/log
mkdir -p "$LOGDIR"
give "$LOGDIR"
ternd_config
sed -i "s|^log = stderr$|log = $LOGDIR/tern.log|" "$CONF"
PIDFILE=$QUEUE_DIR/state/ternd.pid
rm -f "$PIDFILE"
run "${AS_USER[@]}" "$TERND" -c "$CONF"
is "$RC" 0 "ternd without -f goes to the background"
wait_for "grep -q 'ternd started' '$LOGDIR/tern.log' 2>/dev/null" 10
DPID=$(cat "$PIDFILE" 2>/dev/null)
like "$DPID" '^[0-9]+$' "the daemon wrote its pid"
_sb_pids+=("$DPID")
ok "the log file has the start" grep -q 'ternd started' "$LOGDIR/tern.log"

# What logrotate does without copytruncate: rename, then SIGHUP.
mv "$LOGDIR/tern.log" "$LOGDIR/tern.log.1"
kill -HUP "$DPID"
if wait_for "grep -q 'reloading' '$LOGDIR/tern.log' 2>/dev/null" 10; then
	pass "SIGHUP: a new log file, written from the reload on"
else
	fail "SIGHUP: a new log file, written from the reload on" \
		"$(ls -la "$LOGDIR")" "$(tail -n 5 "$LOGDIR/tern.log.1")"
fi
nok "the rotated file gets nothing more" grep -q 'reloading' "$LOGDIR/tern.log.1"
if [ "$(id -u)" = 0 ]; then
	is "$(stat -c %U "$LOGDIR/tern.log")" "$TUSER" \
		"the new file belongs to the daemon's user"
else
	is "$(stat -c %a "$LOGDIR/tern.log")" 640 "the new file has mode 0640"
fi

# A directory the daemon may not write: the old file stays in use.
mv "$LOGDIR/tern.log" "$LOGDIR/tern.log.2"
chmod 0555 "$LOGDIR"
kill -HUP "$DPID"
if wait_for "grep -q 'cannot reopen\\|reopen log file' '$LOGDIR/tern.log.2'" 10; then
	pass "no new file possible: a warning in the old one"
else
	fail "no new file possible: a warning in the old one" "$(tail -n 5 "$LOGDIR/tern.log.2")"
fi
like "$(grep 'reopen log file' "$LOGDIR/tern.log.2")" \
	"warning: reopen log file $LOGDIR/tern.log: Permission denied; still writing to the old file" \
	"the warning names the file and the reason"
ok "the reload itself went on" wait_for "grep -q 'reloading' '$LOGDIR/tern.log.2'" 10
chmod 0755 "$LOGDIR"
ok "ternd still runs" kill -0 "$DPID"
kill -TERM "$DPID"
if wait_for "! kill -0 $DPID 2>/dev/null" 10; then
	pass "SIGTERM stops the background daemon"
else
	fail "SIGTERM stops the background daemon"
fi
ok "its stop is in the log file" grep -q 'stopping on signal 15' "$LOGDIR/tern.log.2"

done_testing
