/*
 * fsq: the queue's worker thread (see fsq.h).
 *
 * Jobs go from the loop to the workers on one list (todo) and come
 * back on another (done), both under one mutex; an eventfd tells the
 * loop that completions wait.  Workers never call into libevent.
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fsq.h"

struct fsq_job {
	struct fsq_job *next;
	fsq_work_fn work;
	fsq_done_fn done;
	void *arg;
};

struct fsq_list {
	struct fsq_job *head, **tail;
};

#define FSQ_MAX_THREADS 8

struct fsq {
	pthread_t threads[FSQ_MAX_THREADS];
	unsigned nthreads;      /* started */
	pthread_mutex_t mu;
	pthread_cond_t wake;    /* the worker: work to do, or stop */
	pthread_cond_t idle;    /* fsq_flush: the worker caught up */
	struct fsq_list todo, done;
	unsigned busy;          /* workers running a job */
	bool stop;
	int efd;
	struct event *ev;
};

static void
fsq_list_init(struct fsq_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void
fsq_list_push(struct fsq_list *l, struct fsq_job *j)
{
	j->next = NULL;
	*l->tail = j;
	l->tail = &j->next;
}

static struct fsq_job *
fsq_list_take(struct fsq_list *l)
{
	struct fsq_job *j = l->head;

	fsq_list_init(l);
	return j;
}

static void *
fsq_main(void *arg)
{
	struct fsq *f = arg;
	struct fsq_job *j;
	uint64_t one = 1;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (f->todo.head == NULL && !f->stop)
			pthread_cond_wait(&f->wake, &f->mu);
		if ((j = f->todo.head) == NULL)
			break; /* stopping, and nothing left */
		if ((f->todo.head = j->next) == NULL)
			f->todo.tail = &f->todo.head;
		f->busy++;
		pthread_mutex_unlock(&f->mu);
		j->work(j->arg);
		pthread_mutex_lock(&f->mu);
		f->busy--;
		fsq_list_push(&f->done, j);
		if (f->todo.head == NULL && f->busy == 0)
			pthread_cond_broadcast(&f->idle);
		/* A full counter only means the loop knows already. */
		(void)!write(f->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* Run the completions that have come back, in order. */
static void
fsq_complete(struct fsq *f)
{
	struct fsq_job *j, *next;

	pthread_mutex_lock(&f->mu);
	j = fsq_list_take(&f->done);
	pthread_mutex_unlock(&f->mu);
	for (; j != NULL; j = next) {
		next = j->next;
		if (j->done != NULL)
			j->done(j->arg);
		free(j);
	}
}

static void
fsq_on_event(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	(void)!read(fd, &n, sizeof(n));
	fsq_complete(arg);
}

struct fsq *
fsq_new(struct event_base *base, unsigned nthreads, struct errbuf *eb)
{
	struct fsq *f;
	int err;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	fsq_list_init(&f->todo);
	fsq_list_init(&f->done);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->wake, NULL);
	pthread_cond_init(&f->idle, NULL);
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->efd < 0) {
		errbuf_errno(eb, errno, "eventfd");
		fsq_free(f);
		return NULL;
	}
	f->ev = event_new(base, f->efd, EV_READ | EV_PERSIST, fsq_on_event, f);
	if (f->ev == NULL || event_add(f->ev, NULL) < 0) {
		errbuf_set(eb, "cannot watch the worker's eventfd");
		fsq_free(f);
		return NULL;
	}
	if (nthreads > FSQ_MAX_THREADS)
		nthreads = FSQ_MAX_THREADS;
	while (f->nthreads < (nthreads ? nthreads : 1)) {
		err = pthread_create(&f->threads[f->nthreads], NULL, fsq_main,
		    f);
		if (err != 0) {
			errbuf_errno(eb, err, "cannot start the queue worker");
			fsq_free(f);
			return NULL;
		}
		f->nthreads++;
	}
	return f;
}

int
fsq_submit(struct fsq *f, fsq_work_fn work, fsq_done_fn done, void *arg)
{
	struct fsq_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&f->mu);
	fsq_list_push(&f->todo, j);
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->mu);
	return 0;
}

void
fsq_flush(struct fsq *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	while (f->nthreads > 0 && (f->todo.head != NULL || f->busy > 0))
		pthread_cond_wait(&f->idle, &f->mu);
	pthread_mutex_unlock(&f->mu);
	fsq_complete(f);
}

void
fsq_free(struct fsq *f)
{
	if (f == NULL)
		return;
	unsigned i;

	fsq_flush(f);
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->wake);
	pthread_mutex_unlock(&f->mu);
	for (i = 0; i < f->nthreads; i++)
		pthread_join(f->threads[i], NULL);
	if (f->ev != NULL)
		event_free(f->ev);
	if (f->efd >= 0)
		close(f->efd);
	pthread_cond_destroy(&f->wake);
	pthread_cond_destroy(&f->idle);
	pthread_mutex_destroy(&f->mu);
	free(f);
}
