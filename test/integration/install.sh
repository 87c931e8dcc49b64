#!/bin/bash
# install: what "make install" puts in place for running tern as a
# service, seen in the staged install (make install DESTDIR=test/destdir)
# and, as root, in a real "make install" inside a private mount
# namespace (a tmpfs over the prefix and a copy of /etc, so the system's
# accounts and files are never touched).
#
#  - the example configs, the unit and the logrotate file are staged;
#    each example passes "tern check" in a sandbox holding the files it
#    names (password files, a DKIM key, a certificate, a users file);
#  - systemd-analyze verify accepts the unit (skipped without it);
#  - logrotate with the installed file renames the log, and ternd,
#    signalled by its postrotate script, writes a new one;
#  - make install as root creates the tern user and group, the terndrop
#    group, the queue with its owners and modes and the setgid
#    sendmail, and a second run changes nothing;
#  - sendmail-link keeps an earlier sendmail once, and leaves tern's own
#    alone when tern is installed in /usr.
# shellcheck disable=SC2016  # conditions are code for wait_for
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"

ternd_sandbox_init
: "${TERN_DOCDIR:=$TERN_PREFIX/share/doc/tern}"
: "${TERN_SYSTEMDUNITDIR:=$TERN_PREFIX/lib/systemd/system}"
: "${TERN_LOCALSTATEDIR:=$TERN_PREFIX/var}"
EXAMPLES=$TERN_DESTDIR$TERN_DOCDIR/examples
UNIT=$TERN_DESTDIR$TERN_SYSTEMDUNITDIR/ternd.service

# ---------------------------------------------------------------- staged
for f in brevo-qq.conf direct-dkim.conf lan-relay.conf; do
	ok "example $f is installed as it is in the source" \
		cmp -s "$top_srcdir/etc/examples/$f" "$EXAMPLES/$f"
done
ok "logrotate.tern is installed with the examples" test -s "$EXAMPLES/logrotate.tern"
ok "ternd.service is installed in the unit directory" test -s "$UNIT"
like "$(grep '^ExecStart=' "$UNIT")" "^ExecStart=$TERN_SBINDIR/ternd -f\$" \
	"the unit starts this build's ternd in the foreground"
like "$(grep '^ReadWritePaths=' "$UNIT")" "-$TERN_LOCALSTATEDIR/spool/tern( |\$)" \
	"the unit lets ternd write this build's queue"
is "$(grep -E '^(Type|NotifyAccess|ExecReload)=' "$UNIT" | tr '\n' ' ')" \
	'Type=notify NotifyAccess=main ExecReload=/bin/kill -HUP $MAINPID ' \
	"the unit is Type=notify, main only, and reloads with SIGHUP"

# ---------------------------------------------------------------- examples
# The examples name /etc/tern/...: here those paths are the sandbox's.
ETC=$SANDBOX/etc
mkdir -p "$ETC/tern/dkim"
: >"$ETC/aliases"
for p in brevo qq smarthost; do
	printf 'secret-%s\n' "$p" >"$ETC/tern/$p.password"
	chmod 600 "$ETC/tern/$p.password"
done
mkdir -p "$SANDBOX/certs"
certs_make "$SANDBOX/certs" || bail_out "openssl could not make certificates"
cp "$SANDBOX/certs/server.pem" "$ETC/tern/relay.crt"
cp "$SANDBOX/certs/server.key" "$ETC/tern/relay.key"
cp "$SANDBOX/certs/ca.pem" "$ETC/tern/company-ca.pem"
chmod 600 "$ETC/tern/relay.key"
printf 'scanner:%s\n' "$(openssl passwd -6 -salt abcdefgh scan-pass)" >"$ETC/tern/users"
chmod 600 "$ETC/tern/users"
mkdir -p "$QUEUE_DIR"
run "$TERN" dkim keygen example.org mail2026 \
	--out "$ETC/tern/dkim/example.org.mail2026.key"
is "$RC" 0 "a DKIM key for the direct example"

# example NAME: the staged example with the sandbox's paths and queue.
example()
{
	{
		echo "queue_dir = $QUEUE_DIR"
		# The tern account exists only on an installed system.
		echo "run_user = $(id -un)"
		sed -e "s|/etc/|$ETC/|g" "$EXAMPLES/$1.conf"
	} >"$SANDBOX/$1.conf"
	run "$TERN" -c "$SANDBOX/$1.conf" check </dev/null
}

example brevo-qq
is "$RC" 0 "brevo-qq: tern check exits 0"
like "$OUT" 'OK \(2 relays, 0 listeners, 0 DKIM domains, delivery relay\)' \
	"brevo-qq: two relays"
is "$ERR" "" "brevo-qq: no warning"
example direct-dkim
is "$RC" 0 "direct-dkim: tern check exits 0"
like "$OUT" 'OK \(0 relays, 0 listeners, 1 DKIM domain, delivery direct\)' \
	"direct-dkim: direct, one DKIM domain"
