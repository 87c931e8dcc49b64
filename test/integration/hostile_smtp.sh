#!/bin/bash
# hostile_smtp: ternd's listener against hostile clients, each case
# answered with the right code, in bounded memory, with the daemon
# still serving another client afterwards.  What smtpd_limits.sh,
# smtpd_smuggling.sh, smtpd_tls_auth.sh and submit_hostile.sh already
# prove (the 2048-octet line at and over the limit, the 4th RCPT of 3,
# one dribbled line, one wrong password's delay) is not repeated here;
# this script adds the volume and the abuse:
#
#   - a 10 MB command line with no line end (500 5.5.2, not buffered);
#   - DATA lines over 998 octets (taken and relayed intact) and one
#     5 MB line over max_message_size (552 5.3.4);
#   - max_recipients + 1 recipients pipelined (1000 x 250, one 452);
#   - slowloris: 50 clients dribbling a command line a byte a second are
#     cut off by command_timeout, while another client's EHLO round trip
#     is measured (printed, not asserted);
#   - TLS handshake garbage on the implicit-TLS port and after STARTTLS;
#   - AUTH brute force from one address: delays, then 421 4.7.0 for that
#     address while another still logs in;
#   - header bombs: 100,000 header fields, 1,000 levels of nested
#     multipart (with empty_subject_from_body, which walks the MIME tree);
#   - NUL bytes in a command and in DATA (554 5.6.0);
#   - invalid UTF-8 in EHLO, MAIL and RCPT (with and without SMTPUTF8) and
#     in header fields;
#   - 100,000 recipients through sendmail, on the command line and in a
#     To field with -t, picked up and relayed.
#
# Each case prints ternd's peak RSS (VmHWM) before and after as a diag
# and checks it stays under RSS_LIMIT_MB (200; 1000 when ternd is built
# with AddressSanitizer, whose shadow memory and quarantine cost more).
# shellcheck disable=SC2016,SC2119  # conditions are code for wait_for; ternd_stop takes optional arguments
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/test/lib/sandbox.sh"
. "$top_srcdir/test/lib/ternd.sh"
. "$top_srcdir/test/lib/listen.sh"

PEER_LIFETIME=600
ternd_sandbox_init
make_certs

RSS_LIMIT_MB=200
if ldd "$TERND" 2>/dev/null | grep -q libasan; then
	RSS_LIMIT_MB=1000
fi

TLSD=$SANDBOX/tls
mkdir -p "$TLSD"
cp "$CERT" "$TLSD/cert.pem"
cp "$KEY" "$TLSD/key.pem"
chmod 0644 "$TLSD/cert.pem"
chmod 0600 "$TLSD/key.pem"
give "$TLSD" "$TLSD/cert.pem" "$TLSD/key.pem"
TLS_LINES=("tls_cert_file = $TLSD/cert.pem" "tls_key_file = $TLSD/key.pem")

PW='right horse battery'
USERS=$SANDBOX/users
H=$(hash_sha512 "$PW") || bail_out "openssl passwd -6 cannot make a SHA-512 hash"
echo "alice:$H" >"$USERS"
chmod 0640 "$USERS"
give "$USERS"
plain_b64() { printf '\0%s\0%s' "$1" "$2" | base64 -w0; }

peer_start main
P=${PEER_PORT[main]}
LP=$(free_port)
LI=$(free_port)
LS=$(free_port)
LT=$(free_port)
ternd_config "max_message_size = 4M" "empty_subject_from_body = 40" \
	"$(relay main "$P" "tls = none")" \
	"$(listen_section plain "$LP" "command_timeout = 4s" \
		"max_connections_per_ip = 100")" \
	"$(listen_section imp "$LI" "tls = implicit" "${TLS_LINES[@]}" \
		"auth = optional" "users_file = $USERS" "networks = 10.0.0.0/8")" \
	"$(listen_section st "$LS" "tls = starttls" "${TLS_LINES[@]}" \
		"command_timeout = 2s")" \
	"$(listen_section it "$LT" "tls = implicit" "${TLS_LINES[@]}" \
		"command_timeout = 2s")"
