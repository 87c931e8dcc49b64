#!/bin/bash
# tern_dns: "tern dns DOMAIN [--selector S]" reads the MX, SPF, DKIM and
# DMARC records of a domain from a loopback dnsmasq (dns_servers, never
# the system resolver) and gives one line of advice per finding, each
# starting with ok:, info:, warning:, error: or unknown:.  Every advice
# is provoked by a scenario here: implicit and null-looking MX, MX hosts
# without addresses, SPF missing, doubled, +all/?all/~all/-all, unknown
# terms, too many lookups, the include each relay needs, direct
# delivery; DKIM keys made by tern dkim keygen (matching and not the
# configured key_file), 1024- and 512-bit RSA keys, revoked and broken
# records; DMARC p=none, rua, sp, pct, doubled records, the parent's
# record; exit codes 0, 1, 64, 75 and 78.
# shellcheck disable=SC2016  # single quotes hold literal record text
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/dnsmasq.sh"

sandbox_init
dnsmasq_require
command -v openssl >/dev/null 2>&1 || skip_all "openssl is not installed"
RUN_TIMEOUT=40
KEYS=$SANDBOX/keys
mkdir -p "$KEYS" "$QUEUE_DIR"
: >"$ALIASES"

# ---------------------------------------------------------------- keys

# keygen NAME SELECTOR [ARGS]: a key made by tern dkim keygen; its
# record value (v=DKIM1; k=...; p=...) in $KEYS/NAME.txt.
keygen()
{
	run "$TERN" dkim keygen good.test "$2" --out "$KEYS/$1.key" "${@:3}" </dev/null
	[ "$RC" = 0 ] || bail_out "tern dkim keygen failed: $ERR"
	grep '^v=DKIM1; ' <<<"$OUT" >"$KEYS/$1.txt"
}

# rsakey NAME BITS: an RSA key made by openssl and its record value.
rsakey()
{
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:"$2" \
		-out "$KEYS/$1.key" 2>/dev/null || bail_out "openssl: no $2-bit key"
	printf 'v=DKIM1; k=rsa; p=%s' "$(openssl pkey -in "$KEYS/$1.key" \
		-pubout -outform DER | base64 -w0)" >"$KEYS/$1.txt"
}

keygen s1 s1
keygen s2 s2
keygen ed ed --type ed25519
rsakey k1024 1024
rsakey k512 512
S1=$(cat "$KEYS/s1.txt")
S2=$(cat "$KEYS/s2.txt")
ED=$(cat "$KEYS/ed.txt")
K1024=$(cat "$KEYS/k1024.txt")
K512=$(cat "$KEYS/k512.txt")
is "${#S1}" 410 "(a 2048-bit record is 410 bytes: dnsmasq serves it as two strings)"

# ---------------------------------------------------------------- records

REC=()
txt() { REC+=("--txt-record=$1,$2"); }
mx() { REC+=("--mx-host=$1,$2,$3"); }
host() { REC+=("--host-record=$1,$2"); }

