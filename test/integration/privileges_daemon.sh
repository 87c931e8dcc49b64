#!/bin/bash
# privileges_daemon: the privilege model with the daemon running, as
# make install sets it up.  Needs root (skipped otherwise): it creates a
# throwaway run user and drop group (removed at the end), lays out the
# queue with contrib/setup-privileges, and starts ternd as root.
#
#  - ternd, started as root, keeps no root: Uid, Gid and Groups of
#    /proc/PID/status hold no 0, and CapEff and CapPrm are empty;
#  - a stranger (the "daemon" account, no supplementary groups) submits
#    through the setgid sendmail, but cannot list, read, alter or delete
#    queued mail (its own or others') in any queue directory, cannot
#    read the relay password, the OAuth2 client secret or the DKIM key,
#    and "tern queue / show / delete" through the control socket are
#    refused (and logged);
#  - a symlink, a hard link and a FIFO planted in maildrop under queue
#    ID names are moved to corrupt/, never followed: the file they point
#    at is neither queued nor changed.
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"

skip_all() { echo "1..0 # SKIP $1"; _tap_done=1; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "needs root (to start ternd as root and make a setgid sendmail)"
for c in setpriv useradd userdel groupadd groupdel usermod; do
	command -v "$c" >/dev/null 2>&1 || skip_all "$c is missing"
done
getent passwd daemon >/dev/null || skip_all "no 'daemon' user"
getent passwd nobody >/dev/null || skip_all "no 'nobody' user"

TERND=$TERN_DESTDIR$TERN_SBINDIR/ternd
[ -x "$TERND" ] || bail_out "no staged ternd at $TERND (run make check)"
S=$(mktemp -d /tmp/tern-privd.XXXXXX)
chmod 0755 "$S"
if findmnt -no OPTIONS -T "$S" 2>/dev/null | grep -q nosuid; then
	[ -n "${KEEP:-}" ] && cat "$S/ternd.log" >&2; rm -rf "$S"
	skip_all "$S is on a nosuid filesystem"
fi

# A run user and drop group of our own, gone at the end.
RU=ternpt$$
DG=ternpd$$
TERND_PID=
priv_cleanup()
{
	[ -n "$TERND_PID" ] && kill "$TERND_PID" 2>/dev/null && wait "$TERND_PID" 2>/dev/null
	userdel "$RU" >/dev/null 2>&1
	groupdel "$RU" >/dev/null 2>&1
	groupdel "$DG" >/dev/null 2>&1
	[ -n "${KEEP:-}" ] && cat "$S/ternd.log" >&2; rm -rf "$S"
}
trap 'rc=$?; priv_cleanup; (exit $rc); _sb_cleanup' EXIT
SANDBOX=$S

Q=$S/queue
# The staged program, never a test wrapper (TERN_WRAPDIR): it is made setgid.
cp "$TERN_DESTDIR$TERN_SBINDIR/sendmail" "$S/sendmail"
out=$("$top_srcdir/contrib/setup-privileges" "$RU" "$DG" "$S/sendmail" "$Q" 2>&1) ||
	bail_out "setup-privileges failed: $out"
RUID=$(id -u "$RU")
RGID=$(id -g "$RU")
DGID=$(getent group "$DG" | cut -d: -f3)

# Secrets, each private to the run user.
E=$S/etc
install -d -m 0755 "$E"
printf 'relay-password\n' >"$E/relay.password"
printf 'oauth-client-secret\n' >"$E/oauth.secret"
# RSA: libopendkim 2.11.0 leaks ed25519 keys (see src/dkim.h).
run "$TERN" dkim keygen example.org sel --type rsa --out "$E/dkim.key"
[ "$RC" = 0 ] || bail_out "tern dkim keygen failed: $ERR"
chown "$RU" "$E/relay.password" "$E/oauth.secret" "$E/dkim.key"
chmod 0600 "$E/relay.password" "$E/oauth.secret" "$E/dkim.key"

DEAD=$("$PYTHON" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
CONF=$E/tern.conf
cat >"$CONF" <<EOF
hostname = host.example.org
origin = example.org
queue_dir = $Q
run_user = $RU
log = stderr
aliases = $E/aliases
dns_servers = 127.0.0.1:$DEAD
retry_min = 1h
retry_max = 1h

[relay pw]
host = 127.0.0.1
port = $DEAD
tls = starttls
username = user
password_file = $E/relay.password

[relay oauth]
host = 127.0.0.1
port = $DEAD
tls = starttls
auth = xoauth2
username = user
oauth2_token_url = https://127.0.0.1:$DEAD/token
oauth2_client_id = client
oauth2_client_secret_file = $E/oauth.secret

[dkim example.org]
selector = sel
key_file = $E/dkim.key
EOF
: >"$E/aliases"
chmod 0644 "$CONF" "$E/aliases"
export TERN_CONFIG=$CONF
TLOG=$S/ternd.log

# as USER CMD...: run as USER with its primary group only (stderr
# dropped: the refusals are expected).  AS_D: the same prefix for the
# stranger, for run.
as()
{
	local user=$1
	shift
	setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
		env TERN_CONFIG="$CONF" "$@" 2>/dev/null
}
AS_D=(setpriv --reuid=daemon --regid="$(id -g daemon)" --clear-groups
	env TERN_CONFIG="$CONF")

wait_for()
{
	local i
	for ((i = 0; i <= ${2:-10} * 10; i++)); do
		eval "$1" && return 0
		sleep 0.1
	done
	return 1
}

printf 'Subject: from nobody\n\nhello\n' >"$S/msg1"
printf 'Subject: from the stranger\n\nhello\n' >"$S/msg2"
chmod 0644 "$S/msg1" "$S/msg2"

# ---------------------------------------------------------------- before ternd

as nobody "$S/sendmail" bob@example.com <"$S/msg1" >"$S/out" 2>&1
is "$?" 0 "nobody submits through the setgid sendmail"
f1=$(ls "$Q/maildrop")
is "$(stat -c '%U:%G:%a' "$Q/maildrop/$f1")" "nobody:$DG:640" \
	"the maildrop file is nobody:$DG, mode 0640"
nok "the stranger cannot list maildrop" as daemon ls "$Q/maildrop"
nok "the stranger cannot read nobody's maildrop file" as daemon cat "$Q/maildrop/$f1"
nok "the stranger cannot delete it (no write on 1730, and sticky)" as daemon rm -f "$Q/maildrop/$f1"
nok "nor rename it" as daemon mv "$Q/maildrop/$f1" "$Q/maildrop/x"
nok "nor overwrite it" as daemon sh -c 'echo x >"$1"' _ "$Q/maildrop/$f1"
ok "it is still there, unchanged in size" test -s "$Q/maildrop/$f1"
# Kept aside as the target of the links planted below: a complete queue
# file that pickup would take if it followed them.
cp -p "$Q/maildrop/$f1" "$S/victim"
chmod 0640 "$S/victim"
victim_sum=$(sha256sum <"$S/victim")

# ---------------------------------------------------------------- ternd drops root

"$TERND" -c "$CONF" -f </dev/null 2>>"$TLOG" &
TERND_PID=$!
ok "ternd started as root comes up" wait_for 'grep -q "ternd started" "$TLOG"' 15 ||
	diag "$(tail -n 20 "$TLOG")"
st=/proc/$TERND_PID/status
is "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")" "$RUID $RUID $RUID $RUID" \
	"ternd's real, effective, saved and fs uid are the run user's"
is "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")" "$RGID $RGID $RGID $RGID" \
	"its gids are the run user's group"
