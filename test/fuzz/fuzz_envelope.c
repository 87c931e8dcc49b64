/*
 * Fuzz target: the envelope and queue-file reader (envelope_decode on
 * the input in memory, queue_read_envelope on it as a file).
 *
 * Beyond not crashing: a decoded envelope ends inside the input, after
 * "end" or a "data: N" line, and decoding only the bytes it took gives
 * the same result (it never looks past its end marker); it round-trips:
 * its encoding decodes again, and encoding that gives the same bytes;
 * and the file reader accepts the file exactly when the records decode
 * and the data (if any) is followed by the trailer at the file's end.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <string.h>

#include "buf.h"
#include "envelope.h"
#include "errbuf.h"
#include "fuzz.h"
#include "queue.h"

/* Encode env as a complete envelope file ("end" included). */
static void
fuzz_env_encode(const struct envelope *env, struct buf *out)
{
	buf_reset(out);
	FUZZ_CHECK(envelope_encode(env, out) == 0);
	FUZZ_CHECK(buf_puts(out, "end\n") == 0);
}

/* Encode, decode, encode: the two encodings are the same. */
static void
fuzz_env_round_trip(const struct envelope *env)
{
	struct envelope again;
	struct buf e1, e2;
	struct errbuf eb;
	uint64_t dlen;
	size_t doff;

	buf_init(&e1, 0);
	buf_init(&e2, 0);
	envelope_init(&again);
	fuzz_env_encode(env, &e1);
	errbuf_clear(&eb);
	FUZZ_CHECK(envelope_decode(e1.data, e1.len, &again, &doff, &dlen,
	    &eb) == 0);
	FUZZ_CHECK(doff == e1.len && dlen == 0);
	fuzz_env_encode(&again, &e2);
	FUZZ_CHECK(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);
	envelope_fini(&again);
	buf_fini(&e1);
	buf_fini(&e2);
}

/* The file reader agrees with the decoder in memory. */
static void
fuzz_env_file(const uint8_t *data, size_t size, int rc, size_t doff,
    uint64_t dlen)
{
	struct envelope env;
	struct errbuf eb;
	const char *path;
	bool whole;
	int frc;

	if (rc != 0)
		whole = false;
	else if (dlen == 0)
		whole = doff == size;
	else
		whole = dlen <= size - doff &&
		    size - doff - dlen == ENVELOPE_TRAILER_LEN &&
		    memcmp(data + size - ENVELOPE_TRAILER_LEN,
		    ENVELOPE_TRAILER, ENVELOPE_TRAILER_LEN) == 0;
	path = fuzz_tmpfile("queue-file", data, size);
	envelope_init(&env);
	errbuf_clear(&eb);
	frc = queue_read_envelope(AT_FDCWD, path, &env, &eb);
	FUZZ_CHECK(frc == (whole ? 0 : -1));
	envelope_fini(&env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct envelope env, prefix;
	size_t doff = 0, doff2 = 0;
	uint64_t dlen = 0, dlen2 = 0;
	struct errbuf eb;
	int rc;

	envelope_init(&env);
	errbuf_clear(&eb);
	rc = envelope_decode(text, size, &env, &doff, &dlen, &eb);
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	if (rc == -1)
		FUZZ_CHECK(eb.msg[0] != '\0');
	if (rc == 0) {
		FUZZ_CHECK(doff > 0 && doff <= size && text[doff - 1] == '\n');
		envelope_init(&prefix);
		FUZZ_CHECK(envelope_decode(text, doff, &prefix, &doff2, &dlen2,
		    &eb) == 0);
		FUZZ_CHECK(doff2 == doff && dlen2 == dlen);
		envelope_fini(&prefix);
		FUZZ_CHECK(env.sender != NULL && env.nrcpts > 0);
		fuzz_env_round_trip(&env);
	}
	envelope_fini(&env);
	fuzz_env_file(data, size, rc, doff, dlen);
	return 0;
}
