/*
 * pervma: per-VMA locks as merged in Linux 6.4 (Suren Baghdasaryan, "Per-VMA locks"
 * series, lore 20230227173632.3292573-1-surenb@google.com; mm/memory.c
 * lock_vma_under_rcu, include/linux/mm.h vma_start_read/vma_end_read, arch/x86/mm/fault.c
 * of 6.4, with the 6.5 acquire/release on mm_lock_seq).
 * Spec: ../shared/reference/kernel-algorithms.md §D.1-D.4, D.8; docs/schemes/pervma.md.
 *
 * A fault looks the VMA up in the maple tree under RCU only (the tree is in RCU mode and
 * retired nodes and VMAs are freed after a grace period), read-locks that one VMA with a
 * trylock of its own rw_semaphore (a separate slab object: line VMA.LOCK) and handles the
 * fault without mmap_lock.  A VMA is write-locked by mmap writers (vma_start_write, in
 * models/mm/mmap_lock.c) until their mmap_write_unlock or downgrade; a fault that meets a
 * write-locked VMA, loses the trylock or finds no VMA falls back to the classic path.
 *
 * Per fault, shared stores: the trylock and the up_read on the VMA's rwsem (2 atomics +
 * the owner word), against classic's 2 atomics on the one mmap_lock line of the mm.
 *
 * anon_vma: 6.4 aborts for a VMA without anon_vma, read faults included
 * (find_mergeable_anon_vma would look at neighbouring VMAs the VMA lock does not hold
 * still): the VMA's faults go to mmap_lock until its first write fault there has
 * prepared one (counted as vma_lock_abort and vma_lock_no_anon_vma).  File VMAs abort to
 * mmap_lock, as in 6.4.  Not modelled: kernel-mode faults, VM_FAULT_RETRY from the
 * handler (none of the modelled faults sleeps for I/O).
 */
#include "scheme.h"
#include "hw/hw.h"
#include "sync/rcu.h"

/*
 * vma_start_read (6.4): the early check reads vm_lock_seq and mm_lock_seq as of the
 * tree walk's last synchronised step (no store: a write-locked VMA is refused without
 * touching VMA.LOCK); the trylock fails while a writer holds the rwsem or is queued on it;
 * the check is repeated after the acquire, since a writer may have stamped the VMA and
 * released the rwsem in between.
 */
static bool vma_start_read(struct sim_task *t, struct mm_struct *mm, struct vm_area_struct *vma)
{
	hw_load(t, &vma->vm_lock_seq, sizeof(vma->vm_lock_seq));
	hw_load(t, mm_seq_line(mm, &mm->mm_lock_seq), sizeof(mm->mm_lock_seq));
	if (vma->vm_lock_seq == mm->mm_lock_seq)
		return false;
	hw_load(t, &vma->vm_lock, sizeof(vma->vm_lock));
	if (!down_read_trylock(t, &vma->vm_lock->lock))
		return false;
	hw_load(t, mm_seq_line(mm, &mm->mm_lock_seq), sizeof(mm->mm_lock_seq)); /* smp_load_acquire */
	if (vma->vm_lock_seq == mm->mm_lock_seq) {
		up_read(t, &vma->vm_lock->lock);
		return false;
	}
	return true;
}

static void vma_end_read(struct sim_task *t, struct vm_area_struct *vma)
{
	up_read(t, &vma->vm_lock->lock); /* wakes a writer in vma_start_write if last */
}

/* The VMA covering addr, read-locked, or NULL (then the caller takes mmap_lock). */
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
	/* Freed VMAs are poisoned after their grace period: a use here would be a bug. */
	rcu_check_access(t, vma, "lock_vma_under_rcu");
	/* 6.4: "find_mergeable_anon_vma uses adjacent vmas which are not locked". */
	hw_load(t, &vma->anon_vma, sizeof(vma->anon_vma));
	if (!vma->anon_vma) {
		count_event(&t->stats, EV_VMA_LOCK_NO_ANON_VMA);
		goto inval;
	}
	if (scheme_walk_hook)
		scheme_walk_hook(t, mm, addr, vma);
	/* 6.4: "Only anonymous vmas are supported for now" (the flag is on the line
	 * vma_start_read loads next). */
	if (vma->vm_flags & VM_FILEMAP)
		goto inval;
	if (!vma_start_read(t, mm, vma))
		goto inval;
	/* The VMA may have shrunk (split) before we locked it. */
	hw_load(t, vma, 2 * sizeof(unsigned long));
	if (addr < vma->vm_start || addr >= vma->vm_end)
		goto inval_end_read;
	/* Unmapped (or replaced) between the walk and the lock: walk again. */
	hw_load(t, &vma->detached, sizeof(vma->detached));
	if (vma->detached) {
		vma_end_read(t, vma);
		count_event(&t->stats, EV_VMA_LOCK_MISS);
		goto retry;
	}
	rcu_read_unlock(t);
	return vma;

inval_end_read:
	vma_end_read(t, vma);
inval:
	rcu_read_unlock(t);
	count_event(&t->stats, EV_VMA_LOCK_ABORT);
	return NULL;
}

static vm_fault_t pervma_fault(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			       unsigned int flags)
{
	struct vm_area_struct *vma = lock_vma_under_rcu(t, mm, addr);
	/* 6.4: the caller always releases the VMA lock (vma_end_read). */
	if (vma) {
		vm_fault_t ret = vma_locked_fault(t, vma, addr, flags, vma_end_read);
		if (!(ret & VM_FAULT_RETRY))
			return ret;
	}
	count_event(&t->stats, EV_MMAP_LOCK_FALLBACK); /* lock_mmap */
	return classic_fault(t, mm, addr, flags);
}

const struct mm_scheme_ops pervma_scheme = {
	.name = "pervma",
	.description = "6.4 per-VMA locks: RCU tree walk, VMA rwsem trylock, mmap_lock fallback",
	.vma_lock = VMA_LOCK_RWSEM,
	.fault = pervma_fault,
	/* mmap/munmap are classic's: the VMA code write-locks every VMA it changes. */
	.mmap = classic_mmap,
	.mmap_file = classic_mmap_file,
	.munmap = classic_munmap,
	.mprotect = classic_mprotect,
	.madvise_dontneed = classic_madvise_dontneed,
};