is "$(awk '/^Groups:/ { $1 = ""; print }' "$st" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')" \
	"$(printf '%s\n' "$RGID" "$DGID" | sort -n -u | tr '\n' ' ')" \
	"its supplementary groups are the run user's own and the drop group: no 0"
is "$(awk '/^CapEff:/ { print $2 }' "$st")" 0000000000000000 "CapEff is empty"
is "$(awk '/^CapPrm:/ { print $2 }' "$st")" 0000000000000000 "CapPrm is empty"
ok "ternd picks up nobody's message" wait_for '[ -z "$(ls -A "$Q/maildrop")" ]' 15

# ---------------------------------------------------------------- the stranger

as daemon "$S/sendmail" carol@example.com <"$S/msg2" >"$S/out" 2>&1
is "$?" 0 "the stranger submits through the setgid sendmail"
ok "and ternd picks it up" wait_for '[ -z "$(ls -A "$Q/maildrop")" ]' 15
id2=$(sed -n 's/.*: \([0-9A-F]\{19\}\): uid=1 from=.*/\1/p' "$TLOG" | head -n 1)
like "$id2" '^[0-9A-F]{19}$' "the log names the stranger's message"
# Deferred (the relays are down, retry_min = 1h): its files stay put.
ok "it is deferred" wait_for 'grep -q "$id2: to=.*status=deferred" "$TLOG" && [ -z "$(find "$Q/incoming" "$Q/active" -name "$id2*")" ]' 15
qfiles=$(find "$Q" -mindepth 2 -type f -name "$id2*" | head -n 5)
isnt "$qfiles" "" "its queue files exist"
for d in maildrop incoming active deferred hold corrupt data state control; do
	nok "the stranger cannot list $d/" as daemon ls "$Q/$d"
