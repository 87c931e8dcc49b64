/*
 * smtpc_probe: drive the SMTP client once, for the integration tests
 * (test/integration/smtpc_peer.sh).
 *
 *	smtpc_probe --host NAME --addr IP --port N
 *	    --tls starttls|implicit|opportunistic|none [--no-verify]
 *	    [--ca FILE] [--user U --password P | --user U --token T]
 *	    [--auth auto|plain|login|cram-md5|xoauth2|none] [--helo NAME]
 *	    [--timeout SECS] [--connect-timeout SECS] [--repeat N]
 *	    [--requiretls] [--smtputf8] [--8bit] [--ret full|hdrs]
 *	    [--envid ID] [--notify LIST] [--orcpt] [--caps]
 *	    --from ADDR --to ADDR [--to ADDR...] --file MSG
 *
 * MSG is a message with LF line ends; everything up to the first empty
 * line is the header section (held in memory), the rest is the body
 * (read by smtpc from the file).  --repeat sends it N times over one
 * session.  Output, one line each:
 *	tls <version> <cipher>          when the session is encrypted
 *	cap <keyword> [params]          with --caps, one per capability
 *	rcpt <addr> <code> <status|-> <text>   per recipient and message
 *	outcome <stage> <err>           per message, or for the session
 * Exit 0 when every message ended with stage "none", 1 otherwise, 2 on
 * bad usage.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "envelope.h"
#include "smtpc.h"

#define PROBE_MAX_RCPTS 16
#define PROBE_HEAD_MAX (1024 * 1024)

struct probe {
	struct event_base *base;
	struct smtpc_session *s;
	struct smtpc_msg msg;
	struct smtpc_rcpt rcpts[PROBE_MAX_RCPTS];
	char *head;
	int repeat;
	int sent;
	bool sending;
	bool show_caps;
	bool failed;
};

static void
probe_usage(void)
{
	fputs("usage: smtpc_probe --host NAME --addr IP --port N --tls MODE "
	    "[options] --from A --to B --file MSG\n", stderr);
	exit(2);
}

static int
probe_enum(const char *arg, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	fprintf(stderr, "smtpc_probe: unknown value '%s'\n", arg);
	exit(2);
}

static enum smtpc_tls_mode
probe_tls(const char *arg)
{
	static const char *const names[] = { "starttls", "implicit",
		"opportunistic", "none" };
	static const enum smtpc_tls_mode modes[] = { SMTPC_TLS_STARTTLS,
		SMTPC_TLS_IMPLICIT, SMTPC_TLS_OPPORTUNISTIC, SMTPC_TLS_NONE };

	return modes[probe_enum(arg, names, 4)];
}

static enum smtpc_auth_mode
probe_auth(const char *arg)
{
	static const char *const names[] = { "auto", "plain", "login",
		"cram-md5", "xoauth2", "none" };
	static const enum smtpc_auth_mode modes[] = { SMTPC_AUTH_AUTO,
		SMTPC_AUTH_PLAIN, SMTPC_AUTH_LOGIN, SMTPC_AUTH_CRAM_MD5,
		SMTPC_AUTH_XOAUTH2, SMTPC_AUTH_NONE };

	return modes[probe_enum(arg, names, 6)];
}

static void
probe_addr(struct smtpc_config *cfg, const char *ip, unsigned port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&cfg->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&cfg->addr;

	memset(&cfg->addr, 0, sizeof(cfg->addr));
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		cfg->addrlen = sizeof(*in);
	} else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		cfg->addrlen = sizeof(*in6);
	} else {
		fprintf(stderr, "smtpc_probe: bad address '%s'\n", ip);
		exit(2);
	}
}

/* Open the message: the header section in memory, the body by fd. */
static void
probe_message(struct probe *p, const char *path)
{
	struct stat st;
	ssize_t n;
	char *blank;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1) {
		perror(path);
		exit(2);
	}
	if ((p->head = calloc(1, PROBE_HEAD_MAX + 1)) == NULL)
		exit(2);
	if ((n = pread(fd, p->head, PROBE_HEAD_MAX, 0)) < 0) {
		perror(path);
		exit(2);
	}
	blank = n > 0 && p->head[0] == '\n' ? p->head :
	    strstr(p->head, "\n\n");
	p->msg.head = p->head;
	p->msg.head_len = blank == NULL ? 0 : (size_t)(blank - p->head) +
	    (blank == p->head ? 1 : 2);
	p->msg.body_fd = fd;
	p->msg.body_off = (off_t)p->msg.head_len;
	p->msg.body_len = (uint64_t)st.st_size - p->msg.head_len;
	p->msg.size = (uint64_t)st.st_size;
}

