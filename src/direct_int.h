/*
 * direct_int.h: what the two halves of direct share — direct.c
 * (requests: planning, results, the interface) and direct_conn.c (the
 * sessions of a destination: resolving, connecting, transactions, the
 * line of waiting requests).  Not for other modules.
 */
#ifndef TERN_DIRECT_INT_H
#define TERN_DIRECT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "direct.h"
#include "mx.h"

#define DIRECT_BUCKETS 256


/* The settings of one config, shared by the requests and sessions made
 * under it. */
struct direct_snap {
	unsigned refs;
	char *hostname;
	uint16_t port;
	unsigned max_conns;
	SSL_CTX *ctx;                    /* the system trust store */
	struct config_tls_policy *pol;   /* copies of the [tls] sections */
	SSL_CTX **pol_ctx;               /* ctx for each, by tls_ca_file */
	size_t npol;
};

struct direct_conn;
struct direct_req;

/* One recipient domain: its sessions and its line. */
struct direct_dest {
	struct direct *d;
	unsigned refs;                   /* requests and sessions */
	char domain[256];
	LIST_HEAD(, direct_conn) conns;
	unsigned nconns;
	TAILQ_HEAD(, direct_req) waiting;
	struct direct_dest *next;        /* in the hash chain */
};

struct direct_conn {
	struct direct_dest *dest;
	struct direct_snap *snap;
	struct smtpc_session *s;
	struct direct_req *rq;           /* served now; NULL when idle */
	bool resolving;                  /* a dns_resolve callback is due */
	bool ready;                      /* may carry a transaction */
	char host[256];
	char addr_text[320];             /* host[ip]:port */
	LIST_ENTRY(direct_conn) link;
};

struct direct_req {
	struct direct *d;
	struct direct_dest *dest;
	struct direct_snap *snap;
	int level;                       /* enum config_tls_level */
	SSL_CTX *ctx;
	char domain[256];
	char id[64];
	const struct smtpc_msg *orig;
	struct smtpc_msg msg;            /* orig, with the pending rcpts */
	struct smtpc_rcpt *rcpts;
	size_t *map;                     /* rcpts[k] is orig->rcpts[map[k]] */
	size_t nleft;
	struct mx_plan plan;
	size_t host_i;
	struct dns_addr addrs[DNS_ANSWER_MAX];
	size_t naddrs, addr_i;
	struct direct_conn *conn;
	bool pending_cb;                 /* an MX answer or start is due */
	bool cancelled;
	bool waiting;
	double t_conn, t_send;           /* of the current transaction */
	char last_status[16];
	char last_err[1024];
	char last_relay[320];
	direct_rcpt_fn rcpt_cb;
	direct_done_fn done_cb;
	void *arg;
	TAILQ_ENTRY(direct_req) link;
};

struct direct {
	struct event_base *base;
	struct dns *dns;
	struct direct_snap *snap;
	bool stopping;
	struct direct_dest *buckets[DIRECT_BUCKETS];
};

/* direct.c */
void direct_try(struct direct_req *rq);
void direct_results(struct direct_req *rq, const struct direct_conn *c,
    const struct smtpc_outcome *out, bool dsn);
void direct_note(struct direct_req *rq, const char *status, const char *err,
    const char *relay);
const char *direct_session_status(const struct smtpc_outcome *out);
void direct_exhausted(struct direct_req *rq);
void direct_snap_unref(struct direct_snap *sn);
void direct_dest_unref(struct direct_dest *dest);

/* direct_conn.c */
struct direct_conn *direct_dest_idle(struct direct_dest *dest,
    const char *host, const struct direct_snap *sn);
void direct_dest_wake(struct direct_dest *dest);
void direct_send(struct direct_conn *c, struct direct_req *rq);
int direct_conn_new(struct direct_req *rq, const char *host);
void direct_conn_close(struct direct_conn *c);

#endif