host mx.good.test 127.0.0.10
host out.good.test 127.0.0.20
# good.test: everything right for relaying through brevo, key s1.
mx good.test mx.good.test 10
txt good.test 'v=spf1 include:spf.brevo.com -all'
txt good.test 'google-site-verification=abc'
txt s1._domainkey.good.test "$S1"
txt s2._domainkey.good.test "$S2"
txt s3._domainkey.good.test "$S1"
txt ed._domainkey.good.test "$ED"
txt k1024._domainkey.good.test "$K1024"
txt k512._domainkey.good.test "$K512"
txt revoked._domainkey.good.test 'v=DKIM1; k=rsa; p='
txt nop._domainkey.good.test 'v=DKIM1; k=rsa'
txt b64._domainkey.good.test 'v=DKIM1; k=rsa; p=!!notbase64!!'
txt junk._domainkey.good.test 'v=DKIM1; k=rsa; p=aGVsbG8gd29ybGQ='
txt testing._domainkey.good.test "$S1; t=y"
txt sha1._domainkey.good.test "v=DKIM1; h=sha1; ${S1#v=DKIM1; }"
txt dsa._domainkey.good.test 'v=DKIM1; k=dsa; p=AAAA'
txt v2._domainkey.good.test "v=DKIM2; ${S1#v=DKIM1; }"
txt two._domainkey.good.test "$S1"
txt two._domainkey.good.test "$S2"
txt _dmarc.good.test 'v=DMARC1; p=reject; rua=mailto:dmarc@good.test'
# sub.good.test: no DMARC record of its own.
host sub.good.test 127.0.0.21
txt sub.good.test 'v=spf1 include:spf.brevo.com -all'
# MX troubles.
host nomx.test 127.0.0.11
mx ghost.test nowhere.ghost.test 10
txt ghost.test 'v=spf1 -all'
mx ipmx.test 192.0.2.1 10
txt bare.test 'v=spf1 -all'
# SPF variants, each with a good DMARC record beside.
spf() { txt "$1" "$2"; txt "_dmarc.$1" 'v=DMARC1; p=reject; rua=mailto:d@x.test'; mx "$1" mx.good.test 10; }
spf twospf.test 'v=spf1 include:spf.brevo.com -all'
txt twospf.test 'v=spf1 ip4:192.0.2.1 -all'
spf plusall.test 'v=spf1 include:spf.brevo.com +all'
spf bareall.test 'v=spf1 include:spf.brevo.com all'
spf qall.test 'v=spf1 include:spf.brevo.com ?all'
spf softall.test 'v=spf1 include:spf.brevo.com ~all'
spf noall.test 'v=spf1 include:spf.brevo.com'
spf redir.test 'v=spf1 redirect=_spf.good.test'
spf unknown.test 'v=spf1 include:spf.brevo.com foo:bar -all'
spf many.test 'v=spf1 include:spf.brevo.com a mx include:a.test include:b.test include:c.test include:d.test include:e.test include:f.test include:g.test include:h.test -all'
spf ptr.test 'v=spf1 include:spf.brevo.com ptr -all'
spf other.test 'v=spf1 include:_spf.corp.test -all'
spf sib.test 'v=spf1 include:spf.sendinblue.com -all'
spf google.test 'v=spf1 include:spf.brevo.com include:_spf.google.com -all'
spf ip4.test 'v=spf1 ip4:127.0.0.16/28 -all'
spf mxonly.test 'v=spf1 mx -all'
spf wrongip.test 'v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all'
spf nothing.test 'v=spf1 -all'
spf nospf.test 'google-site-verification=abc'
# DMARC variants.
dmarc() { txt "$1" 'v=spf1 include:spf.brevo.com -all'; mx "$1" mx.good.test 10; [ -n "$2" ] && txt "_dmarc.$1" "$2"; }
dmarc none.test 'v=DMARC1; p=none'
dmarc sp.test 'v=DMARC1; p=reject; sp=none; rua=mailto:d@sp.test'
dmarc pct.test 'v=DMARC1; p=quarantine; pct=50; rua=mailto:d@pct.test'
dmarc badp.test 'v=DMARC1; p=block; rua=mailto:d@badp.test'
dmarc nop.test 'v=DMARC1; rua=mailto:d@nop.test'
dmarc nodmarc.test ''
dmarc twodmarc.test 'v=DMARC1; p=reject; rua=mailto:d@twodmarc.test'
txt _dmarc.twodmarc.test 'v=DMARC1; p=none'
dmarc notdmarc.test 'v=spf1 -all'

dnsmasq_refuser
REC+=("--server=/broken.test/$REFUSER_ADDR")
dnsmasq_start "${REC[@]}" || bail_out "dnsmasq did not start"

# ---------------------------------------------------------------- configs

