/*
 * Fuzz target: the PROXY protocol header parser (proxy_proto_parse).
 *
 * Beyond not crashing: a header found is never longer than the input
 * or than the largest header of either version; parsing exactly the
 * bytes it took gives the same length and the same addresses (the
 * parser does not peek past its header); a header that is not LOCAL or
 * UNKNOWN names an IPv4 or IPv6 client and destination of one family;
 * and "need more" is only said while the input is shorter than the
 * largest header.
 */
#include "autoconf.h"

#include <string.h>
#include <sys/socket.h>

#include "errbuf.h"
#include "fuzz.h"
#include "proxy_proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_proto_result r, r2;
	struct errbuf eb;
	long n, n2;

	memset(&r, 0, sizeof(r));
	errbuf_clear(&eb);
	n = proxy_proto_parse(data, size, &r, &eb);
	FUZZ_CHECK(n >= -1);
	if (n == -1) {
		FUZZ_CHECK(eb.msg[0] != '\0');
		return 0;
	}
	if (n == 0) {
		FUZZ_CHECK(size < PROXY_PROTO_V2_MAX);
		return 0;
	}
	FUZZ_CHECK((size_t)n <= size);
	FUZZ_CHECK(n <= PROXY_PROTO_V2_MAX);
	if (!r.local) {
		FUZZ_CHECK(r.src.ss_family == AF_INET ||
		    r.src.ss_family == AF_INET6);
		FUZZ_CHECK(r.dst.ss_family == r.src.ss_family);
	}
	memset(&r2, 0, sizeof(r2));
	n2 = proxy_proto_parse(data, (size_t)n, &r2, &eb);
	FUZZ_CHECK(n2 == n);
	FUZZ_CHECK(r2.local == r.local);
	FUZZ_CHECK(memcmp(&r2.src, &r.src, sizeof(r.src)) == 0);
	FUZZ_CHECK(memcmp(&r2.dst, &r.dst, sizeof(r.dst)) == 0);
	return 0;
}
