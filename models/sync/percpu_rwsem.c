/*
 * percpu_rw_semaphore and rcu_sync (see percpu_rwsem.h).  Sources: kernel/locking/
 * percpu-rwsem.c (rewritten in 5.8 by Peter Zijlstra, "locking/percpu-rwsem: Add
 * percpu_rwsem_wait()" and the wait-queue conversion), kernel/rcu/sync.c (Oleg Nesterov,
 * rcu_sync, 4.4), Linux 6.x.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "percpu_rwsem.h"
#include "sync.h"
#include "sched.h"
#include "hw/hw.h"
#include "die.h"

void percpu_init_rwsem(struct percpu_rw_semaphore *sem, const char *name, int ncpus)
{
	*sem = (struct percpu_rw_semaphore){ .ncpus = ncpus };
	sem->read_count = aligned_alloc(64, (size_t)ncpus * sizeof(*sem->read_count));
	if (!sem->read_count)
		sim_die("out of memory for percpu read counts");
	memset(sem->read_count, 0, (size_t)ncpus * sizeof(*sem->read_count));
	lockdep_init_map(&sem->dep, name, true);
}

static void wake_sleeper(struct sim_task *t, struct sim_task *w)
{
	if (w->state == TASK_PARKED)
		sync_wake_sleeper(t, w);
}

static void park_until_granted(struct sim_task *t, const char *what)
{
	sched_switch_out(t, what);
	if (!t->wait_private)
		sim_cancel_park(t); /* granted while we told the spinners */
	while (t->wait_private) {
		sim_time_t t0 = t->now;
		sim_park(t, what);
		t->stats.sleep_wait += t->now - t0;
	}
	sched_switch_in(t);
}

/* ---- rcu_sync ---- */

static void rcu_sync_func(struct sim_task *t, struct rcu_head *head)
{
	struct rcu_sync *rss = (struct rcu_sync *)((char *)head - offsetof(struct rcu_sync, cb_head));
	hw_store(t, &rss->gp_state, sizeof(rss->gp_state));
	if (rss->gp_count) {
		rss->gp_state = GP_PASSED;
		struct sim_task *w;
		while ((w = waitq_pop(&rss->gp_wait))) {
			w->wait_private = NULL;
			wake_sleeper(t, w);
		}
	} else if (rss->gp_state == GP_REPLAY) {
		rss->gp_state = GP_EXIT;
		call_rcu(t, &rss->cb_head, rcu_sync_func);
	} else {
		rss->gp_state = GP_IDLE;
	}
}

static void rcu_sync_enter(struct sim_task *t, struct rcu_sync *rss)
{
	sim_sync(t);
	hw_rmw(t, &rss->gp_state, sizeof(rss->gp_state)); /* rss_lock */
	if (rss->gp_state == GP_IDLE) {
		rss->gp_state = GP_ENTER;
		rss->gp_count++;
		synchronize_rcu(t);
		rcu_sync_func(t, &rss->cb_head);
		return;
	}
	rss->gp_count++;
	if (rss->gp_state >= GP_PASSED)
		return;
	t->wait_private = (void *)1;
	waitq_push(&rss->gp_wait, t, 0);
	park_until_granted(t, "rcu_sync_enter");
}

static void rcu_sync_exit(struct sim_task *t, struct rcu_sync *rss)
{
	hw_rmw(t, &rss->gp_state, sizeof(rss->gp_state));
	sim_bug_on(rss->gp_count <= 0);
	if (--rss->gp_count)
		return;
	if (rss->gp_state == GP_PASSED) {
		rss->gp_state = GP_EXIT;
		call_rcu(t, &rss->cb_head, rcu_sync_func);
	} else if (rss->gp_state == GP_EXIT) {
		rss->gp_state = GP_REPLAY;
	}
}

/* ---- readers ---- */

static unsigned read_sum(struct sim_task *t, struct percpu_rw_semaphore *sem)
{
	unsigned sum = 0;
	for (int c = 0; c < sem->ncpus; c++) {
		hw_load(t, &sem->read_count[c], sizeof(sem->read_count[c]));
		sum += sem->read_count[c].count;
	}
	return sum;
}

/* __percpu_down_read_trylock, on the calling CPU's counter. */
static bool down_read_trylock_slow(struct sim_task *t, struct percpu_rw_semaphore *sem)
{
	struct percpu_read_count *rc = &sem->read_count[t->cpu];
	hw_store(t, rc, sizeof(*rc));
	rc->count++;
	hw_load(t, &sem->block, sizeof(sem->block)); /* after smp_mb() */
	if (!sem->block)
		return true;
	rc->count--;
	return false;
}

