/* Unit tests for envelope: encode, decode, and hostile input. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "unit.h"

static void
envelope_test_sample(struct envelope *env)
{
	struct envelope_rcpt *r;

	envelope_init(env);
	env->arrival_us = 1795312394962267LL;
	env->uid = 1000;
	env->sender = strdup("alice@example.org");
	env->size = 4096;
	env->body = ENVELOPE_BODY_8BITMIME;
	env->smtputf8 = true;
	env->ret = ENVELOPE_RET_HDRS;
	env->envid = strdup("QQ314159");
	env->attempts = 3;
	env->next_attempt = 1795313000;
	env->last_error = strdup("connect to mx.example.com: timed out");
	r = envelope_add_rcpt(env, "bob@example.com");
	r->notify = ENVELOPE_NOTIFY_SUCCESS | ENVELOPE_NOTIFY_FAILURE;
	r->orcpt = strdup("rfc822;bob@example.com");
	r = envelope_add_rcpt(env, "\"john doe\"@example.com");
	r->state = ENVELOPE_RCPT_DEFERRED;
	r->status = strdup("4.4.1");
	r->reason = strdup("450 4.4.1 try 100% later\r\n(really)");
	r = envelope_add_rcpt(env, "用户@例子.中国");
	r->state = ENVELOPE_RCPT_SENT;
	r->notify = ENVELOPE_NOTIFY_NEVER;
}

static void
envelope_test_same(const struct envelope *a, const struct envelope *b)
{
	size_t i;

	assert_true(a->arrival_us == b->arrival_us);
	assert_int_equal(a->uid, b->uid);
	assert_string_equal(a->sender, b->sender);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->body, b->body);
	assert_int_equal(a->smtputf8, b->smtputf8);
	assert_int_equal(a->ret, b->ret);
	assert_string_equal(a->envid, b->envid);
	assert_int_equal(a->attempts, b->attempts);
	assert_true(a->next_attempt == b->next_attempt);
	assert_string_equal(a->last_error, b->last_error);
	assert_int_equal(a->nrcpts, b->nrcpts);
	for (i = 0; i < a->nrcpts; i++) {
		assert_string_equal(a->rcpts[i].addr, b->rcpts[i].addr);
		assert_int_equal(a->rcpts[i].state, b->rcpts[i].state);
		assert_int_equal(a->rcpts[i].notify, b->rcpts[i].notify);
		if (a->rcpts[i].reason)
			assert_string_equal(a->rcpts[i].reason,
			    b->rcpts[i].reason);
		else
			assert_null(b->rcpts[i].reason);
	}
}

static void
envelope_test_roundtrip(void **state)
{
	struct envelope a, b;
	struct errbuf eb;
	struct buf out;
	size_t off;
	uint64_t dlen;

	(void)state;
	envelope_test_sample(&a);
	buf_init(&out, 0);
	assert_int_equal(envelope_encode(&a, &out), 0);
	/* One record per line, no raw control characters. */
	assert_null(strchr(out.data, '\r'));
	assert_non_null(strstr(out.data, "reason=450%204.4.1%20try%20100%25"));
	buf_puts(&out, "end\n");
	envelope_init(&b);
	errbuf_clear(&eb);
	assert_int_equal(envelope_decode(out.data, out.len, &b, &off, &dlen,
	    &eb), 0);
	assert_int_equal(off, out.len);
	assert_int_equal(dlen, 0);
	envelope_test_same(&a, &b);
	envelope_fini(&a);
	envelope_fini(&b);
	buf_fini(&out);
}

static void
envelope_test_data(void **state)
{
	struct envelope a, b;
	struct errbuf eb;
	struct buf out;
	size_t off, hlen;
	uint64_t dlen;

	(void)state;
	envelope_test_sample(&a);
	buf_init(&out, 0);
	envelope_encode(&a, &out);
	buf_puts(&out, "data: 6\n");
	hlen = out.len;
	buf_puts(&out, "hello\nend\n");
	envelope_init(&b);
	assert_int_equal(envelope_decode(out.data, out.len, &b, &off, &dlen,
	    &eb), 0);
	assert_int_equal(off, hlen);
	assert_int_equal(dlen, 6);
	/* Truncated before the data line: "need more". */
	envelope_fini(&b);
	assert_int_equal(envelope_decode(out.data, hlen - 3, &b, &off, &dlen,
	    &eb), 1);
	envelope_fini(&a);
	envelope_fini(&b);
	buf_fini(&out);
}

