/*
 * VMAs indexed by the maple tree mm->mm_mt (models/mm/maple_tree.c): each VMA is stored
 * over [vm_start, vm_end - 1] and the gaps between them are NULL ranges, as in the
 * kernel since 6.1 (mm/vma.c, mm/mmap.c: vma_iter_store, find_vma, vm_unmapped_area).
 * find_vma is a tree walk; get_unmapped_area is the top-down gap search
 * mas_empty_area_rev; every change preallocates its nodes, then stores.
 * Every function here needs mmap_lock: read to look up, write to change.  The tree's
 * writers' lock is mmap_lock, asserted by every store, unless the scenario's tree_lock
 * makes it the tree's own spinlock: then every store takes that spinlock (mmap_lock (W)
 * still orders the VMA changes around the store), and the tree asserts it instead.
 */
#include "mmsim-config.h"
#include "mm.h"
#include "mm/anon_vma.h"
#include "hw/hw.h"
#include "die.h"
#include "sync/rcu.h"

/* vm_area_cachep; 6.15 makes it SLAB_TYPESAFE_BY_RCU: a freed VMA is reused at once,
 * possibly while a lockless reader still holds a pointer to it (D.7). */
static struct kmem_cache vma_cache = { sizeof(struct vm_area_struct), 64, NULL };
/* 6.4's vma_lock_cachep */
static struct kmem_cache vma_lock_cache = { sizeof(struct vma_lock), 64, NULL };

static bool mm_mt_lock_held(const void *lock, const struct sim_task *t)
{
	return rwsem_is_write_locked_by(lock, t);
}

/* ma_free_rcu: a replaced node may still be read by a lockless walker. */
static void mm_mt_free_rcu(void *arg, struct sim_task *t, struct maple_node *node)
{
	(void)arg;
	sim_bug_on(!t);
	cpu_work(t, t->machine->path.maple_node_alloc);
	kfree_rcu(t, node, MAPLE_NODE_SIZE);
}

void mm_mt_init(struct mm_struct *mm)
{
	/* mm_init: MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN, lock = mmap_lock.  Without
	 * per-VMA locks every reader holds mmap_lock, so retired nodes are freed at once
	 * (mt_init); with them faults walk the tree under RCU only: RCU mode, and retired
	 * nodes freed after a grace period. */
	mt_init(&mm->mm_mt, MT_FLAGS_ALLOC_RANGE);
	mt_set_external_lock(&mm->mm_mt, mm_mt_lock_held, &mm->mmap_lock);
	if (mm->vma_lock_kind != VMA_LOCK_NONE || mm->speculative) {
		mt_set_free(&mm->mm_mt, mm_mt_free_rcu, NULL);
		mt_set_in_rcu(&mm->mm_mt);
	}
}

struct vm_area_struct *vma_alloc(struct sim_task *t, struct mm_struct *mm, unsigned long start,
				 unsigned long end, unsigned long flags)
{
	struct vm_area_struct *vma = kmem_cache_alloc(&vma_cache);

	cpu_work(t, t->machine->path.vma_alloc);
	hw_store(t, vma, sizeof(*vma));
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_mm = mm;
	vma->vm_flags = flags;
	vma->vm_page_prot = vm_get_page_prot(flags);
	vma->vm_pgoff = start >> PAGE_SHIFT; /* anonymous: its own address */
	/* vma_lock_init: unlocked (no mm_lock_seq value is -1 before it wraps) and not
	 * yet in the tree. */
	vma->vm_lock_seq = -1;
	vma->detached = true;
	if (mm->vma_lock_kind == VMA_LOCK_RWSEM) {
		vma->vm_lock = kmem_cache_alloc(&vma_lock_cache);
		init_rwsem(&vma->vm_lock->lock, "&vma->vm_lock->lock");
	}
	return vma;
}

