# shellcheck shell=bash
# shellcheck disable=SC2034  # globals for the tests
#
# dnsmasq.sh: a DNS server of the test's own on loopback (sourced, bash,
# after sandbox.sh and ternd.sh).  Debian's dnsmasq (dnsmasq-base) serves
# only the records the test gives it: no upstream servers, no /etc/hosts,
# no resolv.conf, nothing forwarded unless a --server= option says so.
#
#  - dnsmasq_start OPTION...: start dnsmasq on a free port of 127.0.0.1
#    with the given record options (--mx-host=, --host-record=,
#    --txt-record=, --address=, --server=/NAME/IP#PORT ...); sets
#    DNS_PORT (which ternd_config then writes as dns_servers) and
#    DNSMASQ_LOG.  Names under .test are answered authoritatively
#    (NXDOMAIN for the unknown ones).  Returns 1 when it could not start.
#    With DNSMASQ_FIXED_PORT set it listens on that port (no retries on
#    others): to restart it with other records where ternd already looks.
#  - dnsmasq_stop: stop it (the EXIT trap also does).
#  - dnsmasq_refuser: start a second dnsmasq without any records or
#    upstream, which answers REFUSED at once to every query; its
#    address goes to REFUSER_ADDR ("127.0.0.1#PORT"), for
#    --server=/broken.test/$REFUSER_ADDR in dnsmasq_start:
#    names under broken.test then fail temporarily (the resolver sees
#    SERVFAIL or REFUSED).  A --server= pointing at a closed port makes
#    them time out instead (6 s with ternd's resolver).
#
# Readiness is checked with test/unit/dns_probe (built by make check)
# asking for the name dnsmasq.ready.test, which dnsmasq_start adds.

DNSMASQ=${DNSMASQ:-/usr/sbin/dnsmasq}
DNS_PROBE=$top_builddir/test/unit/dns_probe
DNSMASQ_PID=

# dnsmasq_require: skip the whole test when dnsmasq or the probe is missing.
dnsmasq_require()
{
	[ -x "$DNSMASQ" ] || skip_all "dnsmasq not installed (apt-get install dnsmasq-base)"
	[ -x "$DNS_PROBE" ] || bail_out "no $DNS_PROBE (run make check)"
}

dnsmasq_start()
{
	local try port pid
	dnsmasq_require
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=${DNSMASQ_FIXED_PORT:-$(free_port)}
		DNSMASQ_LOG=$SANDBOX/dnsmasq.$try.log
		"$DNSMASQ" --no-daemon --no-resolv --no-hosts --no-poll \
			--conf-file=/dev/null --pid-file= \
			--listen-address=127.0.0.1 --bind-interfaces \
			--port="$port" --log-queries --local=/test/ \
			--local-ttl=1 --max-cache-ttl=0 \
			--host-record=dnsmasq.ready.test,127.0.0.254 \
			"$@" >"$DNSMASQ_LOG" 2>&1 &
		pid=$!
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			if timeout 10 "$DNS_PROBE" --servers "127.0.0.1:$port" \
				dnsmasq.ready.test >/dev/null 2>&1; then
				_sb_pids+=("$pid")
				DNSMASQ_PID=$pid
				DNS_PORT=$port
				return 0
			fi
			sleep 0.1
		done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		[ -n "${DNSMASQ_FIXED_PORT:-}" ] && break
	done
	diag "dnsmasq did not start; its log:"
	diag "$(cat "$DNSMASQ_LOG" 2>/dev/null)"
	return 1
}

dnsmasq_stop()
{
	[ -n "$DNSMASQ_PID" ] || return 0
	kill "$DNSMASQ_PID" 2>/dev/null
	wait "$DNSMASQ_PID" 2>/dev/null
	DNSMASQ_PID=
}

# dnsmasq_refuser: see above (sets REFUSER_ADDR, prints nothing).
dnsmasq_refuser()
{
	local port pid
	port=$(free_port)
	"$DNSMASQ" --no-daemon --no-resolv --no-hosts --no-poll \
		--conf-file=/dev/null --pid-file= --listen-address=127.0.0.1 \
		--bind-interfaces --port="$port" >"$SANDBOX/dnsmasq.refuser.log" 2>&1 &
	pid=$!
	_sb_pids+=("$pid")
	REFUSER_ADDR="127.0.0.1#$port"
}
