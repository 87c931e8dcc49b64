# shellcheck shell=bash
# shellcheck disable=SC2034,SC2119,SC2120,SC2153,SC2154  # globals, optional arguments
#
# ternd.sh: shared code for the ternd_*.sh integration tests (sourced,
# bash, after sandbox.sh).
#
#  - ternd_sandbox_init: sandbox_init, then everything a daemon test
#    needs: the staged ternd, python3-aiosmtpd, and an unprivileged user
#    to run ternd and sendmail as (as root: nobody through setpriv, with
#    the sandbox given to nobody; otherwise the current user).
#  - ternd_config LINE...: the sandbox's tern.conf for the daemon (a
#    loopback dns_servers, short retries, log = stderr) plus LINE...
#  - ternd_start / ternd_stop / ternd_kill9 / ternd_reset: one daemon
#    in the foreground, its stderr appended to $TLOG; log_* read it.
#  - peer_start NAME ARGS...: a test/lib/smtp_peer.py (ternd_peer.py for
#    --slow-dot) on a free loopback port; PEER_PORT[NAME], PEER_MD[NAME]
#    (its messages), PEER_TR[NAME] (its transcript).  peer_* and msg_*
#    read what each peer received; msg_dsn parses delivery reports.
#  - wait_for COND SECONDS: poll COND (shell code) every 0.1 s.
#  - tsm TEXT ARGS...: sendmail as the daemon's user, reading TEXT;
#    tsm_par N TEXT ARGS...: N of them at once.
#  - make_certs: a CA and a server certificate (SAN IP:127.0.0.1 and
#    DNS:relay.test) in $SANDBOX/certs.
#
# Only loopback addresses are used, ports are picked by the kernel,
# every wait is bounded and every process started here is killed by the
# EXIT trap of sandbox.sh (the peers also stop by themselves).

TERND=${TERN_WRAPDIR:+$TERN_WRAPDIR/ternd}
: "${TERND:=$TERN_DESTDIR$TERN_SBINDIR/ternd}"
SMTP_PEER=$top_srcdir/test/lib/smtp_peer.py
# smtp_peer.py plus --slow-dot SECONDS (used when that option is given).
TERND_PEER=$top_srcdir/test/lib/ternd_peer.py

# Longest a peer lives (seconds): the tests finish well before.
PEER_LIFETIME=${PEER_LIFETIME:-150}

# skip_all REASON: the whole script is skipped.
skip_all()
{
	echo "1..0 # SKIP $1"
	_tap_done=1
	exit 0
}

# ---------------------------------------------------------------- setup

# ternd_sandbox_init [NAME]
ternd_sandbox_init()
{
	sandbox_init "$@"
	[ -x "$TERND" ] || bail_out "no staged ternd at $TERND (run make check)"
	"$PYTHON" -c 'import aiosmtpd' 2>/dev/null ||
		bail_out "python3-aiosmtpd is missing: apt-get install python3-aiosmtpd"
	TLOG=$SANDBOX/ternd.log
	: >"$TLOG"
	TERND_PID=
	TERND_RC=
	declare -gA PEER_PORT=() PEER_MD=() PEER_TR=() PEER_PID=()
	if [ "$(id -u)" = 0 ]; then
		command -v setpriv >/dev/null 2>&1 ||
			skip_all "running as root without setpriv (util-linux)"
		TUSER=nobody
		TUID=$(id -u nobody 2>/dev/null) || skip_all "no user nobody"
		TGID=$(id -g nobody)
		AS_USER=(setpriv --reuid="$TUID" --regid="$TGID" --clear-groups)
		chown -R "$TUID:$TGID" "$SANDBOX"
		"${AS_USER[@]}" test -w "$SANDBOX" -a -r "$CONF" 2>/dev/null ||
			skip_all "nobody cannot reach $SANDBOX"
	else
		TUSER=$(id -un 2>/dev/null || echo "uid$(id -u)")
		TUID=$(id -u)
		TGID=$(id -g)
		AS_USER=()
	fi
	ternd_config
}

