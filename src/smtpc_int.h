/*
 * smtpc_int: what the files of the SMTP client share and nobody else
 * sees -- the session, its states and its transaction.  smtpc.c owns the
 * session (connection, reading, events, failure), smtpc_setup.c the way
 * to READY (EHLO, STARTTLS, AUTH), smtpc_txn.c the transactions.
 */
#ifndef TERN_SMTPC_INT_H
#define TERN_SMTPC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "smtpc.h"
#include "smtpc_auth.h"
#include "smtpc_proto.h"

#define SMTPC_DEF_CONNECT_TIMEOUT 30
#define SMTPC_DEF_COMMAND_TIMEOUT 300
#define SMTPC_DEF_IDLE_TIMEOUT 60
#define SMTPC_INPUT_MAX (64 * 1024) /* read high watermark */
#define SMTPC_OUT_LOW (16 * 1024)   /* refill the body below this */
#define SMTPC_OUT_HIGH (64 * 1024)  /* ... up to this */
#define SMTPC_CHUNK (16 * 1024)     /* one pread of the body */
#define SMTPC_CMD_MAX 16384         /* one command line */

enum smtpc_state {
	SMTPC_CONNECT,     /* TCP connect */
	SMTPC_TLS_CONNECT, /* implicit TLS handshake */
	SMTPC_GREETING,
	SMTPC_EHLO,
	SMTPC_HELO,
	SMTPC_STARTTLS,    /* STARTTLS sent, 220 awaited */
	SMTPC_TLS_UPGRADE, /* handshake after STARTTLS */
	SMTPC_AUTH,
	SMTPC_IDLE,
	SMTPC_TXN,   /* replies to RSET, MAIL, RCPT, DATA awaited */
	SMTPC_BODY,  /* writing the message */
	SMTPC_DOT,   /* the reply to the final dot awaited */
	SMTPC_DRAIN, /* 354 with nobody to send to: "." sent, reply ignored */
	SMTPC_TRY_MAIL, /* smtpc_try_sender: the reply to MAIL FROM */
	SMTPC_TRY_RSET, /* ... and to the RSET after it */
	SMTPC_QUIT,
	SMTPC_DONE,
};

/* The commands of a transaction, in order. */
enum smtpc_step {
	SMTPC_STEP_RSET,
	SMTPC_STEP_MAIL,
	SMTPC_STEP_RCPT,
	SMTPC_STEP_DATA,
	SMTPC_STEP_END,
};

struct smtpc_cursor {
	enum smtpc_step step;
	size_t rcpt; /* the recipient of a RCPT step */
};

/* Recipient states within a transaction. */
enum smtpc_rstate {
	SMTPC_R_SKIP,    /* refused locally, never sent */
	SMTPC_R_PENDING, /* no reply yet */
	SMTPC_R_OK,      /* RCPT accepted */
	SMTPC_R_NO,      /* RCPT refused */
};

struct smtpc_txn {
	struct smtpc_msg *msg;
	unsigned char *rstate;    /* enum smtpc_rstate per recipient */
	struct smtpc_cursor sent; /* next command to send */
	struct smtpc_cursor want; /* next command whose reply is due */
	bool mail_ok;
	size_t accepted;
	enum smtpc_stage stage;   /* where it failed, NONE so far */
	struct smtpc_reply reply; /* ... and the reply that said so */
	bool local;               /* ... made by us, never sent */
	bool cut;                 /* the server hung up mid-message */
	struct smtpc_data enc;
	uint64_t body_done;
	char *chunk; /* SMTPC_CHUNK octets for pread */
};

struct smtpc_session {
	struct event_base *base;
	struct smtpc_config cfg;
	smtpc_event_fn cb;
	void *arg;
	SSL_CTX *own_ctx; /* when cfg.ssl_ctx was NULL */

	enum smtpc_state state;
	int busy;   /* libevent callbacks on the stack */
	bool freed; /* smtpc_free was called during one */

	int fd;                      /* until a bufferevent owns it */
	struct event *ev_connect;    /* TCP connect completion */
	struct event *ev_timer;      /* the one deadline */
	struct event *ev_async;      /* events found outside callbacks */
	enum smtpc_event async_ev;
	bool async_pending;
	struct bufferevent *bev; /* the one to talk through: the socket's,
				    or the TLS one that wraps it (and
				    then owns it) */
	SSL *ssl;                /* owned by bev */

