/*
 * rw_semaphore (see rwsem.h).  Sources: kernel/locking/rwsem.c of Linux 6.x, in particular
 * the v5.11 series by Waiman Long ("locking/rwsem: Remove reader
 * optimistic spinning", "locking/rwsem: Enable reader optimistic lock
 * stealing") and "locking/rwsem: Make handoff bit handling more consistent"
 * (v6.0); spec ../shared/reference/kernel-algorithms.md §H.3.
 *
 * Costs: every count operation is an atomic on the count's line (hw_rmw on &sem->count),
 * readers also store the owner word; wait_lock is charged as an atomic plus a store on its
 * word (its own contention is not modelled).  Waking a sleeper costs the waker an atomic
 * (wake_q_add) and the sleeper resumes machine->hw.wakeup later; a spinner observes the
 * change after one line transfer (hw_handoff).
 *
 * Optimistic spinning is park-and-hand-over: a writer that may spin (the owner is a
 * running writer) joins the OSQ list and parks; the releasing writer hands the lock to the
 * OSQ head directly (it would see the release one transfer later, long before a sleeper
 * could be woken), or, if the lock goes to queued readers, kicks every spinner into the
 * sleeping slow path, as rwsem_spin_on_owner() does when the owner becomes a reader.
 * On a reader-owned lock the OSQ head spins with a deadline (sim_park_timeout): the last
 * reader's release hands it the lock; if the rspin threshold (10.5-25 us) runs out first it
 * marks the lock non-spinnable and every spinner queues and sleeps.
 * A writer owner that goes off CPU (sched_switch_out) sends its spinners to sleep.
 */
#include <stddef.h>
#include "rwsem.h"
#include "sync.h"
#include "sched.h"
#include "rcu.h"
#include "hw/hw.h"
#include "die.h"

enum { RWSEM_WAITING_FOR_WRITE, RWSEM_WAITING_FOR_READ };
enum rwsem_wake_type { RWSEM_WAKE_ANY, RWSEM_WAKE_READERS, RWSEM_WAKE_READ_OWNED };

struct rwsem_waiter {
	struct rwsem_waiter *next, *prev;
	struct sim_task *task;       /* cleared by the waker when a reader is granted */
	struct sim_task *me;
	int type;
	sim_time_t timeout;          /* ps */
	bool handoff_set;
	bool spinning;               /* handoff_set writer spinning on the owner */
	sim_time_t spin, sleep;      /* ps waited, by kind */
};

static void rwsem_owner_sleeps(struct sim_task *t, struct lockdep_map *map);

void init_rwsem(struct rw_semaphore *sem, const char *name)
{
	*sem = (struct rw_semaphore){ .line_cpu = -1 };
	lockdep_init_map(&sem->dep, name, true);
	sem->dep.owner_sleeps = rwsem_owner_sleeps;
}

static void count_rmw(struct sim_task *t, struct rw_semaphore *sem)
{
	lock_word_access(t, &sem->line_cpu, &sem->dep);
	hw_rmw(t, &sem->count, sizeof(sem->count));
}

static void wait_lock(struct sim_task *t, struct rw_semaphore *sem)
{
	hw_rmw(t, &sem->wait_lock, sizeof(sem->wait_lock));
}

static void wait_unlock(struct sim_task *t, struct rw_semaphore *sem)
{
	hw_store(t, &sem->wait_lock, sizeof(sem->wait_lock));
}

static void set_reader_owned(struct sim_task *t, struct rw_semaphore *sem)
{
	hw_store(t, &sem->owner, sizeof(sem->owner));
	sem->owner = t;
	sem->reader_owned = true;
}

static void set_writer_owned(struct sim_task *t, struct rw_semaphore *sem)
{
	hw_store(t, &sem->owner, sizeof(sem->owner));
	sem->owner = t;
	sem->reader_owned = false;
	sem->nonspinnable = false;
}

static void add_waiter(struct rw_semaphore *sem, struct rwsem_waiter *w)
{
	w->next = NULL;
	w->prev = sem->last;
	if (sem->last)
		sem->last->next = w;
	else
		sem->first = w;
	sem->last = w;
	sem->nr_waiters++;
}

static void unlink_waiter(struct rw_semaphore *sem, struct rwsem_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		sem->first = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		sem->last = w->prev;
	w->next = w->prev = NULL;
	sem->nr_waiters--;
}

