/*
 * smtpc: the SMTP client (RFC 5321), one session per connection, driven
 * by a libevent event base.  Used by ternd's queue manager and by
 * "tern test-relay"; it knows nothing of queues or files beyond the
 * message it is handed.
 *
 * A session connects (plain, STARTTLS or implicit TLS per RFC 8314),
 * says EHLO (HELO when EHLO is refused), upgrades with STARTTLS when the
 * policy says so, authenticates, and then carries transactions: each
 * smtpc_send() is one MAIL FROM / RCPT TO... / DATA, pipelined when the
 * server offers PIPELINING.  After a transaction the session stays open
 * for the next message to the same relay until smtpc_quit() or the idle
 * timeout.  Every step has a timeout.  Results arrive through one
 * callback, always from the event loop (never from inside smtpc_new,
 * smtpc_send or smtpc_quit); the session is never freed inside it
 * (smtpc_free defers).  No credential is ever sent without TLS.
 *
 * The program must ignore SIGPIPE: a write to a connection the server
 * closed would otherwise kill it.
 */
#ifndef TERN_SMTPC_H
#define TERN_SMTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "errbuf.h"

/* Where a session or transaction failed; the failover table in route.c
 * maps (stage, reply) to "next relay" or "final for the recipient". */
enum smtpc_stage {
	SMTPC_STAGE_NONE,     /* no failure */
	SMTPC_STAGE_CONNECT,  /* TCP connect (refused, unreachable, timeout) */
	SMTPC_STAGE_TLS,      /* TLS handshake or certificate verification */
	SMTPC_STAGE_GREETING, /* the 220 banner */
	SMTPC_STAGE_EHLO,     /* EHLO and HELO */
	SMTPC_STAGE_STARTTLS, /* STARTTLS refused, or not offered when
				 required */
	SMTPC_STAGE_AUTH,     /* no usable mechanism, or credentials refused */
	SMTPC_STAGE_MAIL,     /* MAIL FROM */
	SMTPC_STAGE_RCPT,     /* RCPT TO (per recipient) */
	SMTPC_STAGE_DATA,     /* DATA command (354 expected) */
	SMTPC_STAGE_DOT,      /* the reply after the final "." */
	SMTPC_STAGE_IO,       /* connection lost or timeout mid-session */
};

/* One SMTP reply: the last line's code, its enhanced status code
 * (RFC 3463, "" when absent) and the text of all lines joined by a
 * space, bounded. */
struct smtpc_reply {
	int code;          /* 0 when there was no reply (I/O failure) */
	char status[16];   /* "5.1.1" */
	char text[512];
};

enum smtpc_tls_mode {
	SMTPC_TLS_STARTTLS,      /* required: fail when not offered */
	SMTPC_TLS_IMPLICIT,      /* TLS from the first byte (port 465) */
	SMTPC_TLS_OPPORTUNISTIC, /* STARTTLS when offered, unverified */
	SMTPC_TLS_NONE,
};

enum smtpc_auth_mode {
	SMTPC_AUTH_AUTO,   /* strongest offered: XOAUTH2 (when a token is
			      given), CRAM-MD5, PLAIN, LOGIN */
	SMTPC_AUTH_PLAIN,
	SMTPC_AUTH_LOGIN,
	SMTPC_AUTH_CRAM_MD5,
	SMTPC_AUTH_XOAUTH2,
	SMTPC_AUTH_NONE,
};

/* Strings are borrowed; a 0 timeout means the default (30 s connect,
 * 300 s per reply, 60 s idle). */
struct smtpc_config {
	const char *host;        /* for SNI and the certificate name check
				    (a name or an IP literal) and messages;
				    NULL: the address */
	struct sockaddr_storage addr; /* where to connect (port included) */
	socklen_t addrlen;
	enum smtpc_tls_mode tls;
	bool tls_verify;         /* verify chain and host name (default) */
	SSL_CTX *ssl_ctx;        /* from smtpc_tls_ctx_new(); not owned;
				    NULL: the session makes one with the
				    system trust store */
	enum smtpc_auth_mode auth;
	const char *username;    /* NULL: no AUTH */
	const char *password;    /* PLAIN, LOGIN, CRAM-MD5 */
	const char *oauth2_token;/* XOAUTH2 */
	const char *helo_name;   /* our EHLO name (NULL: "localhost") */
	unsigned connect_timeout;  /* seconds, TCP + TLS handshake */
	unsigned command_timeout;  /* seconds, each reply */
	unsigned idle_timeout;     /* seconds a reused session may idle */
};

/* One recipient of a transaction. */
struct smtpc_rcpt {
	const char *addr;
	unsigned notify;   /* ENVELOPE_NOTIFY_* bits, 0: no NOTIFY= */
	const char *orcpt; /* "rfc822;addr" or NULL */
	struct smtpc_reply reply; /* filled in: the RCPT reply, or the
				     DATA/final reply when RCPT was
				     accepted; a reply made here (5xx,
				     never sent) for a bad address or a
				     message refused before MAIL FROM */
};

/* The message of one transaction.  The header section is in memory
 * (already rewritten and signed by the caller); the body is read from
 * a file region, in chunks, never whole.  Both use LF line ends (CRLF
 * and a bare CR count as line ends too); smtpc sends CRLF, dot-stuffs,
 * and keeps every line within 998 octets: a header line is folded
 * before white space where it can, anything else is cut and continued
 * after CRLF SP.  A DKIM signer must keep lines short itself, or the
 * signature breaks.
 *
 * Refused here, before MAIL FROM, with a reply for every recipient and
 * stage MAIL: SMTPUTF8 when the server lacks it (553 5.6.7), REQUIRETLS
 * when it is not offered or TLS is not verified (550 5.7.30), a size
 * over the server's SIZE (552 5.3.4), a bad sender (553 5.1.7). */
