/*
 * The rmap walker: a kernel thread (as kswapd) that takes folios off the cold end of the
 * LRU and walks their reverse maps, so the anon_vma and i_mmap locks are taken for read
 * by a thread that is not a fault.  Scenario field `rmap_walker` (docs/scenarios.md);
 * the model and its sources: docs/rmap.md.
 */
#ifndef MMSIM_VMSCAN_H
#define MMSIM_VMSCAN_H

#include "mm/mm.h"

enum rmap_walker_kind {
	RMAP_WALKER_RECLAIM = 0,   /* shrink_folio_list's rmap part */
	RMAP_WALKER_MIGRATE,       /* migrate_pages (models/mm/migrate.c) */
};

struct rmap_walker_params {
	struct zone *zone;
	struct mm_struct *check_mm;  /* its checker follows migration's frame copies */
	enum rmap_walker_kind kind;
	unsigned batch;            /* folios isolated per pass (isolate_lru_folios' nr) */
	double interval_us;        /* sleep between passes (simulated microseconds) */
};

/* Maximum of `batch` (SWAP_CLUSTER_MAX is 32; a pass of a few hundred is a large one). */
#define RMAP_WALKER_MAX_BATCH 1024

/* The thread's body: passes until t->deadline (the scenario's duration). */
void rmap_walker_main(struct sim_task *t, void *arg);

#endif
