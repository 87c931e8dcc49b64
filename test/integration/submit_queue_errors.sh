#!/bin/bash
# submit_queue_errors: a queue that cannot be written (73), a full disk
# (75), an unreadable queue, and config errors (78).  After each failure
# nothing of the message may be left in maildrop.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/test/lib/sandbox.sh"
sandbox_init

msg=$'Subject: queue errors\n\nbody\n'
printf '%s' "$msg" >"$SANDBOX/msg"

# Set up the queue with one good submit.
submit "$msg" a@example.com
is "$RC" 0 "baseline submit exits 0"
clear_queue

# Run as an ordinary user.  As root, permission bits do not apply, so the
# permission tests run as nobody through setpriv when it can reach the
# sandbox; otherwise they are skipped.
NOBODY_UID=$(id -u nobody 2>/dev/null || echo 65534)
NOBODY_GID=$(id -g nobody 2>/dev/null || echo 65534)
if [ "$(id -u)" != 0 ]; then
	AS_USER=()
	user_mode="the current user"
elif command -v setpriv >/dev/null 2>&1 &&
	setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups \
		test -r "$CONF" -a -x "$SANDBOX" 2>/dev/null; then
	AS_USER=(setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups)
	user_mode="nobody"
else
	AS_USER=()
	user_mode=
fi

# ---------------------------------------------------------------- permissions
perm_tests=9
if [ -z "$user_mode" ]; then
	for i in $(seq 1 $perm_tests); do
		skip "permission test $i" "running as root without setpriv, or nobody cannot reach $SANDBOX"
	done
else
	# A queue owned by that user.
	uq=$SANDBOX/userq
	mkdir -p "$uq"
	sed "s|^queue_dir = .*|queue_dir = $uq/queue|" "$CONF" >"$uq/tern.conf"
	chmod 755 "$uq"
	chmod 644 "$uq/tern.conf"
	if [ "$(id -u)" = 0 ]; then chown "$NOBODY_UID:$NOBODY_GID" "$uq"; fi
	run "${AS_USER[@]}" env TERN_CONFIG="$uq/tern.conf" "$SENDMAIL" a@example.com <"$SANDBOX/msg"
	is "$RC" 0 "as $user_mode: submit into a queue it owns exits 0"
	f=$(find "$uq/queue/maildrop" -maxdepth 1 -type f 2>/dev/null | head -n 1)
	is "$(stat -c '%u %a' "$f" 2>/dev/null)" "$( [ ${#AS_USER[@]} -gt 0 ] && echo "$NOBODY_UID" || id -u) 600" \
		"as $user_mode: the file belongs to the submitter, mode 0600"
	rm -f "$uq/queue/maildrop/"*

	chmod 0500 "$uq/queue/maildrop"
	run "${AS_USER[@]}" env TERN_CONFIG="$uq/tern.conf" "$SENDMAIL" a@example.com <"$SANDBOX/msg"
	is "$RC" 73 "as $user_mode: maildrop mode 0500 exits 73"
	like "$ERR" "maildrop" "maildrop 0500: the message names maildrop"
	like "$ERR" "[Pp]ermission denied" "maildrop 0500: the message says permission denied"
	is "$(find "$uq/queue/maildrop" -mindepth 1 | wc -l)" 0 "maildrop 0500: nothing left"
	chmod 0700 "$uq/queue/maildrop"

	rm -rf "$uq/queue"
	chmod 0555 "$uq"
	run "${AS_USER[@]}" env TERN_CONFIG="$uq/tern.conf" "$SENDMAIL" a@example.com <"$SANDBOX/msg"
	is "$RC" 73 "as $user_mode: a queue_dir it cannot create exits 73"
	like "$ERR" "queue" "uncreatable queue_dir: the message names the queue"
	chmod 0755 "$uq"

	mkdir -p "$uq/queue/maildrop"
	chmod 0700 "$uq/queue" "$uq/queue/maildrop"
	run "${AS_USER[@]}" env TERN_CONFIG="$uq/tern.conf" "$MAILQ" </dev/null
	if [ "$(id -u)" = 0 ]; then
		is "$RC" 77 "as $user_mode: mailq on root's 0700 queue exits 77"
	else
		chmod 0000 "$uq/queue/maildrop"
		run env TERN_CONFIG="$uq/tern.conf" "$MAILQ" </dev/null
		chmod 0700 "$uq/queue/maildrop"
		is "$RC" 77 "as $user_mode: mailq on an unreadable maildrop exits 77"
	fi
fi

# Errors that do not depend on permissions.
write_config
sed -i "s|^queue_dir = .*|queue_dir = /proc/nonexistent/queue|" "$CONF"
submit "$msg" a@example.com
is "$RC" 73 "queue_dir under a parent that cannot exist exits 73"
like "$ERR" "/proc/nonexistent/queue" "impossible queue_dir: the message names it"

printf 'not a directory\n' >"$SANDBOX/qfile"
sed -i "s|^queue_dir = .*|queue_dir = $SANDBOX/qfile|" "$CONF"
submit "$msg" a@example.com
is "$RC" 73 "queue_dir that is a regular file exits 73"
is "$(cat "$SANDBOX/qfile")" "not a directory" "the file in the way is left alone"