# give FILE...: make files the daemon's user's (no-op when not root).
give()
{
	[ "$(id -u)" = 0 ] && chown "$TUID:$TGID" "$@"
	return 0
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on (bound by
# the kernel's choice, then released).
free_port()
{
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# A closed port to use as the DNS server: nothing answers there, and
# with relays given as IP literals no query is ever made.
DNS_PORT=

# ternd_config LINE...: tern.conf for the daemon; LINE... are added
# after the global keys (so [relay] sections go there too).  RETRY_MIN
# and RETRY_MAX (1s, 2s) set the backoff.
ternd_config()
{
	[ -n "$DNS_PORT" ] || DNS_PORT=$(free_port)
	write_config "dns_servers = 127.0.0.1:$DNS_PORT" \
		"retry_min = ${RETRY_MIN:-1s}" "retry_max = ${RETRY_MAX:-2s}" "$@"
	give "$CONF"
}

# relay NAME PORT [LINE...]: the lines of a plain [relay NAME] section
# for 127.0.0.1:PORT (print them, for ternd_config).
relay()
{
	local name=$1 port=$2
	shift 2
	printf '%s\n' "[relay $name]" "host = 127.0.0.1" "port = $port" "$@"
}

# ---------------------------------------------------------------- waiting

# wait_for COND SECONDS: true as soon as the shell code COND succeeds,
# false when it still fails after SECONDS (polled every 0.1 s).
wait_for()
{
	local _wf_cond=$1 _wf_i _wf_n
	_wf_n=$(awk -v s="${2:-10}" 'BEGIN { printf "%d", s * 10 }')
	for ((_wf_i = 0; _wf_i <= _wf_n; _wf_i++)); do
		eval "$_wf_cond" && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- daemon

# ternd_start [ARGS...]: start ternd -c $CONF -f as the daemon's user and
# wait until it says it started.  Returns 1 (with a diag) when it did
# not.
ternd_start()
{
	local before
	before=$(grep -c 'ternd started' "$TLOG")
	echo "### ternd_start $(date +%T.%N)" >>"$TLOG"
	"${AS_USER[@]}" "$TERND" -c "$CONF" -f "$@" </dev/null 2>>"$TLOG" &
	TERND_PID=$!
	_sb_pids+=("$TERND_PID")
	if wait_for "[ \$(grep -c 'ternd started' \"\$TLOG\") -gt $before ]" 10; then
		return 0
	fi
	diag "ternd did not start:" "$(tail -n 15 "$TLOG")"
	return 1
}

# ternd_alive: the daemon started last is still running.
ternd_alive()
{
	[ -n "$TERND_PID" ] && kill -0 "$TERND_PID" 2>/dev/null
}

# ternd_stop [SECONDS]: SIGTERM and wait (bounded, then SIGKILL).  Sets
# TERND_RC (its exit code) and TERND_STOP_SECS (tenths of seconds it
# took).
ternd_stop()
{
	local secs=${1:-10} i n
	TERND_RC=
	TERND_STOP_SECS=
	[ -n "$TERND_PID" ] || return 0
	kill -TERM "$TERND_PID" 2>/dev/null
	n=$((secs * 10))
	for ((i = 0; i <= n; i++)); do
		kill -0 "$TERND_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$TERND_PID" 2>/dev/null; then
		kill -KILL "$TERND_PID" 2>/dev/null
		diag "ternd did not stop within $secs s: killed"
	fi
	wait "$TERND_PID" 2>/dev/null
	TERND_RC=$?
	TERND_STOP_SECS=$i
	TERND_PID=
	return 0
}

# ternd_kill9: SIGKILL, no questions asked.
ternd_kill9()
{
	[ -n "$TERND_PID" ] || return 0
	kill -KILL "$TERND_PID" 2>/dev/null
	wait "$TERND_PID" 2>/dev/null
	TERND_PID=
}

# ternd_reset LINE...: stop the daemon, write a new config, forget relay
# state (cool-downs, quotas) and every queued message, start again.
ternd_reset()
{
	ternd_stop
	ternd_config "$@"
	rm -f "$QUEUE_DIR/state/relays"
	queue_empty_all
	ternd_start
}

# ---------------------------------------------------------------- queue

# Remove every queued message (all queues and data).
queue_empty_all()
{
	local q
	for q in maildrop incoming active deferred hold corrupt data; do
		[ -d "$QUEUE_DIR/$q" ] &&
			find "$QUEUE_DIR/$q" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
	done
	return 0
}

# queue_count Q: entries in queue directory Q.
queue_count()
{
	[ -d "$QUEUE_DIR/$1" ] || { echo 0; return; }
	find "$QUEUE_DIR/$1" -mindepth 1 -maxdepth 1 | wc -l | tr -d ' '
}

# queue_is_empty: nothing in maildrop, incoming, active, deferred, hold
# or data.
queue_is_empty()
{
	local q
	for q in maildrop incoming active deferred hold data; do
		[ "$(queue_count "$q")" = 0 ] || return 1
	done
	return 0
}

queue_listing()
{
	(cd "$QUEUE_DIR" && ls -la maildrop incoming active deferred hold data corrupt 2>&1)
}

# ---------------------------------------------------------------- sendmail

# tsm TEXT ARGS...: sendmail as the daemon's user (RC, OUT, ERR as run).
tsm()
{
	printf '%s' "$1" >"$SANDBOX/stdin"
	shift
	run "${AS_USER[@]}" "$SENDMAIL" "$@" <"$SANDBOX/stdin"
}

# tsm_ok DESC TEXT ARGS...: tsm and a test point on exit 0 (silent on
# success when DESC is empty; a failure is always reported).
tsm_ok()
{
	local desc=$1
	shift
	tsm "$@"
	if [ "$RC" = 0 ]; then
		[ -n "$desc" ] && pass "$desc"
	else
		fail "${desc:-sendmail $*}" "sendmail exit $RC: $ERR"
	fi
	return 0
}

# tsm_par N TEXT ARGS...: N sendmails at once, as the daemon's user;
# "%N" in TEXT and ARGS becomes 1..N.  Sets PAR_FAILED (how many did
# not exit 0; their output is diagnosed).
tsm_par()
{
	local n=$1 text=$2 i a pids=() args
	shift 2
	for ((i = 1; i <= n; i++)); do
		printf '%s' "${text//%N/$i}" >"$SANDBOX/par.$i.in"
		args=()
		for a in "$@"; do args+=("${a//%N/$i}"); done
		timeout -k 5 "$RUN_TIMEOUT" "${AS_USER[@]}" "$SENDMAIL" "${args[@]}" \
			<"$SANDBOX/par.$i.in" >"$SANDBOX/par.$i.out" 2>&1 &
		pids+=("$!")
	done
	PAR_FAILED=0
	for ((i = 1; i <= n; i++)); do
		if ! wait "${pids[$((i - 1))]}"; then
			PAR_FAILED=$((PAR_FAILED + 1))
			diag "sendmail $i of $n failed: $(cat "$SANDBOX/par.$i.out")"
		fi
	done
	return 0
}

# tern_as ARGS...: the admin tool as the daemon's user.
tern_as()
{
	run "${AS_USER[@]}" "$TERN" "$@" </dev/null
}

# ---------------------------------------------------------------- log

# log_mark: remember how long the log is; log_new prints what came after.
log_mark() { LOG_MARK=$(wc -l <"$TLOG" | tr -d ' '); }
log_new() { tail -n +$((${LOG_MARK:-0} + 1)) "$TLOG"; }

# log_has ERE [new]: the log (or what came after log_mark) has a line
# matching ERE.
log_has()
{
	if [ "${2:-}" = new ]; then
		log_new | grep -E -q -- "$1"
	else
		grep -E -q -- "$1" "$TLOG"
	fi
}

# log_count ERE [new]
log_count()
{
	if [ "${2:-}" = new ]; then
		log_new | grep -E -c -- "$1"
	else
		grep -E -c -- "$1" "$TLOG"
	fi
}

# log_lines ERE [new]: the matching lines without the syslog-style
# prefix ("Mon DD HH:MM:SS host tern/ternd[PID]: ").
log_lines()
{
	if [ "${2:-}" = new ]; then log_new; else cat "$TLOG"; fi |
		grep -E -- "$1" | sed -E 's/^.* tern\/ternd\[[0-9]+\]: //'
}

# log_tail [N]: the last N lines, for a diag.
log_tail() { tail -n "${1:-20}" "$TLOG"; }

# Queue IDs picked up (the "ID: uid=N from=<S>" lines) for sender S,
# oldest first.
log_ids_from()
{
	log_lines "^.*: [0-9A-F]{19}: uid=[0-9]+ from=<$1>" "${2:-}" |
		sed -E 's/^([0-9A-F]{19}):.*/\1/'
}

# ---------------------------------------------------------------- peers

# peer_start NAME ARGS...: a new peer (stopping an older one of the same
# name); --port P among ARGS fixes its port, else the kernel picks one;
# with --slow-dot SECONDS it is test/lib/ternd_peer.py.
peer_start()
{
	local name=$1 dir port=0 a prog=$SMTP_PEER
	shift
	peer_stop "$name"
	dir=$SANDBOX/peer.$name
	rm -rf "$dir"
	mkdir -p "$dir/mail"
	: >"$dir/transcript"
	for a in "$@"; do
		[ "$a" = --port ] && port=
		[ "$a" = --slow-dot ] && prog=$TERND_PEER
	done
	"$PYTHON" "$prog" ${port:+--port "$port"} --ready-file "$dir/ready" \
		--maildir "$dir/mail" --transcript "$dir/transcript" \
		--lifetime "$PEER_LIFETIME" "$@" 2>"$dir/log" &
	PEER_PID[$name]=$!
	_sb_pids+=("$!")
	PEER_MD[$name]=$dir/mail
	PEER_TR[$name]=$dir/transcript
	if wait_for "[ -s '$dir/ready' ] || ! kill -0 ${PEER_PID[$name]} 2>/dev/null" 10 &&
		[ -s "$dir/ready" ]; then
		PEER_PORT[$name]=$(cat "$dir/ready")
		return 0
	fi
	bail_out "smtp_peer.py $name did not start: $(tail -n 5 "$dir/log")"
}

peer_stop()
{
	local pid=${PEER_PID[$1]:-}
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		PEER_PID[$1]=
	fi
	return 0
}

# peer_msgs NAME: the files of the messages the peer received, in order.
peer_msgs()
{
	find "${PEER_MD[$1]}" -maxdepth 1 -name '*.msg' 2>/dev/null | sort
}

# peer_count NAME
peer_count()
{
	peer_msgs "$1" | wc -l | tr -d ' '
}

# peer_sessions NAME: SMTP sessions the peer saw (EHLO or HELO lines of
# its transcript; a plaintext peer gets one per session).
peer_sessions()
{
	grep -c -E '^(EHLO|HELO) ' "${PEER_TR[$1]}"
}

# peer_find NAME ERE: the first message file whose content matches ERE
# (grep -E, CRs ignored), or nothing.
peer_find()
{
	local f
	for f in $(peer_msgs "$1"); do
		if tr -d '\r' <"$f" | grep -E -q -- "$2"; then
			echo "$f"
			return 0
		fi
	done
	return 1
}

# peer_find_all NAME ERE: every message file matching ERE.
peer_find_all()
{
	local f
	for f in $(peer_msgs "$1"); do
		tr -d '\r' <"$f" | grep -E -q -- "$2" && echo "$f"
	done
	return 0
}

# msg_env FILE: the envelope part ("MAIL ..." and "RCPT ..." lines).
msg_env() { sed -n '/^$/q;p' "$1"; }

# msg_data FILE: the message as received, CRs removed.
msg_data() { sed '1,/^$/d' "$1" | tr -d '\r'; }

# msg_head FILE / msg_body FILE: header section / body of msg_data.
msg_head() { msg_data "$1" | sed -n '/^$/q;p'; }
msg_body() { msg_data "$1" | sed '1,/^$/d'; }

# msg_header FILE NAME: the header fields called NAME, unfolded.
msg_header()
{
	msg_head "$1" | awk -v want="$(echo "$2" | tr '[:upper:]' '[:lower:]')" '
		/^[ \t]/ { if (keep) cur = cur " " substr($0, 2); next }
		{ if (keep) print cur; keep = 0
		  n = index($0, ":"); name = tolower(substr($0, 1, n - 1))
		  if (n > 0 && name == want) { keep = 1; cur = $0 } }
		END { if (keep) print cur }'
}

# msg_addr FILE FIELD: the first address of header FIELD, decoded
# (RFC 2047) by Python's email package, as "display name|addr-spec".
msg_addr()
{
	msg_data "$1" | "$PYTHON" -c '
import sys, email, email.policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
h = m[sys.argv[1]]
if h is not None and h.addresses:
    a = h.addresses[0]
    sys.stdout.write("%s|%s" % (a.display_name, a.addr_spec))
' "$2"
}

# msg_dsn FILE: a delivery report (RFC 3464) as Python's email package
# parses it, one "key=value" a line: type, report-type, parts (the
# content types of the top-level parts), reporting-mta, and a line
# "rcpt=FINAL-RECIPIENT|ACTION|STATUS" per recipient.
msg_dsn()
{
	msg_data "$1" | "$PYTHON" -c '
import sys, email, email.policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.compat32)
print("type=%s" % m.get_content_type())
print("report-type=%s" % m.get_param("report-type"))
parts = m.get_payload() if m.is_multipart() else []
print("parts=%s" % ",".join(p.get_content_type() for p in parts))
for p in parts:
    if p.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
        continue
    blocks = p.get_payload()
    if blocks:
        print("reporting-mta=%s" % blocks[0].get("Reporting-MTA"))
    for b in blocks[1:]:
        print("rcpt=%s|%s|%s" % (b.get("Final-Recipient"), b.get("Action"), b.get("Status")))
'
}

# ---------------------------------------------------------------- TLS

. "$top_srcdir/test/lib/certs.sh"

# make_certs: $SANDBOX/certs/{ca.pem,server.pem,server.key}.  Sets CA,
# CERT, KEY.
make_certs()
{
	local d=$SANDBOX/certs
	mkdir -p "$d"
	CA=$d/ca.pem
	CERT=$d/server.pem
	KEY=$d/server.key
	command -v openssl >/dev/null || bail_out "openssl is missing"
	certs_make "$d" ||
		bail_out "openssl could not make the test certificates: $(tail -n 3 "$d/log")"
	chmod 0644 "$CA" "$CERT"
	chmod 0755 "$d"
}
