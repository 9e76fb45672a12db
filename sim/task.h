/*
 * A simulated task: one SimGrid actor pinned to one simulated CPU, running either a Lua
 * task program or a C body (kernel threads, tests).  Each task carries its own clock:
 * `now` is the task's local simulated time, which runs ahead of SimGrid's clock by the
 * work it has charged but not yet had to synchronise (see sim/clock.h).
 *
 * This header has no engine dependency: model code and stub-clock unit tests include it.
 */
#ifndef MMSIM_TASK_H
#define MMSIM_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include "simtime.h"
#include "rng.h"
#include "stats.h"
#include "lockstat.h"

struct mm_struct;
struct machine;
struct hw_model;

enum task_state {
	TASK_RUNNING,   /* executing model code or waiting for its turn in simulated time */
	TASK_PARKED,    /* blocked on a modelled lock until another task hands it over */
	TASK_DEAD,      /* its program returned */
};

struct sim_task {
	int id;                 /* index in the engine's task table; also the horizon slot */
	int cpu;                /* simulated CPU it is pinned to (Linux numbering) */
	bool daemon;            /* kernel thread: killed when every user task has ended */
	bool drain;             /* daemon that is not killed: it stops by itself at a safe
				 * point once the user tasks have ended (khugepaged) */
	enum task_state state;
	const char *name;
	const char *blocked_on; /* lock class while parked, for deadlock reports */

	sim_time_t now;         /* ps, local clock */
	sim_time_t resume_at;   /* ps, set by whoever unparks us */
	sim_time_t deadline;    /* ps, end of the scenario's duration (SIM_TIME_MAX: none) */
	/* ps of interrupt handlers other CPUs made this one run (IPIs) while it was busy ahead
	 * in its own timeline: charged at its next sim_sync (see models/hw/tlb.c). */
	sim_time_t irq_debt;
	sim_time_t idle_from, idle_to; /* ps, its last explicit sleep (lazy TLB mode) */
	/* models/sync/irq.c: interrupts disabled now, and the current or last disabled
	 * section [irqs_off_from, irqs_on_at) (ps; equal when there was none); senders of
	 * IPIs blocked until local_irq_enable (struct irq_waiter *). */
	bool irqs_off;
	sim_time_t irqs_off_from, irqs_on_at;
	void *irq_waiters;

	struct sim_task *wait_next; /* FIFO link while queued on a modelled lock */
	unsigned wait_flags;        /* lock-private (e.g. reader or writer) */
	void *wait_private;         /* lock-private per-wait data (a GP snapshot, a grant) */
	struct lockdep_task lockdep; /* locks held, for lock_stat hold times and lockdep */
	int rcu_nesting;            /* rcu_read_lock depth (models/sync/rcu.c) */
	sim_time_t rcu_lock_at;     /* ps, outermost rcu_read_lock of the current section */
	sim_time_t rcu_unlock_at;   /* ps, end of the last read-side section */
	bool park_prepared;         /* sim_prepare_park called, sim_park not yet */
	bool off_cpu;               /* asleep, off its CPU: an RCU quiescent state, and a
				     * lock owner that optimistic spinners do not spin on */

	struct sim_rng rng;
	struct task_stats stats;
	struct mm_struct *mm;
	const struct machine *machine;
	struct hw_model *hw;    /* the run's hardware model state (models/hw/hw.h) */

	void *engine_private;   /* sim/engine.c: actor and park semaphore */
	void *program_private;  /* sim/workload.c: Lua thread */
};

#endif