# conf NAME LINE...: a config file $SANDBOX/NAME.conf.
conf()
{
	local f=$SANDBOX/$1.conf
	shift
	{
		echo "log = stderr"
		echo "queue_dir = $QUEUE_DIR"
		echo "aliases = $ALIASES"
		echo "dns_servers = 127.0.0.1:$DNS_PORT"
		printf '%s\n' "$@"
	} >"$f"
}
BREVO=("[relay brevo]" "preset = brevo" "username = u" "password_file = /dev/null")
conf relay "hostname = host.good.test" "${BREVO[@]}" \
	"[dkim good.test]" "selector = s1" "key_file = $KEYS/s1.key"
conf gmail "hostname = host.good.test" "${BREVO[@]}" \
	"[relay gm]" "preset = gmail" "username = u" "password_file = /dev/null"
conf custom "hostname = host.good.test" \
	"[relay corp]" "host = smtp.corp.test" \
	"[relay sg]" "host = smtp.sendgrid.net" \
	"[relay yh]" "preset = yahoo" "username = u" "password_file = /dev/null"
conf mismatch "hostname = host.good.test" "${BREVO[@]}" \
	"[dkim good.test]" "selector = s2" "key_file = $KEYS/s1.key"
conf missing "hostname = host.good.test" "${BREVO[@]}" \
	"[dkim good.test]" "selector = s1" "key_file = $KEYS/none.key"
conf algo "hostname = host.good.test" "${BREVO[@]}" \
	"[dkim good.test]" "selector = ed" "key_file = $KEYS/s1.key" \
	"algorithm = rsa-sha256"
conf edconf "hostname = host.good.test" "${BREVO[@]}" \
	"[dkim good.test]" "selector = ed" "key_file = $KEYS/ed.key" \
	"algorithm = ed25519-sha256"
conf direct "hostname = out.good.test" "delivery = direct"
conf directmx "hostname = mx.good.test" "delivery = direct"
conf directnx "hostname = nohost.good.test" "delivery = direct"
conf brevo "hostname = host.good.test" "${BREVO[@]}"
conf bad "hostname = host.good.test" "no_such_key = 1"

# dns CONF ARGS...: tern -c CONF.conf dns ARGS.
dns()
{
	local c=$1
	shift
	run "$TERN" -c "$SANDBOX/$c.conf" dns "$@" </dev/null
}

# has LEVEL ERE DESC: a line "LEVEL: ..." of the last output matches.
has()
{
	local got
	got=$(sed -n "s/^$1: //p" <<<"$OUT" | grep -E -m 1 -- "$2")
	if [ -n "$got" ]; then
		pass "$3"
	else
		fail "$3" "no line '$1: ...' like /$2/ in:" "$OUT" "stderr: $ERR"
	fi
}

# hasnt LEVEL: no line of that level.
hasnt()
{
	if grep -q -E "^$1: " <<<"$OUT"; then
		fail "$2" "unexpected $1 lines:" "$(grep -E "^$1: " <<<"$OUT")"
	else
		pass "$2"
	fi
}

# ---------------------------------------------------------------- good

dns relay good.test
is "$RC" 0 "good.test, relaying through brevo, key s1: exit 0"
hasnt error "good.test: no error"
hasnt warning "good.test: no warning"
has ok '^MX 10 mx\.good\.test: 127\.0\.0\.10$' "MX host with its address"
has info '^SPF record "v=spf1 include:spf\.brevo\.com -all"$' "the SPF record is shown (other TXT records ignored)"
has ok '^SPF: -all: ' "-all is fine"
has ok '^SPF: relay brevo \(smtp-relay\.brevo\.com\): the record includes brevo' "the relay's include is there"
has ok '^DKIM s1\._domainkey\.good\.test: RSA key of 2048 bits$' "a 2048-bit key, read from two joined strings"
has ok "^DKIM s1\\._domainkey\\.good\\.test: the record matches key_file $KEYS/s1\\.key\$" "the record matches the configured key"
has ok '^DMARC: p=reject: ' "p=reject is fine"
has ok '^DMARC: aggregate reports go to mailto:dmarc@good\.test$' "rua is shown"
like "$OUT" $'^tern dns good.test\n\nMX good.test\n' "the report starts with the domain and the MX section"
like "$OUT" $'\n\nSPF good.test\n.*\n\nDKIM good.test\n.*\n\nDMARC good.test\n.*\n\n0 errors, 0 warnings, 0 lookups failed$' "sections in order, and a summary line"
dns relay GOOD.test.
is "$RC/$(head -n 1 <<<"$OUT")" "0/tern dns good.test" "upper case and a final dot are the same domain"
ok "no query went to another server: all of them in dnsmasq's log" \
	grep -q 'query\[TXT\] s1._domainkey.good.test' "$DNSMASQ_LOG"

