/*
 * config_schema: the one table of every tern.conf key.
 *
 * Each key has its section, type, default, bounds and a one-line doc.
 * The parser, "tern check", the sample config and the documentation
 * tests all read this table, so a key cannot exist in one place and be
 * missing from another.
 */
#ifndef TERN_CONFIG_SCHEMA_H
#define TERN_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

enum config_section {
	CONFIG_SEC_GLOBAL,
	CONFIG_SEC_RELAY,
	CONFIG_SEC_LISTEN,
	CONFIG_SEC_DKIM,
	CONFIG_SEC_TLS,
	CONFIG_SEC_HTTP,
};

enum config_type {
	CONFIG_T_STRING,   /* char * */
	CONFIG_T_PATH,     /* char *, must be absolute */
	CONFIG_T_SIZE,     /* uint64_t bytes, K/M/G */
	CONFIG_T_DURATION, /* uint64_t seconds, s/m/h/d */
	CONFIG_T_UINT,     /* uint64_t */
	CONFIG_T_BOOL,     /* int: yes/no, true/false, on/off, 1/0 */
	CONFIG_T_ENUM,     /* int: index into choices, -1 when unset */
	CONFIG_T_HOSTPORT, /* char *: IP:port or [IPv6]:port */
	CONFIG_T_ADDRLIST, /* char *: IP[:port], ... (dns_servers) */
	CONFIG_T_CIDRLIST, /* char *: CIDR, ... */
	CONFIG_T_LOG,      /* char *: syslog, stderr or an absolute path */
	CONFIG_T_HEADERS,  /* char *: colon- or comma-separated names */
};

struct config_key {
	enum config_section section;
	const char *name;
	enum config_type type;
	const char *def;     /* default as written in tern.conf; NULL: none
				or computed (doc says how) */
	const char *choices; /* CONFIG_T_ENUM: "a|b|c" */
	uint64_t min, max;   /* numeric bounds (inclusive); max 0: none */
	size_t offset;       /* of the field in the section's struct */
	const char *doc;     /* one line, shown by tern check and docs */
};

/* The table, terminated by an entry whose name is NULL. */
extern const struct config_key config_schema[];

/* Section names as written in brackets. */
const char *config_schema_section_name(enum config_section sec);

/* Find a key of a section, or NULL. */
const struct config_key *config_schema_find(enum config_section sec,
    const char *name);

/* Index of value in an enum key's choices, or -1. */
int config_schema_choice(const struct config_key *key, const char *value);

#endif
