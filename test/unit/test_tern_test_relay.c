/*
 * Unit tests for tern_test_relay_diag: the symptom each set of facts
 * adds up to, and the advice row it gets -- the provider's own row by
 * preset or by host name (and only by a whole domain), the general row
 * otherwise -- with the relay's values filled in.  The integration test
 * provokes each diagnosis with a real peer; this one covers the table's
 * corners that a peer cannot show (provider names, placeholders).
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "smtpc.h"
#include "tern_test_relay.h"
#include "unit.h"

/* A relay that failed at AUTH with a 535. */
static void
facts_535(struct tern_tr_facts *f, struct config_relay *rc,
    const char *preset, const char *host)
{
	memset(rc, 0, sizeof(*rc));
	rc->name = (char *)"r";
	rc->preset = (char *)preset;
	rc->host = (char *)host;
	rc->port = 465;
	rc->tls = CONFIG_TLS_IMPLICIT;
	rc->username = (char *)"me@example.org";
	memset(f, 0, sizeof(*f));
	f->rc = rc;
	f->stage = SMTPC_STAGE_AUTH;
	f->reply.code = 535;
	strcpy(f->reply.status, "5.7.8");
	strcpy(f->reply.text, "Authentication failed");
	f->err = "said: 535 5.7.8 Authentication failed";
	f->ip = "192.0.2.1";
}

static void
test_auth_by_provider(void **state)
{
	static const struct {
		const char *preset, *host, *want;
	} cases[] = {
		{ "qq", "smtp.qq.com", "授权码" },
		{ NULL, "smtp.exmail.qq.com", "授权码" },
		{ NULL, "SMTP.163.COM.", "授权码" },
		{ "126", "127.0.0.1", "授权码" },
		{ NULL, "smtp.yeah.net", "授权码" },
		{ NULL, "notqq.com", "check username and the password" },
		{ "gmail", "127.0.0.1", "app password (2-Step Verification)" },
		{ NULL, "smtp.googlemail.com", "app password" },
		{ NULL, "smtp.office365.com", "where basic authentication is "
		    "disabled" },
		{ "outlook", "127.0.0.1", "use OAuth2" },
		{ NULL, "mail.example.org", "check username and the password "
		    "in password_file" },
		{ "brevo", "127.0.0.1", "(brevo: username is the SMTP login" },
	};
	struct config_relay rc;
	struct tern_tr_facts f;
	char out[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		facts_535(&f, &rc, cases[i].preset, cases[i].host);
		assert_int_equal(tern_tr_classify(&f), TERN_TR_AUTH_REFUSED);
		assert_false(tern_tr_diagnose(&f, TERN_TR_AUTH_REFUSED, out,
		    sizeof(out)));
		if (strstr(out, cases[i].want) == NULL)
			fail_msg("%s: got '%s'", cases[i].host, out);
	}
}

static void
test_classify(void **state)
{
	struct config_relay rc;
	struct tern_tr_facts f;

	(void)state;
	facts_535(&f, &rc, "office365", NULL);
	strcpy(f.reply.text, "5.7.139 Authentication unsuccessful, the "
	    "request did not meet the criteria");
	assert_int_equal(tern_tr_classify(&f), TERN_TR_AUTH_BASIC_OFF);
	f.reply.code = 534;
	strcpy(f.reply.text, "Application-specific password required");
	assert_int_equal(tern_tr_classify(&f), TERN_TR_AUTH_REFUSED);
	f.xoauth2 = true;
	assert_int_equal(tern_tr_classify(&f), TERN_TR_AUTH_TOKEN_REFUSED);
	f.stage = SMTPC_STAGE_MAIL;
	f.reply.code = 554;
	strcpy(f.reply.status, "5.2.252");
	strcpy(f.reply.text, "SendAsDenied; me@example.org not allowed to "
	    "send as boss@example.org");
	assert_int_equal(tern_tr_classify(&f), TERN_TR_MAIL_NOT_OWNER);
	f.reply.code = 550;
	strcpy(f.reply.status, "5.1.0");
	strcpy(f.reply.text, "unknown sender");
	assert_int_equal(tern_tr_classify(&f), TERN_TR_MAIL_REFUSED);
	f.stage = SMTPC_STAGE_GREETING;
	f.reply.code = 0;
	f.probe = TERN_TR_PROBE_WORKED;
	assert_int_equal(tern_tr_classify(&f), TERN_TR_GREET_TLS_PORT);
	f.probe = TERN_TR_PROBE_FAILED;
	assert_int_equal(tern_tr_classify(&f), TERN_TR_GREET_NONE);
	/* A plain server greets a TLS client: only a working plain probe
	 * proves the port speaks STARTTLS. */
	f.stage = SMTPC_STAGE_TLS;
	f.err = "TLS handshake failed: wrong version number";
	assert_int_equal(tern_tr_classify(&f), TERN_TR_TLS_HANDSHAKE);
	f.probe = TERN_TR_PROBE_WORKED;
	assert_int_equal(tern_tr_classify(&f), TERN_TR_TLS_ON_PLAIN_PORT);
}

static void
test_placeholders(void **state)
{
	struct config_relay rc;
	struct tern_tr_facts f;
	char out[1024];

	(void)state;
	facts_535(&f, &rc, NULL, "smtp.example.org");
	rc.username = (char *)"apikey";
	assert_false(tern_tr_diagnose(&f, TERN_TR_MAIL_NOT_OWNER, out,
	    sizeof(out)));
	assert_string_equal(out, "the provider only accepts the account's "
	    "own address as sender: set from = the account's own address");
	assert_false(tern_tr_diagnose(&f, TERN_TR_GREET_TLS_PORT, out,
	    sizeof(out)));
	assert_string_equal(out, "port 465 expects implicit TLS: set tls = "
	    "implicit");
	assert_false(tern_tr_diagnose(&f, TERN_TR_TLS_NAME, out, sizeof(out)));
	assert_string_equal(out, "the certificate is for other names, not "
	    "smtp.example.org: set host to one of those names");
	assert_true(tern_tr_diagnose(&f, TERN_TR_GREET_BUSY, out, 20));
	assert_int_equal(strlen(out), 19);
	assert_string_equal(tern_tr_tls_name(CONFIG_TLS_OPPORTUNISTIC),
	    "opportunistic");
	assert_string_equal(tern_tr_auth_name(CONFIG_AUTH_CRAM_MD5),
	    "cram-md5");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_by_provider),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_placeholders),
	};

	return UNIT_RUN(tests);
}
