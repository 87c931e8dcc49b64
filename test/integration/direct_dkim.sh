#!/bin/bash
# direct_dkim: [dkim DOMAIN] signs mail on the direct (MX) path too, once
# per message, with keys made by "tern dkim keygen" (rsa-sha256 and
# ed25519-sha256).  Two independent verifiers check what the MX hosts
# (smtp_peer.py on 127.0.0.x) received:
#
#  - python3-dkim, fed the TXT record tern dkim keygen printed;
#  - OpenDKIM's opendkim-testmsg (opendkim-tools), which asks the DNS
#    itself through the system resolver: it runs in a private mount and
#    network namespace, where /etc/resolv.conf names a dnsmasq on
#    127.0.0.1:53 of that namespace publishing the TXT records.
#
# A message to two domains goes out in two transactions with the same
# single signature, and both copies verify; a From domain without a
# [dkim] section goes out unsigned; a copy changed after signing fails.
# shellcheck disable=SC2016,SC2119,SC2317  # conditions are code for wait_for; ternd_stop takes optional arguments; helpers called through ok
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/direct.sh"

# In a sanitizer build, whole stacks let ternd's LeakSanitizer skip the
# one leak of Debian 12's libopendkim (ed25519 keys; see ternd_main.c).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"

direct_init
plan 23

S=sender@snd.test
KEYS=$SANDBOX/keys
mkdir -p "$KEYS"

# keygen DOMAIN SELECTOR TYPE: the key in $KEYS/SELECTOR.key (the
# daemon's), its TXT record value in $KEYS/SELECTOR.txt.
keygen()
{
	run "$TERN" dkim keygen "$1" "$2" --type "$3" --out "$KEYS/$2.key" </dev/null
	[ "$RC" = 0 ] || bail_out "tern dkim keygen $1 $2 --type $3: exit $RC: $ERR"
	grep '^v=DKIM1; ' "$SANDBOX/stdout" | head -n 1 | tr -d '\n' >"$KEYS/$2.txt"
	[ -s "$KEYS/$2.txt" ] || bail_out "tern dkim keygen printed no record: $OUT"
	give "$KEYS/$2.key"
}
keygen rsa.test rs rsa
keygen ed.test ed ed25519

# dnsmasq takes a --txt-record value literally on its command line
# (quotes would be part of the record) and cuts it into strings of at
# most 255 octets itself.
TXT=("--txt-record=rs._domainkey.rsa.test,$(cat "$KEYS/rs.txt")"
	"--txt-record=ed._domainkey.ed.test,$(cat "$KEYS/ed.txt")")
mapfile -t RECORDS < <(
	mx d1.test 10 mx.d1.test 127.0.0.2
	mx d2.test 10 mx.d2.test 127.0.0.3
)
dns_up "${RECORDS[@]}" "${TXT[@]}"
mx_peer_start r1 127.0.0.2
mx_peer_start r2 127.0.0.3

direct_config "[dkim rsa.test]" "selector = rs" "key_file = $KEYS/rs.key" \
	"[dkim ed.test]" "selector = ed" "key_file = $KEYS/ed.key" \
	"algorithm = ed25519-sha256"
ok "ternd starts with an rsa-sha256 and an ed25519-sha256 [dkim] section" ternd_start

# verify FILE: python3-dkim checks the message a peer stored, the key
# record looked up in $KEYS by selector (test/lib/dkim_verify.py).
verify()
{
	run /usr/bin/python3 "$top_srcdir/test/lib/dkim_verify.py" "$1" "$KEYS"
}

# sigs FILE: the DKIM-Signature fields of a received message, unfolded.
sigs() { msg_header "$1" DKIM-Signature; }

# arrived PEER SUBJECT
arrived() { wait_for "peer_find $1 '^Subject: $2\$' >/dev/null" 15; }

# sign_msg FROM SUBJECT RCPT...
sign_msg()
{
	local from=$1 subj=$2
	shift 2
	tsm_ok "" "From: Someone <$from>
To: $(IFS=,; echo "$*")
Subject: $subj
Date: Sun, 22 Nov 2026 01:54:10 +0000

$subj, with a body
of two lines

" -i -f "$S" "$@"
}

# ---------------------------------------------------------------- rsa, ed25519

log_mark
sign_msg alice@rsa.test "dkim rsa" u@d1.test
sign_msg bob@ed.test "dkim ed" u@d1.test
sign_msg alice@rsa.test "dkim two domains" v@d1.test w@d2.test
sign_msg carol@other.test "dkim none" u@d1.test

