/*
 * anon_vma and anon_vma_chain: the reverse map of anonymous memory (mm/rmap.c since
 * 2.6.34, Rik van Riel's anon_vma_chain; spec: kernel-algorithms.md §I.2-I.3).
 *
 * Every anonymous page points (page->mapping) at the anon_vma of the VMA that first
 * mapped it.  An anon_vma lists, through anon_vma_chains kept in an interval tree keyed
 * by each VMA's page-offset range, every VMA that may map its pages: the VMA itself, the
 * VMAs split from it, and the VMAs of forked children.  A VMA lists (same_vma) the chains
 * linking it to its own anon_vma and to every ancestor's.  All anon_vmas of one fork tree
 * share the root's lock (012f18004da3, "always lock the root anon_vma").
 */
#ifndef MMSIM_ANON_VMA_H
#define MMSIM_ANON_VMA_H

#include "mm/mm.h"
#include "mm/interval_tree.h"

/*
 * The interval tree (anon_vma->rb_root): the augmented interval tree of interval_tree.h
 * (the kernel's anon_vma_interval_tree), one node per chain (avc->rb), keyed by the
 * chain's VMA's page-offset interval, equal starts ordered by the chain's creation
 * number (deterministic).  A query visits O(log n) nodes plus those it reports, in key
 * order, each visit one load of the chain's first line.
 */
struct anon_vma {
	/* Line AV.LOCK: only the root's lock is ever taken (anon_vma_lock_*). */
	struct rw_semaphore rwsem;      /* anon_vma_lock = "rwsem" (since 2012) */
	struct spinlock lock;           /* anon_vma_lock = "spinlock" (2004-2010) */
	enum anon_vma_lock_kind lock_kind;
	struct anon_vma *root;          /* the fork tree's oldest anon_vma; never changes */
	struct anon_vma *parent;        /* the anon_vma it was forked from (itself if none) */
	/* Pins: one for the anon_vma's own existence (dropped when its tree empties), one
	 * per child whose root it is, and temporary ones (folio_lock_anon_vma_read).  Atomic. */
	int refcount;
	/* anon_vma lock (W): anon_vmas forked from this one, and VMAs whose anon_vma this is
	 * (the kernel's reuse heuristics read them; kept for the checker and reports). */
	unsigned num_children;
	unsigned num_active_vmas;
	struct itree_root rb_root;      /* chains of the VMAs that may map its pages; lock (W) */
} __attribute__((aligned(64)));

struct anon_vma_chain {
	/* Line AVC.RB, the only line a tree walk reads: the chain's node in
	 * anon_vma->rb_root, over the VMA's page-offset interval when the chain was inserted
	 * (rb.start, rb.last); every change of the VMA's range removes and reinserts its
	 * chains under the anon_vma lock (W). */
	struct itree_node rb;
	/* Line AVC.LINK. */
	struct vm_area_struct *vma;
	struct anon_vma *anon_vma;
	struct anon_vma_chain *same_vma; /* next chain of the same VMA; mmap_lock (W) */
	uint64_t seq;                   /* creation number: order among equal starts */
} __attribute__((aligned(64)));

/* The page-offset interval a VMA covers: [vm_pgoff, vm_pgoff + pages - 1]. */
static inline unsigned long vma_pgoff_last(const struct vm_area_struct *vma)
{
	return vma->vm_pgoff + ((vma->vm_end - vma->vm_start) >> PAGE_SHIFT) - 1;
}

/* vma_address: where in vma the page at page offset pgoff is mapped (no range check). */
static inline unsigned long vma_pgoff_address(const struct vm_area_struct *vma,
					      unsigned long pgoff)
{
	return vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
}

/* linear_page_index */
static inline unsigned long linear_page_index(const struct vm_area_struct *vma,
					      unsigned long addr)
{
	return vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
}

/* The root's lock, per lock_kind (charged and lockdep-tracked as every lock). */
void anon_vma_lock_write(struct sim_task *t, struct anon_vma *av);
void anon_vma_unlock_write(struct sim_task *t, struct anon_vma *av);
void anon_vma_lock_read(struct sim_task *t, struct anon_vma *av);
bool anon_vma_trylock_read(struct sim_task *t, struct anon_vma *av);
void anon_vma_unlock_read(struct sim_task *t, struct anon_vma *av);
bool anon_vma_is_locked_by(const struct anon_vma *av, const struct sim_task *t);

/*
 * anon_vma_prepare: give vma an anon_vma before its first anonymous page (A.7.4): an
 * adjacent compatible VMA's if that one is linked to its own only
 * (find_mergeable_anon_vma), else a new one.  The caller holds mmap_lock (R or W; under
 * a VMA lock, vmf_anon_prepare trylocks it); concurrent callers on one VMA are
 * serialised by mm->page_table_lock.  0 or -ENOMEM (never fails here: slab memory is
 * unbounded).
 */
int anon_vma_prepare(struct sim_task *t, struct vm_area_struct *vma);
/* dst (new, same mm, e.g. the other half of a split) maps what src maps: link dst to
 * every anon_vma src is linked to.  mmap_lock (W). */
int anon_vma_clone(struct sim_task *t, struct vm_area_struct *dst, struct vm_area_struct *src);
/* fork: vma (child) is linked to pvma's anon_vmas and gets an anon_vma of its own whose
 * root is pvma's root.  Both mms' mmap_lock (W). */
int anon_vma_fork(struct sim_task *t, struct vm_area_struct *vma, struct vm_area_struct *pvma);
/* Unlink every chain of vma and drop the anon_vmas left with none; vma->anon_vma = NULL.
 * The VMA is unreachable (or being merged away) and maps no page. */
void unlink_anon_vmas(struct sim_task *t, struct vm_area_struct *vma);
/* Around a change of vma's vm_start/vm_end/vm_pgoff: take its chains out of their trees
 * and put them back (anon_vma_interval_tree_pre/post_update_vma); caller holds the
 * anon_vma lock (W) if vma->anon_vma. */
void anon_vma_interval_tree_pre_update_vma(struct sim_task *t, struct vm_area_struct *vma);
void anon_vma_interval_tree_post_update_vma(struct sim_task *t, struct vm_area_struct *vma);
/* Drop a pin; the last one frees the anon_vma (and drops its pin on the root). */
void put_anon_vma(struct sim_task *t, struct anon_vma *av);

/*
 * anon_vma_interval_tree_foreach: call fn for each chain of av whose VMA's interval meets
 * [first, last], in tree order; stop early when fn returns false.  t may be NULL (the
 * checker: no charge).  Returns the number of chains visited.
 */
unsigned avc_tree_foreach(struct sim_task *t, struct anon_vma *av, unsigned long first,
			  unsigned long last,
			  bool (*fn)(struct anon_vma_chain *avc, void *arg), void *arg);
/* av's tree is well formed (interval_tree.h's rules) and each node holds its own chain
 * of av over its VMA's current interval: NULL or a message to g_free.  Uncharged. */
char *anon_vma_interval_tree_validate(const struct anon_vma *av);

#endif
