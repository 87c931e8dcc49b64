/*
 * config: load tern.conf into a struct config (see config.h).
 *
 * inih does the lexing; a line reader wrapped around it counts lines, so
 * every error names file:line, sees section headers (inih does not
 * report empty sections) and rejects what inih would silently mangle
 * (overlong lines, continuation lines).  Values are converted through
 * config_schema, and defaults are parsed by the same code as the file.
 * The parse never stops at the first error: all of them are reported.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "cidr.h"
#include "config.h"
#include "config_schema.h"
#include "fileio.h"
#include "relay_preset.h"
#include "str.h"
#include "units.h"

#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_SECTIONS 1000
#define CONFIG_MAX_KEYS CONFIG_KEY_LINES

struct config_parser {
	const char *path;
	const char *data;
	size_t len, pos;
	unsigned line;
	unsigned errors;
	config_report_fn report;
	void *arg;
	struct config *cfg;
	enum config_section sec;
	void *obj;  /* struct of the current section; NULL: skip its keys */
	unsigned char seen[CONFIG_MAX_KEYS];
};

static void
config_error(struct config_parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
config_error(struct config_parser *p, unsigned line, const char *fmt, ...)
{
	char msg[ERRBUF_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->errors++;
	if (p->report != NULL)
		p->report(p->path, line, msg, p->arg);
}

/* ---------------------------------------------------------------- values */

static int
config_valid_ip(const char *s)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, s, tmp) == 1 ||
	    inet_pton(AF_INET6, s, tmp) == 1;
}

/* "IP", "IP:port", "[IPv6]", "[IPv6]:port" or a bare IPv6 address;
 * need_port demands the port. */
static int
config_valid_hostport(const char *s, int need_port)
{
	char host[64];
	const char *colon, *end;
	size_t n;
	long port;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return 0;
		n = (size_t)(end - s - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return 0;
		s++;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL; /* bare IPv6 */
		n = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, s, n);
	host[n] = '\0';
	if (!config_valid_ip(host))
		return 0;
	if (colon == NULL)
		return !need_port;
	port = strtol(colon + 1, (char **)&end, 10);
	return *end == '\0' && colon[1] != '\0' && port > 0 && port < 65536;
}

/* One network, as the listener will read it (cidr.c decides). */
static int
config_valid_cidr(const char *s)
{
	struct cidr_list l;
	struct errbuf eb;
	int ok;

	ok = cidr_list_parse(s, &l, &eb) == 0 && l.n == 1;
	cidr_list_free(&l);
	return ok;
}

/* Check each comma-separated item of s with valid(). */
static int
config_valid_list(const char *s, int (*valid)(const char *), char *bad,
    size_t badlen)
{
	char item[128];
	const char *p = s, *comma;
	size_t n;

	while (*p != '\0') {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (n >= sizeof(item))
			n = sizeof(item) - 1;
		memcpy(item, p, n);
		item[n] = '\0';
		str_trim(item);
		if (item[0] == '\0' || !valid(item)) {
			str_lcpy(bad, item, badlen);
			return 0;
		}
		p = comma ? comma + 1 : p + strlen(p);
	}
	return 1;
}

static int
config_valid_dns(const char *s)
{
	return config_valid_hostport(s, 0);
}

static int
config_valid_header_names(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 33 || *p > 126)
			if (*p != ' ')
				return 0;
	return s[0] != '\0';
}

static int
config_parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static int
config_parse_number(const struct config_key *k, const char *v,
    uint64_t *out, struct errbuf *eb)
{
	char lo[32], hi[32];
	int rc;

	if (k->type == CONFIG_T_SIZE)
		rc = units_parse_size(v, out, eb);
	else if (k->type == CONFIG_T_DURATION)
		rc = units_parse_duration(v, out, eb);
	else if (v[0] == '\0' || strspn(v, "0123456789") != strlen(v))
		rc = errbuf_set(eb, "'%s' is not a whole number", v);
	else
		rc = units_parse_size(v, out, eb);
	if (rc < 0)
		return -1;
	if (*out < k->min || (k->max != 0 && *out > k->max)) {
		if (k->type == CONFIG_T_SIZE) {
			units_format_size(k->min, lo, sizeof(lo));
			units_format_size(k->max, hi, sizeof(hi));
		} else if (k->type == CONFIG_T_DURATION) {
			units_format_duration(k->min, lo, sizeof(lo));
			units_format_duration(k->max, hi, sizeof(hi));
		} else {
			snprintf(lo, sizeof(lo), "%llu",
			    (unsigned long long)k->min);
			snprintf(hi, sizeof(hi), "%llu",
			    (unsigned long long)k->max);
		}
		return errbuf_set(eb, "'%s' is out of range (%s to %s)", v, lo,
		    hi);
	}
	return 0;
}