ternd_start || bail_out "ternd did not start"
ok "the four listeners are up" \
	wait_for "[ \$(log_count 'listening on 127\\.0\\.0\\.1:') -ge 4 ]" 10

# ---------------------------------------------------------------- helpers

# hwm_kb / rss_kb: ternd's peak and current resident set (kB).
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$TERND_PID/status" 2>/dev/null; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$TERND_PID/status" 2>/dev/null; }

# rss_begin NAME / rss_end: print ternd's peak RSS around a case and
# check it stays under RSS_LIMIT_MB.
rss_begin()
{
	RSS_CASE=$1
	RSS_BEFORE=$(hwm_kb)
}

rss_end()
{
	local after now
	after=$(hwm_kb)
	now=$(rss_kb)
	diag "$RSS_CASE: ternd peak RSS (VmHWM) before $((${RSS_BEFORE:-0} / 1024)) MB, after $((${after:-0} / 1024)) MB (now $((${now:-0} / 1024)) MB)"
	ok "$RSS_CASE: ternd's peak RSS stays under $RSS_LIMIT_MB MB" \
		test "${after:-999999999}" -lt $((RSS_LIMIT_MB * 1024))
}

# serves NAME: ternd is alive and another client (from 127.0.0.9) gets
# a greeting and an EHLO answer on the plain listener.
serves()
{
	smtp "$LP" --source 127.0.0.9 read "cmd:EHLO other.example" "cmd:QUIT" "eof:10"
	if ternd_alive && [[ $SMTP_OUT == "220 $HOST ESMTP tern"*"250 CHUNKING"*"221 2.0.0 Bye"* ]]; then
		pass "$1: ternd still serves another client"
	else
		fail "$1: ternd still serves another client" "$SMTP_OUT" "$(log_tail 10)"
	fi
}

# send_msg PORT SUBJECT FILE: one message (FILE: the DATA part, ended
# by CRLF.CRLF) from alice@client.example to bob@remote.example; the
# replies in SMTP_OUT.
send_file()
{
	smtp "$1" read "cmd:EHLO client.example" "cmd:MAIL FROM:<alice@client.example>" \
		"cmd:RCPT TO:<bob@remote.example>" "cmd:DATA" "sendfile:$2" read \
		"cmd:QUIT" "eof:10"
}

# ---------------------------------------------------------------- long lines

# A 10 MB command line: one 500, then the session goes on.  The line is
# never held whole (memory stays flat).
rss_begin "10 MB command line"
{ printf 'NOOP '; head -c 10485760 /dev/zero | tr '\0' x; printf '\r\nNOOP\r\n'; } >"$SANDBOX/longcmd"
smtp "$LP" read "cmd:EHLO client.example" "sendfile:$SANDBOX/longcmd" "replies:2" \
	"cmd:QUIT" "eof:10"
is "$(after '^250 CHUNKING$')" "500 5.5.2 Error: command line too long (limit 2048 octets)
250 2.0.0 Ok
221 2.0.0 Bye
<EOF>" "a 10 MB command line: one 500 5.5.2 (limit 2048 octets), then NOOP 250"
rm -f "$SANDBOX/longcmd"
rss_end
serves "10 MB command line"

# DATA lines over 998 octets: RFC 5322's limit is the writer's, and
# Postfix takes such lines too; the message is queued and relayed with
# the lines intact.
{
	printf 'Subject: long data lines\r\n\r\n'
	head -c 999 /dev/zero | tr '\0' a; printf '\r\n'
	head -c 100000 /dev/zero | tr '\0' b; printf '\r\nend\r\n.\r\n'
} >"$SANDBOX/longdata"
rss_begin "DATA lines of 999 and 100,000 octets"
send_file "$LP" "$SANDBOX/longdata"
like "$(after '^354 ' | head -n 1)" '^250 2\.0\.0 Ok: queued as [0-9A-F]{19}$' \
	"DATA lines of 999 and 100,000 octets: queued"
ok "and relayed" wait_for 'peer_find main "^Subject: long data lines$" >/dev/null' 20
f=$(peer_find main "^Subject: long data lines$")
# smtpc keeps lines within SMTP's 998 octets: a longer line is cut and
# continued after CRLF SP (smtpc.h), so joining those gives it back.
is "$(msg_body "$f" | awk 'length($0) > 998' | wc -l | tr -d ' ')" 0 \
	"what goes out has no line over 998 octets"
