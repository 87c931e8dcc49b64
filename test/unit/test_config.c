/* Unit tests for config: values, sections, computed defaults, and the
 * promise that every error names its line and all are reported. */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_schema.h"
#include "relay_preset.h"
#include "unit.h"

struct config_test_errors {
	unsigned n;
	unsigned lines[64];
	char msgs[64][256];
};

static void
config_test_report(const char *path, unsigned line, const char *msg,
    void *arg)
{
	struct config_test_errors *e = arg;

	(void)path;
	if (e->n < 64) {
		e->lines[e->n] = line;
		snprintf(e->msgs[e->n], sizeof(e->msgs[0]), "%s", msg);
	}
	e->n++;
}

static struct config *
config_test_load(const char *text, struct config_test_errors *e)
{
	char path[] = "/tmp/tern-config-test.XXXXXX";
	struct config *cfg;
	struct errbuf eb;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	memset(e, 0, sizeof(*e));
	errbuf_clear(&eb);
	cfg = config_load(path, true, config_test_report, e, &eb);
	unlink(path);
	if (cfg == NULL)
		assert_true(strlen(eb.msg) > 0);
	return cfg;
}

static void
config_test_defaults(void **state)
{
	struct config_test_errors e;
	struct config *cfg;

	(void)state;
	cfg = config_test_load("# nothing\n", &e);
	assert_non_null(cfg);
	assert_int_equal(cfg->max_message_size, 25ULL << 20);
	assert_int_equal(cfg->queue_lifetime, 5 * 86400);
	assert_int_equal(cfg->delay_warning, 4 * 3600);
	assert_int_equal(cfg->retry_min, 30);
	assert_int_equal(cfg->retry_max, 3600);
	assert_int_equal(cfg->direct_port, 25);
	assert_string_equal(cfg->log, "syslog");
	assert_int_equal(cfg->log_format, CONFIG_LOG_TEXT);
	assert_int_equal(cfg->delivery, CONFIG_DELIVERY_DIRECT);
	assert_string_equal(cfg->aliases, "/etc/aliases");
	assert_non_null(cfg->hostname);
	assert_non_null(cfg->origin);
	config_free(cfg);
}

static void
config_test_globals(void **state)
{
	struct config_test_errors e;
	struct config *cfg;

	(void)state;
	cfg = config_test_load("hostname = mx1.example.org\n"
	    "queue_dir = /tmp/q\nmax_message_size = 10M\n"
	    "retry_min = 1m\nretry_max = 2h\nlog = /var/log/tern.log\n"
	    "log_format = json\ndns_servers = 127.0.0.1:5353, [::1]:53, ::1\n"
	    "empty_subject_from_body = 40\n", &e);
	assert_non_null(cfg);
	assert_string_equal(cfg->origin, "example.org");
	assert_int_equal(cfg->max_message_size, 10ULL << 20);
	assert_int_equal(cfg->retry_min, 60);
	assert_int_equal(cfg->retry_max, 7200);
	assert_int_equal(cfg->log_format, CONFIG_LOG_JSON);
	assert_int_equal(cfg->empty_subject_from_body, 40);
	assert_int_equal(config_key_line(cfg, "hostname"), 1);
	assert_int_equal(config_key_line(cfg, "log_format"), 7);
	assert_int_equal(config_key_line(cfg, "direct_port"), 0);
	assert_int_equal(config_key_line(cfg, "nosuch"), 0);
	config_free(cfg);
}