static int
config_check_text(const struct config_key *k, const char *v,
    struct errbuf *eb)
{
	char bad[128];

	switch (k->type) {
	case CONFIG_T_PATH:
		if (v[0] != '/')
			return errbuf_set(eb, "'%s' is not an absolute path", v);
		break;
	case CONFIG_T_LOG:
		if (strcmp(v, "syslog") != 0 && strcmp(v, "stderr") != 0 &&
		    v[0] != '/')
			return errbuf_set(eb, "'%s' is not syslog, stderr or an "
			    "absolute file path", v);
		break;
	case CONFIG_T_HOSTPORT:
		if (!config_valid_hostport(v, 1))
			return errbuf_set(eb, "'%s' is not IP:port or "
			    "[IPv6]:port", v);
		break;
	case CONFIG_T_ADDRLIST:
		if (!config_valid_list(v, config_valid_dns, bad, sizeof(bad)))
			return errbuf_set(eb, "'%s' is not an IP address with "
			    "an optional port (e.g. 127.0.0.1:5353, [::1]:53)",
			    bad);
		break;
	case CONFIG_T_CIDRLIST:
		if (!config_valid_list(v, config_valid_cidr, bad, sizeof(bad)))
			return errbuf_set(eb, "'%s' is not a network in CIDR "
			    "notation (e.g. 192.168.1.0/24)", bad);
		break;
	case CONFIG_T_HEADERS:
		if (!config_valid_header_names(v))
			return errbuf_set(eb, "'%s' is not a list of header "
			    "field names", v);
		break;
	default:
		break;
	}
	if (!str_utf8_valid(v, strlen(v)))
		return errbuf_set(eb, "the value is not valid UTF-8");
	return 0;
}

/* Convert v for key k and store it in obj.  Returns 0 or -1 with eb. */
static int
config_store(const struct config_key *k, void *obj, const char *v,
    struct errbuf *eb)
{
	char *field = (char *)obj + k->offset;
	int ival;

	switch (k->type) {
	case CONFIG_T_SIZE:
	case CONFIG_T_DURATION:
	case CONFIG_T_UINT:
		return config_parse_number(k, v, (uint64_t *)(void *)field, eb);
	case CONFIG_T_BOOL:
		if (config_parse_bool(v, &ival) < 0)
			return errbuf_set(eb, "'%s' is not yes or no", v);
		*(int *)(void *)field = ival;
		return 0;
	case CONFIG_T_ENUM:
		if ((ival = config_schema_choice(k, v)) < 0)
			return errbuf_set(eb, "'%s' is not one of %s", v,
			    k->choices);
		*(int *)(void *)field = ival;
		return 0;
	default:
		if (config_check_text(k, v, eb) < 0)
			return -1;
		free(*(char **)(void *)field);
		*(char **)(void *)field = str_xdup(v);
		return 0;
	}
}

/* Give obj the schema defaults of its section; computed ones are left
 * NULL / -1 for config_finish. */
static void
config_defaults(enum config_section sec, void *obj)
{
	const struct config_key *k;
	struct errbuf eb;

	for (k = config_schema; k->name != NULL; k++) {
		if (k->section != sec)
			continue;
		if (k->type == CONFIG_T_ENUM)
			*(int *)(void *)((char *)obj + k->offset) = -1;
		if (k->def != NULL && config_store(k, obj, k->def, &eb) < 0)
			abort(); /* a bad default is a bug in the table */
	}
}

/* ---------------------------------------------------------------- sections */

