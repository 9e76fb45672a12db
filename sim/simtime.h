/*
 * Simulated time.  Every clock in mmsim counts integer picoseconds, so that charges of a
 * fraction of a nanosecond (one cycle at 2.5 GHz is 0.4 ns) add up exactly and the same
 * scenario and seed give bit-identical times whatever the order of the additions.
 */
#ifndef MMSIM_SIMTIME_H
#define MMSIM_SIMTIME_H

#include <stdint.h>
#include <math.h>

typedef int64_t sim_time_t; /* ps */

#define SIM_TIME_MAX INT64_MAX
#define PS_PER_NS 1000LL
#define PS_PER_US 1000000LL
#define PS_PER_MS 1000000000LL
#define PS_PER_S 1000000000000LL

/* Round to the nearest picosecond; charges are never negative. */
static inline sim_time_t ns_to_ps(double ns)
{
	return (sim_time_t)llround(ns * 1000.0);
}

static inline double ps_to_ns(sim_time_t ps)
{
	return (double)ps / 1000.0;
}

#endif
