/*
 * Helpers the primitives share: how a parked waiter is woken and how the line transfers a
 * lock protocol causes are counted.  Private to models/sync/.
 */
#ifndef MMSIM_SYNC_H
#define MMSIM_SYNC_H

#include "hw/hw.h"
#include "lockstat.h"

static inline sim_time_t max_time(sim_time_t a, sim_time_t b)
{
	return a > b ? a : b;
}

/*
 * t writes or does an atomic on a lock word whose line `*line_cpu` last wrote: count one
 * line transfer if that was another CPU (the cost itself is the hw model's, via hw_*).
 */
static inline void lock_word_access(struct sim_task *t, int *line_cpu, struct lockdep_map *dep)
{
	if (*line_cpu != t->cpu) {
		if (*line_cpu >= 0)
			lock_count_transfer(dep, 1);
		*line_cpu = t->cpu;
	}
}

/* Wake a sleeping waiter: it runs one wake-up latency later, never before it parked. */
static inline void sync_wake_sleeper(struct sim_task *waker, struct sim_task *w)
{
	sim_unpark(waker, w, max_time(waker->now + waker->machine->hw.wakeup, w->now));
}

/* Release a spinner: it observes the store to addr one line transfer later. */
static inline void sync_wake_spinner(struct sim_task *waker, struct sim_task *w, const void *addr)
{
	sim_unpark(waker, w, max_time(waker->now + hw_handoff(waker, w, addr), w->now));
}

#endif
