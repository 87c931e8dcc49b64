/*
 * qmgr_int.h: what the queue manager's files share — qmgr.c (jobs,
 * dispatch, outcomes, loading, life), qmgr_relay.c (relay sets and
 * routing), qmgr_conn.c (relay sessions), qmgr_direct.c (direct
 * delivery), qmgr_sign.c (DKIM signing), qmgr_notice.c (delivery
 * reports).  Not for other modules: their interface is qmgr.h.
 */
#ifndef TERN_QMGR_INT_H
#define TERN_QMGR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "bounce.h"
#include "buf.h"
#include "config.h"
#include "direct.h"
#include "dns.h"
#include "envelope.h"
#include "errbuf.h"
#include "oauth2.h"
#include "qmgr.h"
#include "queue.h"
#include "route.h"
#include "smtpc.h"
#include "ternd.h"
struct qmgr_job;
struct qmgr_relays;

struct qmgr_relay {
	struct qmgr_relays *set;
	const struct config_relay *rc;
	size_t index;
	struct relay_state *state;
	char *password;
	struct oauth2 *oauth2;  /* its token source, or NULL */
	SSL_CTX *ssl;
	LIST_HEAD(, qmgr_conn) conns;
	unsigned nconns;
	int64_t last_probe;     /* when a cooling relay was last tried */
	unsigned signing;       /* its jobs on the signing workers */
	TAILQ_HEAD(, qmgr_job) waiting;
};

/* The relays of one config; sessions hold references. */
struct qmgr_relays {
	struct config *cfg;     /* owned when retired */
	struct qmgr_relay *v;
	size_t n;
	unsigned refs;
	bool retired;
	LIST_ENTRY(qmgr_relays) retired_link; /* in qmgr->retired */
};

struct qmgr_conn {
	struct qmgr *q;
	struct qmgr_relay *relay;
	struct smtpc_session *s;
	struct qmgr_job *job;
	bool ready;
	struct dns_addr addr;
	char addr_text[300];    /* host[ip]:port, for logs */
	struct oauth2_wait *wait; /* waiting for relay->oauth2's token */
	char *token;            /* the session's copy of it */
	uint64_t token_gen;
	bool token_fresh;       /* fetched for this session (not cached) */
	bool listed;            /* in relay->conns */
	LIST_ENTRY(qmgr_conn) link;
};

/* Direct delivery: one recipient domain's share of a job, the
 * recipients job->rcpts[first .. first + n). */
struct qmgr_part {
	struct qmgr_job *job;
	struct direct_req *rq;  /* NULL once done */
	struct smtpc_msg msg;
	size_t first, n;
};

struct qmgr_job {
	struct qmgr *q;
	char id[QUEUE_ID_LEN + 1];
	enum queue_name queue;  /* where its envelope is */
	struct envelope env;
	int data_fd;
	struct buf head;        /* header section, with the empty line */
	uint64_t body_off;
	uint64_t data_len;
	uint64_t skip_mask;     /* relays tried in this round */
	struct qmgr_relay *relay;
	struct qmgr_conn *conn;
	struct smtpc_msg msg;
	struct smtpc_rcpt *rcpts;
	size_t *rcpt_env;       /* index in env.rcpts of each msg rcpt */
	struct buf send_head;   /* head as sent through this relay */
	char *sender;           /* as sent through this relay */
	double t_start, t_conn, t_send;  /* for the delays= of the log */
	char last_error[1024];
	enum qmgr_mark mark;    /* hold or delete when the attempt ends */
	LIST_ENTRY(qmgr_job) all_link;    /* in q->jobs */
	struct qmgr_part *parts;  /* direct delivery */
	size_t nparts, parts_left;
	TAILQ_ENTRY(qmgr_job) link;
	LIST_ENTRY(qmgr_job) direct_link; /* in q->direct_jobs */
};

struct qmgr {
	struct ternd *td;
	struct qmgr_relays *relays;
	struct sched *sched;
	struct event *kick_ev;
	struct event *timer_ev;
	struct event *save_ev;  /* relay quotas to disk, now and then */
	unsigned njobs;
	LIST_HEAD(, qmgr_relays) retired; /* old relays with busy sessions */
	struct direct *direct;
	LIST_HEAD(, qmgr_job) direct_jobs; /* jobs with parts in flight */
	LIST_HEAD(, qmgr_job) jobs;  /* every job, for tern hold/delete */
	struct qmgr_stats stats;
	int64_t nospace_said;   /* when a full queue was last reported */
	unsigned nospace_quiet; /* failures not reported since */
	bool stopping;
};

/* What to do with a job once it is signed. */
enum qmgr_next {
	QMGR_NEXT_ASSIGN,   /* a session of task->relay */
	QMGR_NEXT_WAIT,     /* task->relay's line, behind its probe */
	QMGR_NEXT_DIRECT,   /* the recipient domains' MX hosts */
};

/* qmgr.c: clocks, jobs, outcomes */
int64_t qmgr_now(void);
double qmgr_now_f(void);
void qmgr_job_free(struct qmgr_job *job);
size_t qmgr_pending(const struct envelope *env);
void qmgr_finish(struct qmgr_job *job);
void qmgr_log_rcpt(struct qmgr_job *job, const struct envelope_rcpt *r,
    const char *relay, const char *status, const char *text);
void qmgr_defer(struct qmgr_job *job, const char *why, int64_t at);
void qmgr_settle(struct qmgr_job *job, struct envelope_rcpt *r,
    enum route_action a, const char *status, const char *text,
    const struct smtpc_reply *reply, const char *relay, bool dsn);
void qmgr_apply(struct qmgr_job *job, const struct smtpc_outcome *out,
    const char *relay, bool dsn);
void qmgr_after_attempt(struct qmgr_job *job);
void qmgr_remove(const char *qd, enum queue_name queue, const char *id,
    struct fsq *fsq);

/* qmgr_ctl.c: tern hold/delete/release, counters */
void qmgr_ctl_park(struct qmgr_job *job, const char *why);
void qmgr_ctl_shutdown(struct qmgr *q);
void qmgr_ctl_count(struct qmgr_job *job, const char *status);
void qmgr_ctl_free(struct qmgr *q);

/* qmgr_relay.c: relay sets, routing */
struct qmgr_relays *qmgr_relays_new(struct config *cfg, struct errbuf *eb);
void qmgr_relays_save(struct qmgr_relays *set);
void qmgr_relays_free(struct qmgr_relays *set);
void qmgr_relays_unref(struct qmgr_relays *set);
int qmgr_prepare(struct qmgr_job *job, const struct config_relay *rc);
void qmgr_assign_ready(struct qmgr_job *job, struct qmgr_relay *r);
void qmgr_route(struct qmgr_job *job);

/* qmgr_conn.c: relay sessions */
void qmgr_send(struct qmgr_conn *c, struct qmgr_job *job);
void qmgr_conn_new(struct qmgr *q, struct qmgr_relay *r,
    struct qmgr_job *job);
struct qmgr_conn *qmgr_relay_idle(struct qmgr_relay *r);
void qmgr_relays_quit_idle(struct qmgr_relays *set);
void qmgr_shutdown_set(struct qmgr_relays *set);

/* qmgr_direct.c */
void qmgr_direct(struct qmgr_job *job);
void qmgr_direct_dispatch(struct qmgr_job *job);

/* qmgr_sign.c */
bool qmgr_sign(struct qmgr_job *job, struct qmgr_relay *r,
    enum qmgr_next next);

/* qmgr_notice.c */
void qmgr_notify(struct qmgr_job *job, enum bounce_kind kind, int state);

#endif
