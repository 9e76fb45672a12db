/*
 * Files and the page cache: struct address_space with its page index i_pages (a radix
 * tree of 64-slot nodes, as the xarray), its reverse map i_mmap (an interval tree of the
 * VMAs mapping it, by file page range) and the locks that guard them.  Modelled kernel:
 * 6.x mm/filemap.c, lib/xarray.c, mm/interval_tree.c, include/linux/fs.h; the i_mmap
 * lock as a spinlock is the form before 2.6.38 (i_mmap_lock, commit 3d48ae45e72390ddf8cc,
 * "mm: Convert i_mmap_lock to a mutex", and 4a23717a236b, "mm: convert i_mmap_mutex to
 * rwsem").  Locking rules: docs/locking.md; the model: docs/model-mm.md "File mappings
 * and the page cache".  Spec: kernel-algorithms.md A.6 (do_fault), B.3-B.4, I.
 */
#ifndef MMSIM_FS_H
#define MMSIM_FS_H

#include <stdint.h>
#include <stdbool.h>
#include <glib.h>
#include "task.h"
#include "sync/spinlock.h"
#include "sync/rwsem.h"
#include "sync/mutex.h"
#include "mm/interval_tree.h"

struct page;
struct vm_area_struct;
struct mmu_gather;
struct mm_struct;
struct zone;

/* ---- the radix tree (models/mm/xarray.c) ---- */

#define XA_CHUNK_SHIFT 6
#define XA_CHUNK_SIZE (1u << XA_CHUNK_SHIFT)
#define XA_CHUNK_MASK (XA_CHUNK_SIZE - 1)

/*
 * One node: 64 slots, each a child node or (at shift 0) an entry.  576 bytes like the
 * kernel's struct xa_node: the header line, then the slots on 8 lines of their own, so a
 * lookup touches one slot line per level (what the hardware model charges).
 */
struct xa_node {
	unsigned char shift;      /* index bits below this node's slots */
	unsigned char offset;     /* our slot in the parent */
	unsigned short count;     /* non-NULL slots */
	struct xa_node *parent;
	void *slots[XA_CHUNK_SIZE] __attribute__((aligned(64)));
} __attribute__((aligned(64)));

/*
 * struct xarray: xa_head is NULL or the root node; the tree covers indices
 * [0, 64^(root shift/6 + 1)).  Readers walk under RCU with no lock; every store takes
 * xa_lock (a spinlock, as the kernel's).  Nodes are never freed while the tree is in use
 * by a run (reclaim clears slots with xa_clear_locked and leaves the nodes), so RCU
 * readers need no grace period for them; xa_erase frees empty nodes at once and is only
 * for callers with no readers.
 */
struct xarray {
	struct spinlock xa_lock;
	void *xa_head;            /* xa_lock (W); read under RCU */
	unsigned long nr_nodes;   /* xa_lock */
};

void xa_init(struct xarray *xa, const char *lock_name);
/* Free every node (end of run; no simulated work). */
void xa_destroy(struct xarray *xa);
/* The entry at index or NULL; t == NULL: uncharged (checker, tests).  RCU or xa_lock. */
void *xa_load(struct sim_task *t, struct xarray *xa, unsigned long index);
/* Store entry at index under xa_lock held by the caller (t may be NULL: boot, tests);
 * returns the old entry.  Allocates nodes as needed. */
void *xa_store_locked(struct sim_task *t, struct xarray *xa, unsigned long index, void *entry);
/* Clear the entry at index, keeping the nodes for RCU readers (xa_lock held); returns
 * the old entry. */
void *xa_clear_locked(struct sim_task *t, struct xarray *xa, unsigned long index);
/* Remove the entry at index (no concurrent readers: see struct xarray). */
void *xa_erase(struct xarray *xa, unsigned long index);
/* Levels of nodes from the head to the entries (0: empty). */
int xa_height(const struct xarray *xa);