write_config
rm -rf "$MAILDROP"
printf 'in the way\n' >"$MAILDROP"
submit "$msg" a@example.com
is "$RC" 73 "maildrop that is a regular file exits 73"
is "$(cat "$MAILDROP")" "in the way" "the regular file named maildrop is untouched"
rm -f "$MAILDROP"

# A path too long for the trigger socket does not stop a submit.
longq=$SANDBOX/$(printf 'd%.0s' $(seq 1 120))
sed -i "s|^queue_dir = .*|queue_dir = $longq|" "$CONF"
submit "$msg" -v a@example.com
is "$RC" 0 "a queue_dir too long for the trigger socket still queues (exit 0)"
is "$(find "$longq/maildrop" -maxdepth 1 -type f | wc -l)" 1 "long queue_dir: the message is there"
like "$ERR" "not running|too long" "long queue_dir: -v says ternd cannot be woken"
write_config

# ---------------------------------------------------------------- mounts
if mount_ns_works; then
	clear_queue
	mkdir -p "$MAILDROP"
	ns_run "mount --bind '$MAILDROP' '$MAILDROP' && mount -o remount,bind,ro '$MAILDROP'" \
		"$SENDMAIL" a@example.com <"$SANDBOX/msg"
	is "$RC" 73 "read-only maildrop (read-only bind mount) exits 73"
	like "$ERR" "[Rr]ead-only" "read-only maildrop: the message says read-only"
	like "$ERR" "maildrop" "read-only maildrop: the message names maildrop"
	assert_nothing_left "read-only maildrop: nothing left"

	ns_run "mount --bind '$QUEUE_DIR' '$QUEUE_DIR' && mount -o remount,bind,ro '$QUEUE_DIR'" \
		"$SENDMAIL" -bp </dev/null
	is "$RC" 0 "mailq on a read-only queue exits 0"

	# A tiny tmpfs as the queue, filled up.  The checks run inside the
	# namespace (the tmpfs is gone after it) and report key=value lines.
	cat >"$SANDBOX/full.sh" <<'EOF'
q=$1 sm=$2 msg=$3 big=$4 err=$5
"$sm" a@example.com <"$msg"; echo "first=$?"
dd if=/dev/zero of="$q/fill" bs=1k count=1000 2>/dev/null
"$sm" a@example.com <"$msg" 2>"$err.full"; echo "full=$?"
echo "full_tmp=$(find "$q/maildrop" -name 'tmp.*' | wc -l)"
echo "full_files=$(find "$q/maildrop" -mindepth 1 | wc -l)"
rm -f "$q/fill"
avail=$(df -k --output=avail "$q" | tail -n 1 | tr -d ' ')
dd if=/dev/zero of="$q/fill" bs=1k count=$((avail - 16)) 2>/dev/null
"$sm" a@example.com <"$big" 2>"$err.partial"; echo "partial=$?"
echo "partial_tmp=$(find "$q/maildrop" -name 'tmp.*' | wc -l)"
echo "partial_files=$(find "$q/maildrop" -mindepth 1 | wc -l)"
"$sm" -bp >"$err.mailq" 2>&1; echo "mailq=$?"
umount "$q" && mount -t tmpfs -o size=1m,nr_inodes=32 tmpfs "$q" || exit 201
"$sm" a@example.com <"$msg"; echo "inode_first=$?"
i=0
while [ "$i" -lt 100 ] && touch "$q/i$i" 2>/dev/null; do i=$((i + 1)); done
"$sm" a@example.com <"$msg" 2>"$err.inodes"; echo "inodes=$?"
echo "inodes_files=$(find "$q/maildrop" -mindepth 1 | wc -l)"
EOF
	{ printf 'Subject: big\n\n'; head -c 200000 /dev/zero | tr '\0' 'x' | fold -w 100; } >"$SANDBOX/big"
	rm -rf "$QUEUE_DIR"
	mkdir -p "$QUEUE_DIR"
	ns_run "mount -t tmpfs -o size=64k tmpfs '$QUEUE_DIR'" \
		bash "$SANDBOX/full.sh" "$QUEUE_DIR" "$SENDMAIL" "$SANDBOX/msg" "$SANDBOX/big" "$SANDBOX/err"
	res=$OUT
	val() { sed -n "s/^$1=//p" <<<"$res"; }
	is "$RC" 0 "the full-disk script ran to its end"
	is "$(val first)" 0 "tmpfs queue: the first message is accepted"
	is "$(val full)" 75 "full queue filesystem exits 75"
	like "$(cat "$SANDBOX/err.full" 2>/dev/null)" "space" "full filesystem: the message mentions space"
	is "$(val full_tmp)" 0 "full filesystem: no tmp. file left"
	is "$(val full_files)" 1 "full filesystem: only the earlier message is there"
	is "$(val partial)" 75 "a 200 KB message into 16 KB of space exits 75"
	like "$(cat "$SANDBOX/err.partial" 2>/dev/null)" "space" "partial write: the message mentions space"
	is "$(val partial_tmp)" 0 "partial write: no tmp. file left"
	is "$(val partial_files)" 1 "partial write: only the earlier message is there"
	is "$(val mailq)" 0 "mailq on a full filesystem exits 0"
	is "$(val inode_first)" 0 "tmpfs with few inodes: the first message is accepted"
	is "$(val inodes)" 75 "no free inodes exits 75"
	like "$(cat "$SANDBOX/err.inodes" 2>/dev/null)" "space" "no free inodes: the message mentions space"
	is "$(val inodes_files)" 1 "no free inodes: only the earlier message is there"
	rm -rf "$QUEUE_DIR"
