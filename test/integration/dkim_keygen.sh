#!/bin/bash
# dkim_keygen: "tern dkim keygen" makes RSA and Ed25519 keys (PKCS#8,
# mode 0600, in a created 0750 directory), prints the TXT record whose
# p= is the key's public half (checked against openssl) split into
# strings of at most 255 bytes, refuses to overwrite without --force,
# rejects bad arguments with 64, and the keys sign mail that python's
# dkim module verifies against the printed record.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"
sandbox_init

mkdir -p "$QUEUE_DIR"
: >"$ALIASES"
KEYS=$SANDBOX/keys

keygen() { run "$TERN" dkim keygen "$@" </dev/null; }

# The lines of the last output: the unsplit value, and the zone line.
value_line() { grep '^v=DKIM1; ' <<<"$OUT"; }
zone_line() { grep "^$1\\._domainkey\\.$2\\. IN TXT ( " <<<"$OUT"; }

# The quoted strings of a zone line, one a line.
zone_strings() { grep -o '"[^"]*"' <<<"$1" | sed 's/^"//; s/"$//'; }

# The public key as the record must hold it, derived with openssl.
openssl_p()
{
	if [ "$2" = rsa ]; then
		openssl pkey -in "$1" -pubout -outform DER | base64 -w0
	else
		openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | base64 -w0
	fi
}

file_mode() { stat -c %a "$1"; }
file_sum() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }

# check_record DESC TYPE FILE SELECTOR DOMAIN NSTRINGS: the printed
# record matches the key, in both forms.
check_record()
{
	local desc=$1 type=$2 file=$3 sel=$4 dom=$5 nstr=$6 value zone long joined
	value=$(value_line)
	zone=$(zone_line "$sel" "$dom")
	like "$value" "^v=DKIM1; k=$type; p=[A-Za-z0-9+/]+=*$" \
		"$desc: the unsplit value is on a line of its own"
	is "${value#*; p=}" "$(openssl_p "$file" "$type")" \
		"$desc: p= is the public key openssl derives from the file"
	isnt "$zone" "" "$desc: the zone file line names $sel._domainkey.$dom."
	long=$(zone_strings "$zone" | awk 'length($0) > 255' | wc -l)
	is "$long" 0 "$desc: every quoted string is at most 255 bytes"
	is "$(zone_strings "$zone" | wc -l)" "$nstr" \
		"$desc: the value is cut into $nstr strings"
	joined=$(zone_strings "$zone" | tr -d '\n')
	is "$joined" "$value" "$desc: the strings join back to the value"
}

# dkim_verify KEYFILE TYPE SELECTOR DOMAIN RECORD [TAMPER]: sign a
# message with the key (python's dkim module), verify it with RECORD
# served for SELECTOR._domainkey.DOMAIN.  Prints True or False.
dkim_verify()
{
	"$PYTHON" - "$@" <<'EOF' 2>&1
import base64, sys
import dkim
keyfile, ktype, sel, dom, record = sys.argv[1:6]
tamper = len(sys.argv) > 6
pem = open(keyfile, "rb").read()
msg = (b"From: Alice <alice@" + dom.encode() + b">\r\n"
       b"To: bob@example.net\r\nSubject: DKIM keygen test\r\n"
       b"Date: Sun, 22 Nov 2026 01:54:10 +0000\r\n"
       b"Message-ID: <keygen@" + dom.encode() + b">\r\n\r\n"
       b"Hello from tern dkim keygen.\r\n")
if ktype == "ed25519":
    # dkimpy takes the bare 32-byte private key, the end of the PKCS#8 DER.
    der = base64.b64decode(b"".join(l for l in pem.splitlines()
                                    if not l.startswith(b"-----")))
    sig = dkim.sign(msg, sel.encode(), dom.encode(),
                    base64.b64encode(der[-32:]),
                    signature_algorithm=b"ed25519-sha256")
else:
    sig = dkim.sign(msg, sel.encode(), dom.encode(), pem)
signed = sig + msg
if tamper:
    signed = signed.replace(b"Hello", b"Jello")
want = (sel + "._domainkey." + dom + ".").lower().encode()
def dnsfunc(name, timeout=5):
    return record.encode() if name.lower() == want else None
print(dkim.verify(signed, dnsfunc=dnsfunc))
EOF
}