void vma_free(struct sim_task *t, struct vm_area_struct *vma)
{
	/* remove_vma after a merge: its chains go (munmap and exit unlinked them before
	 * freeing the page tables, as free_pgtables does). */
	unlink_anon_vmas(t, vma);
	cpu_work(t, t->machine->path.vma_alloc);
	switch (vma->vm_mm->vma_free) {
	case VMA_FREE_IMMEDIATE:
	case VMA_FREE_TYPESAFE: /* readers revalidate what they find (D.7) */
		sim_bug_on(vma->vm_lock); /* a 6.4 vma_lock is never reused under a reader */
		kmem_cache_free(&vma_cache, vma);
		return;
	case VMA_FREE_RCU: /* vm_area_free: call_rcu, the 6.4 vma_lock with it */
		if (vma->vm_lock)
			kfree_rcu(t, vma->vm_lock, sizeof(*vma->vm_lock));
		kfree_rcu(t, vma, sizeof(*vma));
		return;
	}
}

/*
 * tree_lock = spinlock.  What it requires of readers: a walker that does not hold the
 * tree's spinlock is, to the tree, a lockless reader, whatever else it holds; the tree
 * must be in RCU mode (stores publish new nodes, never edit visible ones in a way a
 * reader could see half done) and a replaced node must outlive every walk that may be
 * inside it (freed after a grace period).  Even classic, whose find_vma runs under
 * mmap_lock (R), pays that: RCU-mode walks and RCU-deferred node frees.
 */
void mm_set_tree_lock(struct mm_struct *mm, enum mm_tree_lock kind)
{
	sim_bug_on(mm->mm_mt.ma_root || mm->map_count);
	if (kind == mm->tree_lock)
		return;
	mm->tree_lock = kind;
	if (kind == TREE_LOCK_MMAP) {
		mm_mt_init(mm);
		return;
	}
	spin_lock_init(&mm->mm_mt_lock, "&mm->mm_mt.ma_lock");
	/* Stores happen inside mmap_write_lock sections (the VMA changes still need it). */
	lockdep_declare_order("&mm->mmap_lock", "&mm->mm_mt.ma_lock");
	mt_set_lock(&mm->mm_mt, &mm->mm_mt_lock);
	mt_set_free(&mm->mm_mt, mm_mt_free_rcu, NULL);
	mt_set_in_rcu(&mm->mm_mt);
}

/* Store vma (or NULL) over [start, end): preallocate, then store (vma_iter_store).  With
 * the tree spinlock, preallocation plans against the tree, so both happen under it (as
 * mtree_store_range: nodes from the slab's per-CPU cache, no sleeping). */
static void vma_store(struct sim_task *t, struct mm_struct *mm, unsigned long start,
		      unsigned long end, struct vm_area_struct *vma)
{
	MA_STATE(mas, &mm->mm_mt, t, start, end - 1);
	if (vma)
		vma_assert_write_locked(t, vma);
	if (mm->tree_lock == TREE_LOCK_SPINLOCK)
		mtree_lock(t, &mm->mm_mt);
	mas_preallocate(&mas, vma);
	mas_store_prealloc(&mas, vma);
	mas_destroy(&mas);
	if (mm->tree_lock == TREE_LOCK_SPINLOCK)
		mtree_unlock(t, &mm->mm_mt);
#if MMSIM_DEBUG
	/* -Dsim_debug=true: the whole tree after every store (validate_mm). */
	char *err = mt_validate(&mm->mm_mt);
	if (err)
		sim_die("VMA tree invalid after storing [0x%lx, 0x%lx): %s", start, end, err);
#endif
}

/* The first VMA with vm_end > addr, or NULL; it may start above addr.  t == NULL: an
 * uncharged look (the checker). */
struct vm_area_struct *find_vma(struct sim_task *t, struct mm_struct *mm, unsigned long addr)
{
	MA_STATE(mas, &mm->mm_mt, t, addr, addr);
	return mas_find(&mas, ULONG_MAX);
}

