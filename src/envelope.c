/*
 * envelope: encode and decode envelope records (format in envelope.h).
 *
 * The decoder treats its input as hostile: every line is bounded, every
 * number range-checked, every key known, and the version checked before
 * anything else is believed.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "str.h"

#define ENVELOPE_MAX_LINE 8192

void
envelope_init(struct envelope *env)
{
	memset(env, 0, sizeof(*env));
	env->uid = -1;
}

static void
envelope_rcpt_fini(struct envelope_rcpt *r)
{
	free(r->addr);
	free(r->orcpt);
	free(r->status);
	free(r->reason);
}

void
envelope_fini(struct envelope *env)
{
	size_t i;

	for (i = 0; i < env->nrcpts; i++)
		envelope_rcpt_fini(&env->rcpts[i]);
	free(env->rcpts);
	free(env->sender);
	free(env->envid);
	free(env->last_error);
	envelope_init(env);
}

struct envelope_rcpt *
envelope_add_rcpt(struct envelope *env, const char *addr)
{
	struct envelope_rcpt *r;
	size_t cap;

	if (env->nrcpts >= ENVELOPE_MAX_RCPTS)
		return NULL;
	if (env->nrcpts == env->rcpts_cap) {
		cap = env->rcpts_cap ? env->rcpts_cap * 2 : 8;
		r = realloc(env->rcpts, cap * sizeof(*r));
		if (r == NULL)
			return NULL;
		env->rcpts = r;
		env->rcpts_cap = cap;
	}
	r = &env->rcpts[env->nrcpts];
	memset(r, 0, sizeof(*r));
	if ((r->addr = strdup(addr)) == NULL)
		return NULL;
	env->nrcpts++;
	return r;
}

/* ---------------------------------------------------------------- names */

static const char *const envelope_states[] = { "pending", "deferred",
	"sent", "bounced" };
static const char *const envelope_rets[] = { "", "full", "hdrs" };
static const char *const envelope_bodies[] = { "7bit", "8bitmime" };

static const struct {
	const char *name;
	unsigned bit;
} envelope_notify_names[] = {
	{ "never", ENVELOPE_NOTIFY_NEVER },
	{ "success", ENVELOPE_NOTIFY_SUCCESS },
	{ "failure", ENVELOPE_NOTIFY_FAILURE },
	{ "delay", ENVELOPE_NOTIFY_DELAY },
};

const char *
envelope_rcpt_state_name(int state)
{
	if (state < 0 || state > ENVELOPE_RCPT_BOUNCED)
		return "unknown";
	return envelope_states[state];
}

int
envelope_notify_format(unsigned notify, char *out, size_t outlen)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < 4; i++) {
		if (!(notify & envelope_notify_names[i].bit))
			continue;
		o += (size_t)snprintf(out + o, o < outlen ? outlen - o : 0,
		    "%s%s", o ? "," : "", envelope_notify_names[i].name);
	}
	return o < outlen ? 0 : -1;
}

int
envelope_notify_parse(const char *s, unsigned *out)
{
	const char *p = s, *comma;
	size_t i, n;
	unsigned v = 0;

	while (*p != '\0') {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		for (i = 0; i < 4; i++)
			if (strlen(envelope_notify_names[i].name) == n &&
			    str_ieq_n(p, envelope_notify_names[i].name, n))
				break;
		if (i == 4)
			return -1;
		v |= envelope_notify_names[i].bit;
		p = comma ? comma + 1 : p + n;
	}
	/* NEVER excludes the others (RFC 3461 section 4.1). */
	if (v == 0 || ((v & ENVELOPE_NOTIFY_NEVER) && v != ENVELOPE_NOTIFY_NEVER))
		return -1;
	*out = v;
	return 0;
}

/* ---------------------------------------------------------------- encode */

static int
envelope_put_escaped(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char esc[3];

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p > ' ' && *p != 0x7f && *p != '%') {
			if (buf_putc(out, *p) < 0)
				return -1;
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[*p >> 4];
		esc[2] = hex[*p & 15];
		if (buf_append(out, esc, 3) < 0)
			return -1;
	}
	return 0;
}

static int
envelope_put(struct buf *out, const char *key, const char *value)
{
	if (buf_puts(out, key) < 0 || buf_puts(out, ": ") < 0 ||
	    envelope_put_escaped(out, value) < 0)
		return -1;
	return buf_putc(out, '\n');
}

static int
envelope_put_attr(struct buf *out, const char *key, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return 0;
	if (buf_putc(out, ' ') < 0 || buf_puts(out, key) < 0 ||
	    buf_putc(out, '=') < 0)
		return -1;
	return envelope_put_escaped(out, value);
}

static int
envelope_encode_rcpt(const struct envelope_rcpt *r, struct buf *out)
{
	char notify[64];

	envelope_notify_format(r->notify, notify, sizeof(notify));
	if (buf_puts(out, "rcpt: ") < 0 ||
	    envelope_put_escaped(out, r->addr) < 0 ||
	    envelope_put_attr(out, "state",
	    envelope_rcpt_state_name(r->state)) < 0 ||
	    envelope_put_attr(out, "notify", notify) < 0 ||
	    envelope_put_attr(out, "orcpt", r->orcpt) < 0 ||
	    envelope_put_attr(out, "status", r->status) < 0 ||
	    envelope_put_attr(out, "reason", r->reason) < 0)
		return -1;
	return buf_putc(out, '\n');
}