static const char *const envelope_bad[] = {
	"",
	"garbage\n",
	"tern-envelope: 2\nend\n",
	"tern-envelope: 1\nend\n", /* no sender, recipients */
	"tern-envelope: 1\narrival: 1.000000\nsender: a@b\nend\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a@b\nrcpt: x@y\n"
	    "bogus: 1\nend\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a@b\nsender: c@d\n"
	    "rcpt: x@y\nend\n",
	"tern-envelope: 1\narrival: -5.000000\nsender: a@b\nrcpt: x@y\nend\n",
	"tern-envelope: 1\narrival: 1.5\nsender: a@b\nrcpt: x@y\nend\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a%00b\nrcpt: x@y\nend\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a%zzb\nrcpt: x@y\nend\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a@b\nrcpt: x@y state=odd\n"
	    "end\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a@b\nrcpt: x@y notify=never,"
	    "success\nend\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a@b\nrcpt: x@y junk\nend\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a@b\nrcpt: \nend\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a@b\nrcpt: x@y\n"
	    "size: 99999999999999999999999\nend\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a@b\nrcpt: x@y\n"
	    "data: -1\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a@b\nrcpt: x@y\n"
	    "body: 9bit\nend\n",
	"tern-envelope: 1\narrival: 1.000000\nsender: a\tb\nrcpt: x@y\nend\n",
	"tern-envelope: 1\narrival 1.000000\nend\n",
	NULL,
};

static void
envelope_test_hostile(void **state)
{
	struct envelope env;
	struct errbuf eb;
	size_t i, off;
	uint64_t dlen;
	int rc;

	(void)state;
	for (i = 0; envelope_bad[i] != NULL; i++) {
		envelope_init(&env);
		errbuf_clear(&eb);
		rc = envelope_decode(envelope_bad[i], strlen(envelope_bad[i]),
		    &env, &off, &dlen, &eb);
		if (rc == 0)
			fail_msg("accepted bad envelope %zu", i);
		/* Empty input is "incomplete", everything else an error. */
		if (i > 0 && rc != -1)
			fail_msg("bad envelope %zu: rc %d", i, rc);
		envelope_fini(&env);
	}
}

static void
envelope_test_long_line(void **state)
{
	struct envelope env;
	struct errbuf eb;
	struct buf in;
	size_t off;
	uint64_t dlen;

	(void)state;
	buf_init(&in, 0);
	buf_puts(&in, "tern-envelope: 1\nsender: ");
	while (in.len < 100000)
		buf_puts(&in, "aaaaaaaaaa");
	envelope_init(&env);
	/* No newline yet, but already past any valid line: an error, so a
	 * reader does not keep buffering forever. */
	assert_int_equal(envelope_decode(in.data, in.len, &env, &off, &dlen,
	    &eb), -1);
	envelope_fini(&env);
	buf_fini(&in);
}

static void
envelope_test_notify(void **state)
{
	unsigned v;
	char out[64];

	(void)state;
	assert_int_equal(envelope_notify_parse("never", &v), 0);
	assert_int_equal(v, ENVELOPE_NOTIFY_NEVER);
	assert_int_equal(envelope_notify_parse("SUCCESS,Delay,failure", &v), 0);
	envelope_notify_format(v, out, sizeof(out));
	assert_string_equal(out, "success,failure,delay");
	assert_int_equal(envelope_notify_parse("never,delay", &v), -1);
	assert_int_equal(envelope_notify_parse("", &v), -1);
	assert_int_equal(envelope_notify_parse("sometimes", &v), -1);
	assert_int_equal(envelope_notify_parse("success,", &v), 0);
}

static void
envelope_test_many_rcpts(void **state)
{
	struct envelope a, b;
	struct errbuf eb;
	struct buf out;
	char addr[64];
	size_t i, off;
	uint64_t dlen;

	(void)state;
	envelope_init(&a);
	a.arrival_us = 1000000;
	a.sender = strdup("");
	for (i = 0; i < 10000; i++) {
		snprintf(addr, sizeof(addr), "user%zu@example.com", i);
		assert_non_null(envelope_add_rcpt(&a, addr));
	}
	buf_init(&out, 0);
	envelope_encode(&a, &out);
	buf_puts(&out, "end\n");
	envelope_init(&b);
	assert_int_equal(envelope_decode(out.data, out.len, &b, &off, &dlen,
	    &eb), 0);
	assert_int_equal(b.nrcpts, 10000);
	assert_string_equal(b.sender, "");
	assert_string_equal(b.rcpts[9999].addr, "user9999@example.com");
	envelope_fini(&a);
	envelope_fini(&b);
	buf_fini(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(envelope_test_roundtrip),
		cmocka_unit_test(envelope_test_data),
		cmocka_unit_test(envelope_test_hostile),
		cmocka_unit_test(envelope_test_long_line),
		cmocka_unit_test(envelope_test_notify),
		cmocka_unit_test(envelope_test_many_rcpts),
	};

	return UNIT_RUN(tests);
}