/* rwsem_del_waiter: the last waiter leaving clears WAITERS and HANDOFF. */
static void del_waiter(struct rw_semaphore *sem, struct rwsem_waiter *w)
{
	unlink_waiter(sem, w);
	if (!sem->first)
		sem->count &= ~(RWSEM_FLAG_WAITERS | RWSEM_FLAG_HANDOFF);
}

/* Wake a parked waiter (no-op if already woken and not yet back asleep). */
static void wake_waiter(struct sim_task *t, struct rw_semaphore *sem, struct rwsem_waiter *w)
{
	struct sim_task *tsk = w->me;
	if (tsk->state != TASK_PARKED)
		return;
	hw_rmw(t, &tsk->wait_flags, sizeof(tsk->wait_flags)); /* wake_q_add */
	if (w->spinning)
		sync_wake_spinner(t, tsk, &sem->count);
	else
		sync_wake_sleeper(t, tsk);
}

static bool owner_running_writer(const struct rw_semaphore *sem)
{
	return (sem->count & RWSEM_WRITER_LOCKED) && !sem->reader_owned && sem->owner &&
	       sem->owner->state == TASK_RUNNING && !sem->owner->off_cpu;
}

/* What an optimistic spinner finds when it is unparked without the lock. */
enum { SPIN_STOP = 1, SPIN_REEVALUATE = 2 };

/*
 * A spinner still queued but no longer parked is the OSQ head whose bounded spin on
 * readers just timed out: it resumes (and syncs, letting others run) before it can leave
 * the queue, and leaves on its own, so it must not be woken or handed the lock.
 */
static bool spinner_leaving(const struct sim_task *s)
{
	return s->state != TASK_PARKED;
}

static void wake_spinner(struct sim_task *t, struct rw_semaphore *sem, struct sim_task *s,
			 unsigned why)
{
	if (spinner_leaving(s))
		return;
	s->wait_flags = why;
	sync_wake_spinner(t, s, &sem->count);
}

/* Send every optimistic spinner to the sleeping slow path. */
static void kick_spinners(struct sim_task *t, struct rw_semaphore *sem)
{
	struct sim_task *s;
	while ((s = waitq_pop(&sem->osq)))
		wake_spinner(t, sem, s, SPIN_STOP);
}

/* The writer owner goes off CPU: rwsem_spin_on_owner sees it and the spinners give up. */
static void rwsem_owner_sleeps(struct sim_task *t, struct lockdep_map *map)
{
	struct rw_semaphore *sem = (struct rw_semaphore *)((char *)map -
							   offsetof(struct rw_semaphore, dep));
	if (rwsem_is_write_locked_by(sem, t))
		kick_spinners(t, sem);
}

/*
 * The lock has no lockers: the OSQ head, spinning, sees it one transfer later and takes
 * it with rwsem_try_write_lock_unqueued (HANDOFF forbids it).  Returns true if it did.
 */
static bool spinner_takes_free_lock(struct sim_task *t, struct rw_semaphore *sem)
{
	struct sim_task *s = sem->osq.head;
	if (!s || spinner_leaving(s) || (sem->count & (RWSEM_LOCK_MASK | RWSEM_FLAG_HANDOFF)))
		return false;
	waitq_pop(&sem->osq);
	sem->count |= RWSEM_WRITER_LOCKED;
	sem->owner = s;
	sem->reader_owned = false;
	sem->nonspinnable = false; /* rwsem_set_owner rewrites the whole owner word */
	sem->dep.class->handoffs++;
	lock_count_transfer(&sem->dep, 1);
	sem->line_cpu = s->cpu;
	sync_wake_spinner(t, s, &sem->count);
	return true;
}

/* rwsem_rspin_threshold: how long a writer spins on readers, 10.5 to 25 us. */
static sim_time_t rspin_threshold(const struct rw_semaphore *sem)
{
	unsigned long readers = rwsem_readers(sem);
	if (readers > 30)
		readers = 30;
	return (sim_time_t)(20 + readers) * PS_PER_US / 2;
}

/*
 * rwsem_mark_wake: wake the writer at the head (not granted), or grant the lock to every
 * queued reader (up to MAX_READERS_WAKEUP), even those behind writers.
 */