int
envelope_encode(const struct envelope *env, struct buf *out)
{
	size_t i;
	int rc = 0;

	rc |= buf_printf(out, "tern-envelope: %d\n", ENVELOPE_VERSION);
	rc |= buf_printf(out, "arrival: %" PRId64 ".%06" PRId64 "\n",
	    env->arrival_us / 1000000, env->arrival_us % 1000000);
	if (env->uid >= 0)
		rc |= buf_printf(out, "uid: %ld\n", env->uid);
	rc |= envelope_put(out, "sender", env->sender ? env->sender : "");
	rc |= buf_printf(out, "size: %" PRIu64 "\n", env->size);
	rc |= envelope_put(out, "body", envelope_bodies[env->body]);
	if (env->smtputf8)
		rc |= envelope_put(out, "smtputf8", "yes");
	if (env->requiretls)
		rc |= envelope_put(out, "requiretls", "yes");
	if (env->warned)
		rc |= envelope_put(out, "delay-warned", "yes");
	if (env->ret != ENVELOPE_RET_DEFAULT)
		rc |= envelope_put(out, "ret", envelope_rets[env->ret]);
	if (env->envid != NULL)
		rc |= envelope_put(out, "envid", env->envid);
	rc |= buf_printf(out, "attempts: %u\n", env->attempts);
	rc |= buf_printf(out, "next-attempt: %" PRId64 "\n",
	    env->next_attempt);
	if (env->last_error != NULL)
		rc |= envelope_put(out, "last-error", env->last_error);
	for (i = 0; i < env->nrcpts && rc == 0; i++)
		rc |= envelope_encode_rcpt(&env->rcpts[i], out);
	return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- decode */

/* Decode an escaped value s[0..n) into a new string; NULL when it is
 * malformed (bad escape, raw control byte, escaped NUL) or no memory. */
static char *
envelope_unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	size_t i;
	int hi, lo;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			goto bad;
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= n)
			goto bad;
		hi = str_hexval((unsigned char)s[i + 1]);
		lo = str_hexval((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			goto bad;
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static int
envelope_parse_i64(const char *s, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "seconds.micro" */
static int
envelope_parse_time(const char *s, int64_t *out)
{
	char sec[32];
	const char *dot = strchr(s, '.');
	int64_t secs, us;
	size_t n = dot ? (size_t)(dot - s) : strlen(s);

	if (n == 0 || n >= sizeof(sec) || (dot && strlen(dot + 1) != 6))
		return -1;
	memcpy(sec, s, n);
	sec[n] = '\0';
	if (envelope_parse_i64(sec, INT64_MAX / 1000000 - 1, &secs) < 0)
		return -1;
	us = 0;
	if (dot && envelope_parse_i64(dot + 1, 999999, &us) < 0)
		return -1;
	*out = secs * 1000000 + us;
	return 0;
}

static int
envelope_choice(const char *v, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	return -1;
}

static int
envelope_rcpt_attr(struct envelope_rcpt *r, const char *key,
    const char *val)
{
	if (strcmp(key, "state") == 0)
		return (r->state = envelope_choice(val, envelope_states, 4));
	if (strcmp(key, "notify") == 0)
		return envelope_notify_parse(val, &r->notify);
	if (strcmp(key, "orcpt") == 0 && r->orcpt == NULL)
		return (r->orcpt = strdup(val)) ? 0 : -1;
	if (strcmp(key, "status") == 0 && r->status == NULL)
		return (r->status = strdup(val)) ? 0 : -1;
	if (strcmp(key, "reason") == 0 && r->reason == NULL)
		return (r->reason = strdup(val)) ? 0 : -1;
	return -1;
}

/* "rcpt: ADDR key=val key=val" */
static int
envelope_decode_rcpt(struct envelope *env, const char *v, size_t n)
{
	struct envelope_rcpt *r;
	const char *sp, *eq, *end = v + n;
	char *addr, *key, *val;
	int rc;

	sp = memchr(v, ' ', n);
	if ((addr = envelope_unescape(v, sp ? (size_t)(sp - v) : n)) == NULL)
		return -1;
	r = addr[0] != '\0' ? envelope_add_rcpt(env, addr) : NULL;
	free(addr);
	if (r == NULL)
		return -1;
	while (sp != NULL && sp < end) {
		v = sp + 1;
		sp = memchr(v, ' ', (size_t)(end - v));
		n = sp ? (size_t)(sp - v) : (size_t)(end - v);
		eq = memchr(v, '=', n);
		if (eq == NULL || eq == v)
			return -1;
		key = envelope_unescape(v, (size_t)(eq - v));
		val = envelope_unescape(eq + 1, n - (size_t)(eq - v) - 1);
		rc = key && val ? envelope_rcpt_attr(r, key, val) : -1;
		free(key);
		free(val);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
envelope_set_str(char **field, const char *v, size_t n)
{
	if (*field != NULL)
		return -1; /* a key given twice */
	*field = envelope_unescape(v, n);
	return *field ? 0 : -1;
}

static int
envelope_set_yes(bool *field, const char *v, size_t n)
{
	if (n != 3 || memcmp(v, "yes", 3) != 0)
		return -1;
	*field = true;
	return 0;
}

/* One "key: value" record other than the version, data and end. */
static int
envelope_decode_record(struct envelope *env, const char *key, size_t klen,
    const char *v, size_t n)
{
	char num[64];
	int64_t x;

#define KEY(name) (klen == sizeof(name) - 1 && memcmp(key, name, klen) == 0)
	if (KEY("rcpt"))
		return envelope_decode_rcpt(env, v, n);
	if (KEY("sender"))
		return envelope_set_str(&env->sender, v, n);
	if (KEY("envid"))
		return envelope_set_str(&env->envid, v, n);
	if (KEY("last-error"))
		return envelope_set_str(&env->last_error, v, n);
	if (KEY("smtputf8"))
		return envelope_set_yes(&env->smtputf8, v, n);
	if (KEY("requiretls"))
		return envelope_set_yes(&env->requiretls, v, n);
	if (KEY("delay-warned"))
		return envelope_set_yes(&env->warned, v, n);
	if (n >= sizeof(num))
		return -1;
	memcpy(num, v, n);
	num[n] = '\0';
	if (KEY("arrival"))
		return envelope_parse_time(num, &env->arrival_us);
	if (KEY("body"))
		return (env->body = envelope_choice(num, envelope_bodies, 2));
	if (KEY("ret"))
		return (env->ret = envelope_choice(num, envelope_rets, 3)) > 0 ?
		    0 : -1;
	if (KEY("uid") && envelope_parse_i64(num, INT32_MAX, &x) == 0)
		return env->uid = (long)x, 0;
	if (KEY("size") && envelope_parse_i64(num, INT64_MAX, &x) == 0)
		return env->size = (uint64_t)x, 0;
	if (KEY("attempts") && envelope_parse_i64(num, 1000000, &x) == 0)
		return env->attempts = (unsigned)x, 0;
	if (KEY("next-attempt") && envelope_parse_i64(num, INT64_MAX, &x) == 0)
		return env->next_attempt = x, 0;
#undef KEY
	return -1;
}

static int
envelope_complete(struct envelope *env, struct errbuf *eb)
{
	if (env->sender == NULL)
		return errbuf_set(eb, "envelope has no sender record");
	if (env->nrcpts == 0)
		return errbuf_set(eb, "envelope has no recipients");
	if (env->arrival_us == 0)
		return errbuf_set(eb, "envelope has no arrival time");
	return 0;
}

int
envelope_decode(const char *text, size_t len, struct envelope *env,
    size_t *data_off, uint64_t *data_len, struct errbuf *eb)
{
	const char *line, *nl, *colon;
	size_t pos = 0, n, lineno = 0;
	int64_t dlen;
	char num[32];

	while (pos < len) {
		line = text + pos;
		nl = memchr(line, '\n', len - pos);
		if (nl == NULL)
			break;
		n = (size_t)(nl - line);
		pos += n + 1;
		lineno++;
		if (n > ENVELOPE_MAX_LINE)
			return errbuf_set(eb, "envelope line %zu is too long",
			    lineno);
		if (lineno == 1) {
			if (n != 16 || memcmp(line, "tern-envelope: 1", 16))
				return errbuf_set(eb, "not a tern envelope of "
				    "version %d", ENVELOPE_VERSION);
			continue;
		}
		if (n == 3 && memcmp(line, "end", 3) == 0) {
			*data_off = pos;
			*data_len = 0;
			return envelope_complete(env, eb);
		}
		colon = memchr(line, ':', n);
		if (colon == NULL || colon + 1 == nl || colon[1] != ' ')
			return errbuf_set(eb, "envelope line %zu is not "
			    "'key: value'", lineno);
		if (colon - line == 4 && memcmp(line, "data", 4) == 0) {
			n = (size_t)(nl - colon - 2);
			if (n == 0 || n >= sizeof(num))
				return errbuf_set(eb, "bad data size");
			memcpy(num, colon + 2, n);
			num[n] = '\0';
			if (envelope_parse_i64(num, INT64_MAX, &dlen) < 0)
				return errbuf_set(eb, "bad data size");
			*data_off = pos;
			*data_len = (uint64_t)dlen;
			return envelope_complete(env, eb);
		}
		if (envelope_decode_record(env, line, (size_t)(colon - line),
		    colon + 2, (size_t)(nl - colon - 2)) < 0)
			return errbuf_set(eb, "envelope line %zu: bad or "
			    "repeated record '%.*s'", lineno,
			    (int)(colon - line), line);
	}
	if (len - pos > ENVELOPE_MAX_LINE)
		return errbuf_set(eb, "envelope line %zu is too long",
		    lineno + 1);
	return 1;
}
