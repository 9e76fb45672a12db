/*
 * seqcount_t: the writer makes the count odd for the duration of its section; a reader
 * samples it before and re-checks after.  Each access is a synchronisation point, so a
 * reader whose section overlaps a writer's in simulated time sees the change, and one that
 * does not, does not (tests/test_ordering.c).
 */
#ifndef MMSIM_SEQCOUNT_H
#define MMSIM_SEQCOUNT_H

#include <stdbool.h>
#include "hw/hw.h"

struct seqcount {
	unsigned long sequence;
};

/* raw_read_seqcount: the sampled value; odd means a writer is inside. */
static inline unsigned long raw_read_seqcount(struct sim_task *t, const struct seqcount *s)
{
	sim_sync(t);
	hw_load(t, s, sizeof(*s));
	return s->sequence;
}

/* True if the read section that started with `start` must be retried. */
static inline bool read_seqcount_retry(struct sim_task *t, const struct seqcount *s,
				       unsigned long start)
{
	return (start & 1) || raw_read_seqcount(t, s) != start;
}

static inline void write_seqcount_begin(struct sim_task *t, struct seqcount *s)
{
	sim_sync(t);
	hw_store(t, s, sizeof(*s));
	s->sequence++;
}

static inline void write_seqcount_end(struct sim_task *t, struct seqcount *s)
{
	sim_sync(t);
	hw_store(t, s, sizeof(*s));
	s->sequence++;
}

#endif
