/*
 * config_schema: the table of tern.conf keys (see config_schema.h).
 *
 * Defaults are written as they would be in tern.conf and parsed by the
 * same code as the file, so a default can never be a value the parser
 * would reject.  Keys whose default depends on other keys have def NULL
 * and are completed by config.c after the whole file is read.
 */
#include "autoconf.h"

#include <stddef.h>
#include <string.h>

#include "config.h"
#include "config_schema.h"

#define G(f) offsetof(struct config, f)
#define R(f) offsetof(struct config_relay, f)
#define L(f) offsetof(struct config_listen, f)
#define D(f) offsetof(struct config_dkim, f)
#define T(f) offsetof(struct config_tls_policy, f)
#define H(f) offsetof(struct config_http, f)

#define DAY 86400ULL

const struct config_key config_schema[] = {
	/* global */
	{ CONFIG_SEC_GLOBAL, "hostname", CONFIG_T_STRING, NULL, NULL, 0, 0,
	    G(hostname), "EHLO name and Received headers [the host's FQDN]" },
	{ CONFIG_SEC_GLOBAL, "origin", CONFIG_T_STRING, NULL, NULL, 0, 0,
	    G(origin), "domain for unqualified addresses [domain of hostname]" },
	{ CONFIG_SEC_GLOBAL, "queue_dir", CONFIG_T_PATH,
	    LOCALSTATEDIR "/spool/tern", NULL, 0, 0, G(queue_dir),
	    "the queue directory" },
	{ CONFIG_SEC_GLOBAL, "run_user", CONFIG_T_STRING, TERN_DEFAULT_USER,
	    NULL, 0, 0, G(run_user),
	    "account ternd runs as after start when started as root" },
	{ CONFIG_SEC_GLOBAL, "delivery", CONFIG_T_ENUM, NULL, "relay|direct",
	    0, 0, G(delivery),
	    "relay or direct [relay when any [relay] exists, else direct]" },
	{ CONFIG_SEC_GLOBAL, "aliases", CONFIG_T_PATH, "/etc/aliases", NULL,
	    0, 0, G(aliases), "aliases file for local names" },
	{ CONFIG_SEC_GLOBAL, "max_message_size", CONFIG_T_SIZE, "25M", NULL,
	    1024, 4ULL << 30, G(max_message_size),
	    "largest message accepted, headers included" },
	{ CONFIG_SEC_GLOBAL, "queue_minfree", CONFIG_T_SIZE, "0", NULL, 0,
	    1ULL << 50, G(queue_minfree), "free space the listener keeps in "
	    "the queue file system [1.5 x max_message_size]" },
	{ CONFIG_SEC_GLOBAL, "queue_lifetime", CONFIG_T_DURATION, "5d", NULL,
	    60, 365 * DAY, G(queue_lifetime),
	    "undeliverable mail bounces after this" },
	{ CONFIG_SEC_GLOBAL, "delay_warning", CONFIG_T_DURATION, "4h", NULL,
	    0, 365 * DAY, G(delay_warning),
	    "send a delay notice after this, 0 = never" },
	{ CONFIG_SEC_GLOBAL, "retry_min", CONFIG_T_DURATION, "30s", NULL, 1,
	    DAY, G(retry_min), "shortest wait before a retry" },
	{ CONFIG_SEC_GLOBAL, "retry_max", CONFIG_T_DURATION, "1h", NULL, 1,
	    7 * DAY, G(retry_max), "longest wait between retries" },
	{ CONFIG_SEC_GLOBAL, "dns_servers", CONFIG_T_ADDRLIST, NULL, NULL, 0,
	    0, G(dns_servers),
	    "IP[:port], ... used for every lookup [from /etc/resolv.conf]" },
	{ CONFIG_SEC_GLOBAL, "direct_port", CONFIG_T_UINT, "25", NULL, 1,
	    65535, G(direct_port), "TCP port for direct (MX) delivery" },
	{ CONFIG_SEC_GLOBAL, "direct_max_connections", CONFIG_T_UINT, "20",
	    NULL, 1, 1000, G(direct_max_connections),
	    "SMTP sessions open to one recipient domain at once (direct)" },
	{ CONFIG_SEC_GLOBAL, "empty_subject_from_body", CONFIG_T_UINT, "0",
	    NULL, 0, 998, G(empty_subject_from_body),
	    "use the first N characters of the body as a missing Subject, "
	    "0 = off" },
	{ CONFIG_SEC_GLOBAL, "log", CONFIG_T_LOG, "syslog", NULL, 0, 0,
	    G(log), "syslog, stderr or a file path" },
	{ CONFIG_SEC_GLOBAL, "log_format", CONFIG_T_ENUM, "text", "text|json",
	    0, 0, G(log_format), "text (Postfix-style lines) or json" },

	/* [relay NAME] */
	{ CONFIG_SEC_RELAY, "preset", CONFIG_T_STRING, NULL, NULL, 0, 0,
	    R(preset), "provider name filling host, port and tls" },
	{ CONFIG_SEC_RELAY, "host", CONFIG_T_STRING, NULL, NULL, 0, 0,
	    R(host), "smarthost name or address" },
	{ CONFIG_SEC_RELAY, "port", CONFIG_T_UINT, NULL, NULL, 1, 65535,
	    R(port), "TCP port [465 for tls = implicit, else 587]" },
	{ CONFIG_SEC_RELAY, "tls", CONFIG_T_ENUM, NULL,
	    "starttls|implicit|opportunistic|none", 0, 0, R(tls),
	    "TLS mode [by port: 465 implicit, else starttls]" },
	{ CONFIG_SEC_RELAY, "tls_verify", CONFIG_T_BOOL, "yes", NULL, 0, 0,
	    R(tls_verify), "verify the server certificate and name" },
	{ CONFIG_SEC_RELAY, "tls_ca_file", CONFIG_T_PATH, NULL, NULL, 0, 0,
	    R(tls_ca_file), "extra trust anchors [system store]" },
	{ CONFIG_SEC_RELAY, "auth", CONFIG_T_ENUM, NULL,
	    "auto|plain|login|cram-md5|xoauth2|none", 0, 0, R(auth),
	    "SASL mechanism [auto when a username is set, else none]" },
	{ CONFIG_SEC_RELAY, "username", CONFIG_T_STRING, NULL, NULL, 0, 0,
	    R(username), "account name for AUTH" },
	{ CONFIG_SEC_RELAY, "password_file", CONFIG_T_PATH, NULL, NULL, 0, 0,
	    R(password_file), "file holding the password, readable by ternd "
	    "only" },
	{ CONFIG_SEC_RELAY, "oauth2_token_command", CONFIG_T_STRING, NULL,
	    NULL, 0, 0, R(oauth2_token_command),
	    "command printing an OAuth2 access token (xoauth2)" },
	{ CONFIG_SEC_RELAY, "oauth2_token_url", CONFIG_T_STRING, NULL, NULL,
	    0, 0, R(oauth2_token_url), "OAuth2 token endpoint (https)" },
	{ CONFIG_SEC_RELAY, "oauth2_client_id", CONFIG_T_STRING, NULL, NULL,
	    0, 0, R(oauth2_client_id), "OAuth2 client id" },
	{ CONFIG_SEC_RELAY, "oauth2_client_secret_file", CONFIG_T_PATH, NULL,
	    NULL, 0, 0, R(oauth2_client_secret_file),
	    "file holding the OAuth2 client secret" },
	{ CONFIG_SEC_RELAY, "oauth2_scope", CONFIG_T_STRING, NULL, NULL, 0, 0,
	    R(oauth2_scope), "OAuth2 scope" },
	{ CONFIG_SEC_RELAY, "from", CONFIG_T_STRING, NULL, NULL, 0, 0,
	    R(from), "rewrite the envelope sender and From address" },
	{ CONFIG_SEC_RELAY, "from_name", CONFIG_T_STRING, NULL, NULL, 0, 0,
	    R(from_name), "rewrite the From display name" },
	{ CONFIG_SEC_RELAY, "priority", CONFIG_T_UINT, "0", NULL, 0, 1000000,
	    R(priority), "lower first; equal priorities keep file order" },
	{ CONFIG_SEC_RELAY, "max_per_hour", CONFIG_T_UINT, "0", NULL, 0, 0,
	    R(max_per_hour), "messages per hour, 0 = unlimited" },
	{ CONFIG_SEC_RELAY, "max_per_day", CONFIG_T_UINT, "0", NULL, 0, 0,
	    R(max_per_day), "messages per day, 0 = unlimited" },
	{ CONFIG_SEC_RELAY, "connect_timeout", CONFIG_T_DURATION, "30s", NULL,
	    1, 3600, R(connect_timeout), "TCP and TLS connect timeout" },
	{ CONFIG_SEC_RELAY, "command_timeout", CONFIG_T_DURATION, "5m", NULL,
	    1, 3600, R(command_timeout), "timeout for each SMTP reply" },
	{ CONFIG_SEC_RELAY, "max_connections", CONFIG_T_UINT, "4", NULL, 1,
	    100, R(max_connections), "SMTP sessions open to this relay at "
	    "once" },

	/* [listen NAME] */
	{ CONFIG_SEC_LISTEN, "address", CONFIG_T_HOSTPORT, NULL, NULL, 0, 0,
	    L(address), "IP:port or [IPv6]:port to listen on (required)" },
	{ CONFIG_SEC_LISTEN, "tls", CONFIG_T_ENUM, "none",
	    "none|starttls|implicit", 0, 0, L(tls), "TLS mode" },
	{ CONFIG_SEC_LISTEN, "tls_cert_file", CONFIG_T_PATH, NULL, NULL, 0, 0,
	    L(tls_cert_file), "certificate chain (PEM)" },
	{ CONFIG_SEC_LISTEN, "tls_key_file", CONFIG_T_PATH, NULL, NULL, 0, 0,
	    L(tls_key_file), "private key (PEM)" },
	{ CONFIG_SEC_LISTEN, "auth", CONFIG_T_ENUM, "none",
	    "none|optional|required", 0, 0, L(auth), "SMTP AUTH policy" },
	{ CONFIG_SEC_LISTEN, "users_file", CONFIG_T_PATH, NULL, NULL, 0, 0,
	    L(users_file), "user:crypt-hash lines for AUTH" },
	{ CONFIG_SEC_LISTEN, "networks", CONFIG_T_CIDRLIST,
	    "127.0.0.0/8, ::1/128", NULL, 0, 0, L(networks),
	    "CIDRs that may relay without AUTH" },
	{ CONFIG_SEC_LISTEN, "proxy_protocol", CONFIG_T_BOOL, "no", NULL, 0,
	    0, L(proxy_protocol), "accept HAProxy PROXY v1/v2 headers" },
	{ CONFIG_SEC_LISTEN, "max_connections", CONFIG_T_UINT, "1000", NULL, 1,
	    1000000, L(max_connections), "SMTP sessions served at once" },
	{ CONFIG_SEC_LISTEN, "max_connections_per_ip", CONFIG_T_UINT, "50",
	    NULL, 1, 1000000, L(max_connections_per_ip),
	    "SMTP sessions from one client address at once" },
	{ CONFIG_SEC_LISTEN, "max_recipients", CONFIG_T_UINT, "1000", NULL, 1,
	    100000, L(max_recipients), "recipients of one message" },
	{ CONFIG_SEC_LISTEN, "max_errors", CONFIG_T_UINT, "10", NULL, 1, 1000,
	    L(max_errors), "error replies before the session is closed" },
	{ CONFIG_SEC_LISTEN, "idle_timeout", CONFIG_T_DURATION, "5m", NULL, 1,
	    86400, L(idle_timeout), "close a session silent this long" },
	{ CONFIG_SEC_LISTEN, "command_timeout", CONFIG_T_DURATION, "5m", NULL,
	    1, 86400, L(command_timeout), "time for one command line, or for "
	    "one DATA or BDAT transfer, to arrive in full" },

	/* [dkim DOMAIN] */
	{ CONFIG_SEC_DKIM, "selector", CONFIG_T_STRING, NULL, NULL, 0, 0,
	    D(selector), "DKIM selector (required)" },
	{ CONFIG_SEC_DKIM, "key_file", CONFIG_T_PATH, NULL, NULL, 0, 0,
	    D(key_file), "private key [sysconfdir/tern/dkim/DOMAIN.SELECTOR.key]" },
	{ CONFIG_SEC_DKIM, "algorithm", CONFIG_T_ENUM, "rsa-sha256",
	    "rsa-sha256|ed25519-sha256", 0, 0, D(algorithm),
	    "signature algorithm" },
	{ CONFIG_SEC_DKIM, "headers", CONFIG_T_HEADERS, NULL, NULL, 0, 0,
	    D(headers), "header fields to sign [a standard list]" },

	/* [tls DOMAIN] */
	{ CONFIG_SEC_TLS, "level", CONFIG_T_ENUM, "verify",
	    "none|opportunistic|encrypt|verify", 0, 0, T(level),
	    "TLS for mail to this domain's MX hosts" },
	{ CONFIG_SEC_TLS, "tls_ca_file", CONFIG_T_PATH, NULL, NULL, 0, 0,
	    T(tls_ca_file), "trust anchors for level = verify [system store]" },

	/* [http] */
	{ CONFIG_SEC_HTTP, "address", CONFIG_T_HOSTPORT, "127.0.0.1:8025",
	    NULL, 0, 0, H(address), "IP:port of the HTTP API" },
	{ CONFIG_SEC_HTTP, "token_file", CONFIG_T_PATH, NULL, NULL, 0, 0,
	    H(token_file), "file holding the Bearer token" },

	{ CONFIG_SEC_GLOBAL, NULL, CONFIG_T_STRING, NULL, NULL, 0, 0, 0, NULL },
};

const char *
config_schema_section_name(enum config_section sec)
{
	switch (sec) {
	case CONFIG_SEC_RELAY:
		return "relay";
	case CONFIG_SEC_LISTEN:
		return "listen";
	case CONFIG_SEC_DKIM:
		return "dkim";
	case CONFIG_SEC_TLS:
		return "tls";
	case CONFIG_SEC_HTTP:
		return "http";
	default:
		return "global";
	}
}

const struct config_key *
config_schema_find(enum config_section sec, const char *name)
{
	const struct config_key *k;

	for (k = config_schema; k->name != NULL; k++)
		if (k->section == sec && strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

int
config_schema_choice(const struct config_key *key, const char *value)
{
	const char *p = key->choices, *bar;
	size_t n = strlen(value);
	int i = 0;

	while (p != NULL && *p != '\0') {
		bar = strchr(p, '|');
		if ((bar ? (size_t)(bar - p) : strlen(p)) == n &&
		    strncmp(p, value, n) == 0)
			return i;
		p = bar ? bar + 1 : NULL;
		i++;
	}
	return -1;
}
