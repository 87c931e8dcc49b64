#!/bin/bash
# dns: the c-ares resolver module (src/dns.c) through test/unit/dns_probe
# (addresses, MX and TXT records),
# against Debian's dnsmasq on 127.0.0.1 and, for the answers dnsmasq
# cannot be made to give (SERVFAIL, silence, MX records in a chosen
# order), a small python3 stub server.  Only loopback; every wait is
# bounded; the servers are stopped on exit.
set -u
DNSMASQ=/usr/sbin/dnsmasq
if [ ! -x "$DNSMASQ" ]; then
	echo "1..0 # SKIP dnsmasq not installed"
	exit 0
fi
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"

PROBE=$top_builddir/test/unit/dns_probe
[ -x "$PROBE" ] || bail_out "no $PROBE (run make check)"
SANDBOX=$top_builddir/test/sandbox/dns
rm -rf -- "$SANDBOX"
mkdir -p "$SANDBOX" || bail_out "cannot create $SANDBOX"
RUN_TIMEOUT=40
TXT_LONG=$(printf 'k%.0s' $(seq 1 600))
TXT_HUGE=$(printf 'z%.0s' $(seq 1 5000))

# ---------------------------------------------------------------- servers

# dnsmasq_start: dnsmasq on a free random port (retrying when the port
# was taken); sets DNS_PORT and DNSMASQ_LOG.  Ready once it answers.
dnsmasq_start()
{
	local try port pid
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 40000))
		DNSMASQ_LOG=$SANDBOX/dnsmasq.$try.log
		"$DNSMASQ" --no-daemon --no-resolv --no-hosts --conf-file=/dev/null \
			--pid-file= --listen-address=127.0.0.1 --bind-interfaces \
			--port="$port" --log-queries --local=/test/ --local-ttl=300 \
			--host-record=relay.test,127.0.0.5,::1,300 \
			--host-record=cache.test,127.0.0.7,300 \
			--host-record=short.test,127.0.0.6,1 \
			--mx-host=example.test,mx2.test,20 \
			--mx-host=example.test,mx1.test,10 \
			--txt-record=txt.test,"v=spf1 ","a mx"," -all" \
			--txt-record=txt.test,second \
			--txt-record=long.test,"$TXT_LONG" \
			--txt-record=huge.test,"$TXT_HUGE" \
			>"$DNSMASQ_LOG" 2>&1 &
		pid=$!
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			if timeout 10 "$PROBE" --servers "127.0.0.1:$port" \
				relay.test >/dev/null 2>&1; then
				_sb_pids+=("$pid")
				DNS_PORT=$port
				return 0
			fi
			sleep 0.1
		done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return 1
}

# The stub: "servfail" answers every query with SERVFAIL, "silent" never
# answers, "mx" answers MX queries from its table (in that order) and
# NXDOMAIN for other names.  Each query is logged as "query NAME TYPE".
cat >"$SANDBOX/stub.py" <<'EOF'
import os, socket, struct, sys, time
mode, portfile, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
MX = {
    "mx.test": (300, [(20, "b.test"), (10, "c.test"), (20, "a.test"),
                      (5, "d.test")]),
    "mxshort.test": (1, [(10, "mx.mxshort.test")]),
    "nullmx.test": (300, [(0, "")]),
}

def wire(name):
    return b"".join(bytes([len(l)]) + l.encode()
                    for l in name.split(".") if l) + b"\0"

def question(q):
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    return ".".join(labels).lower(), qtype, q[12:i + 5]

def reply(q, name, qtype, qsec):
    rcode, answers = 0, []
    if mode == "servfail":
        rcode = 2
    elif name not in MX:
        rcode = 3
    elif qtype == 15:
        ttl, recs = MX[name]
        for pref, host in recs:
            rdata = struct.pack(">H", pref) + wire(host)
            answers.append(b"\xc0\x0c" + struct.pack(">HHIH", 15, 1, ttl,
                                                     len(rdata)) + rdata)
    head = q[:2] + bytes([0x80 | (q[2] & 0x79), 0x80 | rcode])
    head += struct.pack(">HHHH", 1, len(answers), 0, 0)
    return head + qsec + b"".join(answers)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