/* The last VMA with vm_start < addr, or NULL. */
struct vm_area_struct *find_vma_prev(struct sim_task *t, struct mm_struct *mm, unsigned long addr)
{
	if (!addr)
		return NULL;
	MA_STATE(mas, &mm->mm_mt, t, addr - 1, addr - 1);
	return mas_find_rev(&mas, 0);
}

/* The VMA after vma (vma_next), or NULL. */
struct vm_area_struct *vma_next(struct sim_task *t, struct mm_struct *mm,
				struct vm_area_struct *vma)
{
	return vma->vm_end ? find_vma(t, mm, vma->vm_end) : NULL;
}

void vma_insert(struct sim_task *t, struct mm_struct *mm, struct vm_area_struct *vma)
{
	sim_bug_on(!rwsem_is_write_locked_by(&mm->mmap_lock, t));
	struct vm_area_struct *next = find_vma(t, mm, vma->vm_start);
	sim_bug_on(next && next->vm_start < vma->vm_end);
	vma_start_write(t, vma);
	vma_store(t, mm, vma->vm_start, vma->vm_end, vma);
	vma_mark_attached(t, vma);
	mm->map_count++;
}

/*
 * Top-down search for a gap of len bytes in [MMAP_MIN_ADDR, mmap_base)
 * (arch_get_unmapped_area_topdown -> vm_unmapped_area -> mas_empty_area_rev).
 */
unsigned long get_unmapped_area(struct sim_task *t, struct mm_struct *mm, unsigned long len)
{
	MA_STATE(mas, &mm->mm_mt, t, 0, 0);
	if (!len || mm->mmap_base < MMAP_MIN_ADDR + len)
		return 0;
	if (mas_empty_area_rev(&mas, MMAP_MIN_ADDR, mm->mmap_base - 1, len))
		return 0;
	return mas.index;
}

void vma_split_at(struct sim_task *t, struct mm_struct *mm, unsigned long addr)
{
	sim_bug_on(!rwsem_is_write_locked_by(&mm->mmap_lock, t));
	struct vm_area_struct *vma = find_vma(t, mm, addr);
	if (!vma || vma->vm_start >= addr)
		return;
	/* __split_vma: the new VMA takes the upper part; storing it over [addr, end)
	 * shrinks the old VMA's range in the tree. */
	vma_start_write(t, vma);
	struct vm_area_struct *new = vma_alloc(t, mm, addr, vma->vm_end, vma->vm_flags);
	new->vm_page_prot = vma->vm_page_prot;
	new->vm_pgoff = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	/* The upper part maps pages of the same anon_vmas: link it to all of them. */
	new->anon_vma = vma->anon_vma;
	if (vma->anon_vma)
		anon_vma_clone(t, new, vma);
	vma_start_write(t, new);
	vma_assert_write_locked(t, vma);
	vma_file_prepare(t, vma, new, NULL); /* i_mmap (W); new gets the file and pgoff */
	mm_assert_locked(t, mm, addr, rwsem_is_write_locked_by(&mm->mmap_lock, t), "vm_end",
			 "mmap_lock (W)");
	/* vma_prepare/vma_complete: rmap walkers must not see the old range in the tree. */
	if (vma->anon_vma) {
		anon_vma_lock_write(t, vma->anon_vma);
		anon_vma_interval_tree_pre_update_vma(t, vma);
	}
	hw_store(t, vma, 16);
	vma->vm_end = addr;
	if (vma->anon_vma) {
		anon_vma_interval_tree_post_update_vma(t, vma);
		anon_vma_unlock_write(t, vma->anon_vma);
	}
	vma_store(t, mm, addr, new->vm_end, new);
	vma_mark_attached(t, new);
	vma_file_complete(t, vma, new);
	mm->map_count++;
}