/* Append a zeroed element to a section array; returns it. */
static void *
config_grow(void **arr, size_t *n, size_t size)
{
	char *p = realloc(*arr, (*n + 1) * size);

	if (p == NULL) {
		fputs("tern: out of memory\n", stderr);
		abort();
	}
	memset(p + *n * size, 0, size);
	*arr = p;
	return p + (*n)++ * size;
}

static int
config_name_taken(const struct config *cfg, enum config_section sec,
    const char *name, unsigned *line)
{
	size_t i;

	for (i = 0; sec == CONFIG_SEC_RELAY && i < cfg->nrelays; i++)
		if (strcmp(cfg->relays[i].name, name) == 0)
			return *line = cfg->relays[i].line, 1;
	for (i = 0; sec == CONFIG_SEC_LISTEN && i < cfg->nlistens; i++)
		if (strcmp(cfg->listens[i].name, name) == 0)
			return *line = cfg->listens[i].line, 1;
	for (i = 0; sec == CONFIG_SEC_DKIM && i < cfg->ndkims; i++)
		if (strcasecmp(cfg->dkims[i].domain, name) == 0)
			return *line = cfg->dkims[i].line, 1;
	for (i = 0; sec == CONFIG_SEC_TLS && i < cfg->ntls_policies; i++)
		if (strcasecmp(cfg->tls_policies[i].domain, name) == 0)
			return *line = cfg->tls_policies[i].line, 1;
	if (sec == CONFIG_SEC_HTTP && cfg->http != NULL)
		return *line = cfg->http->line, 1;
	return 0;
}

/* Create the struct for a new section and make it current. */
static void *
config_new_section(struct config_parser *p, enum config_section sec,
    const char *name)
{
	struct config *cfg = p->cfg;
	void *obj;

	switch (sec) {
	case CONFIG_SEC_RELAY:
		obj = config_grow((void **)&cfg->relays, &cfg->nrelays,
		    sizeof(*cfg->relays));
		((struct config_relay *)obj)->name = str_xdup(name);
		((struct config_relay *)obj)->line = p->line;
		break;
	case CONFIG_SEC_LISTEN:
		obj = config_grow((void **)&cfg->listens, &cfg->nlistens,
		    sizeof(*cfg->listens));
		((struct config_listen *)obj)->name = str_xdup(name);
		((struct config_listen *)obj)->line = p->line;
		break;
	case CONFIG_SEC_DKIM:
		obj = config_grow((void **)&cfg->dkims, &cfg->ndkims,
		    sizeof(*cfg->dkims));
		((struct config_dkim *)obj)->domain = str_xdup(name);
		((struct config_dkim *)obj)->line = p->line;
		break;
	case CONFIG_SEC_TLS:
		obj = config_grow((void **)&cfg->tls_policies,
		    &cfg->ntls_policies, sizeof(*cfg->tls_policies));
		((struct config_tls_policy *)obj)->domain = str_xdup(name);
		((struct config_tls_policy *)obj)->line = p->line;
		break;
	default:
		if ((cfg->http = calloc(1, sizeof(*cfg->http))) == NULL)
			abort();
		cfg->http->line = p->line;
		obj = cfg->http;
		break;
	}
	config_defaults(sec, obj);
	return obj;
}

static int
config_section_kind(const char *kind, enum config_section *sec)
{
	static const enum config_section all[] = { CONFIG_SEC_RELAY,
		CONFIG_SEC_LISTEN, CONFIG_SEC_DKIM, CONFIG_SEC_TLS,
		CONFIG_SEC_HTTP };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(kind, config_schema_section_name(all[i])) == 0)
			return *sec = all[i], 0;
	return -1;
}

/* A "[kind name]" line: validate it and open the section.  Keys of a
 * rejected section are skipped (p->obj NULL), so one mistake gives one
 * message, not one per key. */
