/*
 * The hardware cost interface used by all model code.  Every access to simulated shared
 * memory goes through one of these; each charges its cost to the task's local clock and
 * makes no SimGrid call.  Addresses are the real addresses of the simulated kernel objects
 * (so struct layout decides which 64-byte line is touched), or pseudo-physical addresses
 * of user data pages (hw_page_paddr).
 *
 * The model behind it (docs/model-hw.md): per-core L1D/L2 and per-socket-or-CCX LLC tag
 * arrays with LRU, a MESI-like directory of the lines in private caches, transfer costs by
 * the relation of the two CPUs, DRAM local/remote, per-CPU TLBs with INVLPG/full flushes
 * and IPI shootdowns whose handlers are charged to the interrupted CPUs as debt.
 * The per-run state is a struct hw_model, created once per run and reached through
 * task->hw.
 */
#ifndef MMSIM_HW_H
#define MMSIM_HW_H

#include <stddef.h>
#include <stdbool.h>
#include "clock.h"
#include "machine.h"

#define CACHE_LINE 64

struct hw_model;

/* Per-run state for CPUs [0, ncpus) of machine m (ncpus <= m->nr_cpus). */
struct hw_model *hw_create(const struct machine *m, int ncpus);
void hw_destroy(struct hw_model *hw);

/* User data pages live in a pseudo-physical range above every heap address. */
static inline uint64_t hw_page_paddr(uint64_t pfn)
{
	return (1ULL << 62) | (pfn << 12);
}

/* Plain load, plain store, LOCK-prefixed read-modify-write, prefetchw of [addr, addr+size). */
void hw_load(struct sim_task *t, const void *addr, unsigned size);
void hw_store(struct sim_task *t, const void *addr, unsigned size);
void hw_rmw(struct sim_task *t, const void *addr, unsigned size);
void hw_prefetchw(struct sim_task *t, const void *addr);
/*
 * A non-blocking prefetchw whose line the caller writes next (the #PF entry's prefetch of
 * mmap_lock): the RFO is issued now and owns the line like a store (others queue behind
 * it); the CPU pays only the L1D issue cost and goes on, and its next access to the line
 * waits for whatever of the RFO is still outstanding.  So the part hidden by the work in
 * between (the exception entry) is free, and a CPU that never touches the line again
 * never waits.  Returns true if the line had to be fetched.
 */
bool hw_prefetchw_async(struct sim_task *t, const void *addr);
/* Does t's core hold the line of addr exclusive (M or E)?  No cost, no state change. */
bool hw_owns(struct sim_task *t, const void *addr);
/* The same on a pseudo-physical address (user data). */
void hw_load_paddr(struct sim_task *t, uint64_t paddr);
void hw_store_paddr(struct sim_task *t, uint64_t paddr);

/*
 * Bulk clear or copy of user or page-table memory (clear_page, copy_page): charged by the
 * preset's bandwidth; the destination lines end up modified in the writer's caches.
 */
void hw_bulk_zero(struct sim_task *t, uint64_t paddr, size_t bytes);
void hw_bulk_copy(struct sim_task *t, uint64_t dst, uint64_t src, size_t bytes);

/*
 * Cost for `waiter` to observe a release made by `owner` on the line at addr and take
 * the line (a lock hand-off): the transfer between their CPUs given the line's state.
 * The waiter now holds the line modified.
 */
sim_time_t hw_handoff(const struct sim_task *owner, const struct sim_task *waiter,
		      const void *addr);

/* ---- TLB (tlb.c) ---- */

/*
 * The CPU of t runs an address space (switch_mm): `asid` names it (PCID).  Without PCID
 * the CPU's TLB is flushed when the address space changes.
 */
void hw_tlb_switch(struct sim_task *t, unsigned asid);
/*
 * Translate through the CPU's TLB: true on a hit (*pfn set; charges the STLB latency if
 * the L1 dTLB missed).  A write through a read-only entry is a miss.
 */
bool hw_tlb_lookup(struct sim_task *t, unsigned asid, unsigned long addr, bool write,
		   uint64_t *pfn);
/* Install a translation after a page walk (4 KiB, or 2 MiB when huge). */
void hw_tlb_insert(struct sim_task *t, unsigned asid, unsigned long addr, uint64_t pfn,
		   bool writable, bool huge);
/* Does cpu's TLB hold a translation for addr (no cost, no LRU change)?  Checkers, tests. */
bool hw_tlb_probe(struct hw_model *hw, int cpu, unsigned asid, unsigned long addr);

/*
 * flush_tlb_mm_range: invalidate [start, end) of address space asid on this CPU and on
 * every other CPU in cpumask (nbits bits).  Up to the preset's ceiling of pages, one
 * INVLPG per page; beyond, a full flush.  Remote CPUs get an IPI each unless they are in
 * lazy TLB mode (idle, or their task has ended) and no page table was freed; each IPI'd
 * CPU is charged interrupt entry + flush + exit as interrupt debt, and the caller waits
 * (busy) for the last acknowledgement.  When it returns, no CPU holds a translation in
 * the range.  Returns the caller's latency in ps.
 */
sim_time_t hw_tlb_flush_range(struct sim_task *t, const uint64_t *cpumask, int nbits,
			      unsigned asid, unsigned long start, unsigned long end,
			      bool freed_tables);

/* Invariants of the model's state (tests, debug builds); NULL when consistent. */
char *hw_check(struct hw_model *hw);

#endif