/* ---- the interval tree of VMAs (models/mm/interval_tree.c) ---- */

/*
 * i_mmap: VMAs keyed by their file page range [vm_pgoff, vm_pgoff + pages - 1], with
 * overlap queries, in the augmented interval tree of interval_tree.h (the kernel's
 * vma_interval_tree).  Each VMA carries its node (vma->shared, line VMA.FILE); the tie
 * between equal starts is the tree's insertion order.
 */
void vma_interval_tree_insert(struct sim_task *t, struct vm_area_struct *vma,
			      struct itree_root *tree);
void vma_interval_tree_remove(struct sim_task *t, struct vm_area_struct *vma,
			      struct itree_root *tree);
/* Call fn on every VMA whose range overlaps [first, last], in start order; stops early
 * if fn returns false.  t == NULL: uncharged. */
void vma_interval_tree_foreach(struct sim_task *t, struct itree_root *tree, unsigned long first,
			       unsigned long last,
			       bool (*fn)(struct vm_area_struct *vma, void *arg), void *arg);
/* Structure check (ordering, augmentation, heap order, count): NULL or a message. */
char *vma_interval_tree_validate(const struct itree_root *tree);

/* ---- struct address_space (models/mm/filemap.c) ---- */

enum i_mmap_lock_kind { I_MMAP_RWSEM = 0, I_MMAP_SPINLOCK };

struct address_space {
	unsigned id;                  /* 1, 2, ...: the checker's key (never a pointer) */
	char *name;
	unsigned long size_pages;     /* file size; fixed (no truncate, no extend) */
	struct xarray i_pages;        /* the page cache: pgoff -> struct page */
	unsigned long nrpages;        /* pages in i_pages.  i_pages.xa_lock */
	/* i_mmap: the VMAs mapping this file.  i_mmap_rwsem (W) to change, (R) to walk; or
	 * i_mmap_spin for both when i_mmap_lock = "spinlock". */
	struct itree_root i_mmap;
	enum i_mmap_lock_kind i_mmap_kind;
	struct rw_semaphore i_mmap_rwsem;
	struct spinlock i_mmap_spin;
	double read_ns;               /* a page read from the backing device (ns) */
	GHashTable *folio_locks;      /* pfn -> struct mutex *: PG_locked and its waitqueue */
};

/* A file of `pages` pages; cached: every page is in the page cache from the start. */
struct address_space *filemap_create(struct zone *z, const char *name, unsigned long pages,
				     bool cached, double read_ns, enum i_mmap_lock_kind kind);
/* Free the cache's pages and the host memory (end of run; no simulated work). */
void filemap_destroy(struct zone *z, struct address_space *mapping);
/* Every file created and not destroyed, in creation order. */
GPtrArray *filemap_all(void);

void i_mmap_lock_write(struct sim_task *t, struct address_space *mapping);
void i_mmap_unlock_write(struct sim_task *t, struct address_space *mapping);
void i_mmap_lock_read(struct sim_task *t, struct address_space *mapping);
void i_mmap_unlock_read(struct sim_task *t, struct address_space *mapping);
bool i_mmap_is_write_locked_by(const struct address_space *mapping, const struct sim_task *t);

/* The page cache page of pgoff, or NULL (find_get_page without the reference). */
struct page *filemap_lookup(struct sim_task *t, struct address_space *mapping,
			    unsigned long pgoff);

/* VMA lifecycle hooks (mmap writers, mmap_lock W held): link into / unlink from i_mmap
 * (__vma_link_file, unlink_file_vma). */
void vma_link_file(struct sim_task *t, struct vm_area_struct *vma);
void unlink_file_vma(struct sim_task *t, struct vm_area_struct *vma);
/*
 * The i_mmap side of a VMA whose range changes (vma_prepare / vma_complete): prepare takes
 * the i_mmap lock (W) and takes vma out of the tree (and `gone`, the VMA a merge absorbs);
 * for a split, `new` (vma's upper part, from new->vm_start) first gets the file and its
 * vm_pgoff.  complete puts vma (and `new`) back with their new ranges and unlocks.  Both
 * do nothing for an anonymous VMA.
 */