	char ip[64];     /* "192.0.2.1" */
	char label[300]; /* "relay.test[192.0.2.1]" */
	char where[320]; /* "relay.test[192.0.2.1]:587" */
	unsigned port;

	struct smtpc_reader rd;
	struct smtpc_caps caps;
	char *caps_text;
	bool tls_active;
	bool tls_verified;
	bool starttls_refused; /* opportunistic: carry on in plaintext */
	struct smtpc_auth auth;
	struct buf cmd;
	bool need_rset; /* the last transaction may be open on the server */
	bool in_api;    /* inside smtpc_send or smtpc_quit: report later */
	struct smtpc_txn txn;
	bool in_txn;
	struct smtpc_reply try_reply; /* smtpc_try_sender's MAIL reply */
	struct smtpc_outcome out;
};

/* ---------------------------------------------------------- smtpc.c */

/* (Re)arm the session's one deadline. */
void smtpc_timer(struct smtpc_session *s, unsigned secs);

/* Tell the caller ev (now / from the event loop). */
void smtpc_emit(struct smtpc_session *s, enum smtpc_event ev);
void smtpc_emit_later(struct smtpc_session *s, enum smtpc_event ev);

/* The session failed: record stage, reply (or NULL) and the message,
 * close, give an active transaction's recipients the failure, report
 * FAILED. */
void smtpc_fail(struct smtpc_session *s, enum smtpc_stage stage,
    const struct smtpc_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The same, as "<label> said: <reply> (in reply to <cmd>)[; extra]". */
void smtpc_fail_reply(struct smtpc_session *s, enum smtpc_stage stage,
    const struct smtpc_reply *r, const char *cmd, const char *extra);

/* Queue bytes; false when the session failed instead. */
bool smtpc_write(struct smtpc_session *s, const void *p, size_t n);

/* Send a command line (CRLF added), move to state next, and start the
 * reply deadline. */
void smtpc_command(struct smtpc_session *s, enum smtpc_state next,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Make bev the one we talk through: callbacks, watermarks. */
void smtpc_bev_setup(struct smtpc_session *s, struct bufferevent *bev);

/* ---------------------------------------------------------- smtpc_setup.c */

/* Start a TLS handshake (next: SMTPC_TLS_CONNECT for implicit TLS on
 * the connected socket, SMTPC_TLS_UPGRADE after STARTTLS). */
void smtpc_tls_start(struct smtpc_session *s, enum smtpc_state next);

/* The handshake completed. */
void smtpc_tls_ready(struct smtpc_session *s);

/* Replies in the states up to READY. */
void smtpc_on_greeting(struct smtpc_session *s, const struct smtpc_reply *r);
void smtpc_on_ehlo(struct smtpc_session *s, const struct smtpc_reply *r);
void smtpc_on_helo(struct smtpc_session *s, const struct smtpc_reply *r);
void smtpc_on_starttls(struct smtpc_session *s, const struct smtpc_reply *r);
void smtpc_on_auth(struct smtpc_session *s, const struct smtpc_reply *r);

/* ---------------------------------------------------------- smtpc_txn.c */

void smtpc_txn_free(struct smtpc_txn *t);

/* Give the recipients still waiting r (or, when NULL, code 0 and the
 * session's error text) and end the transaction. */
void smtpc_txn_abort(struct smtpc_session *s, const struct smtpc_reply *r);

/* Replies to RSET/MAIL/RCPT/DATA, and to the final dot. */
void smtpc_txn_reply(struct smtpc_session *s, const struct smtpc_reply *r);
void smtpc_on_dot(struct smtpc_session *s, const struct smtpc_reply *r);

/* Every recipient has its reply: report SENT (later: from the loop). */
void smtpc_txn_end(struct smtpc_session *s, bool later);

/* Top up the output from the body file (the write callback). */
void smtpc_body_fill(struct smtpc_session *s);

/* Replies to smtpc_try_sender's MAIL FROM and RSET. */
void smtpc_on_try_mail(struct smtpc_session *s, const struct smtpc_reply *r);
void smtpc_on_try_rset(struct smtpc_session *s, const struct smtpc_reply *r);

#endif