static void mark_wake(struct sim_task *t, struct rw_semaphore *sem, enum rwsem_wake_type type)
{
	struct rwsem_waiter *w = sem->first;
	unsigned long oldcount = 0, adjustment = 0;

	if (!w)
		return;
	if (w->type == RWSEM_WAITING_FOR_WRITE) {
		if (type == RWSEM_WAKE_ANY)
			wake_waiter(t, sem, w);
		return;
	}
	if (sem->count & RWSEM_FLAG_READFAIL)
		return;
	if (type != RWSEM_WAKE_READ_OWNED) {
		adjustment = RWSEM_READER_BIAS;
		count_rmw(t, sem);
		oldcount = sem->count;
		sem->count += adjustment;
		if (oldcount & RWSEM_WRITER_MASK) {
			/* A writer stole the lock: after waiting too long, force a hand-off. */
			if (t->now > w->timeout) {
				if (!(oldcount & RWSEM_FLAG_HANDOFF))
					sem->count |= RWSEM_FLAG_HANDOFF;
				w->handoff_set = true;
			}
			sem->count -= adjustment;
			return;
		}
		/* __rwsem_set_reader_owned(sem, waiter->task), by the waker */
		hw_store(t, &sem->owner, sizeof(sem->owner));
		sem->owner = w->me;
		sem->reader_owned = true;
	}
	unsigned woken = 0;
	struct rwsem_waiter *granted[MAX_READERS_WAKEUP];
	for (struct rwsem_waiter *x = sem->first, *nx; x && woken < MAX_READERS_WAKEUP; x = nx) {
		nx = x->next;
		if (x->type == RWSEM_WAITING_FOR_WRITE)
			continue;
		unlink_waiter(sem, x);
		granted[woken++] = x;
	}
	long adj = (long)woken * (long)RWSEM_READER_BIAS - (long)adjustment;
	sem->count += (unsigned long)adj;
	if (!sem->first)
		sem->count &= ~(RWSEM_FLAG_WAITERS | RWSEM_FLAG_HANDOFF);
	else if (woken)
		sem->count &= ~RWSEM_FLAG_HANDOFF;
	if (adj)
		count_rmw(t, sem);
	for (unsigned i = 0; i < woken; i++) {
		granted[i]->task = NULL; /* smp_store_release(&waiter->task, NULL) */
		wake_waiter(t, sem, granted[i]);
	}
}

static void rwsem_wake(struct sim_task *t, struct rw_semaphore *sem)
{
	wait_lock(t, sem);
	if (sem->first)
		mark_wake(t, sem, RWSEM_WAKE_ANY);
	wait_unlock(t, sem);
}

/* rwsem_cond_wake_waiter */
static void cond_wake_waiter(struct sim_task *t, struct rw_semaphore *sem)
{
	if (sem->count & RWSEM_WRITER_MASK)
		return;
	if (sem->count & RWSEM_READER_MASK) {
		mark_wake(t, sem, RWSEM_WAKE_READERS);
	} else {
		sem->nonspinnable = false; /* clear_nonspinnable */
		mark_wake(t, sem, RWSEM_WAKE_ANY);
	}
}

/* Park until woken; the time counts as spinning or sleeping. */
static void waiter_park(struct sim_task *t, struct rw_semaphore *sem, struct rwsem_waiter *w)
{
	sim_time_t t0 = t->now;
	if (!w->spinning)
		sched_switch_out(t, sem->dep.class->name);
	sim_park(t, sem->dep.class->name);
	if (!w->spinning)
		sched_switch_in(t);
	sim_time_t d = t->now - t0;
	if (w->spinning) {
		w->spin += d;
		t->stats.busy += d;
		t->stats.spin += d;
	} else {
		w->sleep += d;
		t->stats.sleep_wait += d;
	}
}

/* ---- readers ---- */

bool _down_read_trylock(struct sim_task *t, struct rw_semaphore *sem, const char *site)
{
	sim_sync(t);
	count_rmw(t, sem); /* cmpxchg loop: one successful or failing atomic here */
	if (sem->count & RWSEM_READ_FAILED_MASK)
		return false;
	sem->count += RWSEM_READER_BIAS;
	set_reader_owned(t, sem);
	lock_acquired(t, &sem->dep, LS_READ, site, 0, 0);
	return true;
}