static void
probe_print_rcpts(const struct probe *p)
{
	size_t i;

	for (i = 0; i < p->msg.nrcpts; i++) {
		const struct smtpc_reply *r = &p->rcpts[i].reply;

		printf("rcpt %s %d %s %s\n", p->rcpts[i].addr, r->code,
		    r->status[0] ? r->status : "-", r->text);
	}
}

/* One "cap KEYWORD..." line per capability. */
static void
probe_print_caps(const char *caps)
{
	const char *nl;

	for (; *caps != '\0'; caps = nl + 1) {
		if ((nl = strchr(caps, '\n')) == NULL)
			nl = caps + strlen(caps);
		printf("cap %.*s\n", (int)(nl - caps), caps);
		if (*nl == '\0')
			break;
	}
}

static void
probe_outcome(struct probe *p, const struct smtpc_outcome *out)
{
	printf("outcome %s %s\n", smtpc_stage_name(out->stage), out->err);
	if (out->stage != SMTPC_STAGE_NONE)
		p->failed = true;
	fflush(stdout);
}

static void
probe_send(struct probe *p, struct smtpc_session *s)
{
	if (smtpc_send(s, &p->msg) == -1) {
		printf("outcome none smtpc_send refused\n");
		p->failed = true;
		smtpc_quit(s);
		return;
	}
	p->sending = true;
}

static void
probe_on_event(struct smtpc_session *s, enum smtpc_event ev,
    const struct smtpc_outcome *out, void *arg)
{
	struct probe *p = arg;

	switch (ev) {
	case SMTPC_EV_READY:
		if (out->tls)
			printf("tls %s\n", out->tls_info);
		if (p->show_caps)
			probe_print_caps(smtpc_capabilities(s));
		probe_send(p, s);
		break;
	case SMTPC_EV_SENT:
		p->sending = false;
		probe_print_rcpts(p);
		probe_outcome(p, out);
		if (++p->sent < p->repeat)
			probe_send(p, s);
		else
			smtpc_quit(s);
		break;
	case SMTPC_EV_FAILED:
		if (p->sending)
			probe_print_rcpts(p);
		probe_outcome(p, out);
		/* Freed inside its own callback on purpose: the session
		 * must defer it. */
		smtpc_free(s);
		p->s = NULL;
		event_base_loopexit(p->base, NULL);
		break;
	case SMTPC_EV_CLOSED:
		smtpc_free(s);
		p->s = NULL;
		event_base_loopexit(p->base, NULL);
		break;
	}
}

enum {
	OPT_HOST = 256, OPT_ADDR, OPT_PORT, OPT_TLS, OPT_NOVERIFY, OPT_CA,
	OPT_USER, OPT_PASS, OPT_TOKEN, OPT_AUTH, OPT_HELO, OPT_TIMEOUT,
	OPT_CTIMEOUT, OPT_REPEAT, OPT_REQTLS, OPT_UTF8, OPT_8BIT, OPT_RET,
	OPT_ENVID, OPT_NOTIFY, OPT_ORCPT, OPT_CAPS, OPT_FROM, OPT_TO, OPT_FILE,
};

static const struct option probe_opts[] = {
	{ "host", 1, NULL, OPT_HOST }, { "addr", 1, NULL, OPT_ADDR },
	{ "port", 1, NULL, OPT_PORT }, { "tls", 1, NULL, OPT_TLS },
	{ "no-verify", 0, NULL, OPT_NOVERIFY }, { "ca", 1, NULL, OPT_CA },
	{ "user", 1, NULL, OPT_USER }, { "password", 1, NULL, OPT_PASS },
	{ "token", 1, NULL, OPT_TOKEN }, { "auth", 1, NULL, OPT_AUTH },
	{ "helo", 1, NULL, OPT_HELO }, { "timeout", 1, NULL, OPT_TIMEOUT },
	{ "connect-timeout", 1, NULL, OPT_CTIMEOUT },
	{ "repeat", 1, NULL, OPT_REPEAT },
	{ "requiretls", 0, NULL, OPT_REQTLS },
	{ "smtputf8", 0, NULL, OPT_UTF8 }, { "8bit", 0, NULL, OPT_8BIT },
	{ "ret", 1, NULL, OPT_RET }, { "envid", 1, NULL, OPT_ENVID },
	{ "notify", 1, NULL, OPT_NOTIFY }, { "orcpt", 0, NULL, OPT_ORCPT },
	{ "caps", 0, NULL, OPT_CAPS }, { "from", 1, NULL, OPT_FROM },
	{ "to", 1, NULL, OPT_TO }, { "file", 1, NULL, OPT_FILE },
	{ NULL, 0, NULL, 0 },
};

