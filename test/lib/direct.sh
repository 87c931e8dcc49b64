# shellcheck shell=bash
# shellcheck disable=SC2034,SC2119,SC2120,SC2153,SC2154  # globals, optional arguments
#
# direct.sh: shared code for the direct (MX) delivery tests, direct_*.sh
# (sourced, bash, after sandbox.sh and ternd.sh; it sources dnsmasq.sh).
#
# Every MX host of a test is a loopback address (127.0.0.2, 127.0.0.3,
# ..., ::1), all on one port, DPORT, which the config gives ternd as
# direct_port; the test's own dnsmasq (dnsmasq.sh) publishes the MX, A,
# AAAA and TXT records.  Nothing leaves the machine and no system
# resolver is asked.
#
#  - direct_init: ternd_sandbox_init, then DPORT (a port free on every
#    IPv4 address and on ::1) and HAVE_IPV6 (1 when ::1 can be bound).
#  - dns_up RECORD-OPTION...: dnsmasq_start with these records, kept in
#    DNS_RECORDS; dns_restart RECORD-OPTION...: the same on the same
#    port (ternd keeps asking there), e.g. to fix a broken zone.
#  - mx NAME PREF HOST ADDR...: the dnsmasq options for "NAME MX PREF
#    HOST" and HOST's addresses (print them into an array).
#  - direct_config LINE...: ternd_config with direct_port = DPORT and
#    hostname = tern.test (ternd's own name, TERN_HOST), plus LINE...;
#    direct_reset LINE...: stop, new config, empty queue, start.
#  - mx_peer_start NAME ADDRESS [ARGS...]: a smtp_peer.py (ternd_peer.py
#    with --slow-dot) listening on ADDRESS:DPORT, as peer_start does
#    (PEER_MD, PEER_TR), plus PEER_SESS[NAME], its sessions file:
#    peer_max_sessions / peer_total_sessions read it.
#  - mx_certs: the test CA (certs.sh) in $SANDBOX/certs; cert_for NAME
#    SAN: a server certificate signed by it ($CERTS/NAME.pem, .key).
#  - to_lines ADDR [new]: the to= log lines of one recipient; re STRING:
#    STRING as an ERE matching itself; send FROM SUBJECT RCPT...: one
#    message through sendmail as the daemon's user.
#
# dnsmasq notes: --host-record keeps one IPv4 and one IPv6 address (use
# --address=/NAME/IP repeatedly for more); "--mx-host=NAME,.,0" is a
# null MX; a --txt-record value is taken literally on the command line
# (no quotes: they would be part of the record), and dnsmasq cuts it
# into strings of at most 255 octets itself.

. "$top_srcdir/test/lib/dnsmasq.sh"

TERN_HOST=tern.test
DNS_RECORDS=()
declare -gA PEER_SESS=()

