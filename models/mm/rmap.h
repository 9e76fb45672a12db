/*
 * Reverse mapping of anonymous pages (rmap.c): the page's side of the mapping (mapping,
 * index, mapcount) and the walk from a page to every PTE that maps it; rmap_walk
 * dispatches page cache pages to rmap_walk_file (fs.h, over i_mmap).
 */
#ifndef MMSIM_RMAP_H
#define MMSIM_RMAP_H

#include "mm/anon_vma.h"

/* folio_add_new_anon_rmap: a fresh page's first mapping at addr of vma (PTE lock held). */
void page_add_new_anon_rmap(struct sim_task *t, struct page *p, struct vm_area_struct *vma,
			    unsigned long addr);
/* folio_try_dup_anon_rmap_pte + folio_get: fork copies a mapping (both PTE locks held). */
void page_dup_anon_rmap(struct sim_task *t, struct page *p);
/* folio_remove_rmap_pte: one mapping of p gone (its PTE lock held); the caller drops the
 * mapping's reference (after the TLB flush). */
void page_remove_rmap(struct sim_task *t, struct mm_struct *mm, struct page *p,
		      unsigned long addr, const char *path);
/* folio_move_anon_rmap: an exclusive page reused by a COW fault now belongs to the
 * faulting VMA's own anon_vma (PTE lock held). */
void folio_move_anon_rmap(struct sim_task *t, struct page *p, struct vm_area_struct *vma);


/*
 * rmap_walk_anon: lock the page's anon_vma for read (folio_lock_anon_vma_read: an RCU
 * trylock fast path, else pin it and sleep on the lock) and call fn for each VMA of its
 * interval tree that maps the page, under the PTE lock of that mapping.  flags (fs.h):
 * RMAP_WALK_TRYLOCK (rwc->try_lock, reclaim): give up instead of sleeping;
 * RMAP_WALK_NOTIFY: MMU notifier calls around each mapping.  Returns the number of mappings
 * visited, -1 if the page is not mapped, RMAP_WALK_CONTENDED if the walk gave up on a
 * contended lock (counted as rmap_walk_contended).
 */
/* One walk's state; rmap_walk_vma is its step for one VMA that may map the page
 * (page_vma_mapped_walk: the PTE or huge PMD at the page's address, under its lock, with
 * the notifier calls of RMAP_WALK_NOTIFY around it).  Returns false to end the walk. */
struct rmap_walk_ctx {
	struct sim_task *t;
	struct page *p;
	rmap_one_fn fn;
	void *arg;
	int visited;
	bool stop;
	bool notify;  /* RMAP_WALK_NOTIFY */
};
bool rmap_walk_vma(struct vm_area_struct *vma, void *arg);

int rmap_walk_anon(struct sim_task *t, struct page *p, unsigned flags, rmap_one_fn fn, void *arg);
/* rmap_walk: by the kind of page: rmap_walk_anon, or rmap_walk_file (fs.h) over i_mmap;
 * -1 for a page that is neither. */
int rmap_walk(struct sim_task *t, struct page *p, unsigned flags, rmap_one_fn fn, void *arg);

/* folio_referenced: clear the accessed bit of every PTE mapping the page (no flush, as
 * x86's ptep_clear_flush_young); returns how many had it set (0 if not mapped), -1 if
 * the walk gave up on a contended lock. */
int folio_referenced(struct sim_task *t, struct page *p, bool try_lock);
/*
 * try_to_unmap: clear every PTE mapping the page, flushing each translation (MMU notifiers
 * around each), and drop their rmap and references; the caller holds a reference of its
 * own (the page stays allocated for it) and decides what replaces the mappings.  True if
 * nothing maps it now.
 */
bool try_to_unmap(struct sim_task *t, struct page *p);

#endif
