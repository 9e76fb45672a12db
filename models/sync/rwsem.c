/*
 * rw_semaphore (see rwsem.h).  Spec: ../shared/reference/kernel-algorithms.md §H.3.
 * Every operation is one atomic on the count's line; waking costs the waker one atomic per
 * woken task (wake_q) and each woken task resumes one wake-up latency later.
 */
#include "rwsem.h"
#include "hw/hw.h"
#include "die.h"

enum { RWSEM_WAITING_FOR_READ = 1, RWSEM_WAITING_FOR_WRITE = 2 };

void init_rwsem(struct rw_semaphore *sem, const char *name)
{
	sem->count = 0;
	sem->owner = NULL;
	sem->waiters = (struct waitq){ 0 };
	sem->name = name;
}

/* Queue and sleep until a waker has granted us the lock. */
static void rwsem_wait(struct sim_task *t, struct rw_semaphore *sem, unsigned kind)
{
	waitq_push(&sem->waiters, t, kind);
	sim_time_t t0 = t->now;
	sim_park(t, sem->name);
	t->stats.sleep_wait += t->now - t0;
}

static void rwsem_grant(struct sim_task *t, struct rw_semaphore *sem, struct sim_task *w)
{
	hw_rmw(t, &w->wait_flags, 8); /* wake_q_add */
	if (w->wait_flags == RWSEM_WAITING_FOR_WRITE) {
		sem->count = -1;
		sem->owner = w;
	} else {
		sem->count++;
	}
	sim_unpark(t, w, t->now + t->machine->hw.wakeup);
}

/* Wake the writer at the head, or every queued reader (phase-fair, as rwsem_mark_wake). */
static void rwsem_wake(struct sim_task *t, struct rw_semaphore *sem, bool readers_at_head_only)
{
	struct sim_task *w = sem->waiters.head;

	if (!w)
		return;
	if (w->wait_flags == RWSEM_WAITING_FOR_WRITE) {
		if (readers_at_head_only || sem->count != 0)
			return;
		rwsem_grant(t, sem, waitq_pop(&sem->waiters));
		return;
	}
	struct waitq keep = { 0 };
	while ((w = waitq_pop(&sem->waiters))) {
		if (w->wait_flags == RWSEM_WAITING_FOR_READ)
			rwsem_grant(t, sem, w);
		else if (readers_at_head_only)
			break;
		else
			waitq_push(&keep, w, w->wait_flags);
	}
	/* Writers skipped over keep their order, ahead of anyone still queued. */
	if (w) {
		waitq_push(&keep, w, w->wait_flags);
		while ((w = waitq_pop(&sem->waiters)))
			waitq_push(&keep, w, w->wait_flags);
	}
	sem->waiters = keep;
}

bool down_read_trylock(struct sim_task *t, struct rw_semaphore *sem)
{
	sim_sync(t);
	hw_rmw(t, &sem->count, 8);
	if (sem->count < 0 || sem->waiters.head)
		return false;
	sem->count++;
	return true;
}

bool down_read(struct sim_task *t, struct rw_semaphore *sem)
{
	if (down_read_trylock(t, sem))
		return false;
	rwsem_wait(t, sem, RWSEM_WAITING_FOR_READ);
	return true;
}

bool down_write_trylock(struct sim_task *t, struct rw_semaphore *sem)
{
	sim_sync(t);
	hw_rmw(t, &sem->count, 8);
	if (sem->count != 0 || sem->waiters.head)
		return false;
	sem->count = -1;
	sem->owner = t;
	return true;
}

bool down_write(struct sim_task *t, struct rw_semaphore *sem)
{
	if (down_write_trylock(t, sem))
		return false;
	rwsem_wait(t, sem, RWSEM_WAITING_FOR_WRITE);
	sim_bug_on(!rwsem_is_write_locked_by(sem, t));
	return true;
}

void up_read(struct sim_task *t, struct rw_semaphore *sem)
{
	sim_sync(t);
	sim_bug_on(sem->count <= 0);
	hw_rmw(t, &sem->count, 8);
	if (--sem->count == 0)
		rwsem_wake(t, sem, false);
}

void up_write(struct sim_task *t, struct rw_semaphore *sem)
{
	sim_sync(t);
	sim_bug_on(!rwsem_is_write_locked_by(sem, t));
	hw_rmw(t, &sem->count, 8);
	sem->count = 0;
	sem->owner = NULL;
	rwsem_wake(t, sem, false);
}

void downgrade_write(struct sim_task *t, struct rw_semaphore *sem)
{
	sim_sync(t);
	sim_bug_on(!rwsem_is_write_locked_by(sem, t));
	hw_rmw(t, &sem->count, 8);
	sem->count = 1;
	sem->owner = NULL;
	rwsem_wake(t, sem, true);
}
