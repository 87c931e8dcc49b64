/*
 * config: tern.conf, loaded once into a read-only struct config.
 *
 * INI syntax (lexed by inih): "key = value" lines, '#' or ';' comment
 * lines, "[relay NAME]", "[listen NAME]", "[dkim DOMAIN]", "[tls DOMAIN]" and
 * "[http]" sections.  Unknown keys and sections, duplicate keys, bad values and
 * out-of-range numbers are errors that name file:line; every error in
 * the file is reported, not just the first.  Defaults that depend on
 * other keys (tls by port, auth by username, delivery by the presence of
 * relays, origin by hostname) are filled in after the whole file is read.
 */
#ifndef TERN_CONFIG_H
#define TERN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

/* The built-in config path when neither a flag nor TERN_CONFIG names one. */
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/tern/tern.conf"
#define CONFIG_ENV "TERN_CONFIG"

/* At least the number of keys in the schema (config_schema.c). */
#define CONFIG_KEY_LINES 128

enum config_delivery { CONFIG_DELIVERY_RELAY, CONFIG_DELIVERY_DIRECT };
enum config_log_format { CONFIG_LOG_TEXT, CONFIG_LOG_JSON };
enum config_tls {
	CONFIG_TLS_STARTTLS,
	CONFIG_TLS_IMPLICIT,
	CONFIG_TLS_OPPORTUNISTIC,
	CONFIG_TLS_NONE,
};
enum config_auth {
	CONFIG_AUTH_AUTO,
	CONFIG_AUTH_PLAIN,
	CONFIG_AUTH_LOGIN,
	CONFIG_AUTH_CRAM_MD5,
	CONFIG_AUTH_XOAUTH2,
	CONFIG_AUTH_NONE,
};
enum config_listen_tls {
	CONFIG_LTLS_NONE,
	CONFIG_LTLS_STARTTLS,
	CONFIG_LTLS_IMPLICIT,
};
enum config_listen_auth {
	CONFIG_LAUTH_NONE,
	CONFIG_LAUTH_OPTIONAL,
	CONFIG_LAUTH_REQUIRED,
};
enum config_dkim_alg { CONFIG_DKIM_RSA_SHA256, CONFIG_DKIM_ED25519_SHA256 };
/* TLS for direct (MX) delivery, per destination domain. */
enum config_tls_level {
	CONFIG_TLSL_NONE,          /* never STARTTLS */
	CONFIG_TLSL_OPPORTUNISTIC, /* STARTTLS when offered, unverified */
	CONFIG_TLSL_ENCRYPT,       /* STARTTLS required, unverified */
	CONFIG_TLSL_VERIFY,        /* STARTTLS required, certificate verified
				      for the MX host name */
};

struct config_relay {
	char *name;
	unsigned line; /* of the section header, for messages */
	char *preset;
	char *host;
	uint64_t port;
	int tls;        /* enum config_tls */
	int tls_verify;
	char *tls_ca_file;
	int auth;       /* enum config_auth */
	char *username;
	char *password_file;
	char *oauth2_token_command;
	char *oauth2_token_url;
	char *oauth2_client_id;
	char *oauth2_client_secret_file;
	char *oauth2_scope;
	char *from;
	char *from_name;
	uint64_t priority;
	uint64_t max_per_hour; /* 0: unlimited */
	uint64_t max_per_day;
	uint64_t connect_timeout;
	uint64_t command_timeout;
	uint64_t max_connections;
};

struct config_listen {
	char *name;
	unsigned line;
	char *address;
	int tls;  /* enum config_listen_tls */
	char *tls_cert_file;
	char *tls_key_file;
	int auth; /* enum config_listen_auth */
	char *users_file;
	char *networks;
	int proxy_protocol;
	uint64_t max_connections;
	uint64_t max_connections_per_ip;
	uint64_t max_recipients;
	uint64_t max_errors;
	uint64_t idle_timeout;
	uint64_t command_timeout;
};

struct config_dkim {
	char *domain;
	unsigned line;
	char *selector;
	char *key_file;
	int algorithm; /* enum config_dkim_alg */
	char *headers;
};

/* [tls DOMAIN]: DOMAIN, or ".DOMAIN" for every subdomain. */
struct config_tls_policy {
	char *domain;
	unsigned line;
	int level;     /* enum config_tls_level */
	char *tls_ca_file;
};

struct config_http {
	unsigned line;
	char *address;
	char *token_file;
};

struct config {
	char *path;      /* the file read, or NULL when none existed */
	char *hostname;
	char *origin;
	char *queue_dir;
	char *run_user;
	int delivery;    /* enum config_delivery */
	char *aliases;
	uint64_t max_message_size;
	uint64_t queue_minfree;
	uint64_t queue_lifetime;
	uint64_t delay_warning;
	uint64_t retry_min;
	uint64_t retry_max;
	char *dns_servers;
	uint64_t direct_port;
	uint64_t direct_max_connections;
	uint64_t empty_subject_from_body;
	char *log;
	int log_format;  /* enum config_log_format */

	struct config_relay *relays; /* sorted by priority, then file order */
	size_t nrelays;
	struct config_listen *listens;
	size_t nlistens;
	struct config_dkim *dkims;
	size_t ndkims;
	struct config_tls_policy *tls_policies;
	size_t ntls_policies;
	struct config_http *http;    /* NULL without an [http] section */
	/* The line each global key was set on, by schema index (0: not
	 * set); see config_key_line. */
	unsigned key_lines[CONFIG_KEY_LINES];
};

/* Called for every error found in the file: path, 1-based line (0 when
 * the error is about the file as a whole) and message. */
typedef void (*config_report_fn)(const char *path, unsigned line,
    const char *msg, void *arg);

/*
 * Which config file a program uses: flag_path (from -C/-c) when not
 * NULL, else $TERN_CONFIG when set and non-empty, else the built-in
 * default.  *explicit is set when the path came from the flag or the
 * environment: a missing explicit file is an error, a missing default
 * file means "all defaults".
 */
const char *config_choose_path(const char *flag_path, bool *is_explicit);

/*
 * Load path.  When the file does not exist and must_exist is false,
 * the result holds the defaults.  Every problem is passed to report
 * (may be NULL).  Returns the config, or NULL with eb summarising
 * ("tern.conf: 2 errors; run 'tern check' for details") and eb->code
 * set to EX_CONFIG.
 */
struct config *config_load(const char *path, bool must_exist,
    config_report_fn report, void *arg, struct errbuf *eb);

void config_free(struct config *cfg);

/* The [tls] section for a recipient domain: the exact domain first,
 * then ".parent" sections from the nearest parent up; NULL when none
 * applies (opportunistic TLS). */
const struct config_tls_policy *config_tls_policy(
    const struct config_tls_policy *v, size_t n, const char *domain);

/* The line of the file where the global key name was set, or 0 when
 * it was not (a default), for messages about it. */
unsigned config_key_line(const struct config *cfg, const char *name);

/* The relay named name, or NULL. */
const struct config_relay *config_find_relay(const struct config *cfg,
    const char *name);

#endif
