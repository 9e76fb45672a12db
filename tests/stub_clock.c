/*
 * A clock for model unit tests without SimGrid: one task, nothing to synchronise with.
 * Parking would mean waiting for a task that does not exist, so it is a test failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include "clock.h"

void sim_sync(struct sim_task *t)
{
	cpu_drain_irq_debt(t);
}

void sim_park(struct sim_task *t, const char *what)
{
	fprintf(stderr, "stub clock: %s would block on %s with no other task\n", t->name, what);
	abort();
}

void sim_prepare_park(struct sim_task *t, const char *what)
{
	t->state = TASK_PARKED;
	t->park_prepared = true;
}

void sim_cancel_park(struct sim_task *t)
{
	t->state = TASK_RUNNING;
	t->park_prepared = false;
}

/* Nobody else exists to wake us: the bounded wait runs out. */
bool sim_park_timeout(struct sim_task *t, const char *what, sim_time_t deadline)
{
	t->now = deadline;
	return false;
}

void sim_unpark(struct sim_task *waker, struct sim_task *target, sim_time_t at)
{
	fprintf(stderr, "stub clock: nobody can be parked\n");
	abort();
}
