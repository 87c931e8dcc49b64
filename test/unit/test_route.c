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

static void
route_test_table(void **state)
{
	struct smtpc_reply r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.code = route_cases[i].code;
		strcpy(r.status, route_cases[i].status);
		if (route_classify(route_cases[i].stage, &r) !=
		    route_cases[i].want)
			fail_msg("case %zu (%s %d %s): got %s, want %s", i,
			    smtpc_stage_name(route_cases[i].stage), r.code,
			    r.status, route_action_name(route_classify(
			    route_cases[i].stage, &r)),
			    route_action_name(route_cases[i].want));
	}
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
	};

	return UNIT_RUN(tests);
}
