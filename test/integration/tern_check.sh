#!/bin/bash
# tern_check: the cross-checks of "tern check" — each message provoked
# by a real misconfiguration (files made with the modes and contents
# that trip it), naming file:line of the section and the fix; errors
# make the exit status 78, warnings alone leave it 0.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"
sandbox_init

mkdir -p "$QUEUE_DIR"
: >"$ALIASES"
CDIR=$SANDBOX/conf
F=$SANDBOX/files
mkdir -p "$CDIR" "$F"
ME=$(id -un)

# mkconf NAME [LINE...]: six base lines (run_user is the current user,
# who can read every file made here), then LINEs: the first extra line
# is line 7.  A base key given again comments its base line out.
mkconf()
{
	local f=$CDIR/$1.conf line
	shift
	{
		for line in "log = stderr" "hostname = host.example.org" \
			"origin = example.org" "queue_dir = $QUEUE_DIR" \
			"aliases = $ALIASES" "run_user = $ME"; do
			if printf '%s\n' "$@" | grep -q "^${line%% *} *="; then
				echo "# base ${line%% *} overridden"
			else
				echo "$line"
			fi
		done
		for line in "$@"; do printf '%s\n' "$line"; done
	} >"$f"
	echo "$f"
}

check() { run "$TERN" -c "$1" check </dev/null; }

# err DESC LINE PATTERN CONFIG-LINE...: exit 78, and stderr holds
# "NAME.conf:LINE: PATTERN" (an error: no "warning:").
# warn DESC LINE PATTERN CONFIG-LINE...: exit 0, stderr holds
# "NAME.conf:LINE: warning: PATTERN", stdout counts the warning.
n=0
# A LINE of "" stands for a finding about the whole file ("NAME.conf: ").
where() { if [ -n "$1" ]; then echo "c$n\\.conf:$1: "; else echo "c$n\\.conf: "; fi; }
err()
{
	local desc=$1 line=$2 pattern=$3 f
	shift 3
	n=$((n + 1))
	f=$(mkconf "c$n" "$@")
	check "$f"
	is "$RC" 78 "$desc: exit 78"
	like "$ERR" "$(where "$line")\\[[^w].*$pattern" "$desc: file:$line, an error, the fix"
	like "$ERR" "c$n\\.conf: [1-9][0-9]* errors?" "$desc: the summary counts it"
}
warn()
{
	local desc=$1 line=$2 pattern=$3 f
	shift 3
	n=$((n + 1))
	f=$(mkconf "c$n" "$@")
	check "$f"
	is "$RC" 0 "$desc: exit 0 (a warning)"
	like "$ERR" "$(where "$line")warning: .*$pattern" "$desc: file:$line, a warning, the fix"
	like "$OUT" "OK \\(.*; [1-9][0-9]* warnings?\\)" "$desc: OK, with the warnings counted"
}
# clean DESC CONFIG-LINE...: exit 0, nothing on stderr.
clean()
{
	local desc=$1 f
	shift
	n=$((n + 1))
	f=$(mkconf "c$n" "$@")
	check "$f"
	is "$RC" 0 "$desc: exit 0"
	is "$ERR" "" "$desc: no finding"
}

# ---------------------------------------------------------------- files
echo "s3cret" >"$F/pass"
cp "$F/pass" "$F/secret"
echo 'user:$6$salt$hash' >"$F/users"
: >"$F/empty"
mkdir "$F/dir"
cp "$F/pass" "$F/open"
cp "$F/pass" "$F/otherw"
cp "$F/pass" "$F/groupw"
cp "$F/users" "$F/users-open"
chmod 600 "$F/pass" "$F/secret" "$F/users" "$F/empty"
chmod 644 "$F/open" "$F/users-open"
chmod 602 "$F/otherw"
chmod 620 "$F/groupw"

openssl genpkey -algorithm ed25519 -out "$F/ed.key" 2>/dev/null
for b in 512 1024 2048; do
	openssl genpkey -algorithm rsa -pkeyopt "rsa_keygen_bits:$b" \
		-out "$F/rsa$b.key" 2>/dev/null
