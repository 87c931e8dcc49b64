/*
 * tern_queue_edit: "tern delete ID... | --all", "tern hold ID..." and
 * "tern release ID...".
 *
 * With ternd running, the request goes to it: only the daemon knows
 * which messages are in delivery, and it defers the change on those to
 * the end of the attempt (qmgr_ctl.c).  Without it, tern moves or
 * removes the files itself, holding ternd's lock (state/ternd.pid) so a
 * ternd starting meanwhile waits for nothing half done: it fails to
 * start and says another ternd runs, rather than deliver a message
 * being deleted.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sysexits.h>
#include <unistd.h>

#include "control_proto.h"
#include "queue.h"
#include "tern_cmd.h"
#include "tern_queue_int.h"

struct tern_edit {
	const struct config *cfg;
	enum control_cmd cmd;
	unsigned not_found, failed;
};

static void
tern_edit_report(struct tern_edit *e, const char *id,
    enum control_result r, const char *text)
{
	printf("%s: %s\n", id, text != NULL ? text :
	    control_result_text(e->cmd, r));
	if (r == CONTROL_NOT_FOUND)
		e->not_found++;
	else if (r == CONTROL_ERROR)
		e->failed++;
}

/* ---------------------------------------------------------------- files */

static bool
tern_edit_exists(const char *qd, enum queue_name q, const char *id)
{
	char path[QUEUE_PATH_MAX];

	return queue_path(qd, q, id, path, sizeof(path)) == 0 &&
	    access(path, F_OK) == 0;
}

static enum control_result
tern_edit_move(const char *qd, const char *id, const enum queue_name *from,
    size_t nfrom, enum queue_name to, struct errbuf *eb)
{
	size_t i;

	for (i = 0; i < nfrom; i++) {
		errbuf_clear(eb);
		if (queue_move(qd, id, from[i], to, eb) == 0)
			return CONTROL_DONE;
		if (eb->errnum != ENOENT)
			return CONTROL_ERROR;
	}
	return CONTROL_NOT_FOUND;
}

static enum control_result
tern_edit_file(const char *qd, enum control_cmd cmd, const char *id,
    struct errbuf *eb)
{
	static const enum queue_name active[] = { QUEUE_DEFERRED,
	    QUEUE_INCOMING, QUEUE_ACTIVE };
	static const enum queue_name all[] = { QUEUE_MAILDROP,
	    QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD };
	enum queue_name held = QUEUE_HOLD;
	enum control_result r;
	size_t i, found = 0;

	if (cmd == CONTROL_HOLD) {
		r = tern_edit_move(qd, id, active, 3, QUEUE_HOLD, eb);
		return r == CONTROL_NOT_FOUND && tern_edit_exists(qd,
		    QUEUE_HOLD, id) ? CONTROL_NOOP : r;
	}
	if (cmd == CONTROL_RELEASE) {
		/* incoming/: due as soon as ternd starts. */
		r = tern_edit_move(qd, id, &held, 1, QUEUE_INCOMING, eb);
		return r == CONTROL_NOT_FOUND && (tern_edit_exists(qd,
		    QUEUE_INCOMING, id) || tern_edit_exists(qd,
		    QUEUE_DEFERRED, id)) ? CONTROL_NOOP : r;
	}
	/* Envelopes first: a data file alone is an orphan ternd removes. */
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!tern_edit_exists(qd, all[i], id))
			continue;
		found++;
		if (queue_unlink(qd, all[i], id) < 0) {
			errbuf_errno(eb, errno, "remove %s/%s",
			    queue_name(all[i]), id);
			return CONTROL_ERROR;
		}
	}
	if (found > 0 && queue_unlink(qd, QUEUE_DATA, id) < 0) {
		errbuf_errno(eb, errno, "remove data/%s", id);
		return CONTROL_ERROR;
	}
	return found > 0 ? CONTROL_DONE : CONTROL_NOT_FOUND;
}

/* ternd's lock, so no ternd starts while files move.  Returns the
 * descriptor (-2: there is no lock file, no ternd ever ran here), or
 * -1 after printing why not. */
static int
tern_edit_lock(const char *qd)
{
	char path[QUEUE_PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/state/ternd.pid", qd);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return -2;
		fprintf(stderr, "tern: cannot open %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "tern: ternd runs on %s (it holds %s) but its "
		    "control socket %s/%s does not answer; restart ternd\n",
		    qd, path, qd, CONTROL_SOCKET);
		close(fd);
		return -1;
	}
	return fd;
}

static int
tern_edit_files(struct tern_edit *e, char **ids, size_t n)
{
	const char *qd = e->cfg->queue_dir;
	enum control_result r;
	struct errbuf eb;
	size_t i;
	int fd;

	if ((fd = tern_edit_lock(qd)) == -1)
		return EX_TEMPFAIL;
	for (i = 0; i < n; i++) {
		errbuf_clear(&eb);
		r = tern_edit_file(qd, e->cmd, ids[i], &eb);
		tern_edit_report(e, ids[i], r, r == CONTROL_ERROR ? eb.msg :
		    NULL);
	}
	if (fd >= 0)
		close(fd);
	return EX_OK;
}

