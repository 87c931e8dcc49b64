/*
 * fuzz_replay: main() for a harness built without libFuzzer.  Runs
 * LLVMFuzzerTestOneInput once on every file named on the command line,
 * and on every file in every directory named (not recursively), so the
 * seed corpus and the regression inputs are checked by "make check"
 * with the project's compiler and sanitizers.  Prints how many inputs
 * ran; any broken property aborts.
 */
#include "autoconf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "fuzz.h"

/* Largest input replayed (a fuzz input larger than this is a mistake). */
#define FUZZ_REPLAY_MAX (4 * 1024 * 1024)

static int
fuzz_replay_file(const char *path)
{
	struct errbuf eb;
	size_t len;
	char *data;

	errbuf_clear(&eb);
	if ((data = fileio_read_file(path, FUZZ_REPLAY_MAX, &len, &eb)) ==
	    NULL) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	return 0;
}

static int
fuzz_replay_dir(const char *dir, unsigned *count)
{
	struct dirent *de;
	char path[4096];
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		perror(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (fuzz_replay_file(path) == -1)
			rc = -1;
		else
			(*count)++;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	struct stat st;
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (fuzz_replay_dir(argv[i], &count) == -1)
				rc = 1;
		} else if (fuzz_replay_file(argv[i]) == -1) {
			rc = 1;
		} else {
			count++;
		}
	}
	printf("%u inputs replayed\n", count);
	return rc;
}