done
cp "$F/ed.key" "$F/ed-open.key"
ln -s "$F/ed.key" "$F/ed-link.key"
echo "not a key" >"$F/text.key"
chmod 600 "$F"/*.key
chmod 644 "$F/ed-open.key"

# Certificates: a good one (a year), one expiring in 5 days, an expired
# one, and a key that belongs to none of them.
cert() # NAME DAYS-FROM DAYS-TO
{
	/usr/bin/python3 - "$F/$1" "$2" "$3" <<'EOF'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
path, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.now(datetime.timezone.utc)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.example.org")])
c = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
     .public_key(key.public_key()).serial_number(x509.random_serial_number())
     .not_valid_before(now + datetime.timedelta(days=start))
     .not_valid_after(now + datetime.timedelta(days=end))
     .sign(key, hashes.SHA256()))
open(path + ".pem", "wb").write(c.public_bytes(serialization.Encoding.PEM))
open(path + ".key", "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
EOF
	chmod 600 "$F/$1.key"
}
cert good -1 365
cert soon -1 5
cert expired -30 -1
cert other -1 365

relay=("[relay r]" "host = smtp.example.net")
authed=("${relay[@]}" "username = u@example.net" "password_file = $F/pass")
lan=("[listen lan]" "address = 127.0.0.1:2525")
tlslan=("${lan[@]}" "tls = starttls" "tls_cert_file = $F/good.pem")

# ---------------------------------------------------------------- exit codes
f=$(mkconf clean "${authed[@]}" "port = 465" "from = u@example.net" \
	"${tlslan[@]}" "tls_key_file = $F/good.key" "auth = optional" \
	"users_file = $F/users" "networks = 192.168.1.0/24, fd00::/8" \
	"[dkim example.org]" "selector = s1" "key_file = $F/ed.key" \
	"algorithm = ed25519-sha256" \
	"[dkim example.net]" "selector = s2" "key_file = $F/rsa2048.key")
check "$f"
is "$RC" 0 "a clean config: exit 0"
is "$ERR" "" "a clean config: no finding"
like "$OUT" "clean\\.conf: OK \\(1 relay, 1 listener, 2 DKIM domains, delivery relay\\)$" \
	"a clean config: OK, no warnings mentioned"

f=$(mkconf warnings "${authed[@]}" "tls_verify = no" "max_per_hour = 10" "max_per_day = 5")
check "$f"
is "$RC" 0 "warnings only: exit 0"
like "$OUT" "OK \\(1 relay, .*; 2 warnings\\)" "warnings only: OK, 2 warnings counted"
is "$(grep -c 'warnings\.conf:7: warning: ' <<<"$ERR")" 2 "warnings only: both at the relay's line 7"

f=$(mkconf errors "${relay[@]}" "port = 465" "tls = starttls" "tls_verify = no" \
	"[relay s]" "host = h.example.net" "username = a@example.net" \
	"[dkim example.org]" "selector = s" "key_file = $F/missing.key")
check "$f"
is "$RC" 78 "errors and warnings: exit 78"
is "$OUT" "" "errors: no OK line"
like "$ERR" "errors\\.conf:7: \\[relay r\\]: port 465" "errors: the first relay at line 7"
like "$ERR" "errors\\.conf:12: \\[relay s\\]: username" "errors: the second relay at line 12"
like "$ERR" "errors\\.conf:15: \\[dkim example.org\\]: key_file" "errors: the DKIM section at line 15"
like "$ERR" "errors\\.conf: 3 errors, 1 warning$" "errors: the summary counts 3 errors, 1 warning"

# ---------------------------------------------------------------- relays: TLS
err "465 with starttls" 7 "port 465 expects implicit TLS .*set tls = implicit" \
	"${authed[@]}" "port = 465" "tls = starttls"
err "465 with opportunistic" 7 "port 465 expects implicit TLS .*tls = opportunistic" \
	"${relay[@]}" "port = 465" "tls = opportunistic"
err "587 with implicit" 7 "port 587 starts in plain text .*set tls = starttls, or port = 465" \
	"${authed[@]}" "port = 587" "tls = implicit"
err "25 with implicit" 7 "port 25 starts in plain text" \
	"${relay[@]}" "port = 25" "tls = implicit"
err "auth without TLS" 7 "never sends a password .*set tls = starttls or implicit" \
	"${authed[@]}" "tls = none"
err "tls_ca_file missing" 7 "tls_ca_file $F/nope.pem: No such file" \
	"${relay[@]}" "tls_ca_file = $F/nope.pem"
warn "tls_verify = no" 7 "tls_verify = no: .*give its CA in tls_ca_file" \
	"${authed[@]}" "tls_verify = no"
warn "auth with opportunistic TLS" 7 "tls = opportunistic: .*set tls = starttls" \
	"${authed[@]}" "tls = opportunistic"
warn "auth on port 25" 7 "auth on port 25: .*set port = 587 or 465" \
	"${authed[@]}" "port = 25"
clean "465 implicit by default, 587 starttls by default" \
	"${authed[@]}" "port = 465" "[relay s]" "host = s.example.net" "port = 587"

# ---------------------------------------------------------------- relays: secrets
err "password_file missing" 7 "password_file $F/nope: No such file .*create it \\(mode 600\\)" \
	"${relay[@]}" "username = u@example.net" "password_file = $F/nope"
err "password_file a directory" 7 "password_file $F/dir is not a regular file" \
	"${relay[@]}" "username = u@example.net" "password_file = $F/dir"
err "password_file readable by others" 7 "password_file $F/open can be read or changed by others \\(mode 0644\\), and ternd refuses it: run chmod o= $F/open" \
	"${relay[@]}" "username = u@example.net" "password_file = $F/open"
err "password_file writable by others" 7 "others \\(mode 0602\\)" \
	"${relay[@]}" "username = u@example.net" "password_file = $F/otherw"
err "password_file empty" 7 "password_file $F/empty is empty" \
	"${relay[@]}" "username = u@example.net" "password_file = $F/empty"
warn "password_file writable by its group" 7 "changed by its group \\(mode 0620\\): run chmod g-w" \
	"${relay[@]}" "username = u@example.net" "password_file = $F/groupw"
err "username without a secret" 7 "username u@example.net has no secret: .*set password_file" \
	"${relay[@]}" "username = u@example.net"
err "auth without username (config.c)" 7 "auth needs a username" \
	"${relay[@]}" "auth = plain"
warn "auth = none with a username" 7 "auth = none, so username, password_file and oauth2_\\* are not used" \
	"${relay[@]}" "auth = none" "username = u@example.net"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	err "password_file run_user cannot read" 8 "password_file $F/pass cannot be read by run_user nobody.*chown nobody $F/pass" \
		"run_user = nobody" "${authed[@]}"
	warn "run_user that does not exist" 7 "run_user tern-no-such-user does not exist" \
		"run_user = tern-no-such-user"
else
	skip "run_user cannot read the password_file" "needs root and a nobody account"
	skip "run_user that does not exist" "needs root"
fi

# ---------------------------------------------------------------- relays: OAuth2
xo=("${relay[@]}" "username = u@example.net" "auth = xoauth2")
err "xoauth2 without a token source" 7 "auth = xoauth2 needs a token: set oauth2_token_url" \
	"${xo[@]}"
err "xoauth2 with both token sources" 7 "both oauth2_token_command and oauth2_token_url are set; keep one" \
	"${xo[@]}" "oauth2_token_command = /bin/true" "oauth2_token_url = https://t.example/token" \
	"oauth2_client_id = id" "oauth2_client_secret_file = $F/secret"
err "token URL without a client id" 7 "oauth2_token_url needs oauth2_client_id" \
	"${xo[@]}" "oauth2_token_url = https://t.example/token" "oauth2_client_secret_file = $F/secret"
err "token URL without a client secret" 7 "oauth2_token_url needs oauth2_client_secret_file" \
	"${xo[@]}" "oauth2_token_url = https://t.example/token" "oauth2_client_id = id"
err "token URL over http" 7 "oauth2_token_url http://t.example/token is not an https:// URL" \
	"${xo[@]}" "oauth2_token_url = http://t.example/token" "oauth2_client_id = id" \
	"oauth2_client_secret_file = $F/secret"
err "client secret readable by others" 7 "oauth2_client_secret_file $F/open can be read or changed by others" \
	"${xo[@]}" "oauth2_token_url = https://t.example/token" "oauth2_client_id = id" \
	"oauth2_client_secret_file = $F/open"
warn "xoauth2 with a password_file" 7 "password_file is not used with auth = xoauth2" \
	"${xo[@]}" "oauth2_token_command = /bin/true" "password_file = $F/pass"
warn "oauth2 keys with auth = plain" 7 "oauth2_\\* keys are used only with auth = xoauth2" \
	"${authed[@]}" "auth = plain" "oauth2_scope = x"
clean "auth = auto with a token command" \
	"${relay[@]}" "username = u@example.net" "oauth2_token_command = /bin/true"

# ---------------------------------------------------------------- relays: From, quotas, twins
err "from that is not an address" 7 "from 'Ops Team' is not an email address: write from = user@example.org" \
	"${authed[@]}" "from = Ops Team"
warn "from_name without from" 7 "from_name is used only with from" \
	"${authed[@]}" "from_name = Ops"
warn "hourly quota above the daily one" 7 "max_per_hour \\(100\\) is above max_per_day \\(50\\)" \
	"${authed[@]}" "max_per_hour = 100" "max_per_day = 50"
warn "two relays on one server and account" 11 "same host, port and username as \\[relay r\\] \\(line 7\\)" \
	"${authed[@]}" "[relay twin]" "host = SMTP.example.net" "username = u@example.net" \
	"password_file = $F/pass"
warn "delivery = direct with relays" 7 "delivery = direct, so the \\[relay\\] sections are not used" \
	"delivery = direct" "${relay[@]}"

# ---------------------------------------------------------------- presets
err "sendgrid with another username" 7 "preset sendgrid: username is literally apikey" \
	"[relay r]" "preset = sendgrid" "username = me@example.org" "password_file = $F/pass"
clean "sendgrid with apikey" \
	"[relay r]" "preset = sendgrid" "username = apikey" "password_file = $F/pass"
warn "office365 with a password" 7 "preset office365: .*basic auth .*auth = xoauth2" \
	"[relay r]" "preset = office365" "username = u@example.org" "password_file = $F/pass" \
	"from = u@example.org"
warn "outlook with a password" 7 "preset outlook: .*auth = xoauth2" \
	"[relay r]" "preset = outlook" "username = u@outlook.com" "password_file = $F/pass" \
	"from = u@outlook.com"
warn "qq without from" 7 "preset qq refuses mail whose From is not the account: set from = 12345@qq.com" \
	"[relay r]" "preset = qq" "username = 12345@qq.com" "password_file = $F/pass"
warn "163 with another from" 7 "preset 163 .*from ops@example.org is not username me@163.com: set from = me@163.com" \
	"[relay r]" "preset = 163" "username = me@163.com" "password_file = $F/pass" \
	"from = ops@example.org"
clean "qq with from = the account (any case)" \
	"[relay r]" "preset = qq" "username = 12345@qq.com" "password_file = $F/pass" \
	"from = 12345@QQ.com"
clean "ses with a region" \
	"[relay r]" "preset = ses:eu-west-1" "username = AKIAEXAMPLE" "password_file = $F/pass"

# ---------------------------------------------------------------- listeners
err "open relay: 0.0.0.0/0 without AUTH" 7 "networks holds 0.0.0.0/0, so anyone may send .*open relay.*set auth = required" \
	"${lan[@]}" "networks = 192.168.1.0/24, 0.0.0.0/0"
err "open relay: ::/0 with optional AUTH" 7 "networks holds ::/0, .*open relay" \
	"${tlslan[@]}" "tls_key_file = $F/good.key" "auth = optional" "users_file = $F/users" \
	"networks = ::/0"
clean "0.0.0.0/0 with auth = required" \
	"${tlslan[@]}" "tls_key_file = $F/good.key" "auth = required" "users_file = $F/users" \
	"networks = 0.0.0.0/0"
warn "a network far wider than a LAN" 7 "networks holds 0.0.0.0/1, far wider than a LAN" \
	"${lan[@]}" "networks = 0.0.0.0/1"
err "users_file readable by others" 7 "users_file $F/users-open can be read or changed by others" \
	"${tlslan[@]}" "tls_key_file = $F/good.key" "auth = required" "users_file = $F/users-open"
err "users_file missing" 7 "users_file $F/nope: No such file" \
	"${tlslan[@]}" "tls_key_file = $F/good.key" "auth = required" "users_file = $F/nope"
err "listen auth without users_file (config.c)" 7 "auth needs users_file" \
	"${tlslan[@]}" "tls_key_file = $F/good.key" "auth = required"
warn "users_file with auth = none" 7 "users_file is not used with auth = none" \
	"${lan[@]}" "users_file = $F/users"
err "certificate missing" 7 "tls_cert_file $F/nope.pem: No such file" \
	"${lan[@]}" "tls = starttls" "tls_cert_file = $F/nope.pem" "tls_key_file = $F/good.key"
err "key readable by others" 7 "tls_key_file $F/open can be read or changed by others \\(mode 0644\\): run chmod o= " \
	"${tlslan[@]}" "tls_key_file = $F/open"
err "key of another certificate" 7 "tls_key_file $F/other.key is not the key of tls_cert_file $F/good.pem" \
	"${tlslan[@]}" "tls_key_file = $F/other.key"
err "certificate expired" 7 "tls_cert_file $F/expired.pem expired on [0-9-]*; .*renew it" \
	"${lan[@]}" "tls = implicit" "tls_cert_file = $F/expired.pem" "tls_key_file = $F/expired.key"
warn "certificate expiring soon" 7 "tls_cert_file $F/soon.pem expires on [0-9-]*: renew it" \
	"${lan[@]}" "tls = implicit" "tls_cert_file = $F/soon.pem" "tls_key_file = $F/soon.key"
err "certificate file without a certificate" 7 "tls_cert_file $F/pass holds no PEM certificate" \
	"${lan[@]}" "tls = implicit" "tls_cert_file = $F/pass" "tls_key_file = $F/good.key"

# ---------------------------------------------------------------- DKIM
dk=("[dkim example.org]" "selector = s1")
err "DKIM key missing" 7 "key_file $F/nope.key does not exist: make it with tern dkim keygen example.org s1 --out $F/nope.key" "${dk[@]}" "key_file = $F/nope.key"
err "DKIM key readable by others" 7 "key_file $F/ed-open.key can be read or changed by others" \
	"${dk[@]}" "key_file = $F/ed-open.key" "algorithm = ed25519-sha256"
err "DKIM key a symbolic link" 7 "key_file $F/ed-link.key is a symbolic link" \
	"${dk[@]}" "key_file = $F/ed-link.key" "algorithm = ed25519-sha256"
err "DKIM key not a key" 7 "key_file $F/text.key does not hold a PEM private key .*tern dkim keygen example.org s1" \
	"${dk[@]}" "key_file = $F/text.key"
err "DKIM Ed25519 key for rsa-sha256" 7 "does not hold an RSA key, but algorithm = rsa-sha256" \
	"${dk[@]}" "key_file = $F/ed.key"
err "DKIM RSA key for ed25519-sha256" 7 "does not hold an Ed25519 key, but algorithm = ed25519-sha256" \
	"${dk[@]}" "key_file = $F/rsa2048.key" "algorithm = ed25519-sha256"
err "DKIM RSA key of 512 bits" 7 "holds a 512-bit RSA key, .*make a 2048-bit one" \
	"${dk[@]}" "key_file = $F/rsa512.key"
warn "DKIM RSA key of 1024 bits" 7 "holds a 1024-bit RSA key; some receivers want 2048 bits" \
	"${dk[@]}" "key_file = $F/rsa1024.key"

# ---------------------------------------------------------------- globals
warn "direct_port other than 25" 8 "direct_port is 2525: MX hosts take mail on port 25 only" \
	"delivery = direct" "direct_port = 2525"
warn "delay_warning not below queue_lifetime" 7 "delay_warning is not shorter than queue_lifetime" \
	"delay_warning = 5d" "queue_lifetime = 5d"
warn "log file in a missing directory" 7 "log $F/nodir/tern.log: its directory $F/nodir does not exist" \
	"log = $F/nodir/tern.log"
warn "unqualified hostname" 7 "hostname 'mail' is not fully qualified; set hostname = name.your-domain" \
	"hostname = mail"
err "[http] token_file readable by others" 7 "token_file $F/open can be read or changed by others" \
	"[http]" "token_file = $F/open"

done_testing
