/*
 * smtpd_proto: the server side of SMTP (RFC 5321 and its extensions)
 * as a state machine that is fed bytes and appends replies.
 *
 * No sockets, no files, no clock: the host (ternd's listener in
 * smtpd.c, or `sendmail -bs`) moves bytes between the network and the
 * engine, and does the few things that take time — a TLS handshake,
 * checking a password, committing a message to the queue — when the
 * engine asks, then tells the engine the outcome.  One engine serves
 * both hosts, so `sendmail -bs` speaks exactly the listener's SMTP.
 *
 * Spoken: EHLO/HELO, MAIL, RCPT, DATA, BDAT (CHUNKING), RSET, NOOP,
 * QUIT, HELP, VRFY (252), STARTTLS and AUTH PLAIN/LOGIN when the host
 * allows them; PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES,
 * DSN (RET, ENVID, NOTIFY, ORCPT stored in the envelope) and REQUIRETLS
 * (RFC 8689, offered and accepted only inside TLS).
 *
 * Message content (DATA and BDAT) is normalised, never smuggled: only
 * <CRLF>.<CRLF> ends DATA; a bare LF or bare CR is taken as a line end
 * (the message is stored with LF line ends and sent on with CRLF, so a
 * downstream server sees exactly the lines tern saw), and a line "."
 * that was not framed by CRLF on both sides is message text (dot-stuffed
 * again on the way out), never the end of the message.  This is what
 * Postfix 3.9 calls smtpd_forbid_bare_newline = normalize.  A NUL byte
 * in the content rejects the message (554 5.6.0), as sendmail does.
 *
 * The relay policy: a client may relay when the host says it is trusted
 * (its address is in the listener's networks; the local user of
 * `sendmail -bs`) or after AUTH; anyone else may write only to local
 * names that the aliases know and to postmaster (RFC 5321 4.5.1), and
 * gets 554 5.7.1 for everything else (see smtpd_policy.h).
 *
 * Use: smtpd_proto_new(), smtpd_proto_start() (the greeting; for
 * implicit TLS after the handshake), then repeatedly hand all unread
 * input to smtpd_proto_input(), send and empty smtpd_proto_output(),
 * and act on smtpd_proto_state().
 */
#ifndef TERN_SMTPD_PROTO_H
#define TERN_SMTPD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aliases.h"
#include "buf.h"
#include "envelope.h"

/* Longest command line, CRLF included.  RFC 5321 4.5.3.1.4 gives 512
 * octets and lets each extension add room (SIZE, DSN, AUTH=...): 2048
 * is what Postfix allows too.  Longer lines get 500 5.5.2 and count
 * as an error. */
#define SMTPD_LINE_MAX 2048
/* Longest AUTH exchange line (a SASL response in base64). */
#define SMTPD_AUTH_LINE_MAX 12288
/* Longest DSN ENVID (RFC 3461 4.4: 100 characters). */
#define SMTPD_ENVID_MAX 100

/* What the engine waits for; the host acts on it. */
enum smtpd_state {
	SMTPD_RUN,      /* hand it more input when there is some */
	SMTPD_STARTTLS, /* send the output, then THROW AWAY all unread
			   input (RFC 3207 5: nothing sent before the
			   handshake may be acted on), do the handshake,
			   then smtpd_proto_tls_started() */
	SMTPD_AUTH,     /* check smtpd_proto_auth_creds(), then
			   smtpd_proto_auth_result() (may be later) */
	SMTPD_COMMIT,   /* queue the transaction (smtpd_proto_envelope(),
			   smtpd_proto_message()) durably, then
			   smtpd_proto_commit_ok() or _commit_fail() */
	SMTPD_CLOSE,    /* send the output, then close the connection */
};

/* How a session is set up; strings are borrowed for its lifetime. */
struct smtpd_proto_conf {
	const char *hostname;     /* greeting, EHLO, messages */
	const char *origin;       /* a local domain besides hostname */
	const struct aliases *aliases; /* local names; may be NULL */
	const char *client;       /* "name[addr]" for logs, e.g.
				     "unknown[192.0.2.1]" */
	uint64_t max_message_size;
	size_t max_recipients;
	unsigned max_errors;      /* error replies before 421 and close */
	bool starttls;            /* offer STARTTLS (plain session with a
				     certificate) */
	bool tls;                 /* the session is already inside TLS
				     (implicit TLS) */
	int auth;                 /* enum config_listen_auth: AUTH is
				     offered only inside TLS */
	bool trusted;             /* may relay without AUTH */
	bool local;               /* sendmail -bs: protocol names "local" */
	/* Asked at each MAIL with the SIZE the client declared (0 when
	 * none): false when the queue lacks the room, and MAIL gets 452
	 * 4.3.1.  NULL: no such check. */
	bool (*space_ok)(uint64_t size, void *arg);
	void *space_arg;
};