static bool down_read_slowpath(struct sim_task *t, struct rw_semaphore *sem, const char *site,
			       sim_time_t t0)
{
	unsigned long count = sem->count;
	unsigned long rcnt = (count & ~RWSEM_FLAG_READFAIL) >> RWSEM_READER_SHIFT;
	unsigned long adjustment = (unsigned long)-RWSEM_READER_BIAS;

	/* A constant stream of readers must not starve a sleeping writer. */
	if (!(sem->reader_owned && rcnt > 1 && !(count & RWSEM_WRITER_LOCKED)) &&
	    !(count & (RWSEM_WRITER_LOCKED | RWSEM_FLAG_HANDOFF))) {
		/* Reader optimistic lock stealing. */
		set_reader_owned(t, sem);
		if (rcnt == 1 && (count & RWSEM_FLAG_WAITERS)) {
			wait_lock(t, sem);
			if (sem->first)
				mark_wake(t, sem, RWSEM_WAKE_READ_OWNED);
			wait_unlock(t, sem);
		}
		lock_acquired(t, &sem->dep, LS_READ, site, 0, 0);
		return false;
	}

	struct rwsem_waiter w = { .me = t, .task = t, .type = RWSEM_WAITING_FOR_READ,
				  .timeout = t0 + RWSEM_WAIT_TIMEOUT_PS };
	wait_lock(t, sem);
	if (!sem->first) {
		/* Empty queue and no writer: our bias already holds the lock. */
		if (!(sem->count & RWSEM_WRITER_MASK)) {
			wait_unlock(t, sem);
			set_reader_owned(t, sem);
			lock_acquired(t, &sem->dep, LS_READ, site, 0, 0);
			return false;
		}
		adjustment += RWSEM_FLAG_WAITERS;
	}
	add_waiter(sem, &w);
	count_rmw(t, sem);
	sem->count += adjustment;
	cond_wake_waiter(t, sem);
	wait_unlock(t, sem);

	lock_contended(t, &sem->dep, LS_READ, site, sem->reader_owned ? NULL : sem->owner);
	while (w.task)
		waiter_park(t, sem, &w);
	lock_acquired(t, &sem->dep, LS_READ, site, w.spin, t->now - t0 - w.spin);
	return true;
}

bool _down_read(struct sim_task *t, struct rw_semaphore *sem, const char *site)
{
	sim_sync(t);
	sim_bug_on(rwsem_is_write_locked_by(sem, t));
	lockdep_acquire(t, &sem->dep, site);
	sim_time_t t0 = t->now;
	count_rmw(t, sem);
	sem->count += RWSEM_READER_BIAS;
	if (!(sem->count & RWSEM_READ_FAILED_MASK)) {
		set_reader_owned(t, sem);
		lock_acquired(t, &sem->dep, LS_READ, site, 0, 0);
		return false;
	}
	return down_read_slowpath(t, sem, site, t0);
}

void up_read(struct sim_task *t, struct rw_semaphore *sem)
{
	sim_sync(t);
	sim_bug_on(rwsem_readers(sem) == 0 || (sem->count & RWSEM_WRITER_LOCKED));
	lock_released(t, &sem->dep);
	count_rmw(t, sem);
	sem->count -= RWSEM_READER_BIAS;
	unsigned long tmp = sem->count;
	spinner_takes_free_lock(t, sem);
	if ((tmp & (RWSEM_LOCK_MASK | RWSEM_FLAG_WAITERS)) == RWSEM_FLAG_WAITERS) {
		sem->nonspinnable = false; /* clear_nonspinnable */
		rwsem_wake(t, sem);
	}
}

/* ---- writers ---- */

bool _down_write_trylock(struct sim_task *t, struct rw_semaphore *sem, const char *site)
{
	sim_sync(t);
	count_rmw(t, sem);
	if (sem->count != 0)
		return false;
	sem->count = RWSEM_WRITER_LOCKED;
	set_writer_owned(t, sem);
	lock_acquired(t, &sem->dep, LS_WRITE, site, 0, 0);
	return true;
}

