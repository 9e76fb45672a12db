/*
 * rw_semaphore with the kernel's count word and rules (kernel/locking/rwsem.c since
 * v5.11; spec ../shared/reference/kernel-algorithms.md §H.3; docs/locking-primitives.md):
 *  - count = WRITER_LOCKED | WAITERS | HANDOFF | readers * READER_BIAS; readers add their
 *    bias first and back out only if they must queue;
 *  - a reader gets the lock on the fast path only if no writer holds it and nobody is
 *    queued, so one queued writer stalls new readers and every trylock fails;
 *  - reader lock stealing: a reader that finds the lock free of writers and of HANDOFF
 *    keeps its bias even with waiters queued (unless readers already own it);
 *  - a writer spins optimistically while the owner is a running writer, or for at most
 *    10.5-25 us on readers (then the lock is marked non-spinnable), then queues and
 *    sleeps; sleeping waiters pay a wake-up latency;
 *  - a woken writer is not granted the lock: it must win the count, others may steal it;
 *    after RWSEM_WAIT_TIMEOUT (4 ms) the first waiter sets HANDOFF, which stops stealing;
 *  - a release wakes the writer at the head, or grants every queued reader;
 *  - downgrade turns the writer into a reader and wakes the readers.
 */
#ifndef MMSIM_RWSEM_H
#define MMSIM_RWSEM_H

#include <stdbool.h>
#include "waitq.h"
#include "lockstat.h"
#include "die.h"

#define RWSEM_WRITER_LOCKED  (1UL << 0)
#define RWSEM_FLAG_WAITERS   (1UL << 1)
#define RWSEM_FLAG_HANDOFF   (1UL << 2)
#define RWSEM_FLAG_READFAIL  (1UL << 63)
#define RWSEM_READER_SHIFT   8
#define RWSEM_READER_BIAS    (1UL << RWSEM_READER_SHIFT)
#define RWSEM_READER_MASK    (~(RWSEM_READER_BIAS - 1))
#define RWSEM_WRITER_MASK    RWSEM_WRITER_LOCKED
#define RWSEM_LOCK_MASK      (RWSEM_WRITER_MASK | RWSEM_READER_MASK)
#define RWSEM_READ_FAILED_MASK \
	(RWSEM_WRITER_MASK | RWSEM_FLAG_WAITERS | RWSEM_FLAG_HANDOFF | RWSEM_FLAG_READFAIL)
#define RWSEM_WAIT_TIMEOUT_PS (4 * PS_PER_MS) /* DIV_ROUND_UP(HZ, 250) jiffies */
#define MAX_READERS_WAKEUP 0x100

struct rwsem_waiter;

struct rw_semaphore {
	/* The simulated words, on the semaphore's own line(s). */
	unsigned long count;
	struct sim_task *owner;   /* writer, or the last reader when reader_owned */
	bool reader_owned;        /* RWSEM_READER_OWNED bit of the owner word */
	bool nonspinnable;        /* RWSEM_NONSPINNABLE bit: writers sleep at once */
	int wait_lock;            /* raw spinlock word: charged, not queued on */
	/* Model bookkeeping: */
	struct rwsem_waiter *first, *last;  /* wait_list, FIFO */
	unsigned nr_waiters;
	struct waitq osq;         /* optimistic spinners, in OSQ (MCS) order */
	int line_cpu;
	struct lockdep_map dep;   /* lock class */
} __attribute__((aligned(64)));

void init_rwsem(struct rw_semaphore *sem, const char *name);
/* Each returns true if the caller had to wait. */
bool _down_read(struct sim_task *t, struct rw_semaphore *sem, const char *site);
bool _down_write(struct sim_task *t, struct rw_semaphore *sem, const char *site);
bool _down_read_trylock(struct sim_task *t, struct rw_semaphore *sem, const char *site);
bool _down_write_trylock(struct sim_task *t, struct rw_semaphore *sem, const char *site);
void up_read(struct sim_task *t, struct rw_semaphore *sem);
void up_write(struct sim_task *t, struct rw_semaphore *sem);
void downgrade_write(struct sim_task *t, struct rw_semaphore *sem);
#define down_read(t, s) _down_read(t, s, __func__)
#define down_write(t, s) _down_write(t, s, __func__)
#define down_read_trylock(t, s) _down_read_trylock(t, s, __func__)
#define down_write_trylock(t, s) _down_write_trylock(t, s, __func__)

static inline bool rwsem_is_write_locked_by(const struct rw_semaphore *sem,
					    const struct sim_task *t)
{
	return (sem->count & RWSEM_WRITER_LOCKED) && sem->owner == t;
}

static inline bool rwsem_is_locked(const struct rw_semaphore *sem)
{
	return (sem->count & RWSEM_LOCK_MASK) != 0;
}

/* lockdep_assert_held / _write: t holds sem (a reader too: readers are tracked per task). */
static inline void rwsem_assert_held(const struct sim_task *t, const struct rw_semaphore *sem)
{
	sim_bug_on(!lockdep_is_held(t, &sem->dep));
}

static inline void rwsem_assert_held_write(const struct sim_task *t,
					   const struct rw_semaphore *sem)
{
	sim_bug_on(!rwsem_is_write_locked_by(sem, t));
}

static inline unsigned long rwsem_readers(const struct rw_semaphore *sem)
{
	return (sem->count & ~RWSEM_FLAG_READFAIL) >> RWSEM_READER_SHIFT;
}

static inline bool rwsem_has_waiters(const struct rw_semaphore *sem)
{
	return sem->first != NULL || sem->osq.head != NULL;
}

#endif