void vma_detach_range(struct sim_task *t, struct mm_struct *mm, unsigned long start,
		      unsigned long end, GPtrArray *detached)
{
	sim_bug_on(!rwsem_is_write_locked_by(&mm->mmap_lock, t));
	MA_STATE(mas, &mm->mm_mt, t, start, start);
	unsigned n = 0;
	for (struct vm_area_struct *v = mas_find(&mas, end - 1); v; v = mas_next(&mas, end - 1)) {
		sim_bug_on(v->vm_start < start || v->vm_end > end);
		/* 6.4: waits for this VMA's readers in flight; later ones fail. */
		vma_start_write(t, v);
		g_ptr_array_add(detached, v);
		n++;
	}
	if (!n)
		return;
	/* One store of NULL over the range: a spanning store if it crosses leaves. */
	vma_store(t, mm, start, end, NULL);
	for (unsigned i = detached->len - n; i < detached->len; i++)
		vma_mark_detached(t, g_ptr_array_index(detached, i));
	mm->map_count -= (int)n;
}

/*
 * The anon_vma rule of is_mergeable_anon_vma: two VMAs may become one only if their
 * anonymous pages can share one anon_vma (neither has one yet, or one of them has none,
 * or both have the same).  Every merge asks here, so the rule is applied in one place;
 * until VMAs carry an anon_vma every pair qualifies.
 */
bool vma_anon_compatible(const struct vm_area_struct *a, const struct vm_area_struct *b)
{
	/* is_mergeable_anon_vma: the same anon_vma, or one side has none yet and the other
	 * is linked to its own only (a forked VMA's chains could not be shared). */
	if (a->anon_vma && b->anon_vma)
		return a->anon_vma == b->anon_vma;
	const struct vm_area_struct *chained = a->anon_vma ? a : b->anon_vma ? b : NULL;
	return !chained || !chained->anon_vma_chain->same_vma;
}

/*
 * May a and b, with a ending where b starts, be one VMA (is_mergeable_vma)?  Same flags
 * and protections, the same file at contiguous pages (or both anonymous), and a
 * compatible anon_vma.  The model has no mempolicy, userfaultfd context or VMA name.
 */
static bool vma_mergeable(const struct vm_area_struct *a, const struct vm_area_struct *b)
{
	/* The same file (or none) at contiguous page offsets; anonymous offsets are
	 * addresses, so adjacent anonymous VMAs always pass (a fork child's VMAs keep their
	 * parent's). */
	return a->vm_end == b->vm_start && a->vm_flags == b->vm_flags &&
	       a->vm_page_prot == b->vm_page_prot && a->vm_file == b->vm_file &&
	       b->vm_pgoff == a->vm_pgoff + ((a->vm_end - a->vm_start) >> PAGE_SHIFT) &&
	       vma_anon_compatible(a, b);
}

/*
 * vma_expand: keep grows to [start, end), whose first page is file page pgoff, and
 * absorbs `gone` (NULL, or the VMA after keep that [start, end) now covers, which is
 * freed).  Every VMA whose range changes or that goes is write-locked first, so no fault
 * under a VMA lock sees it half done; i_mmap is updated around the change under its lock
 * (vma_prepare / vma_complete); one store of keep over [start, end) replaces whatever
 * the tree held there (the old keep, the free range, gone).  If keep has no anon_vma and
 * gone has one, keep takes it over (dup_anon_vma); an anon_vma's interval tree is keyed
 * by the page offsets, so keep leaves and rejoins it under the anon_vma lock (W).
 */
