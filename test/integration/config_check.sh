#!/bin/bash
# config_check: "tern check" on good and bad configs (every error with
# file:line, all of them in one run), presets, the config path order,
# and tern's usage errors.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"
sandbox_init

mkdir -p "$QUEUE_DIR"
: >"$ALIASES"
CDIR=$SANDBOX/conf
mkdir -p "$CDIR"

# mkconf NAME [LINE...]: the sandbox's five base lines, then LINEs (so
# the first extra line is line 6).  Prints the path.  (Base keys are
# global: an extra "key = value" for one of them, even inside a section,
# comments the base line out.)
mkconf()
{
	local f=$CDIR/$1.conf line
	shift
	{
		# A base key set again by an extra line becomes a comment, so
		# the line numbers stay put.
		for line in "log = stderr" "hostname = host.example.org" \
			"origin = example.org" "queue_dir = $QUEUE_DIR" "aliases = $ALIASES"; do
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

# bad DESC LINE PATTERN CONFIG-LINE...: tern check exits 78 and names
# file:LINE with a message matching PATTERN.
n_bad=0
bad()
{
	local desc=$1 line=$2 pattern=$3 f
	shift 3
	n_bad=$((n_bad + 1))
	f=$(mkconf "bad$n_bad" "$@")
	check "$f"
	is "$RC" 78 "$desc: exit 78"
	like "$ERR" "bad$n_bad\\.conf:$line: .*$pattern" "$desc: stderr names file:$line and explains"
}

# tern check also looks at the files a config names (tern_check.sh
# tests that): these exist, private, for the all-keys config.
ME=$(id -un)
F=$SANDBOX/files
mkdir -p "$F"
for s in relay.pass secret token users; do echo "s3cret" >"$F/$s"; done
chmod 600 "$F"/*
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$F/key.pem" -out "$F/cert.pem" \
	-days 30 -subj /CN=mail.example.org >/dev/null 2>&1
openssl genpkey -algorithm ed25519 -out "$F/dkim.key" >/dev/null 2>&1
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$F/dkim-rsa.key" >/dev/null 2>&1
chmod 600 "$F"/*.pem "$F"/*.key

# ---------------------------------------------------------------- good
f=$(mkconf good "run_user = $ME")
check "$f"
is "$RC" 0 "tern check on a good config: exit 0"
like "$OUT" "OK" "tern check on a good config: prints OK"
like "$OUT" "good\\.conf" "tern check names the file it checked"
is "$ERR" "" "tern check on a good config: nothing on stderr"

f=$(mkconf empty)
: >"$f"
run env TERN_CONFIG="$f" "$TERN" check </dev/null
is "$RC" 0 "an empty config file is valid (all defaults)"

f=$(mkconf comments "# a comment" "; another comment" "" "	# indented comment" "max_message_size = 10M")
check "$f"
is "$RC" 0 "comments, empty lines and indented comments are fine"

f=$(mkconf spaces "max_message_size = 10M" "   " "	" "direct_port = 25")
check "$f"
is "$RC" 0 "lines holding only spaces or a tab are blank lines, not continuations"
[ "$RC" = 0 ] || diag "$ERR"

printf 'log = stderr\r\nhostname = host.example.org\r\nqueue_dir = %s\r\naliases = %s\r\n' \
	"$QUEUE_DIR" "$ALIASES" >"$CDIR/crlf.conf"
check "$CDIR/crlf.conf"
is "$RC" 0 "a config with CRLF line ends is fine"

f=$(mkconf all-keys \
	"run_user = $ME" "delivery = relay" "max_message_size = 10M" "queue_lifetime = 3d" \
	"delay_warning = 0" "retry_min = 45s" "retry_max = 2h" \
	"dns_servers = 127.0.0.1:5353, [::1]:53, 192.0.2.1" "direct_port = 2525" \
	"empty_subject_from_body = 40" "log_format = json" \
	"[relay main]" "host = smtp.example.net" "port = 465" "tls = implicit" "tls_verify = yes" \
	"tls_ca_file = $F/cert.pem" "auth = plain" "username = user@example.org" \
	"password_file = $F/relay.pass" "from = user@example.org" "from_name = Example Sender" \
	"priority = 10" "max_per_hour = 100" "max_per_day = 1000" "connect_timeout = 10s" \
	"command_timeout = 2m" \
	"[relay oauth]" "preset = office365" "auth = xoauth2" "username = user@example.org" \
	"oauth2_token_url = https://login.example.com/token" "oauth2_client_id = abc" \
	"oauth2_client_secret_file = $F/secret" "oauth2_scope = https://outlook.office365.com/.default" \
	"from = user@example.org" \
	"[relay cmd]" "host = 192.0.2.25" "tls = starttls" "auth = xoauth2" "username = u@example.org" \
	"oauth2_token_command = /usr/local/bin/get-token" \
	"[relay cram]" "host = 192.0.2.26" "tls = starttls" "auth = cram-md5" "username = c" \
	"password_file = $F/relay.pass" \
	"[relay login]" "host = 192.0.2.27" "tls = opportunistic" "auth = none" \
	"[relay plainhost]" "host = 192.0.2.28" "tls = none" "port = 25" \
	"[listen lan]" "address = 0.0.0.0:2525" "tls = starttls" "tls_cert_file = $F/cert.pem" \
	"tls_key_file = $F/key.pem" "auth = optional" "users_file = $F/users" \
	"networks = 192.168.0.0/16, 10.0.0.0/8, fd00::/8" "proxy_protocol = yes" \
	"[listen v6]" "address = [::1]:25" "tls = implicit" "tls_cert_file = $F/cert.pem" "tls_key_file = $F/key.pem" \
	"auth = required" "users_file = $F/users" \
	"[dkim example.org]" "selector = s1" "key_file = $F/dkim.key" \
	"algorithm = ed25519-sha256" "headers = From To Subject Date" \
	"[dkim example.net]" "selector = s2" "algorithm = rsa-sha256" "key_file = $F/dkim-rsa.key" \
	"[http]" "address = 127.0.0.1:8025" "token_file = $F/token")
check "$f"
is "$RC" 0 "every documented key with a valid value: exit 0"
like "$OUT" "6 relays, 2 listeners, 2 DKIM domains, delivery relay" "every documented key: sections counted"
is "$ERR" "" "every documented key: no cross-check finding either"
[ "$RC" = 0 ] || diag "$ERR"

f=$(mkconf units "max_message_size = 1024" "queue_lifetime = 90m" "delay_warning = 1d" \
	"retry_min = 1s" "retry_max = 7d" "[relay a]" "host = relay.example.org" "max_per_hour = 0")
check "$f"
is "$RC" 0 "sizes and durations at the ends of their ranges are fine"

# ---------------------------------------------------------------- presets
f=$(mkconf preset "[relay x]" "preset = gmail" "username = a@b" "password_file = $F/relay.pass")
check "$f"
is "$RC" 0 "[relay x] preset = gmail, username = a@b: exit 0"
like "$OUT" "OK.*1 relay" "preset: OK with one relay"
like "$OUT" "delivery relay" "a relay makes delivery relay by default"
# Every preset of tern.conf(5), in any case, and the regional forms.
for p in brevo gmail office365 outlook yahoo zoho qq exmail.qq 126 163 yeah \
	aliyun sendgrid mailgun ses:eu-west-1 zoho:eu mailgun:eu Gmail EXMAIL.QQ; do
	f=$(mkconf "preset-$p" "[relay p]" "preset = $p" "username = apikey" \
		"password_file = $F/relay.pass")
	check "$f"
	is "$RC" 0 "preset $p resolves"
	[ "$RC" = 0 ] || diag "$ERR"
done
bad "ses without a region" 6 "needs a region: write preset = ses:REGION" "[relay x]" "preset = ses"
bad "ses with a bad region" 6 "'Ireland' is not an AWS region" "[relay x]" "preset = ses:Ireland"
bad "a region for a preset that takes none" 6 "takes no region" "[relay x]" "preset = gmail:eu"
bad "unknown preset" 6 "nosuch" "[relay x]" "preset = nosuch" "username = a@b"

# ---------------------------------------------------------------- each error
bad "unknown key" 6 "frobnicate" "frobnicate = 1"
bad "unknown key in a relay" 8 "colour" "[relay a]" "host = relay.example.org" "colour = blue"
bad "unknown section" 6 "frob" "[frob x]"
bad "section names are case-sensitive" 6 "Relay" "[Relay x]" "host = h"
bad "duplicate key" 7 "twice" "max_message_size = 1M" "max_message_size = 2M"
bad "duplicate key in a relay" 8 "twice" "[relay a]" "host = h1" "host = h2"
bad "bad size" 6 "max_message_size" "max_message_size = 12Q"
bad "negative size" 6 "max_message_size" "max_message_size = -1"
bad "size too large" 6 "max_message_size" "max_message_size = 5G"
bad "size below the minimum" 6 "range" "max_message_size = 1000"
bad "bad duration" 6 "queue_lifetime" "queue_lifetime = 5x"
bad "fractional duration" 6 "retry_min" "retry_min = 1.5s"
bad "duration out of range" 6 "range" "queue_lifetime = 0"
bad "number out of range" 6 "range" "direct_port = 70000"
bad "number with a unit" 6 "direct_port" "direct_port = 25k"
bad "port 0" 7 "range" "[relay a]" "port = 0" "host = h"
bad "empty_subject_from_body over 998" 6 "range" "empty_subject_from_body = 999"
bad "bad enum" 6 "log_format" "log_format = xml"
bad "bad enum in a relay" 8 "tls" "[relay a]" "host = h" "tls = sometimes"
bad "bad bool" 8 "tls_verify" "[relay a]" "host = h" "tls_verify = maybe"
bad "relative path" 6 "absolute" "aliases = etc/aliases"
bad "relative queue_dir" 6 "absolute" "queue_dir = spool/tern"
bad "relative log file" 6 "log" "log = tern.log"
bad "bad CIDR" 8 "networks" "[listen l]" "address = 127.0.0.1:25" "networks = 10.0.0.0/33"
bad "CIDR that is not an address" 8 "bogus" "[listen l]" "address = 127.0.0.1:25" "networks = 10.0.0.0/8, bogus"
bad "bad listen address" 7 "address" "[listen l]" "address = 999.1.1.1:25"
bad "listen address without port" 7 "address" "[listen l]" "address = 127.0.0.1"
bad "listen address with a host name" 7 "address" "[listen l]" "address = localhost:25"
bad "bad dns_servers" 6 "dns_servers" "dns_servers = 1.2.3.4:99999"
bad "dns_servers with a name" 6 "dns_servers" "dns_servers = ns.example.org"
bad "relay without host" 6 "host" "[relay nohost]" "port = 587"
bad "auth without username" 6 "username" "[relay a]" "host = h" "auth = plain"
bad "duplicate relay name" 8 "already defined at line 6" "[relay same]" "host = h1" "[relay same]" "host = h2"
bad "duplicate dkim domain (any case)" 8 "already defined" "[dkim example.org]" "selector = s" "[dkim EXAMPLE.org]" "selector = t"
bad "dkim without selector" 6 "selector" "[dkim example.org]"
bad "listen without address" 6 "address" "[listen l]" "tls = none"
bad "listen tls without cert" 6 "tls_cert_file" "[listen l]" "address = 127.0.0.1:25" "tls = starttls"
bad "listen auth without users_file" 6 "users_file" "[listen l]" "address = 127.0.0.1:25" "auth = required"
bad "duplicate [http]" 8 "already defined" "[http]" "address = 127.0.0.1:8025" "[http]"
bad "[http] with a name" 6 "no name" "[http api]"
bad "[relay] without a name" 6 "name" "[relay]"
bad "[relay] with two names" 6 "name" "[relay a b]"
bad "malformed section header" 6 "section" "[relay x"
bad "key without a value" 6 "no value" "log ="
bad "empty key" 6 "" "= value"
bad "overlong line" 6 "longer" "hostname = $(printf 'h%.0s' $(seq 1 600)).example.org"
bad "continuation line" 7 "continuation" "max_message_size = 1M" "   2M"
bad "indented key" 6 "white space" "  max_message_size = 1M"
bad "invalid UTF-8 value" 6 "UTF-8" $'origin = caf\xc3\xa9\xff'
bad "a line without '='" 6 "" "this line is not a setting"
bad "a bare word" 6 "" "hostname2"

f=$(mkconf nul)
printf 'log = stderr\0x\n' >>"$f"
check "$f"
is "$RC" 78 "a NUL byte: exit 78"
like "$ERR" "nul\\.conf:6: .*NUL" "a NUL byte: file:line"

f=$(mkconf relay-needs "delivery = relay")
check "$f"
is "$RC" 78 "delivery = relay without a relay: exit 78"
like "$ERR" "relay-needs\\.conf.*delivery = relay" "delivery = relay without a relay: explained"
f=$(mkconf retry "retry_min = 2h" "retry_max = 1h")
check "$f"
is "$RC" 78 "retry_min above retry_max: exit 78"
like "$ERR" "retry_min" "retry_min above retry_max: explained"

# ---------------------------------------------------------------- all errors at once
f=$(mkconf many \
	"frobnicate = 1" \
	"max_message_size = 12Q" \
	"queue_lifetime = 5x" \
	"direct_port = 70000" \
	"log_format = xml" \
	"max_message_size = 1M" \
	"aliases = relative" \
	"[unknown x]" \
	"[relay r1]" \
	"port = 99999" \
	"[relay r2]" \
	"host = h" \
	"[relay r2]" \
	"host = h" \
	"[listen l]" \
	"address = 999.1.1.1:25" \
	"networks = 10.0.0.0/33" \
	"hostname = $(printf 'x%.0s' $(seq 1 300))" \
	"  continued = line" \
	"tls = bogus")
check "$f"
is "$RC" 78 "a config with many errors: exit 78"
for l in 6 7 8 9 10 11 12 13 15 18 21 22 23 24 25; do
	like "$ERR" "many\\.conf:$l: " "many errors: line $l reported"
done
like "$ERR" "many\\.conf:14: .*r1.*host" "many errors: the relay without host reported at its header (line 14)"
like "$ERR" "many\\.conf:20: .*address" "many errors: the listener without a valid address reported (line 20)"
is "$(grep -c 'many\.conf:[0-9]*: ' <<<"$ERR")" 17 "many errors: exactly 17 located errors"
like "$ERR" "17 errors" "many errors: the summary counts 17"

# ---------------------------------------------------------------- path order
good=$(mkconf order-good)
badf=$(mkconf order-bad "frobnicate = 1")
run env TERN_CONFIG="$badf" "$TERN" -c "$good" check </dev/null
is "$RC" 0 "tern -c GOOD beats TERN_CONFIG=BAD"
like "$OUT" "order-good\\.conf" "tern -c: the -c file is the one checked"
run env TERN_CONFIG="$good" "$TERN" -c "$badf" check </dev/null
is "$RC" 78 "tern -c BAD beats TERN_CONFIG=GOOD"
run env TERN_CONFIG="$badf" "$TERN" check </dev/null
is "$RC" 78 "without -c, TERN_CONFIG is used"
run env TERN_CONFIG="$good" "$TERN" check </dev/null
is "$RC" 0 "TERN_CONFIG naming a good file: exit 0"
run "$TERN" -c "$CDIR/does-not-exist.conf" check </dev/null
is "$RC" 78 "tern -c naming a missing file: exit 78"
like "$ERR" "does-not-exist\\.conf" "tern -c missing file: stderr names it"
run env TERN_CONFIG="$CDIR/does-not-exist.conf" "$TERN" check </dev/null
is "$RC" 78 "TERN_CONFIG naming a missing file: exit 78"

# ---------------------------------------------------------------- usage
run "$TERN" frobnicate </dev/null
is "$RC" 64 "unknown command: exit 64"
like "$ERR" "frobnicate" "unknown command: stderr names it"
run "$TERN" </dev/null
is "$RC" 64 "no command: exit 64"
like "$ERR" "usage" "no command: usage on stderr"
run "$TERN" -c "$good" </dev/null
is "$RC" 64 "-c FILE without a command: exit 64"
run "$TERN" check extra </dev/null
is "$RC" 64 "tern check with an extra argument: exit 64"
run "$TERN" help </dev/null
is "$RC" 0 "tern help: exit 0"
like "$OUT" "check" "tern help lists the commands"
run "$TERN" --help </dev/null
is "$RC" 0 "tern --help: exit 0"

done_testing