static void
config_on_section(struct config_parser *p, char *text)
{
	char *name, *kind = text;
	enum config_section sec;
	unsigned first;

	memset(p->seen, 0, sizeof(p->seen));
	p->obj = NULL;
	p->sec = CONFIG_SEC_HTTP;
	name = kind + strcspn(kind, " \t");
	if (*name != '\0')
		*name++ = '\0';
	str_trim(name);
	if (config_section_kind(kind, &sec) < 0)
		return config_error(p, p->line, "unknown section [%s]; known: "
		    "[relay NAME], [listen NAME], [dkim DOMAIN], [tls DOMAIN], "
		    "[http]", kind);
	p->sec = sec;
	if (sec == CONFIG_SEC_HTTP && name[0] != '\0')
		return config_error(p, p->line, "[http] takes no name");
	if (sec != CONFIG_SEC_HTTP && (name[0] == '\0' ||
	    strcspn(name, " \t") != strlen(name)))
		return config_error(p, p->line, "[%s] needs one name, e.g. "
		    "[%s %s]", kind, kind, sec == CONFIG_SEC_DKIM ||
		    sec == CONFIG_SEC_TLS ? "example.org" : "main");
	if (p->cfg->nrelays + p->cfg->nlistens + p->cfg->ndkims +
	    p->cfg->ntls_policies >= CONFIG_MAX_SECTIONS)
		return config_error(p, p->line, "too many sections (at most "
		    "%d)", CONFIG_MAX_SECTIONS);
	if (config_name_taken(p->cfg, sec, name, &first))
		return config_error(p, p->line, "[%s%s%s] is already defined "
		    "at line %u", kind, name[0] ? " " : "", name, first);
	p->obj = config_new_section(p, sec, name);
}

/* ---------------------------------------------------------------- lexing */

/* Bytes of blank (space, tab, CR, LF) at the start of line[0..n). */
static size_t
config_blank_prefix(const char *line, size_t n)
{
	size_t i = 0;

	while (i < n && strchr(" \t\r\n", line[i]) != NULL && line[i] != '\0')
		i++;
	return i;
}

/* inih would take "key: value" too, and skip a line without '=' with
 * only its return value to tell: tern.conf has one form. */
static int
config_bad_assignment(const char *line, size_t n)
{
	const char *eq = memchr(line, '=', n);

	return eq == NULL || memchr(line, ':', (size_t)(eq - line)) != NULL;
}

/* Look at a raw line before inih does: count it, handle section headers
 * and catch what inih would misread.  Returns 1 when inih should see the
 * line, 0 when it has been dealt with. */
static int
config_inspect_line(struct config_parser *p, const char *line, size_t n,
    int max)
{
	char text[512];
	const char *end;
	size_t lead;

	p->line++;
	if (memchr(line, '\0', n) != NULL) {
		config_error(p, p->line, "the line holds a NUL byte");
		return 0;
	}
	if (n > (size_t)max - 1) {
		config_error(p, p->line, "the line is longer than %d "
		    "characters", max - 2);
		return 0;
	}
	lead = config_blank_prefix(line, n);
	if (lead == n || line[lead] == '#' || line[lead] == ';')
		return 1; /* blank or comment */
	if (lead > 0) {
		config_error(p, p->line, "the line starts with white space; "
		    "continuation lines are not supported, write 'key = value' "
		    "on one line");
		return 0;
	}
	if (line[0] != '[' && config_bad_assignment(line, n)) {
		config_error(p, p->line, "expected 'key = value', a [section] "
		    "or a # comment");
		return 0;
	}
	if (line[0] != '[')
		return 1;
	end = memchr(line, ']', n);
	if (end == NULL || strchr("\n#;", end[1 + strspn(end + 1,
	    " \t\r")]) == NULL) {
		config_error(p, p->line, "malformed section header; write "
		    "[relay NAME], [listen NAME], [dkim DOMAIN], [tls DOMAIN] "
		    "or [http]");
		p->obj = NULL;
		return 0;
	}
	snprintf(text, sizeof(text), "%.*s", (int)(end - line - 1), line + 1);
	config_on_section(p, str_trim(text));
	return 0;
}

/* inih's line reader: feed one line at a time from memory. */
static char *
config_reader(char *str, int num, void *stream)
{
	struct config_parser *p = stream;
	const char *line, *nl;
	size_t n;

	for (;;) {
		if (p->pos >= p->len)
			return NULL;
		line = p->data + p->pos;
		nl = memchr(line, '\n', p->len - p->pos);
		n = nl ? (size_t)(nl - line) + 1 : p->len - p->pos;
		p->pos += n;
		if (config_inspect_line(p, line, n, num))
			break;
	}
	memcpy(str, line, n);
	str[n] = '\0';
	return str;
}