/* rwsem_try_write_lock, under wait_lock: the queued waiter's attempt. */
static bool try_write_lock(struct sim_task *t, struct rw_semaphore *sem, struct rwsem_waiter *w)
{
	struct rwsem_waiter *first = sem->first;
	unsigned long count = sem->count;

	count_rmw(t, sem);
	if ((count & RWSEM_FLAG_HANDOFF) && first->handoff_set && w != first)
		return false;
	if (count & RWSEM_LOCK_MASK) {
		if ((count & RWSEM_FLAG_HANDOFF) || t->now <= w->timeout)
			return false;
		sem->count |= RWSEM_FLAG_HANDOFF;
		first->handoff_set = true;
		return false;
	}
	sem->count = (count | RWSEM_WRITER_LOCKED) & ~RWSEM_FLAG_HANDOFF;
	if (sem->nr_waiters == 1)
		sem->count &= ~RWSEM_FLAG_WAITERS;
	del_waiter(sem, w);
	set_writer_owned(t, sem);
	return true;
}

/*
 * rwsem_optimistic_spin, once the lock was found taken: spin while the owner is a running
 * writer, or, on a reader-owned lock, until the rspin threshold runs out (then mark the
 * lock non-spinnable, as the kernel does, so later writers sleep at once).  Only the OSQ
 * head watches the owner; the others queue behind it.  True with the lock taken.
 */
static bool rwsem_optimistic_spin(struct sim_task *t, struct rw_semaphore *sem, sim_time_t *spun)
{
	sim_time_t rspin_deadline = 0;
	bool osq_head = false;      /* we hold the OSQ head's place (re-evaluating) */

	for (;;) {
		if (sem->nonspinnable || (sem->count & RWSEM_FLAG_HANDOFF))
			goto stop;
		if (!(sem->count & RWSEM_LOCK_MASK)) {
			/* rwsem_try_write_lock_unqueued */
			count_rmw(t, sem);
			sem->count |= RWSEM_WRITER_LOCKED;
			set_writer_owned(t, sem);
			return true;
		}
		bool timed = false;
		if (!sem->osq.head)
			osq_head = true;
		if (sem->count & RWSEM_WRITER_LOCKED) {
			if (!owner_running_writer(sem))
				goto stop;
		} else if (osq_head) {
			if (!rspin_deadline)
				rspin_deadline = t->now + rspin_threshold(sem);
			if (t->now >= rspin_deadline) {
				sem->nonspinnable = true;
				goto stop;
			}
			timed = true;
		}
		if (osq_head)
			waitq_push_front(&sem->osq, t, 0);
		else
			waitq_push(&sem->osq, t, 0);
		sim_time_t s0 = t->now;
		bool woken = timed ? sim_park_timeout(t, sem->dep.class->name, rspin_deadline) :
				     (sim_park(t, sem->dep.class->name), true);
		*spun += t->now - s0;
		t->stats.busy += t->now - s0;
		t->stats.spin += t->now - s0;
		if (!woken) {
			/* The readers outlasted the threshold: stop, and stop the others.  We
			 * may no longer be first (while we were away re-evaluating, a newcomer
			 * found the OSQ empty and took the head's place), or no longer queued
			 * (kicked while we resumed). */
			waitq_remove(&sem->osq, t);
			sem->nonspinnable = true;
			kick_spinners(t, sem);
			return false;
		}
		if (rwsem_is_write_locked_by(sem, t)) {
			count_rmw(t, sem); /* the cmpxchg that took it */
			return true;
		}
		if (t->wait_flags == SPIN_STOP)
			return false;
		/* SPIN_REEVALUATE: the owner changed (a writer left the lock to readers); we
		 * are still the OSQ head. */
		osq_head = true;
	}
stop:
	/* The OSQ head gives up: the spinners queued behind it give up too. */
	if (osq_head)
		kick_spinners(t, sem);
	return false;
}

