/*
 * queue: the queue directory — its layout, queue IDs, the durable
 * commit of new files, and reading what is queued.
 *
 * Layout under queue_dir (modes for a root install; a user-owned queue
 * uses 0700 throughout):
 *
 *	maildrop/  1730 tern:terndrop  written by the setgid sendmail,
 *	                               which may create files but not list
 *	                               or read the directory
 *	incoming/ active/ deferred/ hold/ corrupt/   0700 tern
 *	data/ state/                                  0700 tern
 *	public/    0710 tern:terndrop  ternd's trigger socket
 *	control/   0750 tern:tern      ternd's control socket (tern queue,
 *	                               hold, ...): root and the tern group
 *
 * Picked-up mail is two files of the same ID: data/ID holds the message
 * (written once) and incoming/ID, deferred/ID or hold/ID its envelope
 * without data (rewritten as delivery progresses).
 *
 * Only this module knows paths inside queue_dir.  A file's name is its
 * queue ID; it appears under that name only once it is complete (a
 * temporary "tmp.ID" is written, fsynced, renamed without replacing
 * anything, and the directory fsynced).  Readers ignore "tmp." files.
 */
#ifndef TERN_QUEUE_H
#define TERN_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "envelope.h"
#include "errbuf.h"

enum queue_name {
	QUEUE_MAILDROP,
	QUEUE_INCOMING,
	QUEUE_ACTIVE,
	QUEUE_DEFERRED,
	QUEUE_HOLD,
	QUEUE_CORRUPT,
	QUEUE_DATA,     /* message content of incoming/deferred/hold mail */
	QUEUE_STATE,    /* ternd's own state (relay quotas, pid file) */
	QUEUE_NQUEUES,
};

/* 13 hex digits of arrival time in microseconds, then 6 of the process
 * ID: unique across processes, and sorting by ID sorts by arrival. */
#define QUEUE_ID_LEN 19
#define QUEUE_PATH_MAX 4096

/* Directory name of a queue ("maildrop"...). */
const char *queue_name(enum queue_name q);

/* Make a new queue ID for a message arriving at now_us; IDs made by
 * one process are strictly increasing. */
void queue_make_id(int64_t now_us, char id[QUEUE_ID_LEN + 1]);

/* True when s is a well-formed queue ID. */
bool queue_id_valid(const char *s);

/* Arrival time (microseconds) encoded in a valid queue ID. */
int64_t queue_id_time(const char *id);

/*
 * Create queue_dir and its subdirectories where missing, with the
 * modes of a user-owned queue.  Existing directories are left alone.
 * Returns 0 or -1 with eb naming the directory.
 */
int queue_setup(const char *queue_dir, struct errbuf *eb);

/* Remove the "tmp." files in ternd's own queues (incoming, active,
 * deferred, hold, data): files it was writing when it died.  Only for
 * ternd at start, holding the queue's lock, before it writes anything;
 * maildrop's belong to sendmail and are left alone.  Returns how many
 * were removed. */
size_t queue_clean_tmp(const char *queue_dir);

/* The space an unprivileged writer may still use in the file system
 * holding queue_dir, in octets.  Returns 0, or -1 with eb set. */
int queue_free_space(const char *queue_dir, uint64_t *avail,
    struct errbuf *eb);

/* A file being written into a queue. */
struct queue_file {
	int fd;
	char id[QUEUE_ID_LEN + 1];
	char dir[QUEUE_PATH_MAX];
	char tmp[QUEUE_PATH_MAX + 32];
	char final[QUEUE_PATH_MAX + 32];
};

/*
 * Start a new file in queue q: a fresh ID and an exclusive temporary
 * file with exactly the given mode.  Returns 0 or -1 with eb set (and
 * eb->code a sysexits code: 73 for permissions, 75 for a full disk).
 */
int queue_file_create(const char *queue_dir, enum queue_name q,
    mode_t mode, int64_t now_us, struct queue_file *qf, struct errbuf *eb);

/* Append n bytes.  Returns 0 or -1 with eb set. */
int queue_file_write(struct queue_file *qf, const void *p, size_t n,
    struct errbuf *eb);

/*
 * Make the file durable and visible: fsync, close, rename to its ID
 * (never replacing a file; a clash picks a new ID), fsync the
 * directory.  On success qf->id is the final ID.  On failure nothing
 * is left behind.  Returns 0 or -1 with eb set.
 */
