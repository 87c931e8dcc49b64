#!/bin/bash
# ternd_dkim: ternd signs outgoing mail with DKIM ([dkim DOMAIN]) on the
# relay path, and an independent implementation (python3-dkim, given the
# public key as the DNS TXT record) verifies what the relay received:
# rsa-sha256 and ed25519-sha256, From oversigned, relaxed/relaxed; after
# a relay's `from` rewrite the key of the rewritten domain signs; a
# From domain without a [dkim] section goes out unsigned.  A key file
# others can read stops ternd from starting.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"

ternd_sandbox_init
plan 26

KEYS=$SANDBOX/keys
mkdir -p "$KEYS"

# key NAME rsa|ed25519: a private key file and its TXT record value
# in $KEYS/NAME.txt (p= as RFC 6376 / RFC 8463 want it).
key()
{
	local f=$KEYS/$1.key p
	if [ "$2" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
			-out "$f" 2>/dev/null
		p=$(openssl pkey -in "$f" -pubout -outform DER | base64 -w0)
		printf 'v=DKIM1; k=rsa; p=%s' "$p" >"$KEYS/$1.txt"
	else
		openssl genpkey -algorithm ED25519 -out "$f" 2>/dev/null
		p=$(openssl pkey -in "$f" -pubout -outform DER | tail -c 32 |
			base64 -w0)
		printf 'v=DKIM1; k=ed25519; p=%s' "$p" >"$KEYS/$1.txt"
	fi
	chmod 0600 "$f"
	give "$f"
}
key ex rsa
key ed ed25519
key rw rsa

# verify FILE: python3-dkim checks the message a peer stored, the key
# record looked up in $KEYS by selector (test/lib/dkim_verify.py).
verify()
{
	run /usr/bin/python3 "$top_srcdir/test/lib/dkim_verify.py" "$1" "$KEYS"
}

peer_start main
P=${PEER_PORT[main]}
peer_start rw
PRW=${PEER_PORT[rw]}
ternd_config "$(relay main "$P" "tls = none" "priority = 10")" \
	"[dkim example.org]" "selector = ex" "key_file = $KEYS/ex.key" \
	"[dkim ed.example]" "selector = ed" "key_file = $KEYS/ed.key" \
	"algorithm = ed25519-sha256" \
	"[dkim rewritten.example]" "selector = rw" "key_file = $KEYS/rw.key"
ok "ternd starts with three [dkim] sections" ternd_start

# ---------------------------------------------------------------- rsa

tsm_ok "submit from example.org" $'From: Alice <alice@example.org>\nTo: bob@example.com\nSubject: signed rsa\n\nhello\n\n\n' -i bob@example.com
if wait_for 'peer_find main "signed rsa" >/dev/null' 20; then
	verify "$(peer_find main "signed rsa")"
	like "$OUT" "^ok " "rsa-sha256: python3-dkim verifies the signature"
	like "$OUT" " d=example\.org s=ex a=rsa-sha256 " "d= is the From domain, s= the section's selector"
	like "$OUT" " c=relaxed/relaxed " "relaxed/relaxed canonicalization"
	is "$(printf '%s' "$OUT" | sed 's/.* h=//' | tr ':' '\n' | grep -c '^from$')" 2 \
		"From is oversigned (listed twice in h=)"
	f=$(peer_find main "signed rsa")
	is "$(tr -d '\r' <"$f" | sed -n '/^$/,$p' | sed -n '2p' | cut -c1-15)" "DKIM-Signature:" \
		"the signature is the first field, before the Received header"
else
	for i in 1 2 3 4 5; do fail "rsa-signed message arrives" "not at the peer"; done
fi

# ---------------------------------------------------------------- ed25519

tsm_ok "submit from ed.example" $'From: ed@ED.Example\nTo: bob@example.com\nSubject: signed ed25519\n\nhello ed\n' -i bob@example.com
if wait_for 'peer_find main "signed ed25519" >/dev/null' 20; then
	verify "$(peer_find main "signed ed25519")"
	like "$OUT" "^ok d=ed\.example s=ed a=ed25519-sha256 " \
		"ed25519-sha256 (RFC 8463): verified; the From domain matched case-insensitively"
else
	fail "ed25519-signed message arrives" "not at the peer"
fi

# ---------------------------------------------------------------- long lines

# Lines over SMTP's 998 octets are folded (header) or cut (body) by the
# SMTP client; the signature must cover them as they arrive.  A body
# line of 2500 octets starting with a dot (dot-stuffing too), and a
# header field of 1500 octets with spaces to fold at.
long_body=".$(head -c 2500 /dev/zero | tr '\0' 'x')"
long_hdr="X-Long: $(for i in $(seq 1 150); do printf 'word%04d ' "$i"; done)"
tsm_ok "submit a message with long lines" "From: alice@example.org
Subject: signed long lines
$long_hdr

$long_body
short
" -i bob@example.com
if wait_for 'peer_find main "signed long lines" >/dev/null' 20; then
	f=$(peer_find main "signed long lines")
	is "$(tr -d '\r' <"$f" | awk 'length > 998' | wc -l)" 0 \
		"long lines: none over 998 octets arrived"
	verify "$f"
	like "$OUT" "^ok d=example\.org " \
		"long lines folded and cut after signing: python3-dkim verifies"
else
	for i in 1 2; do fail "long-line message arrives" "not at the peer"; done
fi

# ---------------------------------------------------------------- unsigned

tsm_ok "submit from a domain without a key" $'From: carol@other.example\nSubject: not signed\n\nplain\n' -i bob@example.com
if wait_for 'peer_find main "not signed" >/dev/null' 20; then
	f=$(peer_find main "not signed")
	nok "no [dkim] for other.example: no DKIM-Signature" grep -q -i '^DKIM-Signature:' "$f"
else
	fail "unsigned message arrives" "not at the peer"
fi

# A second From added after signing breaks the signature (oversigning).
if f=$(peer_find main "signed rsa"); then
	awk 'BEGIN { done = 0 } /^Subject: signed rsa/ && !done { print "From: mallory@evil.example\r"; done = 1 } { print }' \
		"$f" >"$SANDBOX/tampered.msg"
	verify "$SANDBOX/tampered.msg"
	like "$OUT" "^fail" "a From added after signing: verification fails"
else
	fail "tamper check" "no signed message"
fi

# ---------------------------------------------------------------- from rewrite

# Through a relay that rewrites From to the account's own address, the
# rewritten domain's key signs.
ternd_reset "$(relay rw "$PRW" "tls = none" "from = account@rewritten.example")" \
	"[dkim example.org]" "selector = ex" "key_file = $KEYS/ex.key" \
	"[dkim rewritten.example]" "selector = rw" "key_file = $KEYS/rw.key"
tsm_ok "submit through the rewriting relay" $'From: alice@example.org\nSubject: rewritten and signed\n\nvia rw\n' -i bob@example.com
if wait_for 'peer_find rw "rewritten and signed" >/dev/null' 20; then
	f=$(peer_find rw "rewritten and signed")
	verify "$f"
	like "$OUT" "^ok d=rewritten\.example s=rw a=rsa-sha256 " \
		"after the relay's from rewrite the rewritten domain's key signs, and it verifies"
	is "$(msg_addr "$f" From)" "|account@rewritten.example" "the From the relay sees is the rewritten one"
	like "$(msg_header "$f" Reply-To)" "alice@example\.org" "the original From is in Reply-To (signed with it)"
else
	for i in 1 2 3; do fail "rewritten message arrives" "not at the peer"; done
fi

# ---------------------------------------------------------------- reload, bad keys

log_mark
chmod 0644 "$KEYS/rw.key"
kill -HUP "$TERND_PID"
ok "SIGHUP with a key others can read: the old keys stay, and the log says why" \
	wait_for 'log_has "DKIM keys not reloaded: .*rw\.key" new' 10
ok "ternd still runs" ternd_alive
tsm_ok "" $'From: alice@example.org\nSubject: after bad reload\n\nstill signed\n' -i bob@example.com
if wait_for 'peer_find rw "after bad reload" >/dev/null' 20; then
	verify "$(peer_find rw "after bad reload")"
	like "$OUT" "^ok d=rewritten\.example " "mail is still signed with the keys loaded before"
else
	fail "message after a bad reload arrives" "not at the peer"
fi
ternd_stop
is "$TERND_RC" 0 "ternd exits 0"

ternd_config "$(relay main "$P" "tls = none")" \
	"[dkim rewritten.example]" "selector = rw" "key_file = $KEYS/rw.key"
run "${AS_USER[@]}" "$TERND" -c "$CONF" -f </dev/null
is "$RC" 78 "a key file others can read: ternd does not start (78)"
like "$ERR" "rw\.key.*(chmod|readable)" "... and says which file and what to do"
chmod 0600 "$KEYS/rw.key"

ternd_config "$(relay main "$P" "tls = none")" \
	"[dkim rewritten.example]" "selector = rw" "key_file = $KEYS/ed.key"
run "${AS_USER[@]}" "$TERND" -c "$CONF" -f </dev/null
is "$RC" 78 "an ed25519 key in an rsa-sha256 section: ternd does not start (78)"

done_testing
