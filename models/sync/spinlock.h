/*
 * spinlock_t as a FIFO hand-off lock (the queueing order of qspinlock's MCS queue).
 * Waiters spin with preemption off: their waiting time is busy CPU time, but they park in
 * the simulator and the releaser hands the lock over, charging the waiter one cache-line
 * transfer to observe the release.  Nothing polls.
 */
#ifndef MMSIM_SPINLOCK_H
#define MMSIM_SPINLOCK_H

#include <stdbool.h>
#include "waitq.h"

struct spinlock {
	struct sim_task *owner;  /* NULL when free */
	struct waitq waiters;    /* FIFO, as the MCS queue */
	const char *name;        /* lock class, as the kernel names it */
};

void spin_lock_init(struct spinlock *l, const char *name);
void spin_lock(struct sim_task *t, struct spinlock *l);
bool spin_trylock(struct sim_task *t, struct spinlock *l);
void spin_unlock(struct sim_task *t, struct spinlock *l);

static inline bool spin_is_held_by(const struct spinlock *l, const struct sim_task *t)
{
	return l->owner == t;
}

#endif