else
	for i in $(seq 1 20); do
		skip "mount namespace test $i" "cannot make tmpfs/bind mounts here (unshare -m / -rm)"
	done
fi

# ---------------------------------------------------------------- config errors
config_error()
{
	local desc=$1 line=$2 pattern=$3
	shift 3
	clear_queue
	submit "$msg" "$@" a@example.com
	is "$RC" 78 "$desc: exit 78"
	like "$ERR" "$(basename "$CONF"):$line:" "$desc: stderr names file:line ($line)"
	like "$ERR" "$pattern" "$desc: stderr explains"
	assert_nothing_left "$desc: nothing queued"
}

write_config "frobnicate = yes"
config_error "unknown key" 7 "frobnicate"
write_config "max_message_size = 12Q"
config_error "bad size" 7 "max_message_size"
write_config "max_message_size = 10"
config_error "size below the minimum" 7 "range"
write_config "log_format = xml"
config_error "bad enum" 7 "log_format"
write_config "queue_lifetime = forever"
config_error "bad duration" 7 "queue_lifetime"
write_config "[relay broken]" "port = 25"
config_error "relay without host" 7 "host"

write_config "frobnicate = yes" "retry_min = soon"
submit "$msg" a@example.com
is "$RC" 78 "two errors: exit 78"
like "$ERR" "tern\.conf:7:.*tern\.conf:8:" "two errors: both reported in one run"

write_config "frobnicate = yes"
run "$SENDMAIL" -bp </dev/null
is "$RC" 78 "a bad config stops mailq too (78)"
run "$NEWALIASES" </dev/null
is "$RC" 78 "a bad config stops newaliases too (78)"
sm -q
is "$RC" 78 "a bad config stops -q too (78)"
write_config

clear_queue
TERN_CONFIG=$SANDBOX/missing.conf submit "$msg" a@example.com
is "$RC" 78 "TERN_CONFIG naming a missing file exits 78"
like "$ERR" "missing\.conf" "missing TERN_CONFIG: stderr names the file"
assert_nothing_left "missing TERN_CONFIG: nothing queued"

submit "$msg" -C "$SANDBOX/missing.conf" a@example.com
is "$RC" 78 "-C naming a missing file exits 78"
like "$ERR" "missing\.conf" "missing -C file: stderr names the file"

mkdir -p "$SANDBOX/conf.d"
submit "$msg" -C "$SANDBOX/conf.d" a@example.com
is "$RC" 78 "-C naming a directory exits 78"

submit "$msg" -C "$CONF" a@example.com
is "$RC" 0 "-C naming the good file exits 0 (even with TERN_CONFIG set)"
TERN_CONFIG=$SANDBOX/missing.conf submit "$msg" -C "$CONF" a@example.com
is "$RC" 0 "-C beats a TERN_CONFIG that names a missing file"

# The built-in default path, inside a mount namespace where a tmpfs
# hides whatever the machine has there.
default_conf=$("$TERN" help 2>/dev/null | sed -n 's/.*else \$TERN_CONFIG, else \(.*\)\.$/\1/p')
etcdir=$(dirname "$(dirname "${default_conf:-/x/y/z}")")
if [ -z "$default_conf" ]; then
	skip "default config path used without TERN_CONFIG" "cannot learn the default path from 'tern help'"
	skip "missing default config means defaults" "cannot learn the default path from 'tern help'"
elif [ ! -d "$etcdir" ]; then
	skip "default config path used without TERN_CONFIG" "$etcdir does not exist"
	skip "missing default config means defaults" "$etcdir does not exist"
elif ! mount_ns_works; then
	skip "default config path used without TERN_CONFIG" "no mount namespaces"
	skip "missing default config means defaults" "no mount namespaces"
else
	clear_queue
	ns_run "mount -t tmpfs tmpfs '$etcdir' && mkdir -p '$(dirname "$default_conf")' && cp '$CONF' '$default_conf'" \
		env -u TERN_CONFIG "$SENDMAIL" a@example.com <"$SANDBOX/msg"
	is "$RC/$(count_queued)" "0/1" "without TERN_CONFIG the default path $default_conf is read"
	ns_run "mount -t tmpfs tmpfs '$etcdir'" env -u TERN_CONFIG "$TERN" check </dev/null
	is "$RC" 0 "a missing default config means built-in defaults (tern check exits 0)"
fi

done_testing