static void
config_test_relays(void **state)
{
	struct config_test_errors e;
	struct config *cfg;

	(void)state;
	cfg = config_test_load("[relay second]\nhost = b.example\n"
	    "priority = 20\n\n[relay first]\nhost = a.example\nport = 465\n"
	    "username = me\npriority = 10\n\n[relay qq]\npreset = qq\n"
	    "priority = 20\n[relay plain]\nhost = c.example\ntls = implicit\n"
	    "priority = 30\n", &e);
	assert_non_null(cfg);
	assert_int_equal(cfg->nrelays, 4);
	assert_int_equal(cfg->delivery, CONFIG_DELIVERY_RELAY);
	/* Sorted by priority, then file order. */
	assert_string_equal(cfg->relays[0].name, "first");
	assert_string_equal(cfg->relays[1].name, "second");
	assert_string_equal(cfg->relays[2].name, "qq");
	assert_int_equal(cfg->relays[0].tls, CONFIG_TLS_IMPLICIT);
	assert_int_equal(cfg->relays[0].auth, CONFIG_AUTH_AUTO);
	assert_int_equal(cfg->relays[1].port, 587);
	assert_int_equal(cfg->relays[1].tls, CONFIG_TLS_STARTTLS);
	assert_int_equal(cfg->relays[1].auth, CONFIG_AUTH_NONE);
	assert_int_equal(cfg->relays[1].tls_verify, 1);
	assert_int_equal(cfg->relays[1].connect_timeout, 30);
	assert_int_equal(cfg->relays[1].command_timeout, 300);
	assert_int_equal(cfg->relays[1].max_connections, 4);
	assert_string_equal(cfg->relays[2].host, "smtp.qq.com");
	assert_int_equal(cfg->relays[2].port, 465);
	assert_int_equal(cfg->relays[2].tls, CONFIG_TLS_IMPLICIT);
	assert_int_equal(cfg->relays[3].port, 465);
	assert_non_null(config_find_relay(cfg, "qq"));
	assert_null(config_find_relay(cfg, "nope"));
	config_free(cfg);
}

static void
config_test_sections(void **state)
{
	struct config_test_errors e;
	struct config *cfg;

	(void)state;
	cfg = config_test_load("[listen lan]\naddress = [::]:25\n"
	    "networks = 192.168.0.0/16, 10.0.0.0/8, fd00::/8\n"
	    "[dkim example.org]\nselector = s1\nalgorithm = ed25519-sha256\n"
	    "[http]\ntoken_file = /etc/tern/token\n", &e);
	assert_non_null(cfg);
	assert_int_equal(cfg->nlistens, 1);
	assert_int_equal(cfg->listens[0].tls, CONFIG_LTLS_NONE);
	assert_int_equal(cfg->ndkims, 1);
	assert_int_equal(cfg->dkims[0].algorithm, CONFIG_DKIM_ED25519_SHA256);
	assert_non_null(strstr(cfg->dkims[0].key_file, "example.org.s1.key"));
	assert_non_null(cfg->http);
	assert_string_equal(cfg->http->address, "127.0.0.1:8025");
	config_free(cfg);
}

/* Each bad line, and the line number its error must name. */
static void
config_test_every_error_reported(void **state)
{
	static const char text[] =
	    "bogus_key = 1\n"                      /* 1 */
	    "max_message_size = lots\n"            /* 2 */
	    "queue_lifetime = 5w\n"                /* 3 */
	    "direct_port = 70000\n"                /* 4 */
	    "log_format = xml\n"                   /* 5 */
	    "queue_dir = relative/path\n"          /* 6 */
	    "hostname = a\n"                       /* 7 */
	    "hostname = b\n"                       /* 8: twice */
	    "origin =\n"                           /* 9: empty */
	    "[weird]\n"                            /* 10 */
	    "[relay]\n"                            /* 11: no name */
	    "[listen lan]\n"                       /* 12 */
	    "address = 10.0.0.1\n"                 /* 13: no port */
	    "networks = 10.0.0.0/33\n"             /* 14 */
	    "   continued\n"                       /* 15 */
	    "[relay a]\n"                          /* 16 */
	    "host = x\n"                           /* 17 */
	    "[relay a]\n"                          /* 18: duplicate */
	    "tls = sometimes\n"                    /* 19: skipped section */
	    "[http\n";                             /* 20 */
	static const unsigned want[] = { 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13,
		14, 15, 18, 20 };
	struct config_test_errors e;
	size_t i, j;

	(void)state;
	assert_null(config_test_load(text, &e));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		for (j = 0; j < e.n && e.lines[j] != want[i]; j++)
			;
		if (j == e.n)
			fail_msg("no error reported for line %u", want[i]);
	}
}

static void
config_test_cross_checks(void **state)
{
	struct config_test_errors e;

	(void)state;
	assert_null(config_test_load("[relay x]\nport = 25\n", &e));
	assert_non_null(strstr(e.msgs[0], "host"));
	assert_null(config_test_load("[relay x]\npreset = nosuch\n", &e));
	assert_non_null(strstr(e.msgs[0], "gmail"));
	assert_null(config_test_load("delivery = relay\n", &e));
	assert_null(config_test_load("retry_min = 2h\nretry_max = 1h\n", &e));
	assert_null(config_test_load("[listen x]\naddress = 127.0.0.1:25\n"
	    "tls = starttls\n", &e));
	assert_null(config_test_load("[listen x]\naddress = 127.0.0.1:25\n"
	    "auth = required\n", &e));
	assert_null(config_test_load("[dkim example.org]\n", &e));
	assert_null(config_test_load("[relay x]\nhost = h\nauth = plain\n",
	    &e));
}