is "$(msg_body "$f" | sed -e ':a' -e 'N;$!ba' -e 's/\n //g' | awk '{ print length($0) }' | tr '\n' ' ')" \
	"999 100000 3 " "the peer gets both long lines, cut and continued (CRLF SP), nothing lost"
rss_end

# One line over max_message_size (4M): 552 after the dot, nothing kept.
{
	printf 'Subject: too long a line\r\n\r\n'
	head -c 5242880 /dev/zero | tr '\0' c; printf '\r\n.\r\n'
} >"$SANDBOX/hugeline"
log_mark
rss_begin "a 5 MB DATA line over max_message_size"
send_file "$LP" "$SANDBOX/hugeline"
is "$(after '^354 ' | head -n 1)" "552 5.3.4 Message size exceeds fixed limit (4194304 bytes)" \
	"a 5 MB DATA line over max_message_size = 4M: 552 5.3.4"
is "$(log_count ': client=unknown\[' new)" 0 "nothing is queued for it"
rm -f "$SANDBOX/hugeline"
rss_end
serves "5 MB DATA line"

# ---------------------------------------------------------------- max_recipients + 1

# 1,001 RCPTs pipelined (max_recipients = 1000, the default): 1,000 are
# taken, the 1,001st gets 452, and the message goes to the 1,000.
{
	printf 'EHLO client.example\r\nMAIL FROM:<alice@client.example>\r\n'
	for i in $(seq 1 1001); do printf 'RCPT TO:<r%d@remote.example>\r\n' "$i"; done
} >"$SANDBOX/rcpts"
rss_begin "1,001 recipients"
smtp "$LP" read "sendfile:$SANDBOX/rcpts" "replies:1003" "cmd:DATA" \
	"send:Subject: a thousand\r\n\r\nhi\r\n.\r\n" read "cmd:QUIT" "eof:10"
is "$(printf '%s\n' "$SMTP_OUT" | grep -c '^250 2\.1\.5 Ok$')" 1000 "1,001 RCPTs: 1,000 get 250 2.1.5"
is "$(printf '%s\n' "$SMTP_OUT" | grep -c '^452 4\.5\.3 Error: too many recipients (limit 1000)$')" 1 \
	"and one gets 452 4.5.3 Error: too many recipients (limit 1000)"
like "$(after '^354 ' | head -n 1)" '^250 2\.0\.0 Ok: queued as ' "the message is queued"
ok "and relayed" wait_for 'peer_find main "^Subject: a thousand$" >/dev/null' 30
f=$(peer_find main "^Subject: a thousand$")
is "$(msg_env "$f" | grep -c '^RCPT ')" 1000 "the peer gets it for 1,000 recipients"
rss_end
serves "1,001 recipients"

# ---------------------------------------------------------------- slowloris

# 50 clients each dribble "EHLO ..." a byte a second (command_timeout =
# 4s on this listener); meanwhile another client's EHLO round trip is
# measured.  Prints "rtt MS REPLY" per probe and "slow N421 NCLOSED
# NOPEN".
cat >"$SANDBOX/slowloris.py" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), 50
slow = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.recv(512)                         # the greeting
    s.setblocking(False)
    slow.append([s, b"", False])
text = b"EHLO slow.example.org\r\n"
start = time.monotonic()

def pump(k):
    for ent in slow:
        s = ent[0]
        if ent[2]:
            continue
        try:
            if k < len(text):
                s.send(text[k:k + 1])
        except OSError:
            ent[2] = True
            continue
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    ent[2] = True
                    break
                ent[1] += d
        except BlockingIOError:
            pass
        except OSError:
            ent[2] = True

def probe():
    t0 = time.monotonic()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = c.makefile("rb")
    f.readline()
    c.sendall(b"EHLO probe.example\r\n")
    while True:
        line = f.readline()
        if not line or line[3:4] != b"-":
            break
    ms = (time.monotonic() - t0) * 1000
    c.sendall(b"QUIT\r\n")
    c.close()
    return ms, line