is "$ERR" "" "direct-dkim: no warning"
example lan-relay
is "$RC" 0 "lan-relay: tern check exits 0"
like "$OUT" 'OK \(1 relay, 2 listeners, 0 DKIM domains, delivery relay\)' \
	"lan-relay: two listeners and the smarthost"
is "$ERR" "" "lan-relay: no warning"
# The check is not a formality: an example broken by hand fails it.
sed -i 's/^preset = qq$/preset = qqq/' "$SANDBOX/brevo-qq.conf"
run "$TERN" -c "$SANDBOX/brevo-qq.conf" check </dev/null
is "$RC" 78 "an example with an unknown preset fails tern check"

# ---------------------------------------------------------------- systemd
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$SANDBOX/unit"
	sed "s|^ExecStart=$TERN_SBINDIR/|ExecStart=$TERN_DESTDIR$TERN_SBINDIR/|" \
		"$UNIT" >"$SANDBOX/unit/ternd.service"
	run systemd-analyze verify --man=no "$SANDBOX/unit/ternd.service"
	is "$RC $OUT$ERR" "0 " "systemd-analyze verify accepts the unit"
	sed 's/^Type=notify$/Type=notyfy/' "$SANDBOX/unit/ternd.service" \
		>"$SANDBOX/unit/bad.service"
	run systemd-analyze verify --man=no "$SANDBOX/unit/bad.service"
	like "$ERR" 'notyfy' "systemd-analyze verify would see a mistake"
else
	skip "systemd-analyze verify accepts the unit" "no systemd-analyze (package systemd)"
	skip "systemd-analyze verify would see a mistake" "no systemd-analyze"
fi

# ---------------------------------------------------------------- logrotate
# The installed file, pointed at the sandbox: a background ternd logs
# to a file, logrotate renames it and signals ternd through the pid
# file's lock.
LOGDIR=$SANDBOX/log
if command -v logrotate >/dev/null 2>&1; then
	mkdir -p "$LOGDIR"
	give "$LOGDIR"
	ternd_config
	sed -i "s|^log = stderr$|log = $LOGDIR/tern.log|" "$CONF"
	sed -e "s|/var/log/tern/|$LOGDIR/|" \
		-e "s|pid=.*|pid=$QUEUE_DIR/state/ternd.pid|" \
		-e "s|create 0640 tern tern|create 0640 $TUSER $(id -gn "$TUSER")|" \
		"$EXAMPLES/logrotate.tern" >"$SANDBOX/logrotate.conf"
	chmod 644 "$SANDBOX/logrotate.conf"
	rm -f "$QUEUE_DIR/state/ternd.pid"
	[ "$(id -u)" = 0 ] && chown -R "$TUID:$TGID" "$QUEUE_DIR"
	run "${AS_USER[@]}" "$TERND" -c "$CONF"
	is "$RC" 0 "logrotate: ternd in the background"
	[ "$RC" = 0 ] || diag "$ERR"
	wait_for "grep -q 'ternd started' '$LOGDIR/tern.log' 2>/dev/null" 10
	DPID=$(cat "$QUEUE_DIR/state/ternd.pid" 2>/dev/null)
	[ -n "$DPID" ] && _sb_pids+=("$DPID")
	run logrotate -f -s "$SANDBOX/logrotate.state" "$SANDBOX/logrotate.conf"
	is "$RC" 0 "logrotate runs the installed file"
	[ "$RC" = 0 ] || diag "$ERR"
	ok "the old log is kept as tern.log.1" grep -q 'ternd started' "$LOGDIR/tern.log.1"
	if wait_for "grep -q 'reloading' '$LOGDIR/tern.log' 2>/dev/null" 10; then
		pass "ternd writes the new tern.log after postrotate's SIGHUP"
	else
		fail "ternd writes the new tern.log after postrotate's SIGHUP" \
			"$(ls -la "$LOGDIR")"
	fi
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null
	ok "ternd stops" wait_for "! kill -0 ${DPID:-0} 2>/dev/null" 10
	# A stale pid file (ternd stopped): postrotate signals nobody.
	echo $$ >"$QUEUE_DIR/state/ternd.pid"
	trap 'echo HUP >>"$SANDBOX/hup"' HUP
	run logrotate -f -s "$SANDBOX/logrotate.state" "$SANDBOX/logrotate.conf"
	trap - HUP
	is "$RC" 0 "logrotate again, ternd stopped"
	nok "a stale pid is not signalled (no lock held)" test -e "$SANDBOX/hup"
else
	for d in "logrotate: ternd in the background" "logrotate runs the installed file" \
		"the old log is kept as tern.log.1" "ternd writes the new tern.log after postrotate's SIGHUP" \
		"ternd stops" "logrotate again, ternd stopped" "a stale pid is not signalled (no lock held)"; do
		skip "$d" "no logrotate (package logrotate)"
	done
fi