static void vma_expand(struct sim_task *t, struct mm_struct *mm, struct vm_area_struct *keep,
		       unsigned long start, unsigned long end, unsigned long pgoff,
		       struct vm_area_struct *gone)
{
	vma_start_write(t, keep);
	if (gone)
		vma_start_write(t, gone);
	vma_file_prepare(t, keep, NULL, gone); /* i_mmap (W): both leave the tree */
	mm_assert_locked(t, mm, start, rwsem_is_write_locked_by(&mm->mmap_lock, t),
			 "vm_start and vm_end", "mmap_lock (W)");
	if (gone && !keep->anon_vma && gone->anon_vma) {
		keep->anon_vma = gone->anon_vma;
		anon_vma_clone(t, keep, gone);
	}
	if (keep->anon_vma) {
		anon_vma_lock_write(t, keep->anon_vma);
		anon_vma_interval_tree_pre_update_vma(t, keep);
	}
	hw_store(t, keep, 16);
	keep->vm_start = start;
	keep->vm_end = end;
	if (keep->vm_pgoff != pgoff) {
		hw_store(t, &keep->vm_pgoff, sizeof(keep->vm_pgoff));
		keep->vm_pgoff = pgoff;
	}
	if (keep->anon_vma) {
		anon_vma_interval_tree_post_update_vma(t, keep);
		anon_vma_unlock_write(t, keep->anon_vma);
	}
	vma_store(t, mm, start, end, keep);
	if (gone)
		vma_mark_detached(t, gone);
	vma_file_complete(t, keep, NULL);
	if (gone) {
		mm->map_count--;
		vma_free(t, gone);
	}
}

/*
 * vma_merge with the next VMA (mprotect's vma_merge_existing_range, the case where the
 * changed VMA and its successor become alike): vma grows over next, which is freed.
 * True if merged.
 */
bool vma_merge_next(struct sim_task *t, struct mm_struct *mm, struct vm_area_struct *vma)
{
	sim_bug_on(!rwsem_is_write_locked_by(&mm->mmap_lock, t));
	struct vm_area_struct *next = vma_next(t, mm, vma);
	if (!next || !vma_mergeable(vma, next))
		return false;
	hw_load(t, next, 32);
	vma_expand(t, mm, vma, vma->vm_start, next->vm_end, vma->vm_pgoff, next);
	count_event(&t->stats, EV_VMA_MERGE_NEXT);
	return true;
}

/*
 * vma_merge_new_range (mm/vma.c, 6.12+): the range of `proposed` is free; if the VMA
 * before it ends at its start and is alike, that VMA grows over it (and over the VMA
 * after it too, if that one starts at its end, is alike, and shares an anon_vma with the
 * one before); else if only the VMA after it is alike, that one grows down over it.
 * Returns the VMA now covering the range, or NULL (the caller makes a new VMA).
 */
struct vm_area_struct *vma_merge_new_range(struct sim_task *t, struct mm_struct *mm,
					   const struct vm_area_struct *proposed)
{
	sim_bug_on(!rwsem_is_write_locked_by(&mm->mmap_lock, t));
	unsigned long start = proposed->vm_start, end = proposed->vm_end;
	struct vm_area_struct *prev = find_vma_prev(t, mm, start);
	struct vm_area_struct *next = find_vma(t, mm, start);
	sim_bug_on(next && next->vm_start < end); /* the range must be free */
	/* The neighbours' flags and protections (VMA.HOT), and file and pgoff (VMA.REST). */
	if (prev && prev->vm_end == start) {
		hw_load(t, prev, 40);
		if (proposed->vm_file)
			hw_load(t, &prev->vm_file, 2 * sizeof(unsigned long));
	}
	if (next && next->vm_start == end) {
		hw_load(t, next, 40);
		if (proposed->vm_file)
			hw_load(t, &next->vm_file, 2 * sizeof(unsigned long));
	}
	bool left = prev && vma_mergeable(prev, proposed);
	bool right = next && vma_mergeable(proposed, next) &&
		     (!left || vma_anon_compatible(prev, next));

	if (left && right) {
		vma_expand(t, mm, prev, prev->vm_start, next->vm_end, prev->vm_pgoff, next);
		count_event(&t->stats, EV_VMA_MERGE_BOTH);
		return prev;
	}
	if (left) {
		vma_expand(t, mm, prev, prev->vm_start, end, prev->vm_pgoff, NULL);
		count_event(&t->stats, EV_VMA_MERGE_PREV);
		return prev;
	}
	if (right) {
		vma_expand(t, mm, next, start, next->vm_end, proposed->vm_pgoff, NULL);
		count_event(&t->stats, EV_VMA_MERGE_NEXT);
		return next;
	}
	return NULL;
}