done
for f in $qfiles; do
	nok "the stranger cannot read ${f#"$Q"/} (its own message)" as daemon cat "$f"
	nok "nor delete it" as daemon rm -f "$f"
	nok "nor append to it" as daemon sh -c 'echo x >>"$1"' _ "$f"
	ok "it is still there" test -e "$f"
done
for f in relay.password oauth.secret dkim.key; do
	nok "the stranger cannot read $f" as daemon cat "$E/$f"
done
run "${AS_D[@]}" "$TERN" queue
isnt "$RC" 0 "tern queue by the stranger is refused (exit $RC)"
unlike "$OUT" "$id2" "and lists nothing"
run "${AS_D[@]}" "$TERN" show "$id2"
isnt "$RC" 0 "tern show by the stranger is refused (exit $RC)"
unlike "$OUT" 'from the stranger' "and shows nothing"
run "${AS_D[@]}" "$TERN" delete "$id2"
isnt "$RC" 0 "tern delete by the stranger is refused (exit $RC)"
diag "tern delete by the stranger says: $ERR"
like "$ERR" "[Pp]ermission denied|not allowed|root or" "and says it is not allowed"
run "$TERN" queue
like "$OUT" "$id2" "root's tern queue still lists the message"

# ---------------------------------------------------------------- planted links

# Under queue ID names (the victim's with another last digit), as
# someone in the drop group could make them.
base=${f1:0:18}
ks=()
for k in 0 1 2 3; do [ "$k" != "${f1:18:1}" ] && ks+=("$k"); done
ln -s "$S/victim" "$Q/maildrop/${base}${ks[0]}"
ln "$S/victim" "$Q/maildrop/${base}${ks[1]}"
mkfifo "$Q/maildrop/${base}${ks[2]}"
as nobody "$S/sendmail" bob@example.com <"$S/msg1" >"$S/out" 2>&1 # wakes pickup
ok "pickup moves the symlink, the hard link and the FIFO to corrupt/" \
	wait_for '[ -z "$(ls -A "$Q/maildrop")" ]' 15
for k in "${ks[@]:0:3}"; do
	ok "${base}$k is in corrupt/" test -e "$Q/corrupt/${base}$k" -o -L "$Q/corrupt/${base}$k"
	nok "and was never queued" grep -q "${base}$k: uid=" "$TLOG"
done
ok "the log says why" grep -q 'not a regular file with one link' "$TLOG"
is "$(sha256sum <"$S/victim")" "$victim_sum" "the victim file is unchanged"
run "$TERN" queue
is "$(grep -o -E '^[0-9A-F]{19}' <<<"$OUT" | sort -u | wc -l | tr -d ' ')" 3 \
	"the queue holds the 3 messages submitted, nothing more"
ok "ternd is still running" kill -0 "$TERND_PID"
kill "$TERND_PID"
wait "$TERND_PID"
is "$?" 0 "ternd exits 0"
TERND_PID=
done_testing