F_RSA='' F_ED='' F_TWO1='' F_TWO2=''
if arrived r1 "dkim rsa"; then
	F_RSA=$(peer_find r1 '^Subject: dkim rsa$')
	pass "the rsa.test message reaches mx.d1.test"
	verify "$F_RSA"
	like "$OUT" "^ok d=rsa\.test s=rs a=rsa-sha256 " "rsa-sha256: python3-dkim verifies it (d=rsa.test, s=rs)"
	is "$(sigs "$F_RSA" | wc -l | tr -d ' ')" 1 "one DKIM-Signature"
else
	fail "the rsa.test message reaches mx.d1.test" "$(log_tail)"
	fail "rsa-sha256: python3-dkim verifies it" "not received"
	fail "one DKIM-Signature" "not received"
fi
like "$(to_lines u@d1.test new | head -n 1)" "relay=mx\.d1\.test\[127\.0\.0\.2\]:$DPORT, .*status=sent" \
	"log: delivered directly to mx.d1.test"

if arrived r1 "dkim ed"; then
	F_ED=$(peer_find r1 '^Subject: dkim ed$')
	pass "the ed.test message reaches mx.d1.test"
	verify "$F_ED"
	like "$OUT" "^ok d=ed\.test s=ed a=ed25519-sha256 " "ed25519-sha256: python3-dkim verifies it"
else
	fail "the ed.test message reaches mx.d1.test" "$(log_tail)"
	fail "ed25519-sha256: python3-dkim verifies it" "not received"
fi

if arrived r1 "dkim two domains" && arrived r2 "dkim two domains"; then
	F_TWO1=$(peer_find r1 '^Subject: dkim two domains$')
	F_TWO2=$(peer_find r2 '^Subject: dkim two domains$')
	pass "a message to d1.test and d2.test reaches both MX hosts"
	is "$(msg_env "$F_TWO1" | grep '^RCPT' | tr '\n' ' ')/$(msg_env "$F_TWO2" | grep '^RCPT' | tr '\n' ' ')" \
		"RCPT TO:<v@d1.test> /RCPT TO:<w@d2.test> " "one transaction per domain"
	is "$(sigs "$F_TWO1" | wc -l | tr -d ' '):$(sigs "$F_TWO2" | wc -l | tr -d ' ')" "1:1" \
		"each copy has one DKIM-Signature"
	is "$(sigs "$F_TWO2")" "$(sigs "$F_TWO1")" "the same signature in both: signed once"
	verify "$F_TWO1"
	like "$OUT" "^ok d=rsa\.test " "python3-dkim verifies the d1.test copy"
	verify "$F_TWO2"
	like "$OUT" "^ok d=rsa\.test " "python3-dkim verifies the d2.test copy"
else
	fail "a message to d1.test and d2.test reaches both MX hosts" "$(log_tail)"
	for t in "one transaction per domain" "each copy has one DKIM-Signature" \
		"signed once" "python3-dkim: d1.test copy" "python3-dkim: d2.test copy"; do
		fail "$t" "not received"
	done
fi

if arrived r1 "dkim none"; then
	nok "a From domain without [dkim]: no DKIM-Signature" \
		grep -q -i '^DKIM-Signature:' "$(peer_find r1 '^Subject: dkim none$')"
else
	fail "a From domain without [dkim]: no DKIM-Signature" "not received"
fi

ok "ternd is still running" ternd_alive
ternd_stop
is "$TERND_RC" 0 "ternd exits 0"

# ---------------------------------------------------------------- opendkim

# A copy with its body changed after signing: the verifiers must fail it.
if [ -n "$F_RSA" ]; then
	sed 's/with a body/with a changed body/' "$F_RSA" >"$SANDBOX/tampered.msg"
	verify "$SANDBOX/tampered.msg"
	like "$OUT" "^fail" "python3-dkim fails a copy changed after signing"
else
	fail "python3-dkim fails a copy changed after signing" "no rsa message"
fi

