/*
 * RCU (tree RCU, non-preemptible flavour, as CONFIG_PREEMPT_NONE x86-64 kernels run it):
 * read-side sections, quiescent states, grace periods across the simulated CPUs,
 * call_rcu callbacks batched per CPU, synchronize_rcu, and poisoning of objects freed
 * through RCU so that an access after their grace period is caught.
 * Spec: ../shared/reference/kernel-algorithms.md §H.4; docs/locking-primitives.md.
 *
 * Read side: rcu_read_lock/unlock only touch the task's own nesting count (the kernel's
 * preempt count): no shared store, no simulator call.  Quiescent states: return to user
 * (sim/workload.c after every task-program operation and every fault), a context switch
 * (a task going to sleep on a lock or in synchronize_rcu), the idle loop (a program's
 * sleep), and a task that has ended.  Spinning with preemption off is not quiescent.
 *
 * Two ways to detect the end of a grace period (rcu_init mode):
 *  RCU_TICK       the kernel's normal path: CPUs note quiescent states as they pass them
 *                 and the GP kthread (rcu_gp_kthread, a daemon) checks once per tick
 *                 (scheduling-clock interrupt, HZ=1000 -> 1 ms by default), so grace
 *                 periods last one to a few ticks;
 *  RCU_EXPEDITED  synchronize_rcu_expedited: at GP start every CPU is sent an IPI; a CPU
 *                 outside a read-side section reports at once (one IPI round trip), a CPU
 *                 inside reports at its outermost rcu_read_unlock.  No kthread.
 */
#ifndef MMSIM_RCU_H
#define MMSIM_RCU_H

#include <stdbool.h>
#include "waitq.h"
#include "lockstat.h"

enum rcu_mode { RCU_TICK, RCU_EXPEDITED };

struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct sim_task *t, struct rcu_head *head);
	unsigned long gp_snap;      /* gp_seq value after which it may run */
};

struct rcu_cpu {                    /* struct rcu_data */
	struct sim_task *task;      /* the task running on this CPU */
	sim_time_t qs_at;           /* ps, first quiescent state in the current GP, or MAX */
	sim_time_t last_qs_at;      /* ps, latest quiescent state passed */
	sim_time_t idle_from, idle_until; /* ps, last idle period (extended QS) */
	struct rcu_head *cbs, **cbs_tail; /* callbacks, in call order */
	unsigned long nr_cbs;
};

struct rcu_stats {
	uint64_t gps;                       /* grace periods completed */
	struct lock_time gp;                /* GP start -> end */
	struct lock_time sync;              /* synchronize_rcu call -> return */
	uint64_t callbacks, batches, max_batch;
	uint64_t ipis;                      /* expedited IPIs sent */
	uint64_t poison_hits;               /* accesses to objects after their GP */
};

struct rcu_state {
	enum rcu_mode mode;
	sim_time_t tick;            /* ps */
	unsigned long gp_seq;       /* low bit set: a GP is in progress */
	unsigned long gp_seq_needed; /* highest gp_seq value anyone waits for */
	sim_time_t gp_start;
	int ncpus;
	int pending;                /* CPUs that have not reported in the current GP */
	struct rcu_cpu *cpu;
	struct waitq sync_waiters;  /* synchronize_rcu callers; wait_flags unused */
	struct rcu_stats stats;
	char *violation;            /* first access after a grace period, or NULL */
};

/* The simulation's RCU, NULL until rcu_init: the return-to-user hook is then free. */
extern struct rcu_state *rcu;

void rcu_init(enum rcu_mode mode, double tick_ns, int ncpus);
/* Declare the task running on t->cpu (one per CPU). */
void rcu_register(struct sim_task *t);
/* The GP kthread body for RCU_TICK: spawn it as a daemon. */
void rcu_gp_kthread(struct sim_task *t, void *arg);

static inline void rcu_read_lock(struct sim_task *t)
{
	if (t->rcu_nesting++ == 0)
		t->rcu_lock_at = t->now;
}

void rcu_read_unlock_special(struct sim_task *t);

static inline void rcu_read_unlock(struct sim_task *t)
{
	if (--t->rcu_nesting == 0) {
		t->rcu_unlock_at = t->now;
		if (rcu && (rcu->gp_seq & 1) && rcu->mode == RCU_EXPEDITED)
			rcu_read_unlock_special(t);
	}
}

static inline bool rcu_read_lock_held(const struct sim_task *t)
{
	return t->rcu_nesting > 0;
}

/* Quiescent-state hooks. */
void rcu_qs(struct sim_task *t);                 /* return to user, context switch */
static inline void rcu_user_return(struct sim_task *t)
{
	if (rcu && ((rcu->gp_seq & 1) || rcu->cpu[t->cpu].nr_cbs))
		rcu_qs(t);
}
void rcu_idle_enter(struct sim_task *t);
void rcu_idle_exit(struct sim_task *t);
/* A task about to sleep (it must not be in a read-side section) / woken up again; called
 * through sched_switch_out / sched_switch_in (models/sync/sched.h). */
void rcu_note_context_switch(struct sim_task *t);
void rcu_note_wakeup(struct sim_task *t);

/* Wait for a full grace period; the caller sleeps. */
void synchronize_rcu(struct sim_task *t);
void call_rcu(struct sim_task *t, struct rcu_head *head,
	      void (*func)(struct sim_task *t, struct rcu_head *head));
/* Free obj (size bytes) after a grace period: it is then poisoned, not returned. */
void kfree_rcu(struct sim_task *t, void *obj, size_t size);
/* Free obj now, after the caller waited for a grace period itself (synchronize_rcu). */
void rcu_free_poisoned(struct sim_task *t, void *obj, size_t size);

/*
 * The check the invariant checker uses.  rcu_obj_freed: was p (given to kfree_rcu or
 * rcu_free_poisoned) freed?  rcu_check_access(t, p): t reads p now; false, and the first
 * such event recorded in rcu->violation, if p was freed at or before t's clock.  The
 * check is made in simulated time both ways: an access checked before the free is
 * applied but stamped later than it is reported when the free happens.
 */
bool rcu_obj_freed(const void *p);
bool rcu_check_access(struct sim_task *t, const void *p, const char *what);

#define RCU_POISON_BYTE 0x6b        /* the slab allocator's POISON_FREE */

#endif
