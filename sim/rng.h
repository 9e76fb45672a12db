/*
 * Per-task pseudo-random streams.  Each task gets its own splitmix64 stream seeded from
 * (scenario seed, task id), so no task's draws depend on how the others are scheduled.
 * splitmix64: Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014.
 */
#ifndef MMSIM_RNG_H
#define MMSIM_RNG_H

#include <stdint.h>

struct sim_rng {
	uint64_t state;
};

static inline uint64_t rng_next(struct sim_rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
	r->state = seed ^ (stream * 0xd1b54a32d192ed03ULL);
	(void)rng_next(r);
}

/* Uniform double in [0, 1). */
static inline double rng_double(struct sim_rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

#endif
