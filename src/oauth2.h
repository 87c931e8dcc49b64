/*
 * oauth2: where a relay's XOAUTH2 access tokens come from, for ternd's
 * queue manager.  One struct oauth2 per relay that has a token source:
 *
 *  - oauth2_token_url (+ oauth2_client_id, the client secret, and
 *    oauth2_scope): the client-credentials grant of RFC 6749 section
 *    4.4, one HTTPS POST to the token endpoint, on the event loop
 *    (oauth2_http.c);
 *  - oauth2_token_command: a command run with /bin/sh in a child
 *    process whose output the event loop reads (oauth2_cmd.c).
 *
 * Either way the token is cached: until shortly before the expires_in
 * the endpoint gave (60 s or a tenth of the lifetime early, whichever
 * is less), for OAUTH2_TTL_DEFAULT seconds when there is no expires_in
 * (a command never gives one), and never once a server refused it
 * (oauth2_refused).  Callers needing a token while it is being fetched
 * wait for that one fetch.  Nothing here blocks the loop; secrets are
 * never logged.
 */
#ifndef TERN_OAUTH2_H
#define TERN_OAUTH2_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "errbuf.h"
#include "smtpc.h"

struct dns;
struct oauth2;
struct oauth2_wait;

#define OAUTH2_TTL_DEFAULT 300  /* seconds, without expires_in */
#define OAUTH2_EARLY_MAX 60     /* refresh at most this much early */
#define OAUTH2_RESPONSE_MAX 65536 /* bytes of an endpoint's answer */
#define OAUTH2_TOKEN_MAX 8192   /* longest token (SMTPC_AUTH_CRED_MAX) */
#define OAUTH2_CMD_TIMEOUT 30   /* seconds a token command may run */

enum oauth2_status {
	OAUTH2_OK,
	OAUTH2_FAILED,    /* err says why, in plain words */
	OAUTH2_CANCELLED, /* the resolver went away (ternd stops) */
};

/*
 * A token, or why there is none.  token and err are valid only during
 * the call; gen identifies the token for oauth2_refused.
 */
typedef void (*oauth2_fn)(enum oauth2_status st, const char *token,
    uint64_t gen, const char *err, void *arg);

/*
 * The token source of relay rc, or NULL without error when rc has
 * none (neither oauth2_token_url nor oauth2_token_command).  secret is
 * the client secret read from oauth2_client_secret_file (NULL without
 * one); it is copied, and the copy wiped when freed.  The HTTPS
 * context trusts the system store plus rc->tls_ca_file.  rc must
 * outlive the source.  NULL with eb set on a bad URL or CA file.
 */
struct oauth2 *oauth2_new(const struct config_relay *rc, const char *secret,
    struct errbuf *eb);

/*
 * Free o: a fetch under way is abandoned.  Every waiter must have been
 * answered or cancelled (those left are dropped without a call).
 */
void oauth2_free(struct oauth2 *o);

/*
 * A token for a new session.  Returns 1 with *token and *gen set when
 * a cached one is valid (the string lives until the next call into o);
 * 0 when the caller must wait: cb runs later, from the loop, and *wp
 * is the handle for oauth2_cancel; -1 with eb set when out of memory
 * or the fetch cannot start (cb is never called).
 */
int oauth2_get(struct oauth2 *o, struct event_base *base, struct dns *dns,
    oauth2_fn cb, void *arg, const char **token, uint64_t *gen,
    struct oauth2_wait **wp, struct errbuf *eb);

/* Stop waiting: cb will not be called.  The fetch goes on for others. */
void oauth2_cancel(struct oauth2_wait *w);

/* A server refused token gen: it is not handed out again (a newer one
 * fetched meanwhile stays). */
void oauth2_refused(struct oauth2 *o, uint64_t gen);

/*
 * The one rule for "the server says the token is no good" after a
 * session authenticated with XOAUTH2 failed (out->stage AUTH): a 535
 * reply, or an XOAUTH2 error challenge (the base64 JSON in a 334)
 * whose "status" is 400 or 401 (Google and Microsoft send those for
 * expired, revoked or malformed tokens).  A 454 (temporary failure),
 * a lost connection, a missing mechanism or any other status is not.
 */
bool oauth2_auth_refused(const struct smtpc_outcome *out);

/* "https://login.example/tenant/token" as configured, or the command's
 * name ("oauth2_token_command"), for messages. */
const char *oauth2_source(const struct oauth2 *o);

#endif