struct smtpc_msg {
	const char *sender;      /* "" for the null sender */
	struct smtpc_rcpt *rcpts;
	size_t nrcpts;
	bool body_8bit;          /* BODY=8BITMIME when offered */
	bool smtputf8;           /* SMTPUTF8 (fail with 5.6.7 when the server
				    lacks it) */
	bool requiretls;         /* REQUIRETLS only when the message asked */
	int ret;                 /* enum envelope_ret: RET= when DSN offered */
	const char *envid;       /* ENVID= when DSN offered, or NULL */
	uint64_t size;           /* SIZE= estimate */
	const char *head;        /* header section, ending with the empty
				    line */
	size_t head_len;
	int body_fd;             /* body source, read with pread */
	off_t body_off;
	uint64_t body_len;
};

/* What the callback is told. */
enum smtpc_event {
	SMTPC_EV_READY,  /* connected, greeted, TLS and AUTH done: send */
	SMTPC_EV_SENT,   /* a transaction ended; see the rcpt replies and
			    the outcome (stage NONE when the final "." was
			    accepted for the accepted recipients; RCPT
			    when nobody was) */
	SMTPC_EV_FAILED, /* the session failed (stage, reply, err) and is
			    closed; an active transaction's recipients
			    without a final answer carry the failure (the
			    reply, or code 0 and err); those refused at
			    RCPT keep that refusal.  May follow SENT when
			    the connection is lost while idle. */
	SMTPC_EV_CLOSED, /* closed after smtpc_quit or idle timeout */
};

struct smtpc_outcome {
	enum smtpc_stage stage;  /* where it failed, or NONE */
	struct smtpc_reply reply;/* the failing reply (code 0: none) */
	char err[ERRBUF_SIZE];   /* plain words: "connect 192.0.2.1:587:
				    Connection refused", "TLS: certificate
				    verify failed: hostname mismatch" */
	bool tls;                /* the session is encrypted */
	char tls_info[128];      /* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
};

struct smtpc_session;

typedef void (*smtpc_event_fn)(struct smtpc_session *s,
    enum smtpc_event ev, const struct smtpc_outcome *out, void *arg);

/* Create a session and start connecting.  cfg is copied (its strings
 * must outlive the session).  Returns NULL on allocation failure. */
struct smtpc_session *smtpc_new(struct event_base *base,
    const struct smtpc_config *cfg, smtpc_event_fn cb, void *arg);

/* Start a transaction; allowed only after READY or SENT.  msg must stay
 * valid until the SENT or FAILED event.  Returns 0, or -1 when the
 * session is not ready (or a SENT is still to be delivered), msg has no
 * recipients, or memory ran out. */
int smtpc_send(struct smtpc_session *s, struct smtpc_msg *msg);

/* Try a sender without sending anything (for test-relay): MAIL
 * FROM:<sender> (SMTPUTF8 when the address needs it and the server
 * offers it), then RSET whatever the answer.  Allowed when smtpc_send
 * is, and not after a transaction that failed part way.  SENT follows
 * with the reply to MAIL FROM in out->reply (any code) and stage NONE
 * when it was accepted, else stage MAIL and err set; FAILED when the
 * RSET is refused or the session is lost.  Returns 0, or -1 when the
 * session is not ready or the address cannot be put on the wire. */
int smtpc_try_sender(struct smtpc_session *s, const char *sender);

/* Say QUIT and close (CLOSED follows).  Mid-transaction the
 * connection is dropped at once: no SENT for it, its recipients carry
 * "session closed by smtpc_quit". */
void smtpc_quit(struct smtpc_session *s);

/* Free the session (closing it without a callback); safe to call from
 * inside the callback: the memory is released once it returns. */
void smtpc_free(struct smtpc_session *s);

/* The capabilities the server announced (for test-relay): the EHLO
 * lines after the greeting one, '\n' after each ("" before EHLO or
 * after HELO). */
const char *smtpc_capabilities(const struct smtpc_session *s);

/* Whether the server announced DSN (RFC 3461) in its last EHLO: then it
 * reports success itself, and the client must not. */
bool smtpc_offers_dsn(const struct smtpc_session *s);

/* The server's certificate on an encrypted session (for test-relay),
 * borrowed: valid until the callback returns; NULL without TLS. */
X509 *smtpc_peer_cert(const struct smtpc_session *s);

/* A client TLS context: TLS 1.2 or newer, the system trust store plus
 * ca_file when not NULL.  Returns NULL with eb set. */
SSL_CTX *smtpc_tls_ctx_new(const char *ca_file, struct errbuf *eb);

/*
 * The message as the DATA encoder puts it on the wire (long lines folded
 * or cut), without the dot-stuffing and the final ".", and with LF line
 * ends: what the receiver will see, and so what a DKIM signer must sign
 * when the message has a line over 998 octets.  Appended to out; 0 or
 * -1 (out of memory, or out's limit).
 */
int smtpc_as_sent(const char *head, size_t head_len, const char *body,
    size_t body_len, struct buf *out);

/* Name of a stage, for logs: "none", "connect", "TLS", "greeting",
 * "EHLO", "STARTTLS", "AUTH", "MAIL FROM", "RCPT TO", "DATA",
 * "end of data", "I/O". */
const char *smtpc_stage_name(enum smtpc_stage stage);

/* Parse one reply line ("250-PIPELINING", "550 5.1.1 No such user");
 * returns 0 and fills code, continuation and the text offset, or -1 when
 * the line is not a reply.  Exposed for the unit tests. */
int smtpc_parse_reply_line(const char *line, size_t len, int *code,
    bool *more, size_t *text_off);

#endif
