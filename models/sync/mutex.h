/*
 * struct mutex (kernel/locking/mutex.c, Linux 6.x): the sleeping lock some seeds use for
 * anon_vma and i_mmap in place of an rwsem.  The owner word is the holder's task pointer
 * plus flags: WAITERS (someone sleeps on the wait list), HANDOFF (the first waiter lost a
 * race after being woken and asks for the lock to be handed to it), PICKUP (the lock was
 * handed over and waits for that waiter).  Rules modelled:
 *  - fast path: cmpxchg of a zero owner word to the caller;
 *  - a free lock (no holder, no HANDOFF) is taken by whoever comes, even past sleepers;
 *  - optimistic spinning while the owner runs (park in an OSQ list; the unlocker hands the
 *    lock to the first spinner, who sees the release one line transfer later);
 *  - waiters sleep FIFO; an unlock wakes the first one, which must then win the lock; if it
 *    loses it sets HANDOFF at once (no timeout, unlike rwsem) and the next unlock hands the
 *    lock to it directly (__mutex_handoff).
 * Costs: one atomic on the owner word per lock/unlock; wait_lock as an atomic and a store;
 * a woken sleeper resumes machine->hw.wakeup later.
 */
#ifndef MMSIM_MUTEX_H
#define MMSIM_MUTEX_H

#include <stdbool.h>
#include "waitq.h"
#include "lockstat.h"
#include "die.h"

#define MUTEX_FLAG_WAITERS 0x01UL
#define MUTEX_FLAG_HANDOFF 0x02UL
#define MUTEX_FLAG_PICKUP  0x04UL

struct mutex {
	unsigned long owner_flags;  /* simulated word: the MUTEX_FLAG_* bits */
	struct sim_task *owner;     /* simulated word: the task part */
	int wait_lock;
	/* Model bookkeeping: */
	struct waitq wait_list;     /* sleepers, FIFO; wait_flags counts their wake-ups */
	struct waitq osq;           /* optimistic spinners */
	int line_cpu;
	struct lockdep_map dep;
} __attribute__((aligned(64)));

void mutex_init(struct mutex *m, const char *name);
/* True if the caller had to wait. */
bool _mutex_lock(struct sim_task *t, struct mutex *m, const char *site);
bool _mutex_trylock(struct sim_task *t, struct mutex *m, const char *site);
void mutex_unlock(struct sim_task *t, struct mutex *m);
#define mutex_lock(t, m) _mutex_lock(t, m, __func__)
#define mutex_trylock(t, m) _mutex_trylock(t, m, __func__)

static inline bool mutex_is_locked(const struct mutex *m)
{
	return m->owner != NULL;
}

static inline bool mutex_is_held_by(const struct mutex *m, const struct sim_task *t)
{
	return m->owner == t;
}

static inline void mutex_assert_held(const struct sim_task *t, const struct mutex *m)
{
	sim_bug_on(m->owner != t);
}

#endif
