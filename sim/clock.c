/*
 * The SimGrid-backed clock: the only file that calls SimGrid's time and blocking APIs.
 *
 * Conservative lookahead.  Each task is one actor; only one actor runs at a time.  The
 * horizon is a tournament tree over all tasks holding, per task, the earliest simulated
 * time at which it can next act: its wake-up time while it sleeps, the resume time a waker
 * named while it is being unparked, and +inf while it runs, is parked or is dead.  The
 * running task may therefore act at its local time `now` without telling SimGrid whenever
 * now <= min(horizon): nobody else can act before it.  Only when another task is due
 * earlier does it sleep until `now`, letting SimGrid run the earlier ones first.
 *
 * Invariant (what makes shared effects time-ordered): every effect on shared state is
 * applied by the running task at a local time t with t <= the next action time of every
 * other task, so no task ever observes an effect stamped later than its own clock.
 */
#include <simgrid/actor.h>
#include <simgrid/engine.h>
#include <simgrid/semaphore.h>
#include "clock.h"
#include "engine.h"
#include "die.h"

static struct {
	int size;            /* leaves, a power of two */
	sim_time_t *node;    /* node[1] is the root; leaves at [size, 2*size) */
} horizon;

uint64_t sim_simcalls;
/* Hard bound on simulated time: a task past it sleeps, so SimGrid's run_until stops it
 * even if no other task would ever make it wait. */
sim_time_t clock_deadline = SIM_TIME_MAX;

void horizon_init(int ntasks)
{
	int size = 1;
	while (size < ntasks)
		size <<= 1;
	horizon.size = size;
	horizon.node = g_new(sim_time_t, 2 * size);
	for (int i = 0; i < 2 * size; i++)
		horizon.node[i] = SIM_TIME_MAX;
}

void horizon_set(int slot, sim_time_t when)
{
	int i = horizon.size + slot;
	horizon.node[i] = when;
	for (i >>= 1; i >= 1; i >>= 1) {
		sim_time_t l = horizon.node[2 * i], r = horizon.node[2 * i + 1];
		sim_time_t m = l < r ? l : r;
		if (horizon.node[i] == m)
			break;
		horizon.node[i] = m;
	}
}

static inline sim_time_t horizon_min(void)
{
	return horizon.node[1];
}

static sim_time_t simgrid_now_ps(void)
{
	return (sim_time_t)llround(simgrid_get_clock() * 1e12);
}

/* Sleep in simulated time until t is the earliest task again. */
static void clock_wait_turn(struct sim_task *t)
{
	do {
		horizon_set(t->id, t->now);
		if (t->now > simgrid_now_ps())
			sg_actor_sleep_until((double)t->now * 1e-12);
		else
			sg_actor_yield(); /* an earlier task is ready at this very instant */
		sim_simcalls++;
		horizon_set(t->id, SIM_TIME_MAX);
	} while (t->now > horizon_min());
}

void sim_sync(struct sim_task *t)
{
	cpu_drain_irq_debt(t);
	if (t->now > horizon_min() || t->now > clock_deadline)
		clock_wait_turn(t);
}

/* Back from a park: resume at the time the waker named (or the deadline). */
static void park_resume(struct sim_task *t, const char *what)
{
	t->state = TASK_RUNNING;
	t->blocked_on = NULL;
	/* A release can land while the waiter's own atomic on the lock word is still being
	 * charged (both after its last sync); it then sees the release at its own time. */
	if (t->resume_at > t->now)
		t->now = t->resume_at;
	horizon_set(t->id, SIM_TIME_MAX);
	sim_sync(t);
}

void sim_prepare_park(struct sim_task *t, const char *what)
{
	t->state = TASK_PARKED;
	t->blocked_on = what;
	t->park_prepared = true;
}

void sim_cancel_park(struct sim_task *t)
{
	struct engine_task *et = t->engine_private;

	sim_bug_on(!t->park_prepared);
	t->park_prepared = false;
	if (t->state == TASK_PARKED) {
		t->state = TASK_RUNNING;
		t->blocked_on = NULL;
		return;
	}
	/* Woken meanwhile: take the token, resume when the waker said. */
	sg_sem_acquire(et->park);
	sim_simcalls++;
	park_resume(t, "cancelled park");
}

void sim_park(struct sim_task *t, const char *what)
{
	struct engine_task *et = t->engine_private;

	if (!t->park_prepared) {
		t->state = TASK_PARKED;
		t->blocked_on = what;
	}
	t->park_prepared = false;
	sg_sem_acquire(et->park);
	sim_simcalls++;
	park_resume(t, what);
}

bool sim_park_timeout(struct sim_task *t, const char *what, sim_time_t deadline)
{
	struct engine_task *et = t->engine_private;
	bool woken = true;

	sim_bug_on(deadline < t->now);
	if (!t->park_prepared) {
		t->state = TASK_PARKED;
		t->blocked_on = what;
	}
	t->park_prepared = false;
	/* Until woken we can act at the deadline: others must not run past it meanwhile. */
	horizon_set(t->id, deadline);
	double timeout = (double)deadline * 1e-12 - simgrid_get_clock();
	if (sg_sem_acquire_timeout(et->park, timeout > 0 ? timeout : 0)) {
		if (t->state == TASK_RUNNING) {
			/* Unparked as the timeout fired: take the token, honour the wake-up. */
			sg_sem_acquire(et->park);
			sim_simcalls++;
		} else {
			/* Timed out.  Still parked (so still on the lock's wait list, where a
			 * waker may find us) until our turn at the deadline: a task acting at
			 * the same instant may hand us over first, and then the wake-up wins.
			 * Marking ourselves running before that sync would let a waker find a
			 * listed waiter that is not parked. */
			t->now = deadline;
			sim_sync(t);
			if (t->state == TASK_RUNNING) {
				sg_sem_acquire(et->park);
				sim_simcalls++;
			} else {
				woken = false;
				t->resume_at = deadline;
			}
		}
	}
	sim_simcalls++;
	park_resume(t, what);
	return woken;
}

void sim_unpark(struct sim_task *waker, struct sim_task *target, sim_time_t at)
{
	struct engine_task *et = target->engine_private;

	sim_bug_on(target->state != TASK_PARKED);
	target->state = TASK_RUNNING; /* runnable: a second unpark is a bug */
	if (at < waker->now)
		sim_die("%s unparks %s at %lld ps, before its own time %lld ps", waker->name,
			target->name, (long long)at, (long long)waker->now);
	target->resume_at = at;
	horizon_set(target->id, at);
	/* The release is a simcall: SimGrid may run the target before we continue, so our
	 * own clock must bound it meanwhile. */
	horizon_set(waker->id, waker->now);
	sg_sem_release(et->park);
	sim_simcalls++;
	horizon_set(waker->id, SIM_TIME_MAX);
}
