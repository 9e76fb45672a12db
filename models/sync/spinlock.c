/*
 * FIFO hand-off spinlock (see spinlock.h).  The lock word's cost is one atomic on the
 * lock's line per acquisition and one store per release; a contended hand-off costs the
 * next owner one line transfer from the releaser's CPU.
 */
#include "spinlock.h"
#include "hw/hw.h"
#include "die.h"

void spin_lock_init(struct spinlock *l, const char *name)
{
	l->owner = NULL;
	l->waiters = (struct waitq){ 0 };
	l->name = name;
}

bool spin_trylock(struct sim_task *t, struct spinlock *l)
{
	sim_sync(t);
	hw_rmw(t, l, 4);
	if (l->owner)
		return false;
	l->owner = t;
	return true;
}

void spin_lock(struct sim_task *t, struct spinlock *l)
{
	sim_sync(t);
	hw_rmw(t, l, 4);
	sim_bug_on(l->owner == t); /* recursive spinlock: a self-deadlock in the kernel */
	if (!l->owner) {
		l->owner = t;
		return;
	}
	count_event(&t->stats, EV_SPIN_WAIT);
	waitq_push(&l->waiters, t, 0);
	sim_time_t t0 = t->now;
	sim_park(t, l->name);
	sim_bug_on(l->owner != t);
	/* Spinning with preemption off: busy time. */
	t->stats.busy += t->now - t0;
	t->stats.spin += t->now - t0;
}

void spin_unlock(struct sim_task *t, struct spinlock *l)
{
	sim_sync(t);
	sim_bug_on(l->owner != t);
	hw_store(t, l, 1);
	struct sim_task *next = waitq_pop(&l->waiters);
	l->owner = next;
	if (next)
		sim_unpark(t, next, t->now + hw_handoff(t, next, l));
}
