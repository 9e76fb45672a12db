/*
 * percpu_rw_semaphore (kernel/locking/percpu-rwsem.c, kernel/rcu/sync.c; Linux 6.x): a
 * reader-biased lock whose read side, while no writer is around, only increments a
 * per-CPU counter on the reader's own cache line.  A writer first switches readers to the
 * slow path with rcu_sync_enter, which costs a full RCU grace period, then sets `block`,
 * then waits (rcuwait) until the per-CPU counts sum to zero.  Readers that see `block` back
 * out and queue FIFO with writers; the releasing writer grants the queue in order (readers
 * until the first writer, inclusive) and lets rcu_sync return readers to the fast path one
 * grace period later (call_rcu).
 * Costs: fast read lock/unlock = a load of the rcu_sync state and a store to the CPU's own
 * counter line, inside an RCU read-side section (the kernel's preempt_disable); the writer
 * sums every CPU's counter line; sleepers resume machine->hw.wakeup after being woken.
 * Needs RCU (models/sync/rcu.h) initialised.
 */
#ifndef MMSIM_PERCPU_RWSEM_H
#define MMSIM_PERCPU_RWSEM_H

#include <stdbool.h>
#include "waitq.h"
#include "lockstat.h"
#include "rcu.h"
#include "rcuwait.h"
#include "die.h"

enum { GP_IDLE, GP_ENTER, GP_PASSED, GP_EXIT, GP_REPLAY };

struct rcu_sync {
	int gp_state;               /* simulated word read by every reader */
	int gp_count;               /* writers inside */
	struct waitq gp_wait;       /* writers waiting for GP_PASSED */
	struct rcu_head cb_head;
};

struct percpu_read_count {
	unsigned int count;
} __attribute__((aligned(64)));     /* one line per CPU, as alloc_percpu places them */

struct percpu_rw_semaphore {
	struct rcu_sync rss;
	struct percpu_read_count *read_count; /* [ncpus] */
	int ncpus;
	struct rcuwait writer;
	int block;                  /* simulated word: a writer holds or is taking the lock */
	struct waitq waiters;       /* readers and writers, FIFO; wait_flags 1 = reader */
	struct lockdep_map dep;
	uint64_t fast_reads, slow_reads; /* model statistics */
};

void percpu_init_rwsem(struct percpu_rw_semaphore *sem, const char *name, int ncpus);
bool _percpu_down_read(struct sim_task *t, struct percpu_rw_semaphore *sem, const char *site);
void percpu_up_read(struct sim_task *t, struct percpu_rw_semaphore *sem);
bool _percpu_down_write(struct sim_task *t, struct percpu_rw_semaphore *sem, const char *site);
void percpu_up_write(struct sim_task *t, struct percpu_rw_semaphore *sem);
#define percpu_down_read(t, s) _percpu_down_read(t, s, __func__)

static inline void percpu_rwsem_assert_held(const struct sim_task *t,
					    const struct percpu_rw_semaphore *sem)
{
	sim_bug_on(!lockdep_is_held(t, &sem->dep));
}
#define percpu_down_write(t, s) _percpu_down_write(t, s, __func__)

#endif
