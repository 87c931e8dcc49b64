/*
 * smtpd_proto_int: what the two halves of the SMTP server engine
 * share (see smtpd_proto.h).  smtpd_proto.c has the session: replies,
 * line assembly, command dispatch, EHLO, STARTTLS and AUTH;
 * smtpd_proto_txn.c has the mail transaction: MAIL, RCPT, DATA, BDAT
 * and the message content.  Nothing outside them includes this.
 */
#ifndef TERN_SMTPD_PROTO_INT_H
#define TERN_SMTPD_PROTO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "envelope.h"
#include "smtpd_proto.h"

/* Unsent replies: a client that pipelines thousands of commands and
 * never reads its replies is cut off rather than buffered for. */
#define SMTPD_PROTO_OUT_MAX (1024 * 1024)
/* One reply line: room for a path or parameter quoted back. */
#define SMTPD_PROTO_REPLY_MAX (SMTPD_AUTH_LINE_MAX + 256)
/* A decoded SASL response. */
#define SMTPD_PROTO_SASL_MAX (SMTPD_AUTH_LINE_MAX / 4 * 3 + 1)
/* max_message_size 0: the largest the configuration allows. */
#define SMTPD_PROTO_SIZE_CAP (4ULL << 30)

enum smtpd_proto_mode {
	SMTPD_PROTO_M_CMD,  /* command lines */
	SMTPD_PROTO_M_AUTH, /* SASL response lines after 334 */
	SMTPD_PROTO_M_DATA, /* DATA content */
	SMTPD_PROTO_M_BDAT, /* a BDAT chunk */
};

/* Where DATA content is within its line. */
enum smtpd_proto_line {
	SMTPD_PROTO_L_START, /* nothing yet */
	SMTPD_PROTO_L_DOT,   /* a '.' held back */
	SMTPD_PROTO_L_TEXT,  /* anything else */
};

enum smtpd_proto_auth_step {
	SMTPD_PROTO_A_NONE,
	SMTPD_PROTO_A_PLAIN,      /* 334: waiting for the PLAIN message */
	SMTPD_PROTO_A_LOGIN_USER, /* 334 Username: */
	SMTPD_PROTO_A_LOGIN_PASS, /* 334 Password: */
};

/* Verbs in the order of the "disconnect from" counts. */
enum smtpd_proto_verb {
	SMTPD_PROTO_V_HELO, SMTPD_PROTO_V_EHLO, SMTPD_PROTO_V_STARTTLS,
	SMTPD_PROTO_V_AUTH, SMTPD_PROTO_V_MAIL, SMTPD_PROTO_V_RCPT,
	SMTPD_PROTO_V_DATA, SMTPD_PROTO_V_BDAT, SMTPD_PROTO_V_RSET,
	SMTPD_PROTO_V_NOOP, SMTPD_PROTO_V_VRFY, SMTPD_PROTO_V_EXPN,
	SMTPD_PROTO_V_HELP, SMTPD_PROTO_V_QUIT, SMTPD_PROTO_V_UNKNOWN,
	SMTPD_PROTO_V_COUNT
};

/* The content of the message under way (DATA or BDAT). */
struct smtpd_proto_content {
	uint64_t size;   /* bytes stored, or that would have been */
	bool oversize;   /* past the limit: no longer stored */
	bool nul;        /* a NUL byte was seen */
	bool nomem;      /* the buffer could not grow */
	bool eightbit;   /* a byte >= 0x80 was seen */
	bool cr;         /* a CR waits for the next byte */
	bool after_crlf; /* DATA: the current line began after CRLF */
	int line;        /* DATA: enum smtpd_proto_line */
};

/* What an AUTH exchange decodes; wiped and freed when it ends. */
struct smtpd_proto_sasl {
	char user[SMTPD_PROTO_SASL_MAX];
	char pass[SMTPD_PROTO_SASL_MAX];
	char buf[SMTPD_PROTO_SASL_MAX];
};

struct smtpd_proto {
	struct smtpd_proto_conf conf;
	smtpd_proto_log_fn log;
	void *log_arg;
	enum smtpd_state state;
	int mode;          /* enum smtpd_proto_mode */
	bool eof;          /* the client is gone: close after the host */
	struct buf out;
	uint64_t size_max; /* the effective max_message_size */
	size_t rcpt_max;   /* the effective max_recipients */
	unsigned errors;

	/* The line being assembled (without its LF), grown as needed up
	 * to SMTPD_AUTH_LINE_MAX and given back after a long one: an idle
	 * session holds a few hundred bytes, not the longest line. */
	char *line;
	size_t line_len;
	size_t line_cap;
	bool line_long;    /* over the limit: skipping to its end */
	size_t long_limit; /* the limit it broke */
	bool line_crlf;    /* the last complete line ended with CRLF */

	/* Session. */
	bool greeted;      /* HELO or EHLO was taken */
	bool esmtp;        /* ...and it was EHLO */
	char *helo_name;   /* NULL before HELO/EHLO */
	bool tls;
	bool authed;
	int auth_step;     /* enum smtpd_proto_auth_step */
	const char *auth_mech;
	struct smtpd_proto_sasl *sasl; /* only during an AUTH exchange */
	char *auth_user;   /* after a successful AUTH */

	/* Transaction. */
	bool in_mail;
	bool bdat;         /* a BDAT chunk was taken: DATA is refused */
	bool body8;        /* BODY=8BITMIME */
	int commit_verb;   /* DATA or BDAT, for the counts */
	struct envelope env;
	struct buf msg;
	struct smtpd_proto_content c;

	/* The BDAT chunk under way. */
	uint64_t chunk_left;
	uint64_t chunk_size;
	bool chunk_last;
	char chunk_err[128]; /* its reply when it is refused, else "" */

	struct {
		unsigned ok, total;
	} counts[SMTPD_PROTO_V_COUNT];
};

/* Replies (smtpd_proto.c).  4xx and 5xx count toward max_errors;
 * smtpd_proto_reject() also logs the refusal in Postfix's shape. */
void smtpd_proto_reply(struct smtpd_proto *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void smtpd_proto_reject(struct smtpd_proto *p, const char *cmd,
    const char *from, const char *to, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void smtpd_proto_reject_line(struct smtpd_proto *p, const char *cmd,
    const char *from, const char *to, const char *reply);
void smtpd_proto_ok(struct smtpd_proto *p, int verb);
void smtpd_proto_close(struct smtpd_proto *p);

/* The transaction (smtpd_proto_txn.c). */
void smtpd_proto_txn_reset(struct smtpd_proto *p);
void smtpd_proto_cmd_mail(struct smtpd_proto *p, char *arg);
void smtpd_proto_cmd_rcpt(struct smtpd_proto *p, char *arg);
void smtpd_proto_cmd_data(struct smtpd_proto *p, char *arg);
void smtpd_proto_cmd_bdat(struct smtpd_proto *p, char *arg);
/* Content input in SMTPD_PROTO_M_DATA and _M_BDAT: bytes used. */
size_t smtpd_proto_data_in(struct smtpd_proto *p, const char *data,
    size_t len);
size_t smtpd_proto_bdat_in(struct smtpd_proto *p, const char *data,
    size_t len);

#endif
