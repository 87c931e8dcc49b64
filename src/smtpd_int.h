/*
 * smtpd_int: what the listener's files share (smtpd.c: listeners and
 * limits; smtpd_sess.c: one session; smtpd_queue.c: committing what a
 * session received).  Not for the rest of the daemon.
 */
#ifndef TERN_SMTPD_INT_H
#define TERN_SMTPD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "cidr.h"
#include "smtpd.h"
#include "smtpd_auth.h"
#include "smtpd_proto.h"
#include "ternd.h"

/* Bytes of client input buffered while the engine waits (a commit, an
 * AUTH check): reading stops there, so a client cannot grow it. */
#define SMTPD_INPUT_MAX (256 * 1024)
/* Replies waiting for a client that does not read them. */
#define SMTPD_OUTPUT_MAX (256 * 1024)

/*
 * What a listener's sessions use, replaced as a whole on reload and
 * reference-counted, so a session keeps the settings it began with.
 */
struct smtpd_settings {
	unsigned refs;
	char *name;                     /* the [listen NAME] */
	char *hostname;
	char *origin;
	uint64_t max_message_size;
	uint64_t minfree;               /* queue space kept free: MAIL waits
					   (452) below it */
	struct config_listen cl;        /* numbers and enums only: its
					   strings are not copied */
	SSL_CTX *tls;                   /* NULL without tls */
	struct smtpd_users *users;      /* NULL without auth */
	struct cidr_list networks;
};

/* One client address and how many sessions it has open. */
struct smtpd_peer {
	struct smtpd_peer *next;
	uint8_t addr[16];
	int family;
	unsigned sessions;
};

#define SMTPD_PEER_BUCKETS 1024

struct smtpd_listener {
	struct smtpd *smtpd;
	char *name;
	char *address;            /* as configured, for "changed" checks */
	evutil_socket_t fd;
	struct evconnlistener *evl;
	struct event *resume_ev;  /* accept again after EMFILE */
	struct smtpd_settings *settings;
	unsigned sessions;
	struct smtpd_peer *peers[SMTPD_PEER_BUCKETS];
};

struct smtpd_sess;

struct smtpd {
	struct ternd *td;
	smtpd_queued_fn queued;
	void *arg;
	struct smtpd_listener *listeners;
	size_t nlisteners;
	struct smtpd_throttle *throttle;  /* AUTH failures, all listeners */
	struct smtpd_sess *sessions;      /* every live session */
	struct smtpd_sess *dead;          /* closed, freed at a safe point */
	struct event *reap_ev;
	struct smtpd_queue *queue;
	bool stopping;
};

/* smtpd.c: settings references and the per-address table. */
struct smtpd_settings *smtpd_settings_ref(struct smtpd_settings *st);
void smtpd_settings_unref(struct smtpd_settings *st);
/* Count a session from sa; returns false (and counts nothing) when the
 * address is at its limit. */
bool smtpd_peer_add(struct smtpd_listener *l, const struct sockaddr *sa,
    unsigned limit);
void smtpd_peer_remove(struct smtpd_listener *l, const struct sockaddr *sa);

/* smtpd_sess.c */
void smtpd_sess_accept(struct smtpd_listener *l, evutil_socket_t fd,
    const struct sockaddr *sa, int salen);
void smtpd_sess_shutdown(struct smtpd_sess *s, const char *reply);
void smtpd_sess_reap(struct smtpd *d);
/* The next live session after s (for walking the list). */
struct smtpd_sess *smtpd_sess_next(struct smtpd_sess *s);
void smtpd_sess_set_aliases(struct smtpd_sess *s, const struct aliases *al);

/* smtpd_queue.c: commit a received message, with one syncfs for all
 * messages finished in the same turn of the event loop. */
struct smtpd_queue;
struct smtpd_queue *smtpd_queue_new(struct smtpd *d, struct errbuf *eb);
void smtpd_queue_free(struct smtpd_queue *q);
/* True when the queue's file system has minfree + size octets free (or
 * its space cannot be read: the write will tell). */
bool smtpd_queue_space_ok(struct smtpd_queue *q, uint64_t minfree,
    uint64_t size);

/* smtpd_sess.c: the outcome of a commit; id on success, else a reply. */
void smtpd_sess_committed(struct smtpd_sess *s, const char *id, int code,
    const char *status, const char *text);

/* What a session hands over for the queue entry, its Received header
 * and the log. */
struct smtpd_queue_msg {
	struct smtpd_sess *sess;
	const struct envelope *env;
	const char *msg;
	size_t msg_len;
	const char *helo;
	const char *client;        /* "unknown[192.0.2.1]" */
	const char *client_addr;   /* "192.0.2.1" */
	const char *protocol;      /* ESMTPSA... */
	const char *auth_user;     /* NULL without AUTH */
	const char *auth_mech;
	bool may_relay;            /* trusted or authenticated: gets the
				      header fields it left out */
};

/* Write the queue entry now (not yet durable); done is called later,
 * after the batch's sync, with id or a failure reply.  Returns 0, or -1
 * after calling done with the failure already. */
int smtpd_queue_add(struct smtpd_queue *q, const struct smtpd_queue_msg *m);
/* A session going away: forget its pending commit (the files stay and
 * are committed; the queue manager gets them, only the reply is lost —
 * RFC 1047's duplicate risk, as for any MTA). */
void smtpd_queue_forget(struct smtpd_queue *q, struct smtpd_sess *s);

#endif
