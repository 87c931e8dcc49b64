/*
 * Shared parts of the fuzz harnesses (test/fuzz/fuzz_*.c).
 *
 * Each harness defines LLVMFuzzerTestOneInput.  Built with clang and
 * -fsanitize=fuzzer it is a libFuzzer target ("make fuzz"); built with
 * the project's compiler and fuzz_replay.c it replays the seed corpus
 * and the regression inputs as a normal test ("make check").  A broken
 * property is reported and aborts, which both count as a failure.
 */
#ifndef TERN_TEST_FUZZ_H
#define TERN_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with file:line and the broken property when cond is false. */
#define FUZZ_CHECK(cond)                                                  \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

void fuzz_fail(const char *file, int line, const char *what);

/*
 * Write data[0..size) to a file in this process's private temporary
 * directory (made under $TMPDIR, or /tmp, on first use and removed at
 * exit) and return its path; name is the file's name in that directory.
 * Nothing is ever written anywhere else.  Aborts when it cannot.
 */
const char *fuzz_tmpfile(const char *name, const uint8_t *data, size_t size);

#endif
