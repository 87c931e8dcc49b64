/* Unit tests for route: the failover table, case by case. */
#include "autoconf.h"

#include <string.h>

#include "route.h"
#include "unit.h"

struct route_case {
	enum smtpc_stage stage;
	int code;
	const char *status;
	enum route_action want;
};

static const struct route_case route_cases[] = {
	{ SMTPC_STAGE_NONE, 250, "2.0.0", ROUTE_DELIVERED },
	{ SMTPC_STAGE_NONE, 250, "", ROUTE_DELIVERED },
	/* Session trouble moves on, whatever the code. */
	{ SMTPC_STAGE_CONNECT, 0, "", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_TLS, 0, "", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_GREETING, 421, "4.3.2", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_GREETING, 554, "5.7.1", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_EHLO, 550, "", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_STARTTLS, 454, "4.7.0", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_AUTH, 535, "5.7.8", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_AUTH, 0, "", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_IO, 0, "", ROUTE_NEXT_RELAY },
	/* The sender or the account. */
	{ SMTPC_STAGE_MAIL, 553, "5.7.1", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_MAIL, 550, "5.1.8", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_MAIL, 451, "4.7.1", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_MAIL, 550, "", ROUTE_NEXT_RELAY },
	/* Recipients. */
	{ SMTPC_STAGE_RCPT, 450, "4.2.1", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_RCPT, 451, "", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_RCPT, 550, "5.1.1", ROUTE_BOUNCE },
	{ SMTPC_STAGE_RCPT, 553, "5.1.3", ROUTE_BOUNCE },
	{ SMTPC_STAGE_RCPT, 550, "5.1.10", ROUTE_BOUNCE },
	{ SMTPC_STAGE_RCPT, 552, "5.2.2", ROUTE_BOUNCE },
	{ SMTPC_STAGE_RCPT, 550, "5.7.1", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_RCPT, 554, "5.4.5", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_RCPT, 550, "", ROUTE_BOUNCE },
	{ SMTPC_STAGE_RCPT, 551, "", ROUTE_BOUNCE },
	{ SMTPC_STAGE_RCPT, 554, "", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_RCPT, 530, "", ROUTE_NEXT_RELAY },
	/* The message. */
	{ SMTPC_STAGE_DATA, 451, "4.3.0", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_DOT, 552, "5.3.4", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_DOT, 554, "5.7.1", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_DOT, 550, "5.6.0", ROUTE_BOUNCE },
	{ SMTPC_STAGE_MAIL, 553, "5.6.7", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_RCPT, 553, "5.6.7", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_DOT, 550, "", ROUTE_NEXT_RELAY },
	{ SMTPC_STAGE_DOT, 421, "4.4.2", ROUTE_NEXT_RELAY },
};

/* Direct delivery: the recipient domain's own servers. */
static const struct route_case route_direct_cases[] = {
	{ SMTPC_STAGE_NONE, 250, "2.0.0", ROUTE_DELIVERED },
	{ SMTPC_STAGE_CONNECT, 0, "", ROUTE_NEXT_HOST },
	{ SMTPC_STAGE_TLS, 0, "", ROUTE_NEXT_HOST },
	{ SMTPC_STAGE_GREETING, 421, "4.3.2", ROUTE_NEXT_HOST },
	/* A blocklisting 554 greeting: another MX may not list us. */
	{ SMTPC_STAGE_GREETING, 554, "5.7.1", ROUTE_NEXT_HOST },
	{ SMTPC_STAGE_EHLO, 550, "", ROUTE_NEXT_HOST },
	{ SMTPC_STAGE_STARTTLS, 0, "", ROUTE_NEXT_HOST },
	{ SMTPC_STAGE_IO, 0, "", ROUTE_NEXT_HOST },
	{ SMTPC_STAGE_MAIL, 451, "4.7.1", ROUTE_NEXT_HOST },
	{ SMTPC_STAGE_RCPT, 450, "4.2.1", ROUTE_NEXT_HOST },
	{ SMTPC_STAGE_DOT, 421, "4.4.2", ROUTE_NEXT_HOST },
	{ SMTPC_STAGE_MAIL, 553, "5.7.1", ROUTE_BOUNCE },
	{ SMTPC_STAGE_RCPT, 550, "5.1.1", ROUTE_BOUNCE },
	{ SMTPC_STAGE_RCPT, 550, "5.7.1", ROUTE_BOUNCE },
	{ SMTPC_STAGE_RCPT, 550, "", ROUTE_BOUNCE },
	{ SMTPC_STAGE_MAIL, 553, "5.6.7", ROUTE_NEXT_HOST },
	{ SMTPC_STAGE_MAIL, 550, "5.7.30", ROUTE_NEXT_HOST },
	{ SMTPC_STAGE_RCPT, 553, "5.6.7", ROUTE_BOUNCE },
	{ SMTPC_STAGE_DOT, 554, "5.6.0", ROUTE_BOUNCE },
};

static void
route_check(const struct route_case *cases, size_t n,
    enum route_action (*classify)(enum smtpc_stage,
    const struct smtpc_reply *))
{
	struct smtpc_reply r;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.code = cases[i].code;
		strcpy(r.status, cases[i].status);
		if (classify(cases[i].stage, &r) != cases[i].want)
			fail_msg("case %zu (%s %d %s): got %s, want %s", i,
			    smtpc_stage_name(cases[i].stage), r.code,
			    r.status, route_action_name(classify(
			    cases[i].stage, &r)),
			    route_action_name(cases[i].want));
	}
}

static void
route_test_table(void **state)
{
	(void)state;
	route_check(route_cases, sizeof(route_cases) / sizeof(route_cases[0]),
	    route_classify);
}

static void
route_test_direct(void **state)
{
	(void)state;
	route_check(route_direct_cases, sizeof(route_direct_cases) /
	    sizeof(route_direct_cases[0]), route_classify_direct);
}

/* Every rule is reachable and documented. */
static void
route_test_rules(void **state)
{
	const struct route_rule *r;
	size_t n = 0;

	(void)state;
	for (r = route_rules; r->why != NULL; r++, n++)
		assert_true(strlen(r->why) > 0);
	assert_true(n >= 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(route_test_table),
		cmocka_unit_test(route_test_rules),
		cmocka_unit_test(route_test_direct),
	};

	return UNIT_RUN(tests);
}