# ---------------------------------------------------------------- MX

dns relay nx.test
is "$RC" 1 "a domain that does not exist: exit 1"
has error '^nx\.test does not exist in the DNS \(NXDOMAIN\)' "NXDOMAIN is said plainly"
dns relay nomx.test
has warning '^no MX record: mail to nomx\.test goes to its own address \(implicit MX: 127\.0\.0\.11\)' "no MX: the implicit MX, with its address"
dns relay bare.test
has error '^no MX record and no address: bare\.test receives no mail' "no MX and no address: error"
dns relay ghost.test
has error '^MX 10 nowhere\.ghost\.test has no address \(NXDOMAIN\)' "an MX host without an address"
dns relay ipmx.test
has error '^MX 10 192\.0\.2\.1 is an IP address' "an MX naming an IP address"

# ---------------------------------------------------------------- SPF

dns brevo nospf.test
is "$RC" 1 "no SPF record: exit 1"
has error '^no SPF record: .*publish a TXT record at nospf\.test such as "v=spf1 include:spf\.brevo\.com -all"$' "no SPF: the record to publish names the relay's include"
dns brevo twospf.test
has error '^2 SPF records .*permerror' "two SPF records: permerror"
dns brevo plusall.test
has error '^SPF: \+all allows every server' "+all: error"
dns brevo bareall.test
has error '^SPF: all allows every server' "a bare all (= +all): error"
dns brevo qall.test
is "$RC" 0 "?all is a warning, not an error: exit 0"
has warning '^SPF: \?all \(neutral\)' "?all: warning"
dns brevo softall.test
has ok '^SPF: ~all \(softfail\): .*use -all once' "~all: fine, -all advised"
dns brevo noall.test
has warning '^SPF: no "all" at the end' "no all: warning"
dns brevo redir.test
has info '^SPF: redirect=_spf\.good\.test: ' "redirect= is named"
has warning '^SPF: relay brevo .*tern does not follow' "a relay behind redirect=: cannot tell, warning"
dns brevo unknown.test
has error "^SPF: unknown term 'foo:bar'" "an unknown term: permerror"
dns brevo many.test
has error '^SPF: 11 terms need DNS lookups' "11 lookups: more than 10"
dns brevo ptr.test
has warning '^SPF: ptr is slow' "ptr: warning"
dns gmail good.test
is "$RC" 1 "a relay whose include is missing: exit 1"
has error '^SPF: relay gm \(smtp\.gmail\.com\): the record lacks include:_spf\.google\.com, ' "the missing include is named"
has ok '^SPF: relay brevo ' "... the present one is fine"
dns gmail google.test
is "$RC" 0 "both includes present: exit 0"
dns brevo other.test
has warning '^SPF: relay brevo .*no include:spf\.brevo\.com in the record; tern does not follow' "another include might hold it: warning"
dns brevo sib.test
has ok '^SPF: relay brevo .*includes brevo' "include:spf.sendinblue.com covers brevo too"
dns custom good.test
has warning '^SPF: relay corp \(smtp\.corp\.test\): tern knows no SPF include' "an unknown relay: warning"
has error '^SPF: relay sg \(smtp\.sendgrid\.net\): the record lacks include:sendgrid\.net' "a relay found by its host name (sendgrid)"
has warning '^SPF: relay yh \(smtp\.mail\.yahoo\.com\): yahoo publishes no SPF include' "yahoo: no include exists"
dns direct ip4.test
is "$RC" 0 "direct delivery, host allowed by ip4: exit 0"
has ok '^SPF: delivery = direct: this host \(out\.good\.test, 127\.0\.0\.20\) is allowed by ip4:127\.0\.0\.16/28$' "direct: the host's address is in an ip4: network"
dns directmx mxonly.test
has ok '^SPF: delivery = direct: this host \(mx\.good\.test, 127\.0\.0\.10\) is allowed by mx$' "direct: the host is the domain's MX"
dns direct wrongip.test
has error '^SPF: delivery = direct: no ip4:, ip6:, a or mx term of the record allows this host \(out\.good\.test: 127\.0\.0\.20\)' "direct: the host is not listed"
dns direct nothing.test
has error '^SPF: delivery = direct sends from this host, but the record allows no server' "direct: v=spf1 -all allows nobody"
dns direct other.test
has warning '^SPF: delivery = direct: no ip4:.*tern does not follow include' "direct: maybe through an include: warning"
dns directnx ip4.test
has warning '^SPF: delivery = direct: cannot look up this host.s name nohost\.good\.test' "direct: the host name does not resolve"