for k in range(12):                     # 12 s at most
    pump(k)
    if k in (1, 2, 3):
        ms, line = probe()
        print("rtt %.1f %s" % (ms, line.decode(errors="replace").strip()))
    if all(e[2] for e in slow):
        break
    time.sleep(1)
got421 = sum(1 for e in slow if b"421 4.4.2 " in e[1] and b"command_timeout 4s" in e[1])
closed = sum(1 for e in slow if e[2])
print("slow %d %d %d" % (got421, closed, n - closed))
print("seconds %.1f" % (time.monotonic() - start))
PY

log_mark
rss_begin "slowloris (50 clients)"
run "$PYTHON" "$SANDBOX/slowloris.py" "$LP"
diag "$(printf '%s\n' "$OUT" | grep -E '^(rtt|seconds) ' | sed 's/^rtt /a second client'"'"'s EHLO round trip (ms, reply): /')"
is "$(printf '%s\n' "$OUT" | grep -c '^rtt [0-9.]* 250 CHUNKING$')" 3 \
	"while 50 clients dribble, another client is served (3 EHLO probes answered)"
is "$(printf '%s\n' "$OUT" | sed -n 's/^slow //p')" "50 50 0" \
	"each of the 50 dribbling clients gets 421 4.4.2 (command_timeout 4s) and is closed"
rss_end
serves "slowloris"

# ---------------------------------------------------------------- TLS garbage

head -c 65536 /dev/urandom >"$SANDBOX/garbage"
# A TLS record header announcing a handshake of 16 KB, then junk.
printf '\x16\x03\x01\x40\x00\x01\x00\x3f\xfc\x03\x03' >"$SANDBOX/badhello"
head -c 300 /dev/urandom >>"$SANDBOX/badhello"
rss_begin "TLS handshake garbage"
log_mark
smtp "$LI" "sendfile:$SANDBOX/garbage" "eof:10"
like "$SMTP_OUT" '<EOF>$' "64 KB of random bytes on the implicit-TLS port: the connection is closed"
unlike "$SMTP_OUT" '^2[0-9][0-9] ' "and nothing is answered in plain text"
smtp "$LI" "send:EHLO plain.example\r\n" "eof:10"
like "$SMTP_OUT" '<EOF>$' "plain-text EHLO on the implicit-TLS port: closed"
# A handshake that stalls is bounded by command_timeout (2s on "it").
smtp "$LT" "sendfile:$SANDBOX/badhello" "eof:10"
like "$SMTP_OUT" '<EOF>$' "a ClientHello cut short on the implicit-TLS port: closed at command_timeout"
ok "the failed handshakes are logged" log_has 'SSL_accept error from unknown\[127\.0\.0\.1\]' new
smtp "$LS" read "cmd:EHLO client.example" "cmd:STARTTLS" "sendfile:$SANDBOX/garbage" "eof:10"
like "$SMTP_OUT" $'220 2\\.0\\.0 Ready to start TLS\n(.*\n)?<EOF>$' \
	"random bytes after STARTTLS's 220: the connection is closed"
smtp "$LS" read "cmd:EHLO client.example" "cmd:STARTTLS" "sendfile:$SANDBOX/badhello" "eof:10"
like "$SMTP_OUT" '<EOF>$' "a ClientHello cut short after STARTTLS: closed at command_timeout"
smtp "$LS" read "cmd:EHLO client.example" "cmd:STARTTLS" "send:MAIL FROM:<a@b>\r\n" "eof:10"
like "$SMTP_OUT" '<EOF>$' "plain-text commands after STARTTLS's 220: closed"
smtp "$LI" --tls read "cmd:EHLO client.example" "cmd:QUIT" "eof:10"
like "$SMTP_OUT" "^TLS TLSv1\\.[23]"$'\n'"220 $HOST_RE ESMTP tern"$'\n'".*221 2\\.0\\.0 Bye" \
	"a real TLS client on the implicit-TLS port is still served"
rss_end
serves "TLS garbage"

# ---------------------------------------------------------------- AUTH brute force

