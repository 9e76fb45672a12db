/*
 * rcuwait (see rcuwait.h).
 */
#include "rcuwait.h"
#include "rcu.h"
#include "sync.h"
#include "sched.h"

bool rcuwait_wait_event(struct sim_task *t, struct rcuwait *w, bool (*cond)(void *arg),
			void *arg)
{
	bool slept = false;

	sim_sync(t);
	for (;;) {
		/* rcu_assign_pointer(w->task, current); set_current_state(); then the check */
		hw_store(t, &w->task, sizeof(w->task));
		w->task = t;
		if (cond(arg))
			break;
		sched_switch_out(t, "rcuwait");
		sim_time_t t0 = t->now;
		sim_park(t, "rcuwait");
		t->stats.sleep_wait += t->now - t0;
		sched_switch_in(t);
		slept = true;
	}
	hw_store(t, &w->task, sizeof(w->task));
	w->task = NULL;
	return slept;
}

bool rcuwait_wake_up(struct sim_task *t, struct rcuwait *w)
{
	sim_sync(t);
	hw_load(t, &w->task, sizeof(w->task)); /* rcu_dereference(w->task) */
	struct sim_task *x = w->task;
	if (!x || x->state != TASK_PARKED)
		return false;
	sync_wake_sleeper(t, x);
	return true;
}
