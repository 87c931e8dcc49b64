/*
 * fuzz_util: what every harness shares: the failure report and the
 * private temporary directory for the parsers that read a file.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char fuzz_dir[512];
static char fuzz_path[640];

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: property broken: %s\n", file, line, what);
	abort();
}

/* Remove the files we made and the directory (at exit). */
static void
fuzz_cleanup(void)
{
	if (fuzz_path[0] != '\0')
		unlink(fuzz_path);
	if (fuzz_dir[0] != '\0')
		rmdir(fuzz_dir);
}

const char *
fuzz_tmpfile(const char *name, const uint8_t *data, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	size_t off = 0;
	ssize_t n;
	int fd;

	if (fuzz_dir[0] == '\0') {
		snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/tern-fuzz-XXXXXX",
		    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
		if (mkdtemp(fuzz_dir) == NULL)
			fuzz_fail(__FILE__, __LINE__, "mkdtemp");
		atexit(fuzz_cleanup);
	}
	/* One file name per process: the previous input's file is gone. */
	if (fuzz_path[0] != '\0')
		unlink(fuzz_path);
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/%s", fuzz_dir, name);
	fd = open(fuzz_path, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		fuzz_fail(__FILE__, __LINE__, "create the input file");
	while (off < size) {
		n = write(fd, data + off, size - off);
		if (n <= 0)
			fuzz_fail(__FILE__, __LINE__, "write the input file");
		off += (size_t)n;
	}
	close(fd);
	return fuzz_path;
}