static int
config_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config_parser *p = user;
	const struct config_key *k;
	struct errbuf eb;
	size_t idx;

	(void)section; /* tracked by config_on_section, line-accurately */
	if (p->sec != CONFIG_SEC_GLOBAL && p->obj == NULL)
		return 1;
	k = config_schema_find(p->sec, name);
	if (k == NULL) {
		config_error(p, p->line, "unknown key '%s' in %s%s%s", name,
		    p->sec == CONFIG_SEC_GLOBAL ? "the global section" : "[",
		    p->sec == CONFIG_SEC_GLOBAL ? "" :
		    config_schema_section_name(p->sec),
		    p->sec == CONFIG_SEC_GLOBAL ? "" : "]");
		return 1;
	}
	idx = (size_t)(k - config_schema);
	if (p->seen[idx]) {
		config_error(p, p->line, "'%s' is set twice in this section",
		    name);
		return 1;
	}
	p->seen[idx] = 1;
	if (p->sec == CONFIG_SEC_GLOBAL)
		p->cfg->key_lines[idx] = p->line;
	if (value[0] == '\0') {
		config_error(p, p->line, "'%s' has no value; remove the line "
		    "to use the default", name);
		return 1;
	}
	errbuf_clear(&eb);
	if (config_store(k, p->obj ? p->obj : (void *)p->cfg, value, &eb) < 0)
		config_error(p, p->line, "%s: %s", name, eb.msg);
	return 1;
}

/* ---------------------------------------------------------------- finish */

static void
config_finish_relay(struct config_parser *p, struct config_relay *r)
{
	const struct relay_preset *pre = NULL;
	char host[256];
	struct errbuf eb;

	/* "NAME:REGION" picks the region's host (ses:eu-west-1). */
	errbuf_clear(&eb);
	if (r->preset != NULL && relay_preset_host(r->preset, host,
	    sizeof(host), &eb) < 0)
		config_error(p, r->line, "[relay %s]: %s", r->name, eb.msg);
	else if (r->preset != NULL)
		pre = relay_preset_find(r->preset);
	if (r->host == NULL && pre != NULL)
		r->host = str_xdup(host);
	if (r->host == NULL && r->preset == NULL)
		config_error(p, r->line, "[relay %s]: set host (and port) or "
		    "a preset", r->name);
	if (r->tls < 0 && r->port == 0 && pre != NULL)
		r->tls = (int)pre->tls;
	if (r->port == 0)
		r->port = pre != NULL && r->tls == (int)pre->tls ? pre->port :
		    r->tls == CONFIG_TLS_IMPLICIT ? 465 :
		    r->tls == CONFIG_TLS_NONE ? 25 : 587;
	if (r->tls < 0)
		r->tls = r->port == 465 ? CONFIG_TLS_IMPLICIT :
		    CONFIG_TLS_STARTTLS;
	if (r->auth < 0)
		r->auth = r->username != NULL || r->oauth2_token_command ||
		    r->oauth2_token_url ? CONFIG_AUTH_AUTO : CONFIG_AUTH_NONE;
	if (r->auth != CONFIG_AUTH_NONE && r->username == NULL)
		config_error(p, r->line, "[relay %s]: auth needs a username",
		    r->name);
}

static void
config_finish_listen(struct config_parser *p, struct config_listen *l)
{
	if (l->address == NULL)
		config_error(p, l->line, "[listen %s]: set address, e.g. "
		    "address = 0.0.0.0:25", l->name);
	if (l->tls != CONFIG_LTLS_NONE &&
	    (l->tls_cert_file == NULL || l->tls_key_file == NULL))
		config_error(p, l->line, "[listen %s]: tls needs "
		    "tls_cert_file and tls_key_file", l->name);
	if (l->auth != CONFIG_LAUTH_NONE && l->users_file == NULL)
		config_error(p, l->line, "[listen %s]: auth needs users_file",
		    l->name);
	/* AUTH is offered only inside TLS, so a password never crosses
	 * the network in clear: without TLS it could never be used. */
	if (l->auth != CONFIG_LAUTH_NONE && l->tls == CONFIG_LTLS_NONE)
		config_error(p, l->line, "[listen %s]: auth needs TLS (AUTH is "
		    "offered only over TLS); set tls = starttls or implicit",
		    l->name);
	if (l->max_connections_per_ip > l->max_connections)
		config_error(p, l->line, "[listen %s]: max_connections_per_ip "
		    "(%llu) is above max_connections (%llu)", l->name,
		    (unsigned long long)l->max_connections_per_ip,
		    (unsigned long long)l->max_connections);
}

