/*
 * spinlock_t as the kernel's queued spinlock (x86-64 qspinlock), and a ticket lock to
 * compare it with.  Spec: ../shared/reference/kernel-algorithms.md §H.2; behaviour, costs
 * and sources in docs/locking-primitives.md.
 *
 * The lock word is the kernel's: locked byte [0:7], pending [8], tail [16:31] = (CPU + 1,
 * nesting index) of the last MCS node queued.  The MCS nodes are per-CPU arrays of four, one
 * 64-byte line per CPU, as the kernel's qnodes.  Waiters spin with preemption off, so their
 * waiting is busy time; in the simulator they park and the protocol step that would end
 * their spin unparks them, charging the cache-line transfer they would have observed.
 * Nothing polls.
 *
 * Call sites: spin_lock(t, l) records the caller's function as the contention point.
 */
#ifndef MMSIM_SPINLOCK_H
#define MMSIM_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include "waitq.h"
#include "lockstat.h"
#include "die.h"

#define _Q_LOCKED_VAL    (1U << 0)
#define _Q_PENDING_VAL   (1U << 8)
#define _Q_TAIL_IDX_OFFSET 16
#define _Q_TAIL_CPU_OFFSET 18
#define _Q_TAIL_MASK     (~0U << _Q_TAIL_IDX_OFFSET)
#define MAX_NODES 4           /* task, softirq, hardirq, NMI */

struct qspinlock {
	uint32_t val;
};

struct mcs_spinlock {
	struct mcs_spinlock *next;
	int locked;               /* 1: the predecessor has made us the queue head */
	int count;                /* nesting level, in node 0 of each CPU */
};

struct spinlock {
	struct qspinlock raw;     /* the simulated lock word (its line is the lock's line) */
	/* Model bookkeeping, not simulated memory: */
	struct sim_task *owner;   /* holder (what CONFIG_DEBUG_SPINLOCK records) */
	struct sim_task *pending; /* the waiter that set the pending bit */
	struct sim_task *last_owner;
	struct mcs_spinlock *qhead; /* the queue head, spinning on the lock word */
	int line_cpu;             /* CPU that last wrote the lock word, for transfer counts */
	struct lockdep_map dep;
};

void spin_lock_init(struct spinlock *l, const char *name);
void _spin_lock(struct sim_task *t, struct spinlock *l, const char *site);
bool _spin_trylock(struct sim_task *t, struct spinlock *l, const char *site);
void spin_unlock(struct sim_task *t, struct spinlock *l);
#define spin_lock(t, l) _spin_lock(t, l, __func__)
#define spin_trylock(t, l) _spin_trylock(t, l, __func__)

static inline bool spin_is_held_by(const struct spinlock *l, const struct sim_task *t)
{
	return l->owner == t;
}

static inline void spin_assert_held(const struct sim_task *t, const struct spinlock *l)
{
	sim_bug_on(l->owner != t);
}

/* Held, or waited for: a lock in this state must not be freed. */
static inline bool spin_is_busy(const struct spinlock *l)
{
	return l->owner || l->raw.val;
}

/*
 * Ticket lock (x86 before 4.2): take a ticket with one xadd, spin until `head` reaches it.
 * Every waiter spins on the lock's own line, so each release is observed by all of them:
 * the line is handed to each spinner in turn, and the next owner is served on average
 * halfway through (Boyd-Wickizer et al., "Non-scalable locks are dangerous", OLS 2012).
 */
struct ticket_spinlock {
	uint16_t head, next;      /* simulated word */
	struct sim_task *owner;
	struct waitq waiters;     /* in ticket order */
	int line_cpu;
	struct lockdep_map dep;
};

void ticket_lock_init(struct ticket_spinlock *l, const char *name);
void _ticket_lock(struct sim_task *t, struct ticket_spinlock *l, const char *site);
void ticket_unlock(struct sim_task *t, struct ticket_spinlock *l);
#define ticket_lock(t, l) _ticket_lock(t, l, __func__)

#endif