/* Outcome of a password check. */
enum smtpd_auth_result {
	SMTPD_AUTH_OK,       /* 235 2.7.0 */
	SMTPD_AUTH_FAIL,     /* 535 5.7.8 */
	SMTPD_AUTH_TEMPFAIL, /* 454 4.7.0 (users file unreadable...) */
	SMTPD_AUTH_LOCKED,   /* 421 4.7.0 too many failures: close */
};

/* Called for every line worth logging (rejects with their reason,
 * AUTH successes and failures), already in Postfix's shape without
 * the queue ID: "NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554
 * 5.7.1 <x@example.com>: Relay access denied; from=<a@b> to=<x@...>
 * proto=ESMTP helo=<h>". */
typedef void (*smtpd_proto_log_fn)(int prio, const char *line, void *arg);

struct smtpd_proto;

/* A new session (no output yet).  NULL when out of memory. */
struct smtpd_proto *smtpd_proto_new(const struct smtpd_proto_conf *conf,
    smtpd_proto_log_fn log, void *arg);
void smtpd_proto_free(struct smtpd_proto *p);

/* The aliases were reloaded (the old ones are freed next): use al,
 * which may be NULL, from now on. */
void smtpd_proto_set_aliases(struct smtpd_proto *p,
    const struct aliases *al);

/* Append the 220 greeting. */
void smtpd_proto_start(struct smtpd_proto *p);

/*
 * Consume input.  Returns how many bytes of data[0..len) were used;
 * the rest must be offered again later (the engine stops consuming
 * when it leaves SMTPD_RUN, so commands pipelined behind DATA or AUTH
 * wait for the outcome).  Any partial line is kept inside the engine.
 */
size_t smtpd_proto_input(struct smtpd_proto *p, const char *data,
    size_t len);

/* The client closed its side: nothing more will come. */
void smtpd_proto_eof(struct smtpd_proto *p);

/* Replies not yet sent; the host sends and then empties it
 * (buf_reset). */
struct buf *smtpd_proto_output(struct smtpd_proto *p);

enum smtpd_state smtpd_proto_state(const struct smtpd_proto *p);

/* True while the client is between commands (no partial line, no
 * DATA or BDAT transfer under way): the idle timeout applies, not the
 * command timeout. */
bool smtpd_proto_idle(const struct smtpd_proto *p);

/* After SMTPD_STARTTLS: the handshake succeeded.  The session is reset
 * (RFC 3207 4.2: the client must EHLO again). */
void smtpd_proto_tls_started(struct smtpd_proto *p);

/* After SMTPD_AUTH: the mechanism and credentials to check (valid
 * until the result is given; the password is wiped then). */
void smtpd_proto_auth_creds(const struct smtpd_proto *p,
    const char **mech, const char **user, const char **pass);
void smtpd_proto_auth_result(struct smtpd_proto *p,
    enum smtpd_auth_result r);

/* After SMTPD_COMMIT: the transaction.  The envelope has the sender,
 * the recipients with their DSN parameters, body type, SMTPUTF8,
 * REQUIRETLS, RET and ENVID; arrival, uid and size are the host's to
 * set.  The message has LF line ends and no Received header yet. */
const struct envelope *smtpd_proto_envelope(const struct smtpd_proto *p);
const char *smtpd_proto_message(const struct smtpd_proto *p, size_t *len);
/* The EHLO/HELO name given (or "" before one) and the protocol for a
 * Received header's "with" clause (RFC 3848: SMTP, ESMTP, ESMTPS,
 * ESMTPA, ESMTPSA; "local" for sendmail -bs). */
const char *smtpd_proto_helo(const struct smtpd_proto *p);
const char *smtpd_proto_protocol(const struct smtpd_proto *p);
/* The authenticated user, or NULL. */
const char *smtpd_proto_auth_user(const struct smtpd_proto *p);

/* The message is durable in the queue as id: "250 2.0.0 Ok: queued as
 * ID".  The transaction ends; pipelined commands may follow. */
void smtpd_proto_commit_ok(struct smtpd_proto *p, const char *id);
/* It could not be queued: reply code (4xx or 5xx), enhanced status and
 * text, e.g. 452, "4.3.1", "insufficient system storage". */
void smtpd_proto_commit_fail(struct smtpd_proto *p, int code,
    const char *status, const char *text);

/* The host ends the session (timeout, shutdown, a limit): append this
 * final reply, e.g. "421 4.4.2 mail.example.org Error: timeout exceeded",
 * and go to SMTPD_CLOSE. */
void smtpd_proto_shutdown(struct smtpd_proto *p, const char *reply);

/* Per-session command counts for the "disconnect from" log line:
 * "ehlo=1 mail=1 rcpt=2 data=1 quit=1 commands=6" (Postfix's shape). */
void smtpd_proto_counts(const struct smtpd_proto *p, struct buf *out);

#endif