# ---------------------------------------------------------------- sendmail-link
SL=$SANDBOX/sl
mkdir -p "$SL/usr/sbin"
echo "old mta" >"$SL/usr/sbin/sendmail"
run sh "$top_srcdir/contrib/sendmail-link" "$SL" /usr/local/sbin
is "$RC" 0 "sendmail-link runs"
is "$(cat "$SL/usr/sbin/sendmail.pre-tern")" "old mta" "the earlier sendmail is kept as .pre-tern"
is "$(readlink "$SL/usr/sbin/sendmail") $(readlink "$SL/usr/bin/mailq") $(readlink "$SL/usr/lib/sendmail")" \
	"/usr/local/sbin/sendmail /usr/local/sbin/sendmail /usr/local/sbin/sendmail" \
	"sendmail, mailq and /usr/lib/sendmail point at tern's"
run sh "$top_srcdir/contrib/sendmail-link" "$SL" /usr/local/sbin
is "$RC $(cat "$SL/usr/sbin/sendmail.pre-tern")" "0 old mta" "run again: nothing lost"
SL2=$SANDBOX/sl2
mkdir -p "$SL2/usr/sbin"
echo "tern itself" >"$SL2/usr/sbin/sendmail"
run sh "$top_srcdir/contrib/sendmail-link" "$SL2" /usr/sbin
is "$RC $(cat "$SL2/usr/sbin/sendmail") $([ -e "$SL2/usr/sbin/sendmail.pre-tern" ] && echo moved)" \
	"0 tern itself " "prefix /usr: tern's own sendmail stays where it is"

# ---------------------------------------------------------------- make install as root
if [ "$(id -u)" != 0 ]; then
	skip_rest="not root"
elif ! mount_ns_works; then
	skip_rest="no private mount namespace"
else
	skip_rest=
fi
ROOT_CHECKS=("make install as root: exit 0" "tern and terndrop groups, tern user"
	"tern is in terndrop" "sendmail is setgid terndrop, mode 2755"
	"queue owners and modes" "the unit is installed" "second make install: exit 0"
	"second make install: nothing changed")
if [ -n "$skip_rest" ]; then
	for d in "${ROOT_CHECKS[@]}"; do skip "$d" "$skip_rest"; done
	done_testing
fi

Q=$TERN_LOCALSTATEDIR/spool/tern
# Inside the namespace: /etc is a copy, the prefix a tmpfs.
cat >"$SANDBOX/ns-install.sh" <<EOF
set -u
cp -a /etc "$SANDBOX/etc-copy" && mount --bind "$SANDBOX/etc-copy" /etc || exit 200
mkdir -p "$TERN_PREFIX" && mount -t tmpfs tmpfs "$TERN_PREFIX" || exit 200
cd "$top_builddir" || exit 200
listing() {
	stat -c '%n %U:%G %a' $TERN_SBINDIR/sendmail "$Q" "$Q"/* | sort
	getent passwd tern | cut -d: -f1,6,7
	getent group tern terndrop | cut -d: -f1,4
	id -nG tern
}
env -u MAKEFLAGS -u MFLAGS make install >"$SANDBOX/install1.log" 2>&1
echo "rc1=\$?"
listing >"$SANDBOX/listing1"
env -u MAKEFLAGS -u MFLAGS make install >"$SANDBOX/install2.log" 2>&1
echo "rc2=\$?"
listing >"$SANDBOX/listing2"
test -s "$TERN_SYSTEMDUNITDIR/ternd.service" && echo unit=yes
EOF
run "${_SB_UNSHARE[@]}" bash "$SANDBOX/ns-install.sh"
rm -rf "$SANDBOX/etc-copy"
like "$OUT" 'rc1=0' "make install as root: exit 0"
[[ $OUT =~ rc1=0 ]] || diag "$(tail -n 15 "$SANDBOX/install1.log")" "$ERR"
L=$(cat "$SANDBOX/listing1" 2>/dev/null)
is "$(echo "$L" | grep -E '^(tern|terndrop):')" "tern:$Q:/usr/sbin/nologin
tern:
terndrop:tern" "tern and terndrop groups, tern user"
like "$L" $'\ntern terndrop(\n|$)' "tern is in terndrop"
like "$L" "$TERN_SBINDIR/sendmail root:terndrop 2755" "sendmail is setgid terndrop, mode 2755"
want="$Q root:root 755
$Q/active tern:tern 700
$Q/control tern:tern 750
$Q/corrupt tern:tern 700
$Q/data tern:tern 700
$Q/deferred tern:tern 700
$Q/hold tern:tern 700
$Q/incoming tern:tern 700
$Q/maildrop tern:terndrop 1730
$Q/public tern:terndrop 710
$Q/state tern:tern 700"
is "$(echo "$L" | grep "^$Q")" "$want" "queue owners and modes"
like "$OUT" 'unit=yes' "the unit is installed"
like "$OUT" 'rc2=0' "second make install: exit 0"
is "$(cat "$SANDBOX/listing2" 2>/dev/null)" "$L" "second make install: nothing changed"

done_testing
