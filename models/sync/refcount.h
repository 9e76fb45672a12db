/*
 * refcount_t (include/linux/refcount.h, lib/refcount.c of Linux 6.x): an atomic counter
 * that saturates instead of wrapping and never resurrects a zero count.  Every operation
 * is one atomic on the counter's line (a cmpxchg loop counts as one successful atomic,
 * its failed tries are not modelled) and a synchronisation point, since its outcome
 * depends on other CPUs.  The _limited variant is the one the per-VMA refcount lock uses
 * (__refcount_inc_not_zero_limited_acquire, ≈6.15): it also fails at a limit, which is how
 * a writer excludes new readers.
 */
#ifndef MMSIM_REFCOUNT_H
#define MMSIM_REFCOUNT_H

#include <limits.h>
#include <stdbool.h>
#include "hw/hw.h"
#include "die.h"

#define REFCOUNT_SATURATED (INT_MIN / 2)

struct refcount {
	int refs;
	unsigned saturations;   /* model: times it saturated (a leak or overflow) */
};

static inline void refcount_set(struct refcount *r, int n)
{
	r->refs = n;
}

static inline int refcount_read(struct sim_task *t, const struct refcount *r)
{
	sim_sync(t);
	hw_load(t, &r->refs, sizeof(r->refs));
	return r->refs;
}

static inline void refcount_saturate(struct refcount *r)
{
	r->refs = REFCOUNT_SATURATED;
	r->saturations++;
}

/* Take a reference unless the count is zero or taking it would pass `limit`. */
static inline bool refcount_inc_not_zero_limited(struct sim_task *t, struct refcount *r,
						 int limit)
{
	sim_sync(t);
	hw_rmw(t, &r->refs, sizeof(r->refs));
	int old = r->refs;
	if (old == 0 || (limit > 0 && old + 1 > limit))
		return false;
	if (old < 0 || old == INT_MAX) {
		refcount_saturate(r);
		return true;
	}
	r->refs = old + 1;
	return true;
}

static inline bool refcount_inc_not_zero(struct sim_task *t, struct refcount *r)
{
	return refcount_inc_not_zero_limited(t, r, 0);
}

/* Take a reference the caller knows is not the first (0 -> 1 is a use after free). */
static inline void refcount_inc(struct sim_task *t, struct refcount *r)
{
	sim_sync(t);
	hw_rmw(t, &r->refs, sizeof(r->refs));
	sim_bug_on(r->refs == 0); /* refcount_t: addition on 0; use-after-free */
	if (r->refs < 0 || r->refs == INT_MAX)
		refcount_saturate(r);
	else
		r->refs++;
}

/* Drop a reference; true if it was the last one (the caller frees the object). */
static inline bool refcount_dec_and_test(struct sim_task *t, struct refcount *r)
{
	sim_sync(t);
	hw_rmw(t, &r->refs, sizeof(r->refs));
	if (r->refs < 0)
		return false; /* saturated: stays so, the object is leaked */
	sim_bug_on(r->refs == 0); /* refcount_t: underflow; use-after-free */
	return --r->refs == 0;
}

static inline void refcount_dec(struct sim_task *t, struct refcount *r)
{
	bool last = refcount_dec_and_test(t, r);
	sim_bug_on(last); /* refcount_t: decrement hit 0; leaking memory */
}

#endif