struct tern_edit_ids {
	char **v;
	size_t n, cap;
};

static int
tern_edit_collect(const char *id, void *arg)
{
	struct tern_edit_ids *ids = arg;
	char **v;
	size_t i;

	for (i = 0; i < ids->n; i++)    /* in two queues at once */
		if (strcmp(ids->v[i], id) == 0)
			return 0;
	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? ids->cap * 2 : 64;
		if ((v = realloc(ids->v, ids->cap * sizeof(*v))) == NULL)
			return -1;
		ids->v = v;
	}
	return (ids->v[ids->n++] = strdup(id)) == NULL ? -1 : 0;
}

/* delete --all without ternd: every message, maildrop included. */
static int
tern_edit_all_files(struct tern_edit *e)
{
	static const enum queue_name all[] = { QUEUE_MAILDROP,
	    QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD };
	struct tern_edit_ids ids = { NULL, 0, 0 };
	struct errbuf eb;
	size_t i;
	int rc = 0;

	errbuf_clear(&eb);
	for (i = 0; i < sizeof(all) / sizeof(all[0]) && rc == 0; i++)
		rc = queue_list(e->cfg->queue_dir, all[i], tern_edit_collect,
		    &ids, &eb);
	if (rc != 0)
		rc = tern_queue_fail("read the queue", eb.msg, eb.errnum);
	else
		rc = tern_edit_files(e, ids.v, ids.n);
	for (i = 0; i < ids.n; i++)
		free(ids.v[i]);
	free(ids.v);
	return rc;
}

/* One request to ternd for ids[0..n) (or --all when n is 0).  Returns
 * an exit code, or TERN_QUEUE_DOWN. */
static int
tern_edit_ask(struct tern_edit *e, char **ids, size_t n)
{
	char line[CONTROL_LINE_MAX];
	size_t i, len;
	json_t *o;
	FILE *f;
	int rc;

	len = (size_t)snprintf(line, sizeof(line), "%s%s",
	    control_cmd_name(e->cmd), n == 0 ? " --all" : "");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s",
		    ids[i]);
	if ((f = tern_queue_ask(e->cfg, line, &rc)) == NULL)
		return rc;
	while ((o = tern_queue_next(f)) != NULL) {
		const char *res = json_string_value(json_object_get(o,
		    "result"));

		printf("%s: %s\n", json_string_value(json_object_get(o, "id")),
		    json_string_value(json_object_get(o, "text")));
		if (res != NULL && strcmp(res, "not-found") == 0)
			e->not_found++;
		else if (res != NULL && strcmp(res, "error") == 0)
			e->failed++;
		json_decref(o);
	}
	fclose(f);
	return EX_OK;
}

static int
tern_edit_run(const struct config *cfg, enum control_cmd cmd, int argc,
    char **argv)
{
	struct tern_edit e = { cfg, cmd, 0, 0 };
	bool all = cmd == CONTROL_DELETE && argc == 2 &&
	    strcmp(argv[1], "--all") == 0;
	size_t i, n, chunk;
	int rc = EX_OK;

	for (i = 1; !all && i < (size_t)argc; i++)
		if (!queue_id_valid(argv[i]))
			argc = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: tern %s %s\n", control_cmd_name(cmd),
		    cmd == CONTROL_DELETE ? "ID... | --all" : "ID...");
		fprintf(stderr, "       (IDs as tern queue lists them)\n");
		return EX_USAGE;
	}
	n = all ? 0 : (size_t)argc - 1;
	if (all && (rc = tern_edit_ask(&e, NULL, 0)) == TERN_QUEUE_DOWN)
		rc = tern_edit_all_files(&e);
	/* Requests of at most CONTROL_MAX_IDS; the first says whether
	 * ternd runs. */
	for (i = 0; !all && rc == EX_OK && i < n; i += chunk) {
		chunk = n - i < CONTROL_MAX_IDS ? n - i : CONTROL_MAX_IDS;
		rc = tern_edit_ask(&e, argv + 1 + i, chunk);
		if (rc == TERN_QUEUE_DOWN && i == 0)
			rc = tern_edit_files(&e, argv + 1, n);
	}
	if (rc == TERN_QUEUE_DOWN)
		rc = EX_UNAVAILABLE; /* ternd went away half way */
	if (rc == EX_OK && e.failed > 0)
		rc = EX_IOERR;
	else if (rc == EX_OK && e.not_found > 0)
		rc = EX_NOINPUT;
	return fflush(stdout) == 0 ? rc : EX_IOERR;
}

int
tern_cmd_delete(const struct config *cfg, int argc, char **argv)
{
	return tern_edit_run(cfg, CONTROL_DELETE, argc, argv);
}

int
tern_cmd_hold(const struct config *cfg, int argc, char **argv)
{
	return tern_edit_run(cfg, CONTROL_HOLD, argc, argv);
}

int
tern_cmd_release(const struct config *cfg, int argc, char **argv)
{
	return tern_edit_run(cfg, CONTROL_RELEASE, argc, argv);
}