static bool down_write_slowpath(struct sim_task *t, struct rw_semaphore *sem, const char *site,
				sim_time_t t0)
{
	struct sim_task *holder = sem->reader_owned ? NULL : sem->owner;
	sim_time_t spun = 0;

	/* Optimistic spinning: the lock is free of lockers (waiters may be queued), or the
	 * owner is a writer running on its CPU. */
	if (!(sem->count & (RWSEM_LOCK_MASK | RWSEM_FLAG_HANDOFF))) {
		count_rmw(t, sem);
		sem->count |= RWSEM_WRITER_LOCKED;
		set_writer_owned(t, sem);
		lock_acquired(t, &sem->dep, LS_WRITE, site, t->now - t0, 0);
		return false;
	}
	lock_contended(t, &sem->dep, LS_WRITE, site, holder);
	if (rwsem_optimistic_spin(t, sem, &spun)) {
		lock_acquired(t, &sem->dep, LS_WRITE, site, t->now - t0, 0);
		return true;
	}

	struct rwsem_waiter w = { .me = t, .task = t, .type = RWSEM_WAITING_FOR_WRITE,
				  .timeout = t0 + RWSEM_WAIT_TIMEOUT_PS, .spin = spun };
	wait_lock(t, sem);
	add_waiter(sem, &w);
	if (sem->first != &w) {
		cond_wake_waiter(t, sem);
	} else {
		count_rmw(t, sem);
		sem->count |= RWSEM_FLAG_WAITERS;
	}
	for (;;) {
		if (try_write_lock(t, sem, &w))
			break;
		wait_unlock(t, sem);
		/* After setting HANDOFF, spin on a running writer owner instead of sleeping. */
		w.spinning = w.handoff_set && owner_running_writer(sem);
		waiter_park(t, sem, &w);
		w.spinning = false;
		wait_lock(t, sem);
	}
	wait_unlock(t, sem);
	lock_acquired(t, &sem->dep, LS_WRITE, site, w.spin, t->now - t0 - w.spin);
	return true;
}

bool _down_write(struct sim_task *t, struct rw_semaphore *sem, const char *site)
{
	sim_sync(t);
	sim_bug_on(sem->owner == t && rwsem_is_locked(sem) && !sem->reader_owned);
	lockdep_acquire(t, &sem->dep, site);
	sim_time_t t0 = t->now;
	count_rmw(t, sem);
	if (sem->count == 0) {
		sem->count = RWSEM_WRITER_LOCKED;
		set_writer_owned(t, sem);
		lock_acquired(t, &sem->dep, LS_WRITE, site, 0, 0);
		return false;
	}
	return down_write_slowpath(t, sem, site, t0);
}

/*
 * After a writer let go: if readers now own the lock the OSQ head starts its bounded spin
 * on them; if nobody may take it (HANDOFF) spinning stops.
 */
static void spinners_after_release(struct sim_task *t, struct rw_semaphore *sem)
{
	if (!sem->osq.head || (sem->count & RWSEM_WRITER_LOCKED))
		return;
	if ((sem->count & RWSEM_READER_MASK) && !(sem->count & RWSEM_FLAG_HANDOFF))
		wake_spinner(t, sem, waitq_pop(&sem->osq), SPIN_REEVALUATE);
	else
		kick_spinners(t, sem);
}

void up_write(struct sim_task *t, struct rw_semaphore *sem)
{
	sim_sync(t);
	sim_bug_on(!rwsem_is_write_locked_by(sem, t));
	lock_released(t, &sem->dep);
	hw_store(t, &sem->owner, sizeof(sem->owner)); /* rwsem_clear_owner */
	sem->owner = NULL;
	count_rmw(t, sem);
	unsigned long tmp = sem->count;
	sem->count -= RWSEM_WRITER_LOCKED;

	/* An optimistic spinner sees the release one transfer later and takes the lock,
	 * unless HANDOFF reserves it or queued readers are granted it by our own wake-up
	 * below (their bias lands first). */
	bool readers_first = sem->first && sem->first->type == RWSEM_WAITING_FOR_READ;
	if (!readers_first)
		spinner_takes_free_lock(t, sem);
	if (tmp & RWSEM_FLAG_WAITERS)
		rwsem_wake(t, sem);
	spinners_after_release(t, sem);
}

void downgrade_write(struct sim_task *t, struct rw_semaphore *sem)
{
	sim_sync(t);
	sim_bug_on(!rwsem_is_write_locked_by(sem, t));
	/* lock_stat: the write hold ends here and a read hold begins. */
	lock_released(t, &sem->dep);
	wait_lock(t, sem);
	count_rmw(t, sem);
	unsigned long tmp = sem->count;
	sem->count += RWSEM_READER_BIAS - RWSEM_WRITER_LOCKED;
	set_reader_owned(t, sem);
	if (tmp & RWSEM_FLAG_WAITERS)
		mark_wake(t, sem, RWSEM_WAKE_READ_OWNED);
	wait_unlock(t, sem);
	spinners_after_release(t, sem);
	lock_acquired(t, &sem->dep, LS_READ, "downgrade_write", 0, 0);
}