void vma_file_prepare(struct sim_task *t, struct vm_area_struct *vma, struct vm_area_struct *new,
		      struct vm_area_struct *gone);
void vma_file_complete(struct sim_task *t, struct vm_area_struct *vma, struct vm_area_struct *new);

/* The faults on a file VMA (called by handle_mm_fault): a missing PTE, and a write to a
 * present read-only PTE. */
unsigned int do_fault(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
		      unsigned int flags, struct page *pt);
unsigned int do_wp_file(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
			unsigned int flags,
			struct page *pt, uint64_t orig);

/* zap_pte_range for a page cache page, after its mapcount and the PTE's reference were
 * dropped: rss_file, and the PTE's dirty bit to the page. */
void zap_file_pte(struct sim_task *t, struct mm_struct *mm, struct page *p, uint64_t old_pte);

/*
 * rmap_walk_file: for each VMA of mapping->i_mmap that may map the page (its index in
 * the VMA's file range), under i_mmap lock (R), find the PTE at the page's address and,
 * if it maps the page, call fn (mm.h's rmap_one_fn) with the PTE table's lock held.  fn
 * returns false to stop.  flags: RMAP_WALK_TRYLOCK (rwc->try_lock, reclaim): give up
 * rather than wait for the i_mmap lock; RMAP_WALK_NOTIFY: bracket each mapping's PTE lock
 * section with MMU notifier calls (try_to_unmap_one).  Returns the number of PTEs found
 * mapping the page, or RMAP_WALK_CONTENDED if it gave up (counted: rmap_walk_contended).
 */
#define RMAP_WALK_TRYLOCK 0x1u
#define RMAP_WALK_NOTIFY 0x2u
#define RMAP_WALK_CONTENDED (-2)
int rmap_walk_file(struct sim_task *t, struct page *p, unsigned flags, rmap_one_fn fn, void *arg);

/* PG_locked of a page cache page: reclaim's folio_trylock and the unlock. */
bool filemap_folio_trylock(struct sim_task *t, struct page *p);
void filemap_folio_unlock(struct sim_task *t, struct page *p);
/*
 * __remove_mapping: take a clean, unmapped page cache page out of its file's cache under
 * xa_lock, freezing its references at 0 (folio_ref_freeze: only the cache's and the
 * caller's may remain; a concurrent lookup that took one makes it fail).  The caller
 * holds it locked and isolated; on success the page is the caller's to free.
 */
bool filemap_remove_folio(struct sim_task *t, struct page *p);
/* folio_wait_locked on the page cache page at pfn of m: sleep until its lock is free. */
void filemap_folio_wait(struct sim_task *t, struct address_space *m, uint64_t pfn);
/*
 * __folio_migrate_mapping: under xa_lock, freeze old's references (only the cache's and
 * the caller's may remain, and no mapping) and put new, a copy holding the cache's and the
 * caller's references, in its slot.  False (nothing changed) if old is held elsewhere.
 */
bool filemap_migrate_mapping(struct sim_task *t, struct page *old, struct page *new);

/* End-of-run checks (check.c's mm_check): a page cache PTE at va of vma (NULL: fine),
 * and every file's page cache and i_mmap against the PTE counts of all the mms in
 * file_maps (pfn -> PTEs); *cache_pages: pages held by page caches.  NULL or a message. */
char *filemap_check_pte(const struct vm_area_struct *vma, unsigned long va, uint64_t pte,
			const struct page *p);
char *filemap_check(struct mm_struct *const *mms, unsigned nr_mms, GHashTable *file_maps,
		    uint64_t *cache_pages);

#endif
