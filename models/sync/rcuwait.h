/*
 * rcuwait (include/linux/rcuwait.h, kernel/exit.c rcuwait_wake_up; Linux 6.x): one task
 * waits for a condition; wakers read the waiter's task pointer under RCU and wake it.  No
 * wait queue and no lock: the waiter publishes itself, then checks the condition; a waker
 * sets the condition, then reads the pointer.  In simulated time both sides are
 * synchronised accesses, so either the waiter sees the condition or the waker sees the
 * waiter: no wake-up is lost (tests/test_sync.c rcuwait).
 * Costs: the waiter stores the task pointer (hw_store), the waker loads it (hw_load); a
 * sleeping waiter resumes machine->hw.wakeup after the wake-up.
 */
#ifndef MMSIM_RCUWAIT_H
#define MMSIM_RCUWAIT_H

#include <stdbool.h>
#include "hw/hw.h"

struct rcuwait {
	struct sim_task *task;
};

/* Sleep until cond(arg) holds; true if the caller had to sleep. */
bool rcuwait_wait_event(struct sim_task *t, struct rcuwait *w, bool (*cond)(void *arg),
			void *arg);
/* Wake the waiter, if any.  Returns true if a task was woken. */
bool rcuwait_wake_up(struct sim_task *t, struct rcuwait *w);

static inline bool rcuwait_active(const struct rcuwait *w)
{
	return w->task != NULL;
}

#endif