# direct_init [NAME]
direct_init()
{
	ternd_sandbox_init "$@"
	dnsmasq_require
	command -v openssl >/dev/null || skip_all "openssl is missing"
	local out
	out=$("$PYTHON" - <<'EOF'
import socket
for _ in range(50):
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    port = s.getsockname()[1]
    v6 = 0
    try:
        t = socket.socket(socket.AF_INET6)
        t.bind(("::1", port))
        t.close()
        v6 = 1
    except OSError as e:
        if e.errno == 98:       # in use on ::1: try another port
            s.close()
            continue
    s.close()
    print(port, v6)
    break
EOF
)
	DPORT=${out% *}
	HAVE_IPV6=${out#* }
	[ -n "$DPORT" ] || bail_out "no free port for direct_port"
}

# mx NAME PREF HOST [ADDR...]: the dnsmasq options for an MX record and
# (when ADDRs are given) the host's A/AAAA records, one a line.
mx()
{
	local name=$1 pref=$2 host=$3
	shift 3
	printf '%s\n' "--mx-host=$name,$host,$pref"
	if [ $# -gt 0 ]; then
		printf '%s\n' "--host-record=$host,$(IFS=,; echo "$*")"
	fi
}

# dns_up OPTION...: the test's dnsmasq with these records.
dns_up()
{
	DNS_RECORDS=("$@")
	dnsmasq_start "$@" || bail_out "dnsmasq did not start"
	cp "$DNSMASQ_LOG" "$SANDBOX/dnsmasq.first.log" 2>/dev/null
}

# dns_restart OPTION...: stop dnsmasq and start it on the same port
# with these records instead.
dns_restart()
{
	local port=$DNS_PORT i
	dnsmasq_stop
	DNS_RECORDS=("$@")
	for i in 1 2 3 4 5; do
		DNSMASQ_FIXED_PORT=$port dnsmasq_start "$@" && return 0
		sleep 0.2
	done
	bail_out "dnsmasq did not start again on port $port"
}

# direct_config LINE...
direct_config()
{
	ternd_config "direct_port = $DPORT" "$@"
	sed -i "s/^hostname = .*/hostname = $TERN_HOST/" "$CONF"
	give "$CONF"
}

# direct_reset LINE...: like ternd_reset, with direct_config.
direct_reset()
{
	ternd_stop
	direct_config "$@"
	queue_empty_all
	ternd_start
}

# mx_peer_start NAME ADDRESS [ARGS...]
mx_peer_start()
{
	local name=$1 addr=$2
	shift 2
	peer_start "$name" --address "$addr" --port "$DPORT" \
		--sessions-file "$SANDBOX/peer.$name/sessions" "$@"
	PEER_SESS[$name]=$SANDBOX/peer.$name/sessions
}

# peer_max_sessions NAME / peer_total_sessions NAME (0 when unknown)
peer_max_sessions()
{
	sed -n 's/^max //p' "${PEER_SESS[$1]}" 2>/dev/null | grep . || echo 0
}

peer_total_sessions()
{
	sed -n 's/^total //p' "${PEER_SESS[$1]}" 2>/dev/null | grep . || echo 0
}

# ---------------------------------------------------------------- TLS

# mx_certs: the CA of certs.sh; sets CERTS, CA (and CERT/KEY, a server
# certificate for relay.test and 127.0.0.1).
mx_certs()
{
	make_certs
	CERTS=$SANDBOX/certs
}

# cert_for NAME SAN: $CERTS/NAME.pem and NAME.key, a server certificate
# (CN=NAME, subjectAltName SAN, e.g. DNS:mx1.tls.test) of the test CA.
cert_for()
{
	local name=$1 san=$2
	(
		cd "$CERTS" || exit 1
		cat >"$name.cnf" <<EOF
[req]
distinguished_name = dn
[dn]
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $san
authorityKeyIdentifier = keyid
EOF
		openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$name" \
			-config "$name.cnf" -keyout "$name.key" -out "$name.csr" &&
		openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key \
			-CAcreateserial -days 2 -extfile "$name.cnf" \
			-extensions server -out "$name.pem"
	) >>"$CERTS/log" 2>&1 || bail_out "openssl could not make a certificate for $name"
	chmod 0644 "$CERTS/$name.pem"
}

# ---------------------------------------------------------------- log

# to_lines ADDR [new]: the "ID: to=<ADDR>, ..." lines (prefix removed).
to_lines()
{
	log_lines ": to=<$(re "$1")>, " "${2:-}"
}

# re STRING: STRING with the ERE metacharacters escaped.
re()
{
	printf '%s' "$1" | sed 's/[.[\*^$+?(){}|]/\\&/g'
}

# send FROM SUBJECT RCPT...: one message (From: header FROM, envelope
# sender FROM), a test point only on failure.
send()
{
	local from=$1 subj=$2
	shift 2
	tsm_ok "" "From: <$from>
To: $(IFS=,; echo "$*")
Subject: $subj

$subj
" -i -f "$from" "$@"
}