static void
config_finish_dkim(struct config_parser *p, struct config_dkim *d)
{
	char path[4096];

	if (d->selector == NULL) {
		config_error(p, d->line, "[dkim %s]: set selector", d->domain);
		return;
	}
	if (d->key_file == NULL) {
		snprintf(path, sizeof(path), "%s/tern/dkim/%s.%s.key",
		    SYSCONFDIR, d->domain, d->selector);
		d->key_file = str_xdup(path);
	}
}

/* A [tls] name is a domain, or ".domain" for its subdomains. */
static void
config_finish_tls(struct config_parser *p, struct config_tls_policy *t)
{
	const char *d = t->domain + (t->domain[0] == '.');
	size_t i;

	for (i = 0; d[i] != '\0'; i++)
		if (!isalnum((unsigned char)d[i]) && strchr("-._", d[i]) == NULL)
			break;
	if (d[0] == '\0' || d[i] != '\0' || d[0] == '.' ||
	    strstr(d, "..") != NULL || i > 253)
		config_error(p, t->line, "[tls %s]: not a domain name; write "
		    "[tls example.org], or [tls .example.org] for its "
		    "subdomains", t->domain);
}

/* The host's name, and the domain part of it for origin. */
static void
config_finish_names(struct config *cfg)
{
	char host[256];
	const char *dot;

	if (cfg->hostname == NULL) {
		if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
			str_lcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		cfg->hostname = str_xdup(host);
	}
	if (cfg->origin == NULL) {
		dot = strchr(cfg->hostname, '.');
		cfg->origin = str_xdup(dot != NULL && dot[1] != '\0' ?
		    dot + 1 : cfg->hostname);
	}
}