# ---------------------------------------------------------------- rsa
keygen example.org sel1 --out "$KEYS/rsa.key"
is "$RC" 0 "rsa keygen with --out: exit 0"
[ "$RC" = 0 ] || diag "$ERR"
is "$(file_mode "$KEYS/rsa.key")" 600 "rsa key file: mode 0600"
is "$(file_mode "$KEYS")" 750 "the missing key directory is created 0750"
like "$(openssl pkey -in "$KEYS/rsa.key" -noout -text 2>&1 | head -n 1)" \
	"^Private-Key: \\(2048 bit" "rsa key: openssl reads a 2048-bit RSA key (the default)"
is "$(head -n 1 "$KEYS/rsa.key")" "-----BEGIN PRIVATE KEY-----" \
	"rsa key: PKCS#8 PEM"
like "$OUT" "private key: $KEYS/rsa\\.key \\(rsa, 2048 bits\\)" \
	"rsa keygen: stdout names the key file"
like "$OUT" "record name: sel1\\._domainkey\\.example\\.org"$'\n' \
	"rsa keygen: stdout names the record"
unlike "$ERR" "weak" "rsa 2048: no weak-key warning"
like "$OUT" $'\n\n'"\\[dkim example\\.org\\]"$'\n'"selector = sel1"$'\n'"key_file = $KEYS/rsa\\.key\$" \
	"rsa keygen: the section to add to the config is printed"
check_record "rsa 2048" rsa "$KEYS/rsa.key" sel1 example.org 3
RSA_VALUE=$(value_line)
is "$(ls -A "$KEYS" | grep -c '^\.')" 0 "no temporary file is left beside the key"

# ---------------------------------------------------------------- ed25519
keygen example.org ed1 --type ed25519 --out "$KEYS/ed.key"
is "$RC" 0 "ed25519 keygen: exit 0"
is "$(file_mode "$KEYS/ed.key")" 600 "ed25519 key file: mode 0600"
like "$(openssl pkey -in "$KEYS/ed.key" -noout -text 2>&1 | head -n 1)" \
	"^ED25519 Private-Key" "ed25519 key: openssl reads an Ed25519 key"
is "$(head -n 1 "$KEYS/ed.key")" "-----BEGIN PRIVATE KEY-----" \
	"ed25519 key: PKCS#8 PEM"
like "$OUT" "private key: $KEYS/ed\\.key \\(ed25519\\)" \
	"ed25519 keygen: stdout names the key file"
check_record "ed25519" ed25519 "$KEYS/ed.key" ed1 example.org 2
ED_VALUE=$(value_line)
like "$OUT" "selector = ed1"$'\n'"key_file = $KEYS/ed\\.key"$'\n'"algorithm = ed25519-sha256\$" \
	"ed25519 keygen: the section to add says algorithm = ed25519-sha256"
