/*
 * Off-CPU transitions (see sched.h).
 */
#include "sched.h"
#include "clock.h"
#include "rcu.h"
#include "die.h"

void sched_switch_out(struct sim_task *t, const char *what)
{
	sim_bug_on(t->rcu_nesting); /* sleeping inside an RCU read-side section */
	/* No sim_sync: the decision to sleep was synchronised, and we are a published
	 * waiter now; the spinners' wake-ups below are the only simulator calls. */
	sim_prepare_park(t, what);
	t->off_cpu = true;
	rcu_note_context_switch(t);
	lockdep_task_sleeps(t);
}

void sched_switch_in(struct sim_task *t)
{
	t->off_cpu = false;
	rcu_note_wakeup(t);
}

void sched_sleep(struct sim_task *t, sim_time_t ps)
{
	sim_sync(t); /* spinners look at owner->on_cpu: it changes at our time, not before */
	sched_switch_out(t, "msleep");
	sim_cancel_park(t); /* a timed sleep, not a wait: nobody wakes us */
	cpu_idle(t, ps);
	sim_sync(t); /* others act while we are away */
	sched_switch_in(t);
}