static int
config_cmp_relay(const void *a, const void *b)
{
	const struct config_relay *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static void
config_finish(struct config_parser *p)
{
	struct config *cfg = p->cfg;
	size_t i;

	config_finish_names(cfg);
	for (i = 0; i < cfg->nrelays; i++)
		config_finish_relay(p, &cfg->relays[i]);
	for (i = 0; i < cfg->nlistens; i++)
		config_finish_listen(p, &cfg->listens[i]);
	for (i = 0; i < cfg->ndkims; i++)
		config_finish_dkim(p, &cfg->dkims[i]);
	for (i = 0; i < cfg->ntls_policies; i++)
		config_finish_tls(p, &cfg->tls_policies[i]);
	if (cfg->nrelays > 1)
		qsort(cfg->relays, cfg->nrelays, sizeof(*cfg->relays),
		    config_cmp_relay);
	if (cfg->delivery < 0)
		cfg->delivery = cfg->nrelays > 0 ? CONFIG_DELIVERY_RELAY :
		    CONFIG_DELIVERY_DIRECT;
	else if (cfg->delivery == CONFIG_DELIVERY_RELAY && cfg->nrelays == 0)
		config_error(p, 0, "delivery = relay needs at least one "
		    "[relay NAME] section");
	if (cfg->retry_min > cfg->retry_max)
		config_error(p, 0, "retry_min is larger than retry_max");
}

/* ---------------------------------------------------------------- load */

const char *
config_choose_path(const char *flag_path, bool *is_explicit)
{
	const char *env = getenv(CONFIG_ENV);

	*is_explicit = true;
	if (flag_path != NULL)
		return flag_path;
	if (env != NULL && env[0] != '\0')
		return env;
	*is_explicit = false;
	return CONFIG_DEFAULT_PATH;
}

static int
config_read(struct config_parser *p, bool must_exist, struct errbuf *eb)
{
	char *data;
	size_t len;

	data = fileio_read_file(p->path, CONFIG_MAX_FILE, &len, eb);
	if (data == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		errbuf_prefix(eb, "config");
		eb->code = EX_CONFIG;
		return -1;
	}
	p->cfg->path = str_xdup(p->path);
	p->data = data;
	p->len = len;
	ini_parse_stream(config_reader, p, config_handler, p);
	free(data);
	return 0;
}

struct config *
config_load(const char *path, bool must_exist, config_report_fn report,
    void *arg, struct errbuf *eb)
{
	struct config_parser p;
	struct config *cfg;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		errbuf_setc(eb, EX_OSERR, "out of memory");
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.report = report;
	p.arg = arg;
	p.cfg = cfg;
	p.sec = CONFIG_SEC_GLOBAL;
	config_defaults(CONFIG_SEC_GLOBAL, cfg);
	if (config_read(&p, must_exist, eb) < 0) {
		config_free(cfg);
		return NULL;
	}
	config_finish(&p);
	if (p.errors > 0) {
		errbuf_setc(eb, EX_CONFIG, "%s: %u error%s", path, p.errors,
		    p.errors == 1 ? "" : "s");
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Free every string field of obj named in the schema. */
static void
config_free_fields(enum config_section sec, void *obj)
{
	const struct config_key *k;

	for (k = config_schema; k->name != NULL; k++)
		if (k->section == sec && k->type != CONFIG_T_SIZE &&
		    k->type != CONFIG_T_DURATION && k->type != CONFIG_T_UINT &&
		    k->type != CONFIG_T_BOOL && k->type != CONFIG_T_ENUM)
			free(*(char **)(void *)((char *)obj + k->offset));
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nrelays; i++) {
		config_free_fields(CONFIG_SEC_RELAY, &cfg->relays[i]);
		free(cfg->relays[i].name);
	}
	for (i = 0; i < cfg->nlistens; i++) {
		config_free_fields(CONFIG_SEC_LISTEN, &cfg->listens[i]);
		free(cfg->listens[i].name);
	}
	for (i = 0; i < cfg->ndkims; i++) {
		config_free_fields(CONFIG_SEC_DKIM, &cfg->dkims[i]);
		free(cfg->dkims[i].domain);
	}
	for (i = 0; i < cfg->ntls_policies; i++) {
		config_free_fields(CONFIG_SEC_TLS, &cfg->tls_policies[i]);
		free(cfg->tls_policies[i].domain);
	}
	if (cfg->http != NULL)
		config_free_fields(CONFIG_SEC_HTTP, cfg->http);
	config_free_fields(CONFIG_SEC_GLOBAL, cfg);
	free(cfg->relays);
	free(cfg->listens);
	free(cfg->dkims);
	free(cfg->tls_policies);
	free(cfg->http);
	free(cfg->path);
	free(cfg);
}

const struct config_tls_policy *
config_tls_policy(const struct config_tls_policy *v, size_t n,
    const char *domain)
{
	const struct config_tls_policy *best = NULL;
	size_t i, dlen = strlen(domain), plen, best_len = 0;
	const char *pd;

	for (i = 0; i < n; i++) {
		pd = v[i].domain;
		if (pd[0] != '.') {
			if (strcasecmp(pd, domain) == 0)
				return &v[i];
			continue;
		}
		/* ".example.org" covers a.example.org, not example.org; the
		 * longest (nearest) parent wins. */
		plen = strlen(pd);
		if (dlen > plen && strcasecmp(domain + dlen - plen, pd) == 0 &&
		    plen > best_len) {
			best = &v[i];
			best_len = plen;
		}
	}
	return best;
}

unsigned
config_key_line(const struct config *cfg, const char *name)
{
	const struct config_key *k;

	k = config_schema_find(CONFIG_SEC_GLOBAL, name);
	return k != NULL ? cfg->key_lines[k - config_schema] : 0;
}

const struct config_relay *
config_find_relay(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nrelays; i++)
		if (strcmp(cfg->relays[i].name, name) == 0)
			return &cfg->relays[i];
	return NULL;
}
