/*
 * Unit tests for sdnotify: the messages byte for byte, the two kinds
 * of $NOTIFY_SOCKET address and the bad ones, no-op without the
 * variable, and a real datagram to an abstract socket the test binds.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "unit.h"

#include "sdnotify.h"

static void
test_format_states(void **state)
{
	char buf[SDNOTIFY_MSG_MAX];
	size_t n;

	(void)state;
	n = sdnotify_format(buf, sizeof(buf), SDNOTIFY_READY, 0, NULL);
	assert_string_equal(buf, "READY=1");
	assert_int_equal(n, 7);
	sdnotify_format(buf, sizeof(buf), SDNOTIFY_READY, 0, "delivering");
	assert_string_equal(buf, "READY=1\nSTATUS=delivering");
	sdnotify_format(buf, sizeof(buf), SDNOTIFY_RELOADING,
	    18446744073709551615ULL, NULL);
	assert_string_equal(buf,
	    "RELOADING=1\nMONOTONIC_USEC=18446744073709551615");
	sdnotify_format(buf, sizeof(buf), SDNOTIFY_RELOADING, 1234567, "r");
	assert_string_equal(buf,
	    "RELOADING=1\nMONOTONIC_USEC=1234567\nSTATUS=r");
	sdnotify_format(buf, sizeof(buf), SDNOTIFY_STOPPING, 9, "stopping");
	assert_string_equal(buf, "STOPPING=1\nSTATUS=stopping");
	sdnotify_format(buf, sizeof(buf), SDNOTIFY_STATUS, 9, "just this");
	assert_string_equal(buf, "STATUS=just this");
}

/* A status is one line: a newline in it would forge another key. */
static void
test_format_status_escaped(void **state)
{
	char buf[SDNOTIFY_MSG_MAX];

	(void)state;
	sdnotify_format(buf, sizeof(buf), SDNOTIFY_READY, 0,
	    "a\nREADY=1\r\tb\x7f");
	assert_string_equal(buf, "READY=1\nSTATUS=a READY=1  b ");
}

static void
test_format_bounded(void **state)
{
	char buf[12], big[2000], out[SDNOTIFY_MSG_MAX];
	size_t n;

	(void)state;
	n = sdnotify_format(buf, sizeof(buf), SDNOTIFY_STOPPING, 0, "xyz");
	assert_int_equal(n, 11);
	assert_string_equal(buf, "STOPPING=1\n");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = sdnotify_format(out, sizeof(out), SDNOTIFY_READY, 0, big);
	assert_int_equal(n, SDNOTIFY_MSG_MAX - 1);
	assert_int_equal(strlen(out), SDNOTIFY_MSG_MAX - 1);
	assert_int_equal(sdnotify_format(out, 0, SDNOTIFY_READY, 0, NULL), 0);
}

static void
test_addr_path_and_abstract(void **state)
{
	struct sockaddr_un sun;
	struct errbuf eb;
	socklen_t len;

	(void)state;
	errbuf_clear(&eb);
	assert_int_equal(sdnotify_addr("/run/systemd/notify", &sun, &len,
	    &eb), 0);
	assert_string_equal(sun.sun_path, "/run/systemd/notify");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) +
	    strlen("/run/systemd/notify") + 1);
	assert_int_equal(sdnotify_addr("@tern/test", &sun, &len, &eb), 0);
	assert_int_equal(sun.sun_path[0], '\0');
	assert_memory_equal(sun.sun_path + 1, "tern/test", 9);
	/* The length counts the NUL in front and the name, nothing more:
	 * abstract names are not NUL-terminated. */
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 10);
}

static void
test_addr_bad(void **state)
{
	struct sockaddr_un sun;
	struct errbuf eb;
	socklen_t len;
	char longp[200];

	(void)state;
	errbuf_clear(&eb);
	assert_int_equal(sdnotify_addr("run/notify", &sun, &len, &eb), -1);
	assert_non_null(strstr(eb.msg, "absolute path"));
	assert_int_equal(sdnotify_addr("@", &sun, &len, &eb), -1);
	assert_int_equal(sdnotify_addr("", &sun, &len, &eb), -1);
	longp[0] = '/';
	memset(longp + 1, 'a', sizeof(longp) - 2);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(sdnotify_addr(longp, &sun, &len, &eb), -1);
	assert_non_null(strstr(eb.msg, "longer than"));
	/* 107 bytes and its NUL fill sun_path exactly. */
	longp[sizeof(sun.sun_path) - 1] = '\0';
	assert_int_equal(sdnotify_addr(longp, &sun, &len, &eb), 0);
}

static void
test_send_without_socket(void **state)
{
	struct errbuf eb;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sdnotify_init(), 0);
	errbuf_clear(&eb);
	assert_int_equal(sdnotify_send(SDNOTIFY_READY, "x", &eb), 1);
}

/* Bind an abstract socket, point NOTIFY_SOCKET at it, and read what
 * sdnotify_send wrote. */
static void
test_send_abstract(void **state)
{
	struct sockaddr_un sun;
	struct errbuf eb;
	struct timeval tv = { 5, 0 };
	socklen_t len;
	char name[64], got[SDNOTIFY_MSG_MAX];
	ssize_t n;
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "@tern-test-sdnotify-%ld",
	    (long)getpid());
	errbuf_clear(&eb);
	assert_int_equal(sdnotify_addr(name, &sun, &len, &eb), 0);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(sdnotify_init(), 1);
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_int_equal(sdnotify_send(SDNOTIFY_READY, "up", &eb), 0);
	n = recv(fd, got, sizeof(got) - 1, 0);
	assert_int_equal(n, 17);
	got[n] = '\0';
	assert_string_equal(got, "READY=1\nSTATUS=up");
	assert_int_equal(sdnotify_send(SDNOTIFY_RELOADING, NULL, &eb), 0);
	n = recv(fd, got, sizeof(got) - 1, 0);
	assert_true(n > 0);
	got[n] = '\0';
	assert_true(strncmp(got, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	assert_true(strtoull(got + 27, NULL, 10) > 0);
	close(fd);
	/* Nobody listening any more: an error that names the socket. */
	assert_int_equal(sdnotify_send(SDNOTIFY_STOPPING, NULL, &eb), -1);
	assert_non_null(strstr(eb.msg, name));
	unsetenv("NOTIFY_SOCKET");
	sdnotify_init();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_states),
		cmocka_unit_test(test_format_status_escaped),
		cmocka_unit_test(test_format_bounded),
		cmocka_unit_test(test_addr_path_and_abstract),
		cmocka_unit_test(test_addr_bad),
		cmocka_unit_test(test_send_without_socket),
		cmocka_unit_test(test_send_abstract),
	};

	return UNIT_RUN(tests);
}