# ---------------------------------------------------------------- DKIM

dns brevo good.test
has warning '^no selector to check: no \[dkim good\.test\] section' "no [dkim] and no --selector: warning"
dns brevo good.test --selector s1
has ok '^DKIM s1\._domainkey\.good\.test: RSA key of 2048 bits$' "--selector checks that record"
unlike "$OUT" "key_file" "... without a [dkim] section, no key_file to compare"
dns brevo good.test --selector nosuch
is "$RC" 1 "a selector without a record: exit 1"
has error '^no DKIM record at nosuch\._domainkey\.good\.test' "no record for the selector"
dns mismatch good.test
is "$RC" 1 "a record of another key: exit 1"
has error "^DKIM s2\\._domainkey\\.good\\.test: the record does not match key_file $KEYS/s1\\.key" "a key mismatch is found"
dns relay good.test --selector s3
has ok '^DKIM s3\._domainkey\.good\.test: RSA key' "a selector outside the config: only the record is checked"
dns missing good.test
has warning "^DKIM s1\\._domainkey\\.good\\.test: cannot read key_file $KEYS/none\\.key \\(No such file or directory\\)" "an unreadable key_file: said, not fatal"
is "$RC" 0 "... and no error"
dns brevo good.test --selector k1024
is "$RC" 0 "a 1024-bit key is a warning: exit 0"
has warning '^DKIM k1024\._domainkey\.good\.test: the RSA key has 1024 bits: weak, 2048 are recommended' "1024 bits: weak"
dns brevo good.test --selector k512
is "$RC" 1 "a 512-bit key: exit 1"
has error '^DKIM k512\._domainkey\.good\.test: the RSA key has 512 bits: too short and insecure' "512 bits: too short"
dns brevo good.test --selector revoked
has error '^DKIM revoked\._domainkey\.good\.test: p= is empty: the key is revoked' "p= empty: revoked"
dns brevo good.test --selector nop
has error '^DKIM nop\._domainkey\.good\.test: no p= tag' "no p=: invalid"
dns brevo good.test --selector b64
has error '^DKIM b64\._domainkey\.good\.test: p= is not valid base64' "p= not base64"
dns brevo good.test --selector junk
has error '^DKIM junk\._domainkey\.good\.test: p= holds no RSA public key' "p= not a key"
dns brevo good.test --selector testing
has warning '^DKIM testing\._domainkey\.good\.test: t=y \(testing\)' "t=y: warning"
dns brevo good.test --selector sha1
has error '^DKIM sha1\._domainkey\.good\.test: h=sha1 excludes sha256' "h=sha1: error"
dns brevo good.test --selector dsa
has error "^DKIM dsa\\._domainkey\\.good\\.test: unknown key type k=dsa" "k=dsa: error"
dns brevo good.test --selector v2
has error '^DKIM v2\._domainkey\.good\.test: v= must be DKIM1' "v=DKIM2: error"
dns brevo good.test --selector two
has error '^2 TXT records at two\._domainkey\.good\.test' "two records for one selector"
dns edconf good.test
is "$RC" 0 "an Ed25519 key matching its key_file: exit 0"
has ok '^DKIM ed\._domainkey\.good\.test: Ed25519 key' "Ed25519 key recognised"
has ok "^DKIM ed\\._domainkey\\.good\\.test: the record matches key_file $KEYS/ed\\.key" "... and compared with key_file"
dns algo good.test
has error '^DKIM ed\._domainkey\.good\.test: the record holds an Ed25519 key but \[dkim good\.test\] signs with rsa-sha256' "key type and algorithm differ"