is "$(printf '%s' "${ED_VALUE#*; p=}" | base64 -d | wc -c)" 32 \
	"ed25519: p= holds the bare 32-byte public key (RFC 8463)"

keygen example.org. ed2 --out="$KEYS/ed2.key" --type=ED25519
is "$RC" 0 "--opt=value forms, a final dot on the domain: exit 0"
like "$OUT" "record name: ed2\\._domainkey\\.example\\.org"$'\n' \
	"the domain's final dot is dropped from the record name"

# ---------------------------------------------------------------- sizes
keygen example.org big --bits 4096 --out "$KEYS/big.key"
is "$RC" 0 "rsa --bits 4096: exit 0"
like "$(openssl pkey -in "$KEYS/big.key" -noout -text 2>&1 | head -n 1)" \
	"^Private-Key: \\(4096 bit" "rsa --bits 4096: openssl reads 4096 bits"
check_record "rsa 4096" rsa "$KEYS/big.key" big example.org 4

keygen example.org small --bits 1024 --out "$KEYS/small.key"
is "$RC" 0 "rsa --bits 1024: allowed, exit 0"
like "$ERR" "warning: 1024-bit RSA keys are weak: receivers may" \
	"rsa --bits 1024: warns that receivers may treat it as weak"
like "$(openssl pkey -in "$KEYS/small.key" -noout -text 2>&1 | head -n 1)" \
	"^Private-Key: \\(1024 bit" "rsa --bits 1024: openssl reads 1024 bits"

# ---------------------------------------------------------------- overwrite
before=$(file_sum "$KEYS/rsa.key")
keygen example.org sel1 --out "$KEYS/rsa.key"
is "$RC" 73 "an existing key file: exit 73"
like "$ERR" "rsa\\.key exists; remove it or choose another selector" \
	"an existing key file: the message names it and what to do"
is "$(file_sum "$KEYS/rsa.key")" "$before" "an existing key file is left alone"
is "$OUT" "" "an existing key file: no record printed"

keygen example.org sel1 --out "$KEYS/rsa.key" --force
is "$RC" 0 "--force replaces an existing key: exit 0"
isnt "$(file_sum "$KEYS/rsa.key")" "$before" "--force: the file holds a new key"
is "$(file_mode "$KEYS/rsa.key")" 600 "--force: the new key is mode 0600 too"
is "${OUT:+x}" x "--force: the new record is printed"
check_record "rsa --force" rsa "$KEYS/rsa.key" sel1 example.org 3
RSA_VALUE=$(value_line)
is "$(ls -A "$KEYS" | grep -c '^\.')" 0 "--force: no temporary file is left"

keygen example.org sel1 --out "$KEYS"
is "$RC" 73 "--out naming a directory: exit 73"
like "$ERR" "is a directory; --out names the key file" \
	"--out naming a directory: explained"

# ---------------------------------------------------------------- usage
# bad DESC PATTERN ARGS...: exit 64, the message matches, no key written.
bad()
{
	local desc=$1 pattern=$2
	shift 2
	keygen "$@" --out "$KEYS/bad.key"
	is "$RC" 64 "$desc: exit 64"
	like "$ERR" "$pattern" "$desc: the message explains"
	[ -e "$KEYS/bad.key" ] && fail "$desc: a key was written anyway"
}
bad "a domain with '_'" "'exa_mple\\.org' is not a domain name" exa_mple.org s1
bad "an unqualified domain" "'localhost' is not a full domain name" localhost s1
bad "an IP address" "'192\\.0\\.2\\.1' is an IP address" 192.0.2.1 s1
bad "a domain with an empty label" "empty label" example..org s1
bad "a selector with '/'" "bad selector 'a/b': use only letters, digits" example.org a/b
bad "a selector with a space" "bad selector 'a b'" example.org "a b"
bad "an empty selector" "selector is empty" example.org ""
bad "--bits 512" "--bits 512: RSA keys for DKIM have 1024 to 4096 bits" example.org s1 --bits 512
bad "--bits 8192" "--bits 8192" example.org s1 --bits 8192
bad "--bits abc" "bad --bits 'abc'" example.org s1 --bits abc
bad "--bits with ed25519" "--bits is for RSA keys" example.org s1 --type ed25519 --bits 2048
bad "--type dsa" "unknown key type 'dsa'; use --type rsa or --type ed25519" example.org s1 --type dsa
bad "an unknown option" "unknown option '--frob'" example.org s1 --frob
bad "no selector" "give the SELECTOR" example.org
bad "a third argument" "unexpected argument 'extra'" example.org s1 extra
keygen example.org s1 --out
is "$RC" 64 "--out without a value: exit 64"
run "$TERN" dkim </dev/null
is "$RC" 64 "tern dkim without a command: exit 64"
like "$ERR" "usage: tern dkim keygen" "tern dkim: usage on stderr"
run "$TERN" dkim frob </dev/null
is "$RC" 64 "tern dkim frob: exit 64"
like "$ERR" "unknown command 'frob'" "tern dkim frob: named"
run "$TERN" dkim keygen --help </dev/null
is "$RC" 0 "tern dkim keygen --help: exit 0"
like "$OUT" "--type rsa\\|ed25519" "tern dkim keygen --help: usage on stdout"
run "$TERN" help </dev/null
like "$OUT" "dkim keygen DOMAIN SELECTOR" "tern help lists dkim keygen"

# ---------------------------------------------------------------- paths
# A [dkim] section with this selector: its key_file is the default.
write_config "[dkim example.org]" "selector = cfgsel" \
	"key_file = $SANDBOX/cfgkeys/example.key" "algorithm = ed25519-sha256"
keygen example.org cfgsel --type ed25519
is "$RC" 0 "without --out, a matching [dkim] section: exit 0"
ok "the key is written to the section's key_file" test -f "$SANDBOX/cfgkeys/example.key"
like "$OUT" "private key: $SANDBOX/cfgkeys/example\\.key" "the section's key_file is named"
like "$OUT" "section of .*tern\\.conf names this key" "the section is said to use it"
keygen example.org newsel --type ed25519 --out "$KEYS/new.key"
like "$OUT" "in \\[dkim example\\.org\\] of .*\\(line [0-9]+\\), set"$'\n\n'"selector = newsel"$'\n'"key_file = $KEYS/new\\.key" \
	"a new selector: the config lines to change are printed"
write_config "[dkim example.org]" "selector = cfgsel" \
	"key_file = $SANDBOX/cfgkeys/rsa-section.key"
keygen example.org cfgsel --type ed25519
like "$OUT" "names this key but is for"$'\n'"rsa-sha256 keys: .*algorithm = ed25519-sha256" \
	"an ed25519 key for an rsa-sha256 section: says to set algorithm"
write_config

# The built-in default, SYSCONFDIR/tern/dkim/DOMAIN.SELECTOR.key, in a
# mount namespace where SYSCONFDIR is a sandbox directory.
run "$TERN" help </dev/null
SYSCONF=$(sed -n 's|.*else \(/.*\)/tern/tern\.conf\.$|\1|p' <<<"$OUT")
if [ -n "$SYSCONF" ] && [ -d "$SYSCONF" ] && mount_ns_works; then
	mkdir -p "$SANDBOX/etc"
	ns_run "mount --bind '$SANDBOX/etc' '$SYSCONF'" \
		"$TERN" dkim keygen example.org defsel --type ed25519 </dev/null
	is "$RC" 0 "without --out or a section: exit 0"
	like "$OUT" "private key: $SYSCONF/tern/dkim/example\\.org\\.defsel\\.key" \
		"the default key file is SYSCONFDIR/tern/dkim/DOMAIN.SELECTOR.key"
	ok "the key is written there" test -f "$SANDBOX/etc/tern/dkim/example.org.defsel.key"
	unlike "$OUT" "key_file = " "the default path needs no key_file line"
else
	for t in 1 2 3 4; do
		skip "keygen to the default path ($t)" "no mount namespace or no SYSCONFDIR $SYSCONF"
	done
fi

# As root, the key (and the directories made for it) go to run_user.
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null &&
	command -v setpriv >/dev/null; then
	write_config "run_user = nobody"
	keygen example.org own --type ed25519 --out "$KEYS/own/own.key"
	is "$RC" 0 "as root with run_user nobody: exit 0"
	is "$(stat -c %U "$KEYS/own/own.key")" nobody "the key is chowned to run_user"
	is "$(stat -c %g "$KEYS/own")" "$(id -g nobody)" \
		"the created directory is in run_user's group"
	like "$OUT" "owner: nobody \\(run_user\\), so ternd can read the key" \
		"the chown is reported"
	write_config "run_user = no-such-user-tern-test"
	keygen example.org own2 --type ed25519 --out "$KEYS/own2.key"
	like "$ERR" "run_user no-such-user-tern-test does not exist" \
		"as root without run_user: a warning says ternd cannot read it"
	write_config
	# Someone who may not write the key's directory is told what to do.
	mkdir -p "$SANDBOX/rootonly"
	chmod 755 "$SANDBOX/rootonly"
	run setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" \
		--clear-groups "$TERN" dkim keygen example.org s1 \
		--out "$SANDBOX/rootonly/x.key" </dev/null
	is "$RC" 73 "a directory the user may not write: exit 73"
	like "$ERR" "rootonly: Permission denied"$'\n'"tern: run as root, or write the key elsewhere with --out" \
		"a directory the user may not write: named, and what to do"
else
	for t in 1 2 3 4 5 6 7; do
		skip "run_user and permissions ($t)" "not root, or no user nobody or setpriv"
	done
fi

# ---------------------------------------------------------------- dkim
is "$(dkim_verify "$KEYS/rsa.key" rsa sel1 example.org "$RSA_VALUE")" True \
	"rsa: a message signed with the key verifies against the printed record"
is "$(dkim_verify "$KEYS/ed.key" ed25519 ed1 example.org "$ED_VALUE")" True \
	"ed25519: a message signed with the key verifies against the printed record"
is "$(dkim_verify "$KEYS/rsa.key" rsa sel1 example.org "$RSA_VALUE" tamper)" False \
	"rsa: a changed body does not verify (the check is real)"
is "$(dkim_verify "$KEYS/ed.key" ed25519 ed1 example.org "$ED_VALUE" tamper)" False \
	"ed25519: a changed body does not verify"
OTHER_ED=$(keygen example.org ed3 --type ed25519 --out "$KEYS/ed3.key"; value_line)
is "$(dkim_verify "$KEYS/ed.key" ed25519 ed1 example.org "$OTHER_ED")" False \
	"ed25519: another key's record does not verify"

done_testing