struct probe_args {
	const char *ip, *file, *ca;
	unsigned port, notify;
	bool orcpt;
};

/* The options about the message and its recipients. */
static bool
probe_msg_opt(struct probe *p, struct probe_args *a, int c)
{
	switch (c) {
	case OPT_REQTLS: p->msg.requiretls = true; break;
	case OPT_UTF8: p->msg.smtputf8 = true; break;
	case OPT_8BIT: p->msg.body_8bit = true; break;
	case OPT_RET:
		p->msg.ret = strcmp(optarg, "hdrs") == 0 ? ENVELOPE_RET_HDRS :
		    ENVELOPE_RET_FULL;
		break;
	case OPT_ENVID: p->msg.envid = optarg; break;
	case OPT_NOTIFY:
		if (envelope_notify_parse(optarg, &a->notify) == -1)
			probe_usage();
		break;
	case OPT_ORCPT: a->orcpt = true; break;
	case OPT_FROM: p->msg.sender = optarg; break;
	case OPT_TO:
		if (p->msg.nrcpts == PROBE_MAX_RCPTS)
			probe_usage();
		p->rcpts[p->msg.nrcpts++].addr = optarg;
		break;
	case OPT_FILE: a->file = optarg; break;
	default: return false;
	}
	return true;
}

static void
probe_parse(int argc, char **argv, struct probe *p, struct smtpc_config *c,
    struct probe_args *a)
{
	int o;

	while ((o = getopt_long(argc, argv, "", probe_opts, NULL)) != -1) {
		if (probe_msg_opt(p, a, o))
			continue;
		switch (o) {
		case OPT_HOST: c->host = optarg; break;
		case OPT_ADDR: a->ip = optarg; break;
		case OPT_PORT: a->port = (unsigned)atoi(optarg); break;
		case OPT_TLS: c->tls = probe_tls(optarg); break;
		case OPT_NOVERIFY: c->tls_verify = false; break;
		case OPT_CA: a->ca = optarg; break;
		case OPT_USER: c->username = optarg; break;
		case OPT_PASS: c->password = optarg; break;
		case OPT_TOKEN: c->oauth2_token = optarg; break;
		case OPT_AUTH: c->auth = probe_auth(optarg); break;
		case OPT_HELO: c->helo_name = optarg; break;
		case OPT_TIMEOUT: c->command_timeout = (unsigned)atoi(optarg);
			break;
		case OPT_CTIMEOUT: c->connect_timeout = (unsigned)atoi(optarg);
			break;
		case OPT_REPEAT: p->repeat = atoi(optarg); break;
		case OPT_CAPS: p->show_caps = true; break;
		default: probe_usage();
		}
	}
	if (a->ip == NULL || a->port == 0 || a->file == NULL ||
	    p->msg.sender == NULL || p->msg.nrcpts == 0 || optind != argc)
		probe_usage();
}

int
main(int argc, char **argv)
{
	static char orcpts[PROBE_MAX_RCPTS][600];
	struct probe p = { .repeat = 1 };
	struct smtpc_config cfg = { .tls = SMTPC_TLS_STARTTLS,
		.tls_verify = true, .auth = SMTPC_AUTH_AUTO,
		.helo_name = "probe.test", .idle_timeout = 30 };
	struct probe_args a = { 0 };
	struct errbuf eb;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	probe_parse(argc, argv, &p, &cfg, &a);
	probe_addr(&cfg, a.ip, a.port);
	for (i = 0; i < p.msg.nrcpts; i++) {
		p.rcpts[i].notify = a.notify;
		if (a.orcpt) {
			snprintf(orcpts[i], sizeof(orcpts[i]), "rfc822;%s",
			    p.rcpts[i].addr);
			p.rcpts[i].orcpt = orcpts[i];
		}
	}
	p.msg.rcpts = p.rcpts;
	probe_message(&p, a.file);
	if (cfg.tls != SMTPC_TLS_NONE &&
	    (cfg.ssl_ctx = smtpc_tls_ctx_new(a.ca, &eb)) == NULL) {
		printf("outcome TLS %s\n", eb.msg);
		return 1;
	}
	if ((p.base = event_base_new()) == NULL ||
	    (p.s = smtpc_new(p.base, &cfg, probe_on_event, &p)) == NULL)
		return 1;
	event_base_dispatch(p.base);
	smtpc_free(p.s);
	event_base_free(p.base);
	SSL_CTX_free(cfg.ssl_ctx);
	close(p.msg.body_fd);
	free(p.head);
	return p.failed ? 1 : 0;
}