bool _percpu_down_read(struct sim_task *t, struct percpu_rw_semaphore *sem, const char *site)
{
	sim_bug_on(t->cpu >= sem->ncpus);
	lockdep_acquire(t, &sem->dep, site);
	rcu_read_lock(t); /* preempt_disable: rcu_sync's grace period waits for us */
	sim_sync(t);
	sim_time_t t0 = t->now;
	hw_load(t, &sem->rss.gp_state, sizeof(sem->rss.gp_state));
	if (sem->rss.gp_state == GP_IDLE) {
		struct percpu_read_count *rc = &sem->read_count[t->cpu];
		hw_store(t, rc, sizeof(*rc)); /* this_cpu_inc: own line */
		rc->count++;
		rcu_read_unlock(t);
		sem->fast_reads++;
		lock_acquired(t, &sem->dep, LS_READ, site, 0, 0);
		return false;
	}
	sem->slow_reads++;
	bool ok = down_read_trylock_slow(t, sem);
	rcu_read_unlock(t);
	if (ok) {
		lock_acquired(t, &sem->dep, LS_READ, site, 0, 0);
		return false;
	}
	/* A writer is in: let it see our backed-out count, then queue. */
	rcuwait_wake_up(t, &sem->writer);
	lock_contended(t, &sem->dep, LS_READ, site, NULL);
	hw_rmw(t, &sem->waiters, 8); /* waiters.lock */
	if (down_read_trylock_slow(t, sem)) {
		lock_acquired(t, &sem->dep, LS_READ, site, t->now - t0, 0);
		return true;
	}
	t->wait_private = (void *)1;
	waitq_push(&sem->waiters, t, 1);
	park_until_granted(t, sem->dep.class->name);
	lock_acquired(t, &sem->dep, LS_READ, site, 0, t->now - t0);
	return true;
}

void percpu_up_read(struct sim_task *t, struct percpu_rw_semaphore *sem)
{
	sim_sync(t);
	lock_released(t, &sem->dep);
	hw_load(t, &sem->rss.gp_state, sizeof(sem->rss.gp_state));
	struct percpu_read_count *rc = &sem->read_count[t->cpu];
	hw_store(t, rc, sizeof(*rc));
	rc->count--; /* may wrap on this CPU: only the sum over CPUs means anything */
	if (sem->rss.gp_state != GP_IDLE)
		rcuwait_wake_up(t, &sem->writer);
}

/* ---- writers ---- */

struct readers_check {
	struct sim_task *t;
	struct percpu_rw_semaphore *sem;
};

/* readers_active_check: sum every CPU's count (one load per CPU line). */
static bool readers_inactive(void *arg)
{
	struct readers_check *rc = arg;
	return read_sum(rc->t, rc->sem) == 0;
}

/* percpu_rwsem_wake_function over the queue: grant in order until a reader fails to get
 * in or a writer has been granted. */
static void wake_queue(struct sim_task *t, struct percpu_rw_semaphore *sem)
{
	struct sim_task *w;
	while ((w = sem->waiters.head)) {
		bool reader = w->wait_flags == 1;
		if (reader) {
			if (!down_read_trylock_slow(t, sem))
				break;
		} else {
			hw_rmw(t, &sem->block, sizeof(sem->block));
			if (sem->block)
				break;
			sem->block = 1;
		}
		waitq_pop(&sem->waiters);
		w->wait_private = NULL;
		wake_sleeper(t, w);
		if (!reader)
			break;
	}
}

bool _percpu_down_write(struct sim_task *t, struct percpu_rw_semaphore *sem, const char *site)
{
	lockdep_acquire(t, &sem->dep, site);
	sim_sync(t);
	sim_time_t t0 = t->now;
	bool waited = false;

	rcu_sync_enter(t, &sem->rss);
	sim_sync(t);
	hw_rmw(t, &sem->block, sizeof(sem->block)); /* atomic_xchg(&sem->block, 1) */
	if (sem->block) {
		if (!waited)
			lock_contended(t, &sem->dep, LS_WRITE, site, NULL);
		waited = true;
		t->wait_private = (void *)1;
		waitq_push(&sem->waiters, t, 0);
		park_until_granted(t, sem->dep.class->name);
		sim_bug_on(!sem->block);
	} else {
		sem->block = 1;
	}
	/* Wait for the readers that got in before block was seen. */
	struct readers_check rc = { t, sem };
	if (rcuwait_wait_event(t, &sem->writer, readers_inactive, &rc) && !waited) {
		lock_contended(t, &sem->dep, LS_WRITE, site, NULL);
		waited = true;
	}
	lock_acquired(t, &sem->dep, LS_WRITE, site, 0, t->now - t0);
	return waited || t->now > t0;
}

void percpu_up_write(struct sim_task *t, struct percpu_rw_semaphore *sem)
{
	sim_sync(t);
	lock_released(t, &sem->dep);
	hw_store(t, &sem->block, sizeof(sem->block)); /* atomic_set_release(&sem->block, 0) */
	sem->block = 0;
	hw_rmw(t, &sem->waiters, 8);
	wake_queue(t, sem);
	rcu_sync_exit(t, &sem->rss);
}
