#!/bin/bash
# The privilege model, for real: a setgid sendmail in a queue owned by
# root with a 1730 maildrop, run as unprivileged users.  Needs root (to
# chgrp and setgid); skipped otherwise.  Uses the system's existing
# "mail" group as the drop group and the "nobody" and "daemon" users.
set -u
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() {
	if eval "$2"; then
		ok "$1"
	else
		not_ok "$1"
		sed 's/^/# /' "$S/out" 2>/dev/null
	fi
}

skip_all() { echo "1..0 # SKIP $1"; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "needs root to make a setgid program"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) missing"
getent group mail >/dev/null || skip_all "no 'mail' group"
getent passwd nobody >/dev/null || skip_all "no 'nobody' user"
getent passwd daemon >/dev/null || skip_all "no 'daemon' user"

staged=${TERN_DESTDIR:?}${TERN_SBINDIR:?}/sendmail
S=$(mktemp -d /tmp/tern-priv.XXXXXX)
trap 'rm -rf "$S"' EXIT
chmod 0755 "$S"
if findmnt -no OPTIONS -T "$S" 2>/dev/null | grep -q nosuid; then
	skip_all "$S is on a nosuid filesystem"
fi

cp "$staged" "$S/sendmail"
chgrp mail "$S/sendmail"
chmod 2755 "$S/sendmail"
Q=$S/queue
install -d -m 0755 "$Q"
install -d -m 1730 -g mail "$Q/maildrop"
install -d -m 0710 -g mail "$Q/public"
for d in incoming active deferred hold corrupt; do install -d -m 0700 "$Q/$d"; done
printf 'queue_dir = %s\nhostname = host.example.org\nlog = stderr\n' "$Q" \
    >"$S/tern.conf"
chmod 0644 "$S/tern.conf"
printf 'Subject: privileged\n\nhello\n' >"$S/msg"
chmod 0644 "$S/msg"

as() { # as USER command...: no supplementary groups, like a login shell's user
	local user=$1; shift
	setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
	    env TERN_CONFIG="$S/tern.conf" "$@"
}

as nobody "$S/sendmail" bob@example.com <"$S/msg" >"$S/out" 2>&1
check "nobody can submit through the setgid sendmail" "[ $? = 0 ]"
f=$(ls "$Q/maildrop")
check "one file in maildrop" "[ \$(echo \"$f\" | wc -w) = 1 ]"
check "the file is nobody:mail mode 0640" \
    "[ \"\$(stat -c '%U:%G:%a' \"$Q/maildrop/$f\")\" = nobody:mail:640 ]"
check "nobody cannot list maildrop" "! as nobody ls \"$Q/maildrop\" >/dev/null 2>&1"
check "another user cannot read the queued file" \
    "! as daemon cat \"$Q/maildrop/$f\" >/dev/null 2>&1"
as nobody "$S/sendmail" -bp >"$S/out" 2>&1
rc=$?
check "mailq as nobody says it cannot read the queue (exit 77)" \
    "[ $rc = 77 ] && grep -q 'cannot read the queue' \"$S/out\""

# A config the user controls must cost the drop group.
cp "$S/tern.conf" "$S/user.conf"
chown nobody "$S/user.conf"
as nobody "$S/sendmail" -C "$S/user.conf" bob@example.com <"$S/msg" \
    >"$S/out" 2>&1
rc=$?
check "an untrusted -C config drops the group: exit 73" "[ $rc = 73 ]"
check "and says what to check" "grep -q maildrop \"$S/out\""
check "and leaves nothing in maildrop" \
    "[ \$(ls \"$Q/maildrop\" | wc -l) = 1 ]"
as nobody "$S/sendmail" -C "$S/tern.conf" bob@example.com <"$S/msg" \
    >"$S/out" 2>&1
check "a root-owned -C config keeps it" "[ $? = 0 ]"
check "two files now" "[ \$(ls \"$Q/maildrop\" | wc -l) = 2 ]"
echo "1..$n"
exit $failed
