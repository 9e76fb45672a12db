/*
 * A task leaving and re-entering its CPU (the scheduler side the primitives need): going
 * off CPU is an RCU quiescent state (a context switch), and optimistic spinners on locks
 * the task holds stop spinning and sleep, as rwsem_spin_on_owner and mutex_spin_on_owner
 * stop when owner->on_cpu drops.  Every sleeping wait in models/sync/ goes through here.
 */
#ifndef MMSIM_SCHED_H
#define MMSIM_SCHED_H

#include "task.h"

/*
 * Going to sleep: the caller has published itself as a waiter (or is about to sleep in
 * synchronize_rcu) and parks next.  Telling the spinners wakes them, so this prepares the
 * park first (sim_prepare_park): a wake-up arriving meanwhile is not lost.  A caller that
 * then does not park calls sim_cancel_park.
 */
void sched_switch_out(struct sim_task *t, const char *what);
void sched_switch_in(struct sim_task *t);
/* msleep(): off CPU for ps of simulated time (it may hold locks: spinners give up). */
void sched_sleep(struct sim_task *t, sim_time_t ps);

#endif
