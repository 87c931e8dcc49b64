/*
 * Unit tests for oauth2: the token endpoint's URL taken apart, and the
 * one rule for "the relay says the token is no good" after AUTH.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "oauth2_int.h"
#include "unit.h"

/* URL, then host|port|path|authority, or NULL when it must be refused. */
static const char *const url_cases[][2] = {
	{ "https://login.example/tenant/oauth2/v2.0/token",
	    "login.example|443|/tenant/oauth2/v2.0/token|login.example" },
	{ "HTTPS://login.example", "login.example|443|/|login.example" },
	{ "https://relay.test:8443/t?x=1",
	    "relay.test|8443|/t?x=1|relay.test:8443" },
	{ "https://127.0.0.1:9/token", "127.0.0.1|9|/token|127.0.0.1:9" },
	{ "https://[::1]:8443/token", "::1|8443|/token|[::1]:8443" },
	{ "https://[2001:db8::1]/", "2001:db8::1|443|/|[2001:db8::1]" },
	{ "https://login.example?a=b",
	    "login.example|443|/?a=b|login.example" },
	{ "http://login.example/token", NULL },
	{ "https://user:pw@login.example/token", NULL },
	{ "https://login.example/token#frag", NULL },
	{ "https:///token", NULL },
	{ "https://login.example:0/", NULL },
	{ "https://login.example:65536/", NULL },
	{ "https://login.example:44x/", NULL },
	{ "https://[::1/token", NULL },
	{ "https://login.example/a b", NULL },
	{ "login.example/token", NULL },
};

static void
url_test_table(void **state)
{
	struct oauth2_url u;
	struct errbuf eb;
	char got[3000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		errbuf_clear(&eb);
		if (oauth2_url_parse(url_cases[i][0], &u, &eb) < 0) {
			if (url_cases[i][1] != NULL)
				fail_msg("%s: refused: %s", url_cases[i][0],
				    eb.msg);
			assert_non_null(strstr(eb.msg, "oauth2_token_url"));
			continue;
		}
		if (url_cases[i][1] == NULL)
			fail_msg("%s: accepted", url_cases[i][0]);
		snprintf(got, sizeof(got), "%s|%u|%s|%s", u.host,
		    (unsigned)u.port, u.path, u.authority);
		assert_string_equal(got, url_cases[i][1]);
	}
}

struct refused_case {
	enum smtpc_stage stage;
	int code;
	const char *err;
	bool refused;
};

static const struct refused_case refused_cases[] = {
	{ SMTPC_STAGE_AUTH, 535, "relay said: 535 5.7.8 ... (in reply to "
	    "AUTH XOAUTH2)", true },
	{ SMTPC_STAGE_AUTH, 535, "", true },
	/* The 334 JSON error (Google sends 400, Microsoft and others 401). */
	{ SMTPC_STAGE_AUTH, 334, "r: XOAUTH2 token refused: {\"status\":"
	    "\"401\",\"schemes\":\"bearer\"}", true },
	{ SMTPC_STAGE_AUTH, 334, "r: XOAUTH2 token refused: {\"status\": "
	    "\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail\"}",
	    true },
	{ SMTPC_STAGE_AUTH, 334, "r: XOAUTH2 token refused: {\"status\":"
	    "\"503\"}", false },
	{ SMTPC_STAGE_AUTH, 334, "r: XOAUTH2 token refused: {}", false },
	{ SMTPC_STAGE_AUTH, 454, "454 4.7.0 Temporary authentication "
	    "failure", false },
	{ SMTPC_STAGE_AUTH, 0, "server offers no usable AUTH mechanism",
	    false },
	{ SMTPC_STAGE_IO, 535, "", false },
	{ SMTPC_STAGE_MAIL, 535, "", false },
};

static void
refused_test_table(void **state)
{
	struct smtpc_outcome out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused_cases) / sizeof(refused_cases[0]);
	    i++) {
		memset(&out, 0, sizeof(out));
		out.stage = refused_cases[i].stage;
		out.reply.code = refused_cases[i].code;
		snprintf(out.err, sizeof(out.err), "%s", refused_cases[i].err);
		if (oauth2_auth_refused(&out) != refused_cases[i].refused)
			fail_msg("case %zu (%d %s): expected %s", i,
			    refused_cases[i].code, refused_cases[i].err,
			    refused_cases[i].refused ? "refused" : "not");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(url_test_table),
		cmocka_unit_test(refused_test_table),
	};

	return UNIT_RUN(tests);
}