# 10 sessions from 127.0.0.3 at once, each with a wrong password: the
# failures are answered after growing delays (1, 2, 4, 8 s...), then the
# address is locked out: 421 4.7.0, while 127.0.0.4 still logs in.
log_mark
rss_begin "AUTH brute force"
bf=()
for i in $(seq 1 10); do
	timeout -k 5 "$RUN_TIMEOUT" "$PYTHON" "$SMTP_CLIENT" --port "$LI" --tls \
		--source 127.0.0.3 --timeout 30 read "cmd:EHLO guess$i.example" time \
		"cmd:AUTH PLAIN $(plain_b64 alice "guess $i")" time "cmd:QUIT" \
		>"$SANDBOX/bf.$i" 2>&1 &
	bf+=("$!")
	_sb_pids+=("$!")
done
for pid in "${bf[@]}"; do wait "$pid"; done
n535=0 delays=
for i in $(seq 1 10); do
	grep -q '^535 5\.7\.8 Error: authentication failed$' "$SANDBOX/bf.$i" && n535=$((n535 + 1))
	t=$(sed -n 's/^TIME //p' "$SANDBOX/bf.$i")
	delays="$delays $(( $(sed -n 2p <<<"$t") - $(sed -n 1p <<<"$t") ))"
done
diag "the 10 wrong passwords were answered after (ms):$delays"
is "$n535" 10 "10 wrong passwords from 127.0.0.3 at once: 10 x 535 5.7.8"
max=$(printf '%s\n' $delays | sort -n | tail -n 1)
ok "the failures are answered after growing delays (the longest ${max} ms >= 4000)" test "$max" -ge 4000
chat "$LI" --tls --source 127.0.0.3 "<" ">EHLO guess11.example" "<" \
	">AUTH PLAIN $(plain_b64 alice "$PW")" "<" eof
like "$OUT" "421 4\\.7\\.0 $HOST Error: too many failed authentication attempts; try again later"$'\n''<EOF>' \
	"the 11th try from 127.0.0.3, even with the right password: 421 4.7.0 too many failed authentication attempts, closed"
ok "the lock-out is logged" log_has 'unknown\[127\.0\.0\.3\]: too many failed SASL authentication attempts' new
chat "$LI" --tls --source 127.0.0.4 "<" ">EHLO other.example" "<" \
	">AUTH PLAIN $(plain_b64 alice "$PW")" "<" ">QUIT" "<"
like "$OUT" $'\n235 2\\.7\\.0 Authentication successful\n221 ' \
	"meanwhile 127.0.0.4 logs in with the right password: 235"
rss_end
serves "AUTH brute force"

# ---------------------------------------------------------------- header bombs

# 100,000 header fields (2.4 MB, under max_message_size = 4M).
"$PYTHON" -c '
import sys
w = sys.stdout.buffer.write
w(b"Subject: header bomb\r\n")
for i in range(100000):
    w(b"X-Bomb-%06d: v\r\n" % i)
w(b"\r\nbody\r\n.\r\n")' >"$SANDBOX/hbomb"
log_mark
rss_begin "100,000 header fields"
send_file "$LP" "$SANDBOX/hbomb"
like "$(after '^354 ' | head -n 1)" '^250 2\.0\.0 Ok: queued as [0-9A-F]{19}$' \
	"100,000 header fields: queued"
ok "and relayed" wait_for 'peer_find main "^Subject: header bomb$" >/dev/null' 60
f=$(peer_find main "^Subject: header bomb$")
is "$(msg_head "$f" | grep -c '^X-Bomb-')" 100000 "the peer gets all 100,000 fields"
rss_end
serves "100,000 header fields"

