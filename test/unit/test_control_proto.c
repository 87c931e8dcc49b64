/* Unit tests for control_proto: the control socket's request lines and
 * result words, case by case. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "control_proto.h"
#include "unit.h"

#define ID1 "0000000000001000001"
#define ID2 "0000000000002000002"

struct control_case {
	const char *line;
	int rc;                 /* 0 or -1 */
	enum control_cmd cmd;
	size_t nids;
	bool all;
	const char *err;        /* part of the error */
};

static const struct control_case control_cases[] = {
	{ "queue", 0, CONTROL_QUEUE, 0, false, NULL },
	{ "stats", 0, CONTROL_STATS, 0, false, NULL },
	{ "flush", 0, CONTROL_FLUSH, 0, false, NULL },
	{ "show " ID1, 0, CONTROL_SHOW, 1, false, NULL },
	{ "hold " ID1 " " ID2, 0, CONTROL_HOLD, 2, false, NULL },
	{ "release\t" ID1 "\r", 0, CONTROL_RELEASE, 1, false, NULL },
	{ "delete " ID1, 0, CONTROL_DELETE, 1, false, NULL },
	{ "delete --all", 0, CONTROL_DELETE, 0, true, NULL },
	{ "", -1, 0, 0, false, "empty request" },
	{ "   ", -1, 0, 0, false, "empty request" },
	{ "QUEUE", -1, 0, 0, false, "unknown command" },
	{ "postsuper -d ALL", -1, 0, 0, false, "unknown command" },
	{ "queue --json", -1, 0, 0, false, "not a queue ID" },
	{ "queue " ID1, -1, 0, 0, false, "takes no arguments" },
	{ "flush --all", -1, 0, 0, false, "takes no arguments" },
	{ "stats " ID1, -1, 0, 0, false, "takes no arguments" },
	{ "show", -1, 0, 0, false, "one queue ID" },
	{ "show " ID1 " " ID2, -1, 0, 0, false, "one queue ID" },
	{ "hold", -1, 0, 0, false, "at least one" },
	{ "hold --all", -1, 0, 0, false, "not --all" },
	{ "release --all", -1, 0, 0, false, "not --all" },
	{ "delete", -1, 0, 0, false, "at least one" },
	{ "delete --all " ID1, -1, 0, 0, false, "not both" },
	{ "hold ../../etc/passwd", -1, 0, 0, false, "not a queue ID" },
	{ "hold 000000000000100000", -1, 0, 0, false, "not a queue ID" },
	{ "hold " ID1 "0", -1, 0, 0, false, "not a queue ID" },
};

static void
control_test_parse(void **state)
{
	const struct control_case *c;
	struct control_req req;
	struct errbuf eb;
	char line[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(control_cases) / sizeof(*c); i++) {
		c = &control_cases[i];
		snprintf(line, sizeof(line), "%s", c->line);
		errbuf_clear(&eb);
		if (control_proto_parse(line, &req, &eb) != c->rc)
			fail_msg("\"%s\": want %d (%s)", c->line, c->rc,
			    eb.msg);
		if (c->rc < 0) {
			if (strstr(eb.msg, c->err) == NULL)
				fail_msg("\"%s\": error \"%s\" lacks \"%s\"",
				    c->line, eb.msg, c->err);
			continue;
		}
		assert_int_equal(req.cmd, c->cmd);
		assert_int_equal(req.nids, c->nids);
		assert_int_equal(req.all, c->all);
	}
}

/* Every ID of a full request is kept; one more is refused. */
static void
control_test_many(void **state)
{
	static char line[CONTROL_LINE_MAX + 64];
	struct control_req req;
	struct errbuf eb;
	size_t i, len;

	(void)state;
	len = (size_t)snprintf(line, sizeof(line), "delete");
	for (i = 0; i < CONTROL_MAX_IDS; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s",
		    ID1);
	assert_true(len < CONTROL_LINE_MAX);
	errbuf_clear(&eb);
	assert_int_equal(control_proto_parse(line, &req, &eb), 0);
	assert_int_equal(req.nids, CONTROL_MAX_IDS);
	assert_string_equal(req.ids[CONTROL_MAX_IDS - 1], ID1);
	len = (size_t)snprintf(line, sizeof(line), "hold");
	for (i = 0; i <= CONTROL_MAX_IDS; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s",
		    ID2);
	assert_int_equal(control_proto_parse(line, &req, &eb), -1);
	assert_non_null(strstr(eb.msg, "more than"));
}

static void
control_test_results(void **state)
{
	(void)state;
	assert_string_equal(control_result_name(CONTROL_HOLD, CONTROL_DONE),
	    "held");
	assert_string_equal(control_result_name(CONTROL_DELETE,
	    CONTROL_DONE), "deleted");
	assert_string_equal(control_result_name(CONTROL_RELEASE,
	    CONTROL_DONE), "released");
	assert_string_equal(control_result_name(CONTROL_HOLD,
	    CONTROL_PENDING), "pending");
	assert_string_equal(control_result_name(CONTROL_RELEASE,
	    CONTROL_NOT_FOUND), "not-found");
	assert_string_equal(control_result_name(CONTROL_HOLD, CONTROL_NOOP),
	    "already-held");
	assert_string_equal(control_result_name(CONTROL_RELEASE,
	    CONTROL_NOOP), "not-held");
	assert_string_equal(control_result_name(CONTROL_DELETE,
	    CONTROL_ERROR), "error");
	assert_non_null(strstr(control_result_text(CONTROL_DELETE,
	    CONTROL_PENDING), "deleted when the attempt ends"));
	assert_string_equal(control_cmd_name(CONTROL_STATS), "stats");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(control_test_parse),
		cmocka_unit_test(control_test_many),
		cmocka_unit_test(control_test_results),
	};

	return UNIT_RUN(tests);
}