# ---------------------------------------------------------------- DMARC

dns brevo nodmarc.test
is "$RC" 1 "no DMARC record: exit 1"
has error '^no DMARC record at _dmarc\.nodmarc\.test: .*"v=DMARC1; p=none; rua=mailto:dmarc-reports@nodmarc\.test"$' "no DMARC: a record to start with"
dns brevo notdmarc.test
has error '^no DMARC record at _dmarc\.notdmarc\.test' "a TXT record not starting v=DMARC1 is no DMARC record"
dns brevo none.test
is "$RC" 0 "p=none: warnings only, exit 0"
has warning '^DMARC: p=none: monitoring only, .*move to p=quarantine, then p=reject$' "p=none: monitoring only"
has warning '^DMARC: no rua=: .*add rua=mailto:dmarc-reports@none\.test$' "no rua: warning"
dns brevo sp.test
has warning '^DMARC: sp=none: subdomains of sp\.test are not protected' "sp=none beside p=reject"
dns brevo pct.test
has warning '^DMARC: pct=50: ' "pct below 100"
has ok '^DMARC: p=quarantine: ' "p=quarantine is fine"
dns brevo badp.test
has error '^DMARC: p=block is not a policy' "an unknown policy"
dns brevo nop.test
has error '^DMARC: no p= tag' "no p= tag"
dns brevo twodmarc.test
has error '^2 DMARC records at _dmarc\.twodmarc\.test' "two DMARC records: invalid"
dns brevo sub.good.test
has info '^no DMARC record at _dmarc\.sub\.good\.test: the one of good\.test applies' "a subdomain: its parent's record applies"
has ok '^DMARC: p=reject: ' "... and is checked"

# ---------------------------------------------------------------- failures

dns brevo broken.test
is "$RC" 75 "SERVFAIL/REFUSED for every lookup: exit 75 (EX_TEMPFAIL)"
has unknown '^DNS MX lookup of broken\.test failed: .*MX cannot be checked' "the failed lookup is named, no verdict"
hasnt error "... and no error is made up"
conf closed "hostname = host.good.test" "dns_servers = 127.0.0.1:$(free_port)"
sed -i "0,/^dns_servers = /{/^dns_servers = 127.0.0.1:$DNS_PORT\$/d}" "$SANDBOX/closed.conf"
t0=$(date +%s)
dns closed good.test
t1=$(date +%s)
is "$RC" 75 "no DNS server answers: exit 75"
ok "... within a bounded time ($((t1 - t0)) s)" [ $((t1 - t0)) -lt 20 ]

# ---------------------------------------------------------------- usage

dns brevo
is "$RC" 64 "no domain: exit 64"
like "$ERR" "give the DOMAIN" "... saying what is missing"
dns brevo 192.0.2.1
is "$RC" 64 "an IP address: exit 64"
dns brevo 'bad domain!'
is "$RC" 64 "a bad domain name: exit 64"
dns brevo good.test --selector 'a b'
is "$RC" 64 "a bad selector: exit 64"
dns brevo good.test --frobnicate
is "$RC" 64 "an unknown option: exit 64"
dns brevo good.test other.test
is "$RC" 64 "two domains: exit 64"
dns brevo --help
is "$RC/$OUT" "0/usage: tern dns DOMAIN [--selector S]" "--help: the usage, exit 0"
dns bad good.test
is "$RC" 78 "a bad config: exit 78"

done_testing
