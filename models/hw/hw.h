/*
 * The hardware cost interface used by all model code.  Every access to simulated shared
 * memory goes through one of these; each charges its cost to the task's local clock and
 * makes no SimGrid call.  Addresses are the real addresses of the simulated kernel objects
 * (so struct layout decides which 64-byte line is touched), or pseudo-physical addresses
 * of user data pages (hw_page_paddr).
 *
 * This is the constant-latency model: each kind of access has one cost taken from the
 * machine preset, independent of cache state.
 */
#ifndef MMSIM_HW_H
#define MMSIM_HW_H

#include <stddef.h>
#include "clock.h"
#include "machine.h"

#define CACHE_LINE 64

/* User data pages live in a pseudo-physical range above every heap address. */
static inline uint64_t hw_page_paddr(uint64_t pfn)
{
	return (1ULL << 62) | (pfn << 12);
}

static inline void hw_load(struct sim_task *t, const void *addr, unsigned size)
{
	cpu_charge(t, t->machine->hw.load);
}

static inline void hw_store(struct sim_task *t, const void *addr, unsigned size)
{
	cpu_charge(t, t->machine->hw.store);
}

static inline void hw_rmw(struct sim_task *t, const void *addr, unsigned size)
{
	cpu_charge(t, t->machine->hw.rmw);
}

/* Bulk clear of user or page-table memory (clear_page): bandwidth-bound. */
void hw_bulk_zero(struct sim_task *t, uint64_t paddr, size_t bytes);
void hw_bulk_copy(struct sim_task *t, uint64_t dst, uint64_t src, size_t bytes);

/*
 * Cost for `waiter` to observe a release made by `owner` on the line at addr: one
 * cache-line transfer between their CPUs.
 */
sim_time_t hw_handoff(const struct sim_task *owner, const struct sim_task *waiter,
		      const void *addr);

#endif
