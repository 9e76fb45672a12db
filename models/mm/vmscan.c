/*
 * The rmap walker (mm/vmscan.c: kswapd, shrink_inactive_list, isolate_lru_folios,
 * shrink_folio_list, folio_check_references, __remove_mapping, move_folios_to_lru).
 * Spec: kernel-algorithms.md I.4 (folio_referenced, try_to_unmap, rwc->try_lock).
 *
 * A pass: isolate `batch` folios from the cold end of the node's LRU under lru_lock (each
 * with a reference, off the list), then for each, shrink_folio_list's rmap part:
 *   - a page cache folio is locked first with folio_trylock (a folio locked by a fault
 *     reading it in is kept);
 *   - folio_referenced with try_lock (rwc->try_lock): a contended anon_vma or i_mmap lock
 *     makes the walk give up, and the folio counts as referenced (folio_check_references
 *     treats -1 as "activate"): rotated;
 *   - referenced: rotated back to the head of the list;
 *   - an anonymous folio is locked first too (folio_trylock) when a swap device exists;
 *   - unreferenced anonymous: without swap it cannot be reclaimed (shrink_folio_list's
 *     "activate_locked" for an anon folio without swap space): put back and counted;
 *     with swap (models/mm/swap.c) it is swapped out: a slot and the swap cache,
 *     try_to_unmap installing swap entries, the device write, out of the swap cache and
 *     freed.  A THP is kept (the kernel splits it first; not modelled);
 *   - unreferenced page cache: try_to_unmap (each PTE cleared and flushed, its dirty bit
 *     moved to the folio); a dirty folio is kept (no writeback in the model); a clean one
 *     is taken out of the page cache under xa_lock with its references frozen
 *     (__remove_mapping) and freed; a later fault reads it back from the device.
 * Then the survivors go back on the list in one lru_lock section, and the thread sleeps
 * `interval_us` (kswapd between wake-ups; no watermarks are modelled: it scans at a fixed
 * rate, which is what makes its lock traffic a parameter).
 *
 * An anonymous folio's lock is migrate.h's folio_lock_anon, taken by migration, swap-out
 * and do_swap_page.
 */
#include "mm/vmscan.h"
#include "mm/rmap.h"
#include "mm/migrate.h"
#include "mm/lru.h"
#include "hw/hw.h"
#include "die.h"
#include "sync/rcu.h"
#include "sync/mutex.h"
#include "mm/swap.h"

enum folio_verdict { KEEP, FREED };

/* shrink_folio_list for one isolated folio of a reclaim pass. */
static enum folio_verdict reclaim_folio(struct sim_task *t, struct zone *z,
					struct mm_struct *check_mm, struct page *p)
{
	hw_load(t, p, 64);
	bool file = p->flags & PG_file;
	/* Anonymous with swap space: shrink_folio_list locks it as any folio. */
	struct mutex *anon_lock = !file && z->swap && (p->flags & PG_anon) &&
					  !(p->flags & PG_head) ?
				  folio_lock_anon(p->pfn) :
				  NULL;

	if ((file && !filemap_folio_trylock(t, p)) || (anon_lock && !mutex_trylock(t, anon_lock))) {
		count_event(&t->stats, EV_RMAP_FOLIO_LOCKED);
		return KEEP;
	}
	/* -1: the walk gave up on a contended lock (counted by the walk): "activate". */
	int referenced = folio_referenced(t, p, true);
	if (referenced != 0) {
		if (referenced > 0)
			count_event(&t->stats, EV_RMAP_REFERENCED);
		if (file)
			filemap_folio_unlock(t, p);
		if (anon_lock)
			mutex_unlock(t, anon_lock);
		return KEEP;
	}
	if (anon_lock) {
		bool freed = swap_out_folio(t, z, check_mm, p);
		mutex_unlock(t, anon_lock);
		return freed ? FREED : KEEP;
	}
	if (!file) {
		count_event(&t->stats, EV_RECLAIM_ANON_NOSWAP);
		return KEEP;
	}
	hw_load(t, &p->mapcount, sizeof(p->mapcount));
	if (p->mapcount > 0) {
		bool unmapped = try_to_unmap(t, p);
		count_event(&t->stats, EV_RECLAIM_UNMAPPED);
		if (!unmapped) { /* mapped again meanwhile (the folio lock does not stop that) */
			filemap_folio_unlock(t, p);
			return KEEP;
		}
	}
	hw_load(t, &p->flags, sizeof(p->flags));
	if (p->flags & PG_dirty) {
		count_event(&t->stats, EV_RECLAIM_DIRTY);
		filemap_folio_unlock(t, p);
		return KEEP;
	}
	bool removed = filemap_remove_folio(t, p);
	filemap_folio_unlock(t, p);
	if (!removed)
		return KEEP; /* someone took a reference: a fault found it */
	count_event(&t->stats, EV_RECLAIM_EVICTED);
	return FREED;
}

void rmap_walker_main(struct sim_task *t, void *arg)
{
	const struct rmap_walker_params *wp = arg;
	struct zone *z = wp->zone;
	struct page **isolated = g_new(struct page *, wp->batch);
	struct page **keep = g_new(struct page *, wp->batch);
	struct page **freed = g_new(struct page *, wp->batch);

	while (t->now < t->deadline) {
		unsigned n = isolate_lru_folios(t, z, wp->batch, isolated);
		unsigned nr_keep = 0, nr_freed = 0;
		for (unsigned i = 0; i < n; i++) {
			struct page *p = isolated[i];
			count_event(&t->stats, EV_RMAP_SCANNED);
			if (wp->kind == RMAP_WALKER_MIGRATE) {
				/* The new folio, if it moved, goes back in the old one's place. */
				struct page *np = migrate_folio(t, z, wp->check_mm, p);
				keep[nr_keep++] = np ? np : p;
			} else if (reclaim_folio(t, z, wp->check_mm, p) == FREED)
				freed[nr_freed++] = p;
			else
				keep[nr_keep++] = p;
		}
		/* Evicted folios: references frozen at 0, off the LRU and out of the cache. */
		if (nr_freed)
			folios_free(t, z, freed, nr_freed);
		for (unsigned i = 0; wp->kind == RMAP_WALKER_RECLAIM && i < nr_keep; i++)
			count_event(&t->stats, EV_RMAP_ROTATED);
		putback_lru_folios(t, z, keep, nr_keep);
		/* Sleep until the next pass: the CPU idles (an RCU quiescent state). */
		rcu_idle_enter(t);
		cpu_idle(t, ns_to_ps(wp->interval_us * 1e3));
		rcu_idle_exit(t);
	}
	g_free(isolated);
	g_free(keep);
	g_free(freed);
}
