/*
 * pervma-refcount: per-VMA locks after the ≈6.15 rewrite (Suren Baghdasaryan, "move
 * per-vma lock into vm_area_struct" v9, lore 20250111042604.3230628-1-surenb@google.com;
 * mm/mmap_lock.c lock_vma_under_rcu and vma_start_read; the 2025 fix "mm: fix a UAF when
 * vma->mm is freed after vma->vm_refcnt got dropped").
 * Spec: ../shared/reference/kernel-algorithms.md §D.5-D.8; docs/schemes/pervma-refcount.md.
 *
 * The VMA's rw_semaphore becomes vm_refcnt, on its own line of the VMA: 0 detached, 1
 * attached, +1 per reader, +VMA_LOCK_OFFSET while a writer excludes readers (and sleeps
 * on the mm's rcuwait until they drain).  The VMA slab is SLAB_TYPESAFE_BY_RCU: a freed
 * VMA is reused at once, so the pointer a lockless walk returns may by now be another VMA;
 * the reader revalidates after taking its reference: count 0 (detached: walk again),
 * vm_mm, then the range.  Tree nodes are still freed after a grace period.
 *
 * anon_vma: no abort for its lack; the first write fault of a VMA prepares it from under
 * the VMA lock through vmf_anon_prepare (models/mm/fault.c), which needs mmap_lock by
 * trylock and otherwise retries the fault under mmap_lock (vma_lock_retry).  File faults
 * (read, shared, COW) run under the VMA lock, as since ≈6.7 (models/mm/filemap.c).
 */
#include "scheme.h"
#include "hw/hw.h"
#include "sync/rcu.h"

enum vma_read { VMA_READ_OK, VMA_READ_FAIL, VMA_READ_DETACHED };

/*
 * vma_start_read (6.15): the early check as in 6.4 (no store); then the limited
 * inc-not-zero, which fails on a detached VMA (0) and while a writer's offset is in;
 * then vm_mm (the object may now belong to another mm) and the sequence again (a writer
 * may have stamped the VMA after our early check).
 */
static enum vma_read vma_start_read(struct sim_task *t, struct mm_struct *mm,
				    struct vm_area_struct *vma)
{
	hw_load(t, &vma->vm_lock_seq, sizeof(vma->vm_lock_seq));
	hw_load(t, mm_seq_line(mm, &mm->mm_lock_seq), sizeof(mm->mm_lock_seq));
	if (vma->vm_lock_seq == mm->mm_lock_seq)
		return VMA_READ_FAIL;
	if (!refcount_inc_not_zero_limited(t, &vma->vm_refcnt, VMA_REF_LIMIT))
		return vma->vm_refcnt.refs == 0 ? VMA_READ_DETACHED : VMA_READ_FAIL;
	hw_load(t, &vma->vm_mm, sizeof(vma->vm_mm));
	if (vma->vm_mm != mm) {
		/* Reused by another mm: its writer's rcuwait lives there (mmgrab/mmdrop). */
		vma_refcount_put(t, vma);
		return VMA_READ_FAIL;
	}
	hw_load(t, &vma->vm_lock_seq, sizeof(vma->vm_lock_seq));
	hw_load(t, mm_seq_line(mm, &mm->mm_lock_seq), sizeof(mm->mm_lock_seq)); /* raw_read_seqcount */
	if (vma->vm_lock_seq == mm->mm_lock_seq) {
		vma_refcount_put(t, vma);
		return VMA_READ_FAIL;
	}
	return VMA_READ_OK;
}

static struct vm_area_struct *lock_vma_under_rcu(struct sim_task *t, struct mm_struct *mm,
						 unsigned long addr)
{
	struct vm_area_struct *vma;

	rcu_read_lock(t);
retry:;
	MA_STATE(mas, &mm->mm_mt, t, addr, addr);
	vma = mas_walk(&mas);
	if (!vma)
		goto inval;
	if (scheme_walk_hook)
		scheme_walk_hook(t, mm, addr, vma);
	switch (vma_start_read(t, mm, vma)) {
	case VMA_READ_OK:
		break;
	case VMA_READ_DETACHED:
		/* Isolated (and maybe freed) after we found it: walk again. */
		count_event(&t->stats, EV_VMA_LOCK_MISS);
		goto retry;
	case VMA_READ_FAIL:
		goto inval;
	}
	/* Range checked only now: before the reference the object could be reused. */
	hw_load(t, vma, 2 * sizeof(unsigned long));
	if (addr < vma->vm_start || addr >= vma->vm_end) {
		vma_refcount_put(t, vma);
		goto inval;
	}
	rcu_read_unlock(t);
	return vma;

inval:
	rcu_read_unlock(t);
	count_event(&t->stats, EV_VMA_LOCK_ABORT);
	return NULL;
}

vm_fault_t pervma_refcount_try(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			       unsigned int flags)
{
	struct vm_area_struct *vma = lock_vma_under_rcu(t, mm, addr);
	if (!vma)
		return VM_FAULT_RETRY;
	return vma_locked_fault(t, vma, addr, flags, vma_refcount_put);
}

static vm_fault_t pervma_refcount_fault(struct sim_task *t, struct mm_struct *mm,
					unsigned long addr, unsigned int flags)
{
	vm_fault_t ret = pervma_refcount_try(t, mm, addr, flags);
	if (!(ret & VM_FAULT_RETRY))
		return ret;
	count_event(&t->stats, EV_MMAP_LOCK_FALLBACK); /* lock_mmap */
	return classic_fault(t, mm, addr, flags);
}

const struct mm_scheme_ops pervma_refcount_scheme = {
	.name = "pervma-refcount",
	.description = "6.15 per-VMA locks: vm_refcnt + rcuwait writer, type-safe VMA reuse",
	.vma_lock = VMA_LOCK_REFCNT,
	.fault = pervma_refcount_fault,
	.mmap = classic_mmap,
	.mmap_file = classic_mmap_file,
	.munmap = classic_munmap,
	.mprotect = classic_mprotect,
	.madvise_dontneed = classic_madvise_dontneed,
};