end = time.monotonic() + limit
while time.monotonic() < end:
    s.settimeout(max(0.01, end - time.monotonic()))
    try:
        q, peer = s.recvfrom(4096)
        name, qtype, qsec = question(q)
    except socket.timeout:
        break
    except (IndexError, struct.error):
        continue
    print("query %s %d" % (name, qtype), flush=True)
    if mode != "silent":
        s.sendto(reply(q, name, qtype, qsec), peer)
EOF

# stub_start MODE: sets STUB_PORT and STUB_LOG (empty port: no python3).
stub_start()
{
	local pid
	STUB_PORT=
	STUB_LOG=$SANDBOX/stub.$1.log
	[ -x "$PYTHON" ] || return 1
	"$PYTHON" "$SANDBOX/stub.py" "$1" "$SANDBOX/stub.$1.port" 300 \
		>"$STUB_LOG" 2>&1 &
	pid=$!
	_sb_pids+=("$pid")
	for _ in $(seq 1 100); do
		if [ -s "$SANDBOX/stub.$1.port" ]; then
			STUB_PORT=$(cat "$SANDBOX/stub.$1.port")
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# Lines of $SANDBOX/stdout, sorted (c-ares orders addresses by RFC 6724,
# which depends on the host's routes).
sorted_out()
{
	sort "$SANDBOX/stdout"
}

# Milliseconds since the epoch.
now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

count_in()
{
	grep -c -- "$1" "$2"
}

dnsmasq_start || bail_out "dnsmasq did not start: $(tail -n 3 "$SANDBOX"/dnsmasq.*.log)"
S=127.0.0.1:$DNS_PORT
stub_start servfail && SERVFAIL=127.0.0.1:$STUB_PORT || SERVFAIL=
stub_start silent && SILENT=127.0.0.1:$STUB_PORT || SILENT=
SILENT_LOG=$STUB_LOG
stub_start mx && MXSTUB=127.0.0.1:$STUB_PORT || MXSTUB=
MX_LOG=$STUB_LOG
NOPY="python3 is not installed"

# ---------------------------------------------------------------- addresses

run "$PROBE" --servers "$S" relay.test 587
is "$RC" 0 "relay.test resolves: exit 0"
is "$(sorted_out)" $'addr 127.0.0.5 587\naddr ::1 587' \
	"relay.test: its A and AAAA records, port 587 in both"
run "$PROBE" --servers "$S" short.test
is "$RC/$OUT" "0/addr 127.0.0.6 25" "an A record alone (no AAAA) is an answer"
run "$PROBE" --servers "$S" RELAY.Test.
is "$RC/$(sorted_out | tr '\n' ' ')" "0/addr 127.0.0.5 25 addr ::1 25 " \
	"upper case and a trailing dot: the same answer"
is "$(count_in 'query\[A\] relay.test' "$DNSMASQ_LOG")" \
	"$(count_in 'query\[AAAA\] relay.test' "$DNSMASQ_LOG")" \
	"A and AAAA are both asked, once each per lookup"

run "$PROBE" --servers "$S" nothere.test
is "$RC" 1 "an unknown name: exit 1"
is "$OUT" "status NXDOMAIN DNS lookup of nothere.test failed: no such domain (NXDOMAIN)" \
	"an unknown name: NXDOMAIN, said in plain words"
run "$PROBE" --servers "$S" example.test
is "$OUT" "status NODATA DNS lookup of example.test failed: no IPv6 or IPv4 address (NODATA)" \
	"a name with MX records only: NODATA for its address"

# ---------------------------------------------------------------- literals

queries=$(count_in 'query\[' "$DNSMASQ_LOG")
run "$PROBE" --servers "$S" 192.0.2.1 587
is "$RC/$OUT" "0/addr 192.0.2.1 587" "an IPv4 literal answers with its port"
run "$PROBE" --servers "$S" 2001:db8::1
is "$RC/$OUT" "0/addr 2001:db8::1 25" "an IPv6 literal answers"
run "$PROBE" --servers "$S" '[2001:DB8::2]' 2525
is "$RC/$OUT" "0/addr 2001:db8::2 2525" "a bracketed IPv6 literal answers"
is "$(count_in 'query\[' "$DNSMASQ_LOG")" "$queries" \
	"IP literals: no query sent"

# ---------------------------------------------------------------- failures

run "$PROBE" --servers "$S" other.example
is "$RC/$OUT" "1/status TEMPFAIL DNS lookup of other.example failed: REFUSED by $S" \
	"REFUSED (dnsmasq has no upstream): TEMPFAIL naming the server"
if [ -n "$SERVFAIL" ]; then
	run "$PROBE" --servers "$SERVFAIL" relay.test
	is "$RC/$OUT" "1/status TEMPFAIL DNS lookup of relay.test failed: SERVFAIL from $SERVFAIL" \
		"SERVFAIL: TEMPFAIL, 'SERVFAIL from' the server"
	run "$PROBE" --servers "$SERVFAIL" --mx example.test
	is "$OUT" "status TEMPFAIL DNS MX lookup of example.test failed: SERVFAIL from $SERVFAIL" \
		"SERVFAIL for an MX lookup"
	run "$PROBE" --servers "$SERVFAIL, $S" short.test
	is "$RC/$OUT" "0/addr 127.0.0.6 25" \
		"two servers: after a SERVFAIL the next server answers"
else
	skip "SERVFAIL" "$NOPY"; skip "SERVFAIL MX" "$NOPY"; skip "failover" "$NOPY"
fi
if [ -n "$SILENT" ]; then
	t0=$(now_ms)
	run "$PROBE" --servers "$SILENT" relay.test
	t1=$(now_ms)
	is "$RC/$OUT" "1/status TEMPFAIL DNS lookup of relay.test failed: no answer from $SILENT (timed out)" \
		"a server that never answers: TEMPFAIL, timed out"
	ok "the timeout is bounded: $((t1 - t0)) ms, less than 15 s" \
		[ $((t1 - t0)) -lt 15000 ]
	ok "... and c-ares did retry (more than 2 queries)" \
		[ "$(wc -l <"$SILENT_LOG")" -gt 2 ]
else
	skip "timeout" "$NOPY"; skip "timeout bounded" "$NOPY"; skip "retried" "$NOPY"
fi
run "$PROBE" --servers 127.0.0.1:1 relay.test
like "$RC/$OUT" "^1/status TEMPFAIL DNS lookup of relay.test failed: (could not reach|no answer from) 127\.0\.0\.1:1 " \
	"a closed port: TEMPFAIL"

# ---------------------------------------------------------------- MX

run "$PROBE" --servers "$S" --mx example.test
is "$RC/$OUT" $'0/mx 10 mx1.test\nmx 20 mx2.test' "MX from dnsmasq, by preference"
run "$PROBE" --servers "$S" --mx nothere.test
is "$RC/$OUT" "1/status NXDOMAIN DNS MX lookup of nothere.test failed: no such domain (NXDOMAIN)" \
	"MX of an unknown domain: NXDOMAIN"
run "$PROBE" --servers "$S" --mx relay.test
is "$RC/$OUT" "1/status NODATA DNS MX lookup of relay.test failed: no MX records (NODATA)" \
	"MX of a name without MX records: NODATA"
if [ -n "$MXSTUB" ]; then
	run "$PROBE" --servers "$MXSTUB" --mx mx.test
	is "$RC/$OUT" $'0/mx 5 d.test\nmx 10 c.test\nmx 20 b.test\nmx 20 a.test' \
		"MX sorted by preference; equal ones keep the answer's order"
	run "$PROBE" --servers "$MXSTUB" --mx nullmx.test
	is "$RC/$OUT" "0/mx 0 " "a null MX (RFC 7505) is one record, host empty"
else
	skip "MX order" "$NOPY"; skip "null MX" "$NOPY"
fi

# ---------------------------------------------------------------- TXT

run "$PROBE" --servers "$S" --txt txt.test
is "$RC/$(sorted_out)" $'0/txt 16 v=spf1 a mx -all\ntxt 6 second' \
	"TXT: each record's strings joined without spaces, records apart"
run "$PROBE" --servers "$S" --txt long.test
is "$RC/$OUT" "0/txt 600 $TXT_LONG" \
	"a 600-byte TXT record (three strings, a TCP answer) comes whole"
run "$PROBE" --servers "$S" --txt huge.test
is "$RC/$OUT" "0/txt 4095 ${TXT_HUGE:0:4095} (truncated)" \
	"a 5000-byte record is cut at DNS_TXT_MAX - 1 bytes and says so"
run "$PROBE" --servers "$S" --txt relay.test
is "$RC/$OUT" "1/status NODATA DNS TXT lookup of relay.test failed: no TXT records (NODATA)" \
	"TXT of a name without TXT records: NODATA"
run "$PROBE" --servers "$S" --txt nothere.test
is "$RC/$OUT" "1/status NXDOMAIN DNS TXT lookup of nothere.test failed: no such domain (NXDOMAIN)" \
	"TXT of an unknown name: NXDOMAIN"
run "$PROBE" --servers "$S" --twice --txt txt.test
is "$RC/$(tail -n 1 "$SANDBOX/stdout")/$(grep -c '^txt 16 v=spf1 a mx -all$' "$SANDBOX/stdout")" \
	"0/cached/2" "TXT answers are cached, and the cached copy reads the same"
if [ -n "$SERVFAIL" ]; then
	run "$PROBE" --servers "$SERVFAIL" --txt txt.test
	is "$RC/$OUT" "1/status TEMPFAIL DNS TXT lookup of txt.test failed: SERVFAIL from $SERVFAIL" \
		"SERVFAIL for a TXT lookup"
else
	skip "SERVFAIL TXT" "$NOPY"
fi
run "$PROBE" --servers "$S" --txt "a b"
like "$RC/$OUT" "^2/refused bad domain name \"a b\": ' ' is not allowed" \
	"dns_txt checks names too"

# ---------------------------------------------------------------- cache

run "$PROBE" --servers "$S" --repeat 200 relay.test
is "$RC/$(grep -c '^addr 127\.0\.0\.5 25$' "$SANDBOX/stdout")/$(grep -c '^addr ::1 25$' "$SANDBOX/stdout")" \
	"0/200/200" "200 lookups at once: 200 answers"

run "$PROBE" --servers "$S" --twice cache.test 25
is "$RC/$OUT" $'0/addr 127.0.0.7 25\naddr 127.0.0.7 25\ncached' \
	"asked twice: the second answer comes from the cache"
is "$(count_in 'query\[A\] cache.test' "$DNSMASQ_LOG")" 1 \
	"... and the server was asked once"
run "$PROBE" --servers "$S" --twice --wait 1500 short.test
is "$RC/$OUT" $'0/addr 127.0.0.6 25\naddr 127.0.0.6 25' \
	"a 1 s TTL: asked again 1.5 s later, not from the cache"
run "$PROBE" --servers "$S" --twice --mx example.test
is "$RC/$(tail -n 1 "$SANDBOX/stdout")" "0/cached" "MX answers are cached too"
if [ -n "$MXSTUB" ]; then
	run "$PROBE" --servers "$MXSTUB" --twice --wait 1500 --mx mxshort.test
	is "$RC/$OUT" $'0/mx 10 mx.mxshort.test\nmx 10 mx.mxshort.test' \
		"an MX record's TTL (1 s) is honoured"
	is "$(count_in 'query mxshort.test 15' "$MX_LOG")" 2 \
		"... the server was asked twice"
else
	skip "MX TTL" "$NOPY"; skip "MX TTL queries" "$NOPY"
fi

# ---------------------------------------------------------------- resolv.conf

# Without dns_servers the servers of /etc/resolv.conf are used; it has
# no ports, so this needs port 53: a dnsmasq in a private network and
# mount namespace (unshare works for an ordinary user too), with a
# resolv.conf of our own bound over the real one.
cat >"$SANDBOX/ns.sh" <<EOF
ip link set lo up || exit 200
printf 'nameserver 127.0.0.1\\n' >"$SANDBOX/resolv.conf"
mount --bind "$SANDBOX/resolv.conf" /etc/resolv.conf || exit 200
"$DNSMASQ" --no-daemon --no-resolv --no-hosts --conf-file=/dev/null \\
	--pid-file= --user=root --listen-address=127.0.0.1 --bind-interfaces \\
	--port=53 --local=/test/ --host-record=relay.test,127.0.0.5 \\
	>"$SANDBOX/dnsmasq.ns.log" 2>&1 &
for i in \$(seq 1 50); do
	"$PROBE" relay.test >"$SANDBOX/ns.out" && break
	sleep 0.1
done
"$PROBE" --servers " " relay.test >>"$SANDBOX/ns.out"
"$PROBE" other.example >>"$SANDBOX/ns.out"
kill \$!
EOF
if command -v ip >/dev/null 2>&1 &&
	timeout 10 unshare -r -n -m true 2>/dev/null; then
	timeout 60 unshare -r -n -m bash "$SANDBOX/ns.sh" >/dev/null 2>&1
	is "$(head -n 1 "$SANDBOX/ns.out" 2>/dev/null)" "addr 127.0.0.5 25" \
		"no dns_servers: the server of /etc/resolv.conf answers"
	is "$(sed -n 2p "$SANDBOX/ns.out" 2>/dev/null)" "addr 127.0.0.5 25" \
		"dns_servers empty: the same"
	is "$(tail -n 1 "$SANDBOX/ns.out" 2>/dev/null)" \
		"status TEMPFAIL DNS lookup of other.example failed: REFUSED by 127.0.0.1:53" \
		"... and, as the only server, has its REFUSED reported as such"
else
	skip "no dns_servers: /etc/resolv.conf" "no network namespaces here"
	skip "dns_servers empty" "no network namespaces here"
	skip "resolv.conf: one server's REFUSED" "no network namespaces here"
fi

# ---------------------------------------------------------------- freeing

if [ -n "$SILENT" ]; then
	run "$PROBE" --servers "$SILENT" --cancel relay.test
	is "$RC/$OUT" $'1/status ECANCELLED DNS lookup of relay.test cancelled: the resolver was shut down\nfreed' \
		"dns_free with a lookup on the wire: ECANCELLED, before dns_free returns"
	run "$PROBE" --servers "$SILENT" --cancel --mx example.test
	like "$RC/$OUT" $'^1/status ECANCELLED [^\n]*\nfreed$' "the same for an MX lookup"
else
	skip "cancel" "$NOPY"; skip "cancel MX" "$NOPY"
fi
run "$PROBE" --servers "$S" --free-in-callback relay.test
like "$RC/$OUT" $'^1/addr [^\n]*\naddr [^\n]*\nstatus ECANCELLED [^\n]*\nfreed$' \
	"dns_free from inside a callback cancels the other lookup, nothing after"

# ---------------------------------------------------------------- bad input

long=$(printf 'a%.0s' $(seq 1 63))
name253=$long.$long.$long.$(printf 'b%.0s' $(seq 1 56)).test
name254=x$name253
for bad in "" "." "a..test" ".a.test" "bad name.test" "mail!.test" \
	"$name254" "$long"b.test "[192.0.2.1" "[example.test]"; do
	run "$PROBE" --servers "$S" "$bad"
	shown="'$bad'"
	[ ${#bad} -gt 40 ] && shown="'${bad:0:12}...' (${#bad} characters)"
	like "$RC/$OUT" "^2/refused bad domain name " \
		"a bad name is refused before any query: $shown"
done
is "${#name253}" 253 "(the longest name is 253 characters)"
run "$PROBE" --servers "$S" "$name253"
is "$RC/${OUT%%:*}" "1/status NXDOMAIN DNS lookup of $name253 failed" \
	"a 253-character name is asked"
run "$PROBE" --servers "$S" --mx "a b"
like "$RC/$OUT" "^2/refused bad domain name \"a b\": ' ' is not allowed" \
	"dns_mx checks names too"

for bad in "localhost" "127.0.0.1:0" "127.0.0.1:65536" "127.0.0.1:" \
	"[::1" "[::1]x" "::1:53x" " , " "127.0.0.1,,::1" "1.2.3.4:53:53"; do
	run "$PROBE" --servers "$bad" 192.0.2.1
	like "$RC/$OUT" "^2/refused DNS server " "dns_new refuses the server list '$bad'"
done
run "$PROBE" --servers " 127.0.0.1:53 , [::1]:53, ::1, 192.0.2.1, [2001:db8::1]" 192.0.2.9
is "$RC/$OUT" "0/addr 192.0.2.9 25" "dns_new takes IPv4 and IPv6, with and without ports"

done_testing
