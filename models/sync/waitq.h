/*
 * FIFO of parked tasks, linked through sim_task.wait_next.  Shared by the modelled locks:
 * a lock's waiters are plain C state; SimGrid only parks and unparks them.
 */
#ifndef MMSIM_WAITQ_H
#define MMSIM_WAITQ_H

#include <stdbool.h>
#include <stddef.h>
#include "task.h"

struct waitq {
	struct sim_task *head, *tail;
	unsigned len;
};

static inline void waitq_push(struct waitq *q, struct sim_task *t, unsigned flags)
{
	t->wait_next = NULL;
	t->wait_flags = flags;
	if (q->tail)
		q->tail->wait_next = t;
	else
		q->head = t;
	q->tail = t;
	q->len++;
}

/* Back at the head (a waiter that keeps its place while it re-evaluates). */
static inline void waitq_push_front(struct waitq *q, struct sim_task *t, unsigned flags)
{
	t->wait_flags = flags;
	t->wait_next = q->head;
	q->head = t;
	if (!q->tail)
		q->tail = t;
	q->len++;
}

static inline struct sim_task *waitq_pop(struct waitq *q)
{
	struct sim_task *t = q->head;
	if (t) {
		q->head = t->wait_next;
		if (!q->head)
			q->tail = NULL;
		t->wait_next = NULL;
		q->len--;
	}
	return t;
}

/* Take t out of q wherever it is; false if it is not queued there. */
static inline bool waitq_remove(struct waitq *q, struct sim_task *t)
{
	struct sim_task *prev = NULL;
	for (struct sim_task *s = q->head; s; prev = s, s = s->wait_next) {
		if (s != t)
			continue;
		if (prev)
			prev->wait_next = t->wait_next;
		else
			q->head = t->wait_next;
		if (q->tail == t)
			q->tail = prev;
		t->wait_next = NULL;
		q->len--;
		return true;
	}
	return false;
}

#endif