# 1,000 levels of multipart, no Subject: empty_subject_from_body walks
# the MIME tree for the first text part (depth-bounded).
"$PYTHON" -c '
import sys
w = sys.stdout.buffer.write
n = 1000
w(b"MIME-Version: 1.0\r\nX-Test: nested mime\r\n")
w(b"Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
for i in range(n):
    w(b"--b%d\r\n" % i)
    if i + 1 < n:
        w(b"Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n" % (i + 1))
    else:
        w(b"Content-Type: text/plain\r\n\r\ndeep text\r\n")
for i in reversed(range(n)):
    w(b"--b%d--\r\n" % i)
w(b".\r\n")' >"$SANDBOX/nested"
rss_begin "1,000 levels of nested multipart"
send_file "$LP" "$SANDBOX/nested"
like "$(after '^354 ' | head -n 1)" '^250 2\.0\.0 Ok: queued as [0-9A-F]{19}$' \
	"1,000 levels of nested multipart: queued"
ok "and relayed" wait_for 'peer_find main "^X-Test: nested mime$" >/dev/null' 30
f=$(peer_find main "^X-Test: nested mime$")
is "$(msg_body "$f" | grep -c '^--b[0-9]*--$')" 1000 "the peer gets all 1,000 levels"
rss_end
serves "nested multipart"

# ---------------------------------------------------------------- NUL bytes

log_mark
smtp "$LP" read "cmd:EHLO client.example" "send:NOOP \x00x\r\n" read \
	"send:MAIL FROM:<a\x00b@client.example>\r\n" read \
	"cmd:MAIL FROM:<alice@client.example>" "cmd:RCPT TO:<bob@remote.example>" \
	"cmd:DATA" "send:Subject: nul\r\n\r\nbefore \x00 after\r\n.\r\n" read \
	"cmd:NOOP" "cmd:QUIT" "eof:10"
got=$(after '^250 CHUNKING$')
like "$(sed -n 1p <<<"$got")" '^5[0-9][0-9] 5\.5\.[0-9] ' "a NUL byte in a command line: a 5xx syntax error"
like "$(sed -n 2p <<<"$got")" '^5[0-9][0-9] 5\.[0-9]\.[0-9] ' "a NUL byte in a MAIL address: 5xx"
is "$(after '^354 ' | head -n 2)" "554 5.6.0 Error: message contains a NUL byte
250 2.0.0 Ok" "a NUL byte in DATA: 554 5.6.0, and the session goes on"
is "$(log_count ': client=unknown\[' new)" 0 "nothing is queued for them"
serves "NUL bytes"

# ---------------------------------------------------------------- invalid UTF-8

# Each line: the command, then the reply's first three characters.
smtp "$LP" read "send:EHLO bad\xff.example\r\n" read "cmd:EHLO client.example" \
	"send:MAIL FROM:<al\xffice@client.example>\r\n" read \
	"send:MAIL FROM:<al\xffice@client.example> SMTPUTF8\r\n" read \
	"send:MAIL FROM:<al\xc3\x28ce@client.example> SMTPUTF8\r\n" read \
	"send:MAIL FROM:<\xc3\xa9@client.example> SMTPUTF8\r\n" read \
	"send:RCPT TO:<b\xffob@remote.example>\r\n" read \
	"send:RCPT TO:<b\xed\xa0\x80ob@remote.example>\r\n" read \
	"send:RCPT TO:<b\xc3\xa9ob@remote.example>\r\n" read \
	"cmd:QUIT" "eof:10"
is "$(printf '%s\n' "$SMTP_OUT" | grep -v '^250-' | sed -E 's/<[^>]*@[^>]*>/<ADDR>/')" "220 $HOST ESMTP tern
501 5.5.4 Syntax: EHLO hostname
250 CHUNKING
501 5.1.7 <ADDR>: Bad sender address syntax
501 5.1.7 <ADDR>: Bad sender address syntax
501 5.1.7 <ADDR>: Bad sender address syntax
250 2.1.0 Ok
501 5.1.3 <ADDR>: Bad recipient address syntax
501 5.1.3 <ADDR>: Bad recipient address syntax
250 2.1.5 Ok
221 2.0.0 Bye
<EOF>" "invalid UTF-8 (a lone 0xFF, a bad continuation, a surrogate) in EHLO, MAIL (with SMTPUTF8 or not) and RCPT: 501; valid UTF-8 with SMTPUTF8: 250"
# The NOQUEUE lines quote what the client sent, escaped: a log line is
# never invalid UTF-8 (a JSON log would not parse).
ok "no malformed UTF-8 reaches the log (iconv reads it as UTF-8)" \
	iconv -f UTF-8 -t UTF-8 -o /dev/null "$TLOG"
ok "  the sender's 0xFF is logged as \\xff" grep -qF 'from=<al\xffice@client.example>' "$TLOG"
ok "  a surrogate as \\xed\\xa0\\x80" grep -qF 'to=<b\xed\xa0\x80ob@remote.example>' "$TLOG"

# UTF-8 without SMTPUTF8, and invalid UTF-8 in header fields (taken as
# 8-bit text: a header is the writer's business, not the envelope's).
log_mark
smtp "$LP" read "cmd:EHLO client.example" \
	"send:MAIL FROM:<\xc3\xa9@client.example>\r\n" read \
	"cmd:MAIL FROM:<alice@client.example>" \
	"send:RCPT TO:<b\xc3\xa9@remote.example>\r\n" read \
	"cmd:RCPT TO:<bob@remote.example>" "cmd:DATA" \
	"send:Subject: bad utf8 \xff\xfe\r\nFrom: \xc3\x28 <alice@client.example>\r\nX-Bad: \xed\xa0\x80\r\n\r\nbody \xff\r\n.\r\n" read \
	"cmd:QUIT" "eof:10"
is "$(after '^250 CHUNKING$' | sed -E 's/<[^>]*@[^>]*>/<ADDR>/; s/queued as [0-9A-F]+/queued as ID/')" "553 5.6.7 <ADDR>: non-ASCII address needs SMTPUTF8
250 2.1.0 Ok
553 5.6.7 <ADDR>: non-ASCII address needs SMTPUTF8
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID
221 2.0.0 Bye
<EOF>" "UTF-8 addresses without SMTPUTF8: 553 5.6.7; invalid UTF-8 in header fields and body: queued"
ok "the message with invalid UTF-8 headers is relayed" \
	wait_for 'peer_find main "^Subject: bad utf8 " >/dev/null' 20
f=$(peer_find main "^Subject: bad utf8 ")
ok "its bytes arrive unchanged" grep -a -q $'^X-Bad: \xed\xa0\x80\r$' "$f"
serves "invalid UTF-8"

# ---------------------------------------------------------------- 100,000 recipients through sendmail

# sendmail's limit is 100,000 recipients (submit_hostile.sh checks
# 100,001); exactly that many, on the command line and in a To field
# with -t, are queued, picked up and relayed.
rcpts=()
for ((i = 1; i <= 100000; i++)); do rcpts+=("r$i@remote.example"); done
log_mark
rss_begin "100,000 recipients on sendmail's command line"
printf 'Subject: many on the command line\n\nhi\n' >"$SANDBOX/stdin"
# The arguments (2.3 MB) need more than the default 2 MB ARG_MAX.
(
	ulimit -s 65536
	run "${AS_USER[@]}" "$SENDMAIL" -i "${rcpts[@]}" <"$SANDBOX/stdin"
	echo "$RC" >"$SANDBOX/rc"
)
is "$(cat "$SANDBOX/rc")" 0 "sendmail with 100,000 recipients on the command line: exit 0"
ok "ternd relays it" wait_for 'peer_find main "^Subject: many on the command line$" >/dev/null' 90
f=$(peer_find main "^Subject: many on the command line$")
is "$(msg_env "$f" | grep -c '^RCPT ')" 100000 "the peer gets it for 100,000 recipients"
rss_end
serves "100,000 recipients on the command line"

# The same in one To field with -t, submitted while ternd is down (so
# the peer, slow at 100,000 RCPTs, is spared a second copy): queued,
# then picked up by a new ternd.
ternd_stop
is "$TERND_RC" 0 "ternd exits 0"
{
	printf 'Subject: many in To\nTo: '
	printf '%s,\n ' "${rcpts[@]:0:99999}"
	printf '%s\n\nhi\n' "${rcpts[99999]}"
} >"$SANDBOX/tmany"
run "${AS_USER[@]}" "$SENDMAIL" -t -i <"$SANDBOX/tmany"
is "$RC" 0 "sendmail -t with 100,000 recipients in To: exit 0"
log_mark
ok "a new ternd starts" ternd_start
rss_begin "100,000 recipients in To (-t), picked up"
ok "and picks it up for 100,000 recipients" \
	wait_for 'log_has "from=<$TUSER@example\.org>, size=[0-9]+, nrcpt=100000 \(queue active\)" new' 60
rss_end
serves "100,000 recipients in To"
ternd_stop
is "$TERND_RC" 0 "ternd exits 0 at the end"
done_testing
