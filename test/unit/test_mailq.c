/* Unit tests for mailq: byte-exact Postfix-style listing. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "mailq.h"
#include "unit.h"

static void
mailq_test_entry(struct queue_entry *e, const char *id, enum queue_name q,
    const char *sender, uint64_t size)
{
	memset(e, 0, sizeof(*e));
	envelope_init(&e->env);
	strcpy(e->id, id);
	e->queue = q;
	e->env.sender = strdup(sender);
	e->env.size = size;
	/* Sun Nov 22 01:53:14 2026 UTC */
	e->env.arrival_us = 1795312394000000LL;
}

static void
mailq_test_empty(void **state)
{
	struct mailq mq;
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	mailq_begin(&mq, &out);
	assert_int_equal(mailq_end(&mq), 0);
	assert_string_equal(out.data, "Mail queue is empty\n");
	buf_fini(&out);
}

static void
mailq_test_listing(void **state)
{
	struct queue_entry a, b;
	struct envelope_rcpt *r;
	struct mailq mq;
	struct buf out;

	(void)state;
	setenv("TZ", "UTC", 1);
	mailq_test_entry(&a, "660D3BD90055B0070F2", QUEUE_ACTIVE,
	    "alice@example.org", 4211);
	envelope_add_rcpt(&a.env, "bob@example.com");
	envelope_add_rcpt(&a.env, "carol@example.com")->state =
	    ENVELOPE_RCPT_SENT;
	mailq_test_entry(&b, "660D3BD90055C0070F3", QUEUE_DEFERRED, "", 600);
	r = envelope_add_rcpt(&b.env, "dave@example.net");
	r->state = ENVELOPE_RCPT_DEFERRED;
	r->reason = strdup("connect to mx.example.net[192.0.2.1]:25: "
	    "Connection refused");
	buf_init(&out, 0);
	mailq_begin(&mq, &out);
	assert_int_equal(mailq_add(&mq, &a), 0);
	assert_int_equal(mailq_add(&mq, &b), 0);
	assert_int_equal(mailq_end(&mq), 0);
	assert_string_equal(out.data,
	    "-Queue ID-  --Size-- ----Arrival Time---- "
	    "-Sender/Recipient-------\n"
	    "660D3BD90055B0070F2*    4211 Sun Nov 22 01:53:14  "
	    "alice@example.org\n"
	    "                                         bob@example.com\n"
	    "\n"
	    "660D3BD90055C0070F3     600 Sun Nov 22 01:53:14  MAILER-DAEMON\n"
	    "                 (connect to mx.example.net[192.0.2.1]:25: "
	    "Connection refused)\n"
	    "                                         dave@example.net\n"
	    "\n"
	    "-- 4 Kbytes in 2 Requests.\n");
	envelope_fini(&a.env);
	envelope_fini(&b.env);
	buf_fini(&out);
}

static void
mailq_test_status(void **state)
{
	(void)state;
	assert_int_equal(mailq_status_char(QUEUE_ACTIVE), '*');
	assert_int_equal(mailq_status_char(QUEUE_HOLD), '!');
	assert_int_equal(mailq_status_char(QUEUE_DEFERRED), ' ');
	assert_int_equal(mailq_status_char(QUEUE_MAILDROP), ' ');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mailq_test_empty),
		cmocka_unit_test(mailq_test_listing),
		cmocka_unit_test(mailq_test_status),
	};

	return UNIT_RUN(tests);
}
