/*
 * struct mutex (see mutex.h).  Sources: kernel/locking/mutex.c of Linux 6.x (owner word
 * with flags since 4.10, Peter Zijlstra's "locking/mutex: Rework mutex::owner" series;
 * HANDOFF and PICKUP from the same series; optimistic spinning with the OSQ, Waiman Long
 * and Jason Low, 3.15).  Spec of the shared spinning and hand-off idea:
 * ../shared/reference/kernel-algorithms.md §H.3 (rwsem) and §I.1 (anon_vma history).
 */
#include <stddef.h>
#include "mutex.h"
#include "sync.h"
#include "sched.h"
#include "rcu.h"
#include "hw/hw.h"
#include "die.h"

/* The owner goes off CPU: mutex_spin_on_owner sees it and the spinners give up. */
static void mutex_owner_sleeps(struct sim_task *t, struct lockdep_map *map)
{
	struct mutex *m = (struct mutex *)((char *)map - offsetof(struct mutex, dep));
	struct sim_task *s;
	if (m->owner != t)
		return;
	while ((s = waitq_pop(&m->osq)))
		sync_wake_spinner(t, s, &m->owner);
}

void mutex_init(struct mutex *m, const char *name)
{
	*m = (struct mutex){ .line_cpu = -1 };
	lockdep_init_map(&m->dep, name, false);
	m->dep.owner_sleeps = mutex_owner_sleeps;
}

static void owner_rmw(struct sim_task *t, struct mutex *m)
{
	lock_word_access(t, &m->line_cpu, &m->dep);
	hw_rmw(t, &m->owner, sizeof(m->owner));
}

bool _mutex_trylock(struct sim_task *t, struct mutex *m, const char *site)
{
	sim_sync(t);
	owner_rmw(t, m);
	if (m->owner || (m->owner_flags & MUTEX_FLAG_HANDOFF))
		return false;
	m->owner = t;
	lock_acquired(t, &m->dep, LS_WRITE, site, 0, 0);
	return true;
}

static void mutex_sleep(struct sim_task *t, struct mutex *m, sim_time_t *slept)
{
	sched_switch_out(t, m->dep.class->name);
	sim_time_t t0 = t->now;
	sim_park(t, m->dep.class->name);
	*slept += t->now - t0;
	t->stats.sleep_wait += t->now - t0;
	sched_switch_in(t);
}