ODK=$SANDBOX/opendkim
mkdir -p "$ODK"
# The messages as received (CRLF kept), without the peer's envelope.
names=()
for pair in "rsa:$F_RSA" "ed:$F_ED" "two1:$F_TWO1" "two2:$F_TWO2" \
	"tampered:$SANDBOX/tampered.msg"; do
	n=${pair%%:*} f=${pair#*:}
	{ [ -n "$f" ] && [ -f "$f" ]; } || continue
	sed '1,/^$/d' "$f" >"$ODK/$n.eml"
	names+=("$n")
done

# In the namespace: lo up, our resolv.conf over the real one, a dnsmasq
# on 127.0.0.1:53 with the TXT records, then opendkim-testmsg per file
# ("NAME rc=N: its complaint" lines in $ODK/results).  Exit 200: the
# namespace could not be set up.
cat >"$ODK/ns.sh" <<'EOF'
odk=$1 probe=$2 dnsmasq=$3
shift 3
ip link set lo up || exit 200
printf 'nameserver 127.0.0.1\n' >"$odk/resolv.conf"
mount --bind "$odk/resolv.conf" /etc/resolv.conf || exit 200
"$dnsmasq" --no-daemon --no-resolv --no-hosts --no-poll --conf-file=/dev/null \
	--pid-file= --user=root --listen-address=127.0.0.1 --bind-interfaces \
	--port=53 --local=/test/ --log-queries \
	--host-record=dnsmasq.ready.test,127.0.0.254 "$@" \
	>"$odk/dnsmasq.log" 2>&1 &
pid=$!
up=
for i in $(seq 1 50); do
	if timeout 5 "$probe" dnsmasq.ready.test >/dev/null 2>&1; then up=1; break; fi
	sleep 0.1
done
[ -n "$up" ] || { kill $pid; exit 201; }
: >"$odk/results"
for f in "$odk"/*.eml; do
	n=$(basename "$f" .eml)
	timeout 20 opendkim-testmsg -t "$odk" <"$f" >"$odk/$n.out" 2>&1
	echo "$n rc=$?: $(tr '\n' ' ' <"$odk/$n.out")" >>"$odk/results"
done
kill $pid
wait $pid 2>/dev/null
exit 0
EOF

odk_skip=
if ! command -v opendkim-testmsg >/dev/null 2>&1; then
	odk_skip="opendkim-testmsg not installed (apt-get install opendkim-tools)"
elif ! command -v ip >/dev/null 2>&1; then
	odk_skip="no ip command (iproute2) to bring lo up in a network namespace"
elif [ "$(id -u)" = 0 ] && ! timeout 10 unshare -m -n true 2>/dev/null; then
	odk_skip="unshare -m -n (mount and network namespaces) is not permitted here"
elif [ "$(id -u)" != 0 ] && ! timeout 10 unshare -r -m -n true 2>/dev/null; then
	odk_skip="unshare -r -m -n (user, mount and network namespaces) is not permitted here"
else
	ns=(unshare -m -n --propagation private)
	[ "$(id -u)" = 0 ] || ns=(unshare -r -m -n --propagation private)
	run "${ns[@]}" bash "$ODK/ns.sh" "$ODK" "$DNS_PROBE" "$DNSMASQ" "${TXT[@]}" </dev/null
	case $RC in
	0) ;;
	200) odk_skip="the namespace could not bring lo up or bind-mount /etc/resolv.conf: $ERR" ;;
	201) odk_skip="dnsmasq did not answer on 127.0.0.1:53 in the namespace: $(tail -n 3 "$ODK/dnsmasq.log")" ;;
	*) odk_skip="the namespace script failed (exit $RC): $ERR" ;;
	esac
fi
# odk NAME: opendkim-testmsg's verdict on NAME ("rc=0: " is verified).
odk() { sed -n "s/^$1 //p" "$ODK/results" 2>/dev/null; }
if [ -z "$odk_skip" ]; then
	diag "$(cat "$ODK/results")"
	like "$(odk rsa)" "^rc=0: $" "opendkim-testmsg verifies the rsa-sha256 signature (key from the DNS)"
	like "$(odk ed)" "^rc=0: $" "opendkim-testmsg verifies the ed25519-sha256 signature"
	like "$(odk two1)" "^rc=0: $" "opendkim-testmsg verifies the d1.test copy of the two-domain message"
	like "$(odk two2)" "^rc=0: $" "opendkim-testmsg verifies the d2.test copy"
	like "$(odk tampered)" "^rc=[1-9][0-9]*: .*(Bad signature|body hash)" \
		"opendkim-testmsg fails the copy changed after signing"
	ok "the key records were looked up in the namespace's DNS" \
		grep -q 'query\[TXT\] rs\._domainkey\.rsa\.test' "$ODK/dnsmasq.log"
else
	for t in "rsa-sha256" "ed25519-sha256" "the d1.test copy" "the d2.test copy" \
		"the changed copy fails" "the key records were looked up"; do
		skip "opendkim-testmsg: $t" "$odk_skip"
	done
fi

done_testing