/* Every preset resolves by name, in any case, to a complete entry, and
 * a config naming it gets its host, port and tls. */
static void
config_test_presets_all(void **state)
{
	const struct relay_preset *pre;
	struct config_test_errors e;
	struct config *cfg;
	char text[256], host[256], upper[64];
	struct errbuf eb;
	size_t i, j;

	(void)state;
	assert_int_equal(relay_preset_count(), 15);
	assert_null(relay_preset_at(relay_preset_count()));
	for (i = 0; i < relay_preset_count(); i++) {
		pre = relay_preset_at(i);
		assert_ptr_equal(relay_preset_find(pre->name), pre);
		for (j = 0; pre->name[j] != '\0' && j < sizeof(upper) - 1; j++)
			upper[j] = (char)toupper((unsigned char)pre->name[j]);
		upper[j] = '\0';
		assert_ptr_equal(relay_preset_find(upper), pre);
		assert_non_null(strstr(relay_preset_names(), pre->name));
		assert_true(pre->port == 465 || pre->port == 587);
		assert_int_equal(pre->tls, pre->port == 465 ?
		    CONFIG_TLS_IMPLICIT : CONFIG_TLS_STARTTLS);
		assert_true(strlen(pre->auth) > 5);
		assert_true(strlen(pre->auth_hint) > 20);
		assert_true(strlen(pre->note) > 10);
		if (pre->flags & RELAY_PRESET_REGION_REQUIRED) {
			assert_null(pre->host);
			assert_int_equal(relay_preset_host(pre->name, host,
			    sizeof(host), &eb), -1);
			continue;
		}
		assert_int_equal(relay_preset_host(pre->name, host,
		    sizeof(host), &eb), 0);
		assert_string_equal(host, pre->host);
		snprintf(text, sizeof(text), "[relay p]\npreset = %s\n"
		    "username = u@example.org\n", upper);
		cfg = config_test_load(text, &e);
		assert_non_null(cfg);
		assert_string_equal(cfg->relays[0].host, pre->host);
		assert_int_equal(cfg->relays[0].port, pre->port);
		assert_int_equal(cfg->relays[0].tls, pre->tls);
		config_free(cfg);
	}
	assert_null(relay_preset_find("q"));
	assert_null(relay_preset_find("qqq"));
	assert_null(relay_preset_find(""));
	assert_non_null(strstr(relay_preset_names(), "ses:REGION"));
	assert_string_equal(relay_preset_find("sendgrid")->username, "apikey");
	assert_true(relay_preset_find("office365")->flags &
	    RELAY_PRESET_BASIC_OFF);
	assert_true(relay_preset_find("qq")->flags &
	    RELAY_PRESET_FROM_ACCOUNT);
}

/* NAME:REGION: ses needs one of AWS's shape, zoho and mailgun take one
 * of their list, the others none. */
