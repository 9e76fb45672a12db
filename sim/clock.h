/*
 * The time model (docs/architecture.md, "Time").  Model code never calls SimGrid.  It
 * charges costs to its task's local clock with cpu_work() and the hw_* functions, and it
 * calls sim_sync() before every access whose outcome can depend on another CPU (an
 * atomic, a lock operation, a lockless read of a word others write).  sim_sync() returns
 * once no other task can still act at an earlier simulated time, so effects shared
 * between CPUs happen in simulated-time order.  Waiting never polls: a task that must wait
 * parks until another task hands it over with sim_unpark(), naming the simulated time at
 * which it resumes.
 *
 * Two implementations: sim/clock.c (SimGrid) and tests/stub_clock.c (one task, no engine).
 */
#ifndef MMSIM_CLOCK_H
#define MMSIM_CLOCK_H

#include "task.h"

/* Charge CPU work (instruction path length or memory cost) to the task. */
static inline void cpu_charge(struct sim_task *t, sim_time_t ps)
{
	t->now += ps;
	t->stats.busy += ps;
}

static inline void cpu_work(struct sim_task *t, double ns)
{
	cpu_charge(t, ns_to_ps(ns));
}

/* Let time pass with the CPU idle (a task's explicit sleep). */
static inline void cpu_idle(struct sim_task *t, sim_time_t ps)
{
	t->idle_from = t->now;
	t->now += ps;
	t->idle_to = t->now;
	t->stats.idle += ps;
}

/* Run the interrupt handlers other CPUs charged to t while it ran ahead (IPIs). */
static inline void cpu_drain_irq_debt(struct sim_task *t)
{
	if (t->irq_debt) {
		t->stats.irq += t->irq_debt;
		cpu_charge(t, t->irq_debt);
		t->irq_debt = 0;
	}
}

static inline sim_time_t sim_now(const struct sim_task *t)
{
	return t->now;
}

/*
 * Return when every other task's next action lies at or after t->now.  Free (no SimGrid
 * call) when t is already the earliest; otherwise it sleeps in simulated time.  Pending
 * interrupt debt is charged first: the handlers ran before whatever t does next.
 */
void sim_sync(struct sim_task *t);

/*
 * Block until another task calls sim_unpark(t, ...).  On return t->now is the resume time
 * the waker named, and t is again the earliest task (as after sim_sync).  The caller
 * accounts the waited time as spinning or sleeping.
 */
void sim_park(struct sim_task *t, const char *what);

/*
 * set_current_state() for a sleeper that may make simulator calls (waking others) after it
 * has published itself as a waiter and before it parks: from here on a waker sees it
 * parked, and a wake-up that comes before sim_park is kept, so sim_park returns at once.
 * A sleeper that then decides not to park calls sim_cancel_park.
 */
void sim_prepare_park(struct sim_task *t, const char *what);
void sim_cancel_park(struct sim_task *t);

/*
 * As sim_park, but give up at simulated time `deadline` (>= t->now) if nobody has
 * unparked t by then: the model of a bounded spin (a writer spinning on a reader-owned
 * rwsem).  Returns true if unparked (t->now = the time the waker named), false on timeout
 * (t->now = deadline).  A wake-up racing with the timeout at the same instant wins.
 */
bool sim_park_timeout(struct sim_task *t, const char *what, sim_time_t deadline);

/* Wake a parked task at simulated time `at` (>= waker's now). */
void sim_unpark(struct sim_task *waker, struct sim_task *target, sim_time_t at);

#endif