int queue_file_commit(struct queue_file *qf, int64_t now_us,
    struct errbuf *eb);

/* Throw away an uncommitted file (safe to call twice). */
void queue_file_abort(struct queue_file *qf);

/* From a signal handler (async-signal-safe): remove the file this
 * process is writing and has not committed, if any, so a killed
 * submission leaves nothing behind. */
void queue_file_unlink_pending(void);

/* One queued message, as listed by queue_walk. */
struct queue_entry {
	char id[QUEUE_ID_LEN + 1];
	enum queue_name queue;
	struct envelope env;
};

/* Called for each message in arrival order; a non-zero return stops
 * the walk and is returned by queue_walk. */
typedef int (*queue_walk_fn)(const struct queue_entry *e, void *arg);

/* Called for each file that cannot be read or is malformed (the walk
 * goes on). */
typedef void (*queue_problem_fn)(const char *queue, const char *name,
    const char *msg, void *arg);

/*
 * Visit every message in maildrop, incoming, active, deferred and hold,
 * in arrival order.  A directory that cannot be listed is an error
 * (-1 with eb set, before anything is visited).
 */
int queue_walk(const char *queue_dir, queue_walk_fn fn,
    queue_problem_fn problem, void *arg, struct errbuf *eb);

/*
 * Read the envelope of the file name in directory fd dirfd; for files
 * that carry the message too, check that the data is complete and ends
 * with the trailer.  Returns 0, or -1 with eb set (errno ENOENT when
 * the file went away).
 */
int queue_read_envelope(int dirfd, const char *name, struct envelope *env,
    struct errbuf *eb);

/* ---------------------------------------------------------------- ternd's side */

/* The path of id in queue q into out.  Returns 0, or -1 when too long. */
int queue_path(const char *queue_dir, enum queue_name q, const char *id,
    char *out, size_t len);

/*
 * Write env as the envelope file of id in queue q, atomically replacing
 * any previous one: temporary file, fsync (unless the caller commits a
 * whole batch with queue_sync), rename.  The directory is not fsynced:
 * losing the rename in a crash brings back the previous envelope, which
 * at worst repeats a delivery, never loses one; callers creating a
 * queue entry use queue_sync.  Returns 0 or -1 with eb.
 */
int queue_env_store(const char *queue_dir, enum queue_name q,
    const char *id, const struct envelope *env, bool fsync_file,
    struct errbuf *eb);

/*
 * A new queue entry: data/ID with the message, then incoming/ID with
 * its envelope, neither synced (the caller commits a batch with
 * queue_sync).  On failure both are removed.  Returns 0 or -1 with eb.
 */
int queue_entry_store(const char *queue_dir, const char *id,
    const struct envelope *env, const void *data, size_t len,
    struct errbuf *eb);

/* Remove both files of an entry made by queue_entry_store. */
void queue_entry_remove(const char *queue_dir, const char *id);

/* Read the envelope of id in queue q.  Returns 0 or -1 with eb (errno
 * ENOENT when it is not there). */
int queue_env_load(const char *queue_dir, enum queue_name q,
    const char *id, struct envelope *env, struct errbuf *eb);

/* Move id's file from one queue to another (rename).  Returns 0 or -1. */
int queue_move(const char *queue_dir, const char *id, enum queue_name from,
    enum queue_name to, struct errbuf *eb);

/* Remove id's file from queue q; a missing file is not an error. */
int queue_unlink(const char *queue_dir, enum queue_name q, const char *id);

/* Open data/ID for writing (created or truncated, mode 0600), or for
 * reading.  Return a descriptor, or -1 with eb set. */
int queue_data_create(const char *queue_dir, const char *id,
    struct errbuf *eb);
int queue_data_open(const char *queue_dir, const char *id,
    struct errbuf *eb);

/*
 * Group commit: make everything written into the queue so far durable
 * with one syncfs() of its filesystem, instead of an fsync per file and
 * directory.  Returns 0 or -1 with eb set.
 */
int queue_sync(const char *queue_dir, struct errbuf *eb);

/* Call fn for every valid queue ID in queue q (directory order).
 * Returns 0, fn's non-zero value, or -1 with eb set. */
int queue_list(const char *queue_dir, enum queue_name q,
    int (*fn)(const char *id, void *arg), void *arg, struct errbuf *eb);

#endif