static void
config_test_presets_region(void **state)
{
	static const char *const good[][2] = {
		{ "ses:eu-west-1", "email-smtp.eu-west-1.amazonaws.com" },
		{ "SES:ap-southeast-2",
		    "email-smtp.ap-southeast-2.amazonaws.com" },
		{ "ses:us-gov-west-1",
		    "email-smtp.us-gov-west-1.amazonaws.com" },
		{ "zoho:eu", "smtp.zoho.eu" },
		{ "Zoho:AU", "smtp.zoho.com.au" },
		{ "zoho", "smtp.zoho.com" },
		{ "mailgun:eu", "smtp.eu.mailgun.org" },
	};
	static const char *const bad[][2] = {
		{ "ses", "ses:REGION" },
		{ "ses:", "not an AWS region" },
		{ "ses:eu-west", "not an AWS region" },
		{ "ses:EU-WEST-1", "not an AWS region" },
		{ "ses:eu-west-1.evil.example", "not an AWS region" },
		{ "ses:e-west-1", "not an AWS region" },
		{ "ses:eu--1", "not an AWS region" },
		{ "ses:eu-west-123", "not an AWS region" },
		{ "zoho:mars", "zoho:REGION" },
		{ "gmail:eu", "takes no region" },
		{ "qq:", "takes no region" },
		{ "nosuch:eu", "unknown preset" },
	};
	struct config_test_errors e;
	struct config *cfg;
	char host[256];
	struct errbuf eb;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		errbuf_clear(&eb);
		if (relay_preset_host(good[i][0], host, sizeof(host), &eb) < 0)
			fail_msg("%s: %s", good[i][0], eb.msg);
		assert_string_equal(host, good[i][1]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errbuf_clear(&eb);
		if (relay_preset_host(bad[i][0], host, sizeof(host), &eb) == 0)
			fail_msg("%s resolved to %s", bad[i][0], host);
		if (strstr(eb.msg, bad[i][1]) == NULL)
			fail_msg("%s: '%s' lacks '%s'", bad[i][0], eb.msg,
			    bad[i][1]);
	}
	cfg = config_test_load("[relay s]\npreset = ses:eu-west-1\n"
	    "username = AKIAEXAMPLE\n", &e);
	assert_non_null(cfg);
	assert_string_equal(cfg->relays[0].host,
	    "email-smtp.eu-west-1.amazonaws.com");
	assert_int_equal(cfg->relays[0].port, 587);
	assert_int_equal(cfg->relays[0].tls, CONFIG_TLS_STARTTLS);
	config_free(cfg);
	assert_null(config_test_load("\n[relay s]\npreset = ses\n", &e));
	assert_int_equal(e.n, 1);
	assert_int_equal(e.lines[0], 2);
	assert_non_null(strstr(e.msgs[0], "ses:eu-west-1"));
	assert_null(config_test_load("[relay s]\npreset = ses:mars\n", &e));
	assert_non_null(strstr(e.msgs[0], "AWS region"));
}

static void
config_test_long_line(void **state)
{
	struct config_test_errors e;
	char text[600];

	(void)state;
	memset(text, 'a', sizeof(text));
	memcpy(text, "hostname = ", 11);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = '\0';
	assert_null(config_test_load(text, &e));
	assert_int_equal(e.lines[0], 1);
	assert_non_null(strstr(e.msgs[0], "longer"));
}

static void
config_test_missing_file(void **state)
{
	struct config *cfg;
	struct errbuf eb;

	(void)state;
	errbuf_clear(&eb);
	assert_null(config_load("/nonexistent/tern.conf", true, NULL, NULL,
	    &eb));
	assert_int_equal(eb.code, 78);
	assert_non_null(strstr(eb.msg, "/nonexistent/tern.conf"));
	cfg = config_load("/nonexistent/tern.conf", false, NULL, NULL, &eb);
	assert_non_null(cfg);
	assert_null(cfg->path);
	config_free(cfg);
}

static void
config_test_choose_path(void **state)
{
	bool ex;

	(void)state;
	setenv("TERN_CONFIG", "/env/tern.conf", 1);
	assert_string_equal(config_choose_path("/flag", &ex), "/flag");
	assert_true(ex);
	assert_string_equal(config_choose_path(NULL, &ex), "/env/tern.conf");
	assert_true(ex);
	unsetenv("TERN_CONFIG");
	assert_string_equal(config_choose_path(NULL, &ex), CONFIG_DEFAULT_PATH);
	assert_false(ex);
}

/* Every default in the table must be a value the parser accepts. */
static void
config_test_schema_defaults(void **state)
{
	const struct config_key *k;
	size_t n = 0;

	(void)state;
	for (k = config_schema; k->name != NULL; k++, n++) {
		assert_non_null(k->doc);
		if (k->type == CONFIG_T_ENUM && k->def != NULL)
			assert_true(config_schema_choice(k, k->def) >= 0);
	}
	assert_true(n > 40);
	assert_true(n <= CONFIG_KEY_LINES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_test_defaults),
		cmocka_unit_test(config_test_globals),
		cmocka_unit_test(config_test_relays),
		cmocka_unit_test(config_test_sections),
		cmocka_unit_test(config_test_every_error_reported),
		cmocka_unit_test(config_test_cross_checks),
		cmocka_unit_test(config_test_presets_all),
		cmocka_unit_test(config_test_presets_region),
		cmocka_unit_test(config_test_long_line),
		cmocka_unit_test(config_test_missing_file),
		cmocka_unit_test(config_test_choose_path),
		cmocka_unit_test(config_test_schema_defaults),
	};

	return UNIT_RUN(tests);
}
