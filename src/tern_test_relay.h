/*
 * tern_test_relay: what "tern test-relay" (tern_test_relay.c) and its
 * table of diagnoses (tern_test_relay_diag.c) share: the facts gathered
 * about one relay that failed, and the symptom they add up to.
 */
#ifndef TERN_TERN_TEST_RELAY_H
#define TERN_TERN_TEST_RELAY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "config.h"
#include "dns.h"
#include "smtpc.h"

/* What went wrong, each with one row (or one per provider) in the
 * diagnosis table. */
enum tern_tr_symptom {
	TERN_TR_DNS_NXDOMAIN,
	TERN_TR_DNS_NODATA,
	TERN_TR_DNS_TEMPFAIL,
	TERN_TR_DNS_BADNAME,
	TERN_TR_CONN_REFUSED,
	TERN_TR_CONN_TIMEOUT,
	TERN_TR_CONN_UNREACH,
	TERN_TR_CONN_OTHER,
	TERN_TR_TLS_ON_PLAIN_PORT, /* tls = implicit, server greets first */
	TERN_TR_TLS_UNTRUSTED,
	TERN_TR_TLS_NAME,
	TERN_TR_TLS_EXPIRED,
	TERN_TR_TLS_NOT_YET_VALID,
	TERN_TR_TLS_CERT_OTHER,
	TERN_TR_TLS_HANDSHAKE,
	TERN_TR_GREET_TLS_PORT,    /* plaintext client, implicit-TLS port */
	TERN_TR_GREET_NONE,
	TERN_TR_GREET_BUSY,        /* 421 */
	TERN_TR_GREET_REFUSED,     /* 554 and other refusals */
	TERN_TR_EHLO_REFUSED,
	TERN_TR_NO_STARTTLS,
	TERN_TR_STARTTLS_REFUSED,
	TERN_TR_AUTH_AFTER_STARTTLS, /* tls = none, AUTH only after it */
	TERN_TR_AUTH_NEEDS_TLS,      /* tls = none, STARTTLS offered */
	TERN_TR_AUTH_NO_TLS_AT_ALL,
	TERN_TR_AUTH_NO_SECRET,
	TERN_TR_AUTH_NOT_OFFERED,
	TERN_TR_AUTH_NO_MECH,
	TERN_TR_AUTH_REFUSED,        /* 535/534: wrong credentials */
	TERN_TR_AUTH_BASIC_OFF,      /* basic authentication disabled */
	TERN_TR_AUTH_TOKEN_REFUSED,  /* XOAUTH2 refused */
	TERN_TR_AUTH_TEMP,
	TERN_TR_AUTH_OTHER,
	TERN_TR_MAIL_NOT_OWNER,
	TERN_TR_MAIL_AUTH_NEEDED,
	TERN_TR_MAIL_TEMP,
	TERN_TR_MAIL_REFUSED,
	TERN_TR_MAIL_BAD_SENDER,
	TERN_TR_IO,
};

/* How a second, diagnostic connection went (tern_test_relay.c makes one
 * when the first failed in a way another TLS mode would explain). */
enum tern_tr_probe {
	TERN_TR_PROBE_NONE,      /* none was made */
	TERN_TR_PROBE_WORKED,    /* the other mode reached EHLO */
	TERN_TR_PROBE_FAILED,
};

/* The certificate the server showed. */
struct tern_tr_cert {
	bool have;
	char subject[256];
	char issuer[256];
	char not_after[64];  /* "2025-06-01 12:00:00 UTC" */
	char names[512];     /* its DNS and IP names, ", " between */
};

/* Everything known about one failed relay test. */
struct tern_tr_facts {
	const struct config_relay *rc;
	bool dns_failed;           /* failed at DNS: dns_status holds why */
	enum dns_status dns_status;
	bool dns_badname;
	enum smtpc_stage stage;    /* else where smtpc stopped */
	struct smtpc_reply reply;  /* code 0: none */
	const char *err;           /* smtpc's or the resolver's words */
	const char *ip;            /* the address tried, or "" */
	unsigned timeout;          /* connect timeout used (s) */
	bool caps_starttls;        /* the last EHLO offered STARTTLS */
	bool caps_auth;            /* ... AUTH */
	const char *auth_offered;  /* its mechanisms, "" for none */
	bool xoauth2;              /* the AUTH tried was XOAUTH2 */
	bool bad_sender;           /* the sender could not be sent */
	const char *sender;
	enum tern_tr_probe probe;
	struct tern_tr_cert cert;
};

/* What the certificate x says (NULL: c->have is false). */
void tern_tr_cert_read(X509 *x, struct tern_tr_cert *c);

/* Append one to the ", "-separated list in out (bounded). */
void tern_tr_append(char *out, size_t outlen, const char *one);

/* The symptom the facts add up to. */
enum tern_tr_symptom tern_tr_classify(const struct tern_tr_facts *f);

/*
 * The diagnosis for symptom sym: "what is wrong: what to change", in
 * plain words, with the relay's provider's advice where one has its own
 * (by preset, else by host name).  Written to out (truncated to outlen).
 * Returns true when the trouble is temporary (try again later), false
 * when something must change.
 */
bool tern_tr_diagnose(const struct tern_tr_facts *f,
    enum tern_tr_symptom sym, char *out, size_t outlen);

/* "starttls", "implicit", "opportunistic", "none" (enum config_tls) and
 * "auto", "plain", "login", "cram-md5", "xoauth2", "none" (enum
 * config_auth), as tern.conf spells them. */
const char *tern_tr_tls_name(int tls);
const char *tern_tr_auth_name(int auth);

#endif
