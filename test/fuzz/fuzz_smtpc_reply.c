/*
 * Fuzz target: the SMTP client's reply parser: smtpc_parse_reply_line
 * and the multi-line reply assembly (smtpc_reader_feed), fed the input
 * as a server's byte stream the way smtpc.c reads it (lines end in LF
 * or CRLF, at most SMTPC_LINE_MAX octets, a protocol error ends the
 * session), and each complete reply's lines given to the EHLO
 * capability parser.
 *
 * Beyond not crashing or reading past a line: a parsed reply line has
 * a code from 200 to 559 and its text starts within the line; a
 * complete reply has a code in range, an enhanced status that is empty
 * or "d.d.d" of the code's class, a NUL-terminated text free of control
 * characters, at most SMTPC_REPLY_LINES_MAX lines and kept lines within
 * their bound; the capabilities' AUTH list stays NUL-terminated in its
 * array; and a refused line always comes with a message.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "fuzz.h"
#include "smtpc.h"
#include "smtpc_proto.h"

static void
fuzz_smtpc_check_status(const char *st, int code)
{
	size_t n = strlen(st), i, dots = 0;

	FUZZ_CHECK(n < 16);
	if (n == 0)
		return;
	FUZZ_CHECK(st[0] == '0' + code / 100 && st[1] == '.');
	for (i = 0; i < n; i++) {
		FUZZ_CHECK((st[i] >= '0' && st[i] <= '9') || st[i] == '.');
		if (st[i] == '.')
			dots++;
	}
	FUZZ_CHECK(dots == 2 && st[n - 1] != '.');
}

static void
fuzz_smtpc_check_reply(const struct smtpc_reader *r)
{
	const struct smtpc_reply *rep = &r->reply;
	struct smtpc_caps caps;
	size_t i, n;

	FUZZ_CHECK(rep->code >= 200 && rep->code <= 559);
	fuzz_smtpc_check_status(rep->status, rep->code);
	n = strnlen(rep->text, sizeof(rep->text));
	FUZZ_CHECK(n < sizeof(rep->text));
	for (i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)rep->text[i] >= 0x20 &&
		    rep->text[i] != 0x7f);
	FUZZ_CHECK(r->nlines >= 1 && r->nlines <= SMTPC_REPLY_LINES_MAX);
	FUZZ_CHECK(r->lines.len <= SMTPC_LINES_TEXT_MAX);
	memset(&caps, 0, sizeof(caps));
	smtpc_caps_parse(&caps, r->lines.data != NULL ? r->lines.data : "",
	    r->lines.len);
	FUZZ_CHECK(strnlen(caps.auth_list, sizeof(caps.auth_list)) <
	    sizeof(caps.auth_list));
}

/* One line (without its line end), in a buffer of exactly its size.
 * Returns -1 when the session would end. */
static int
fuzz_smtpc_line(struct smtpc_reader *r, const char *line, size_t len)
{
	struct errbuf eb;
	size_t off, st;
	bool more;
	int code, rc;

	if (smtpc_parse_reply_line(line, len, &code, &more, &off) == 0) {
		FUZZ_CHECK(code >= 200 && code <= 559 && off <= len);
		st = smtpc_enhanced_status(line + off, len - off, code);
		FUZZ_CHECK(st <= len - off);
	}
	errbuf_clear(&eb);
	rc = smtpc_reader_feed(r, line, len, &eb);
	if (rc == -1) {
		FUZZ_CHECK(eb.msg[0] != '\0');
		return -1;
	}
	FUZZ_CHECK(rc == 0 || rc == 1);
	if (rc == 1) {
		fuzz_smtpc_check_reply(r);
		smtpc_reader_reset(r);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl;
	struct smtpc_reader r;
	size_t pos = 0, n, len;
	char *line;
	int rc;

	smtpc_reader_init(&r);
	while (pos < size) {
		nl = memchr(s + pos, '\n', size - pos);
		if (nl == NULL)
			break; /* a partial line waits for more input */
		n = (size_t)(nl - (s + pos));
		len = n > 0 && s[pos + n - 1] == '\r' ? n - 1 : n;
		if (len > SMTPC_LINE_MAX)
			break;
		/* No NUL after the line: ASan sees any read past it. */
		if ((line = malloc(len > 0 ? len : 1)) == NULL)
			break;
		memcpy(line, s + pos, len);
		rc = fuzz_smtpc_line(&r, line, len);
		free(line);
		if (rc == -1)
			break;
		pos = (size_t)(nl - s) + 1;
	}
	smtpc_reader_fini(&r);
	return 0;
}