bool _mutex_lock(struct sim_task *t, struct mutex *m, const char *site)
{
	sim_sync(t);
	sim_bug_on(m->owner == t); /* recursive locking: a self-deadlock */
	lockdep_acquire(t, &m->dep, site);
	sim_time_t t0 = t->now;
	owner_rmw(t, m);
	if (!m->owner && !m->owner_flags) {
		m->owner = t;
		lock_acquired(t, &m->dep, LS_WRITE, site, 0, 0);
		return false;
	}
	/* A free lock without HANDOFF goes to whoever comes, sleepers or not. */
	if (!m->owner && !(m->owner_flags & MUTEX_FLAG_HANDOFF)) {
		m->owner = t;
		lock_acquired(t, &m->dep, LS_WRITE, site, t->now - t0, 0);
		return false;
	}
	lock_contended(t, &m->dep, LS_WRITE, site, m->owner);
	sim_time_t spun = 0, slept = 0;
	if (m->owner && m->owner->state == TASK_RUNNING && !m->owner->off_cpu &&
	    !(m->owner_flags & MUTEX_FLAG_HANDOFF)) {
		waitq_push(&m->osq, t, 0);
		sim_time_t s0 = t->now;
		sim_park(t, m->dep.class->name);
		spun = t->now - s0;
		t->stats.busy += spun;
		t->stats.spin += spun;
		if (m->owner == t) {
			owner_rmw(t, m);
			lock_acquired(t, &m->dep, LS_WRITE, site, t->now - t0, 0);
			return true;
		}
	}
	/* The spin ended without the lock: the owner went off CPU or handed the lock to a
	 * waiter, and it may have been released since, with no waiter queued to be woken.
	 * __mutex_lock_common tries once more before it sleeps. */
	if (!m->owner && !(m->owner_flags & MUTEX_FLAG_HANDOFF)) {
		owner_rmw(t, m);
		m->owner = t;
		lock_acquired(t, &m->dep, LS_WRITE, site, spun, t->now - t0 - spun);
		return true;
	}
	hw_rmw(t, &m->wait_lock, sizeof(m->wait_lock));
	waitq_push(&m->wait_list, t, 0);
	m->owner_flags |= MUTEX_FLAG_WAITERS;
	hw_store(t, &m->wait_lock, sizeof(m->wait_lock));
	/* __mutex_trylock once queued, before schedule (__mutex_lock_common): the owner may
	 * have released the lock while we stopped spinning and queued, seeing no waiter to
	 * wake. */
	if (!m->owner && !(m->owner_flags & MUTEX_FLAG_HANDOFF) && m->wait_list.head == t) {
		owner_rmw(t, m);
		m->owner = t;
		waitq_pop(&m->wait_list);
		if (!m->wait_list.head)
			m->owner_flags &= ~MUTEX_FLAG_WAITERS;
		lock_acquired(t, &m->dep, LS_WRITE, site, spun, t->now - t0 - spun);
		return true;
	}
	for (;;) {
		mutex_sleep(t, m, &slept);
		t->wait_flags++; /* wake-ups of this waiter */
		if (m->owner == t) { /* handed over to us: pick it up */
			owner_rmw(t, m);
			m->owner_flags &= ~MUTEX_FLAG_PICKUP;
			break;
		}
		sim_bug_on(m->wait_list.head != t); /* only the first waiter is woken */
		hw_rmw(t, &m->wait_lock, sizeof(m->wait_lock));
		owner_rmw(t, m);
		if (!m->owner && !(m->owner_flags & MUTEX_FLAG_HANDOFF)) {
			m->owner = t;
			waitq_pop(&m->wait_list);
			if (!m->wait_list.head)
				m->owner_flags &= ~MUTEX_FLAG_WAITERS;
			hw_store(t, &m->wait_lock, sizeof(m->wait_lock));
			break;
		}
		/* Lost the race after being woken: ask for a direct hand-off. */
		m->owner_flags |= MUTEX_FLAG_HANDOFF;
		hw_store(t, &m->wait_lock, sizeof(m->wait_lock));
	}
	lock_acquired(t, &m->dep, LS_WRITE, site, spun, t->now - t0 - spun);
	return true;
}

void mutex_unlock(struct sim_task *t, struct mutex *m)
{
	sim_sync(t);
	sim_bug_on(m->owner != t);
	lock_released(t, &m->dep);
	owner_rmw(t, m);
	if (m->owner_flags & MUTEX_FLAG_HANDOFF) {
		/* __mutex_handoff: the first waiter asked for it. */
		hw_rmw(t, &m->wait_lock, sizeof(m->wait_lock));
		struct sim_task *w = waitq_pop(&m->wait_list);
		sim_bug_on(!w);
		m->owner = w;
		m->owner_flags = (m->owner_flags & ~MUTEX_FLAG_HANDOFF) | MUTEX_FLAG_PICKUP;
		if (!m->wait_list.head)
			m->owner_flags &= ~MUTEX_FLAG_WAITERS;
		m->dep.class->handoffs++;
		hw_store(t, &m->wait_lock, sizeof(m->wait_lock));
		if (w->state == TASK_PARKED)
			sync_wake_sleeper(t, w);
		/* The new owner is asleep until it picks the lock up: spinners stop. */
		struct sim_task *k;
		while ((k = waitq_pop(&m->osq)))
			sync_wake_spinner(t, k, &m->owner);
		return;
	}
	m->owner = NULL;
	struct sim_task *s = waitq_pop(&m->osq);
	if (s) {
		/* The first spinner sees the release one transfer later: long before a
		 * sleeper could be woken. */
		m->owner = s;
		m->dep.class->handoffs++;
		lock_count_transfer(&m->dep, 1);
		m->line_cpu = s->cpu;
		sync_wake_spinner(t, s, &m->owner);
	}
	if (m->owner_flags & MUTEX_FLAG_WAITERS) {
		hw_rmw(t, &m->wait_lock, sizeof(m->wait_lock));
		struct sim_task *w = m->wait_list.head;
		if (w && w->state == TASK_PARKED) {
			hw_rmw(t, &w->wait_flags, sizeof(w->wait_flags)); /* wake_q_add */
			sync_wake_sleeper(t, w);
		}
		hw_store(t, &m->wait_lock, sizeof(m->wait_lock));
	}
}
