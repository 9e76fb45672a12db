/*
 * mprotect(2) and madvise(MADV_DONTNEED) on private anonymous memory, the bodies the
 * scheme wraps in its locks (mm/mprotect.c do_mprotect_pkey / mprotect_fixup /
 * change_protection, mm/madvise.c madvise_dontneed_single_vma; kernel-algorithms.md B.5
 * and H.5).  Modelled kernel: 6.x with one mmu_gather per call.
 *
 * mprotect, under mmap_lock (W): split the VMAs at the range's ends where the flags
 * change, set vm_flags and vm_page_prot, rewrite the present PTEs of each PTE table under
 * its PTL, flush the range once, then merge neighbours that became alike.  Per-VMA locks
 * are taken with vma_start_write on every VMA whose flags or range change.  Unlike the kernel, a range with a hole is refused
 * before anything changes (the kernel changes the VMAs below the hole, then fails).
 *
 * MADV_DONTNEED, under mmap_lock (R): zap the range of every VMA in it exactly as munmap
 * zaps (PTE lock per table, TLB flush, then free the pages); the VMAs and the page tables
 * stay, so a later read maps the zero page and a later write a fresh page.
 */
#include "mm.h"
#include "hw/hw.h"
#include "die.h"
#include "mmu_notifier.h"

/* Is every byte of [start, end) inside some VMA? */
static bool range_mapped(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			 unsigned long end)
{
	for (unsigned long a = start; a < end;) {
		struct vm_area_struct *v = find_vma(t, mm, a);
		if (!v || v->vm_start > a)
			return false;
		a = v->vm_end;
	}
	return true;
}

int mprotect_locked(struct sim_task *t, struct mm_struct *mm, unsigned long start,
		    unsigned long end, unsigned long vm_flags)
{
	struct mmu_gather tlb;

	rwsem_assert_held_write(t, &mm->mmap_lock);
	if (mm->inject == INJECT_NOTIFIER_MISSING_END) {
		/* The bug: the whole range is invalidated up front, the hole found after, and
		 * the -ENOMEM return forgets invalidate_range_end (the secondary MMU then
		 * refuses every new mapping in the range for good). */
		struct mmu_notifier_range range;
		mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_VMA, mm, start, end,
					"mprotect (-ENOMEM path)");
		mmu_notifier_invalidate_range_start(t, &range);
		if (!range_mapped(t, mm, start, end))
			return -12;
		mmu_notifier_invalidate_range_end(t, &range);
	}
	if (!range_mapped(t, mm, start, end))
		return -12; /* -ENOMEM */
	tlb_gather_mmu(&tlb, mm);
	for (unsigned long a = start; a < end;) {
		struct vm_area_struct *v = find_vma(t, mm, a);
		unsigned long vend = v->vm_end < end ? v->vm_end : end;
		unsigned long newflags = (v->vm_flags & ~VM_ACCESS_FLAGS) | vm_flags;
		hw_load(t, v, 32);
		if (newflags != v->vm_flags) {
			/* mprotect_fixup: split so the change covers whole VMAs. */
			vma_split_at(t, mm, a);
			vma_split_at(t, mm, vend);
			v = find_vma(t, mm, a);
			sim_bug_on(v->vm_start != a || v->vm_end != vend);
			/* Faults under the VMA lock must not see the flags change. */
			vma_start_write(t, v);
			mm_assert_locked(t, mm, a, rwsem_is_write_locked_by(&mm->mmap_lock, t),
					 "vm_flags and vm_page_prot", "mmap_lock (W)");
			hw_store(t, v, 32);
			v->vm_flags = newflags;
			v->vm_page_prot = vm_get_page_prot(newflags);
			/* change_protection brackets its PTE rewrites. */
			struct mmu_notifier_range range;
			mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_VMA, mm, a, vend,
						"mprotect (change_protection)");
			mmu_notifier_invalidate_range_start(t, &range);
			pt_change_prot_range(t, &tlb, a, vend, v->vm_page_prot);
			mmu_notifier_invalidate_range_end(t, &range);
		}
		a = vend;
	}
	/* One flush for everything changed, before the lock is dropped. */
	tlb_finish_mmu(t, &tlb);

	/* vma_merge: the VMAs from the one before start to the one holding end - 1. */
	struct vm_area_struct *v = find_vma_prev(t, mm, start);
	if (!v || v->vm_end != start)
		v = find_vma(t, mm, start);
	while (v && v->vm_start < end) {
		if (!vma_merge_next(t, mm, v))
			v = vma_next(t, mm, v);
	}
	return 0;
}

int madvise_dontneed_locked(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			    unsigned long end)
{
	struct mmu_gather tlb;
	int ret = 0;

	rwsem_assert_held(t, &mm->mmap_lock);
	tlb_gather_mmu(&tlb, mm);
	tlb.dontneed = true;
	for (unsigned long a = start; a < end;) {
		struct vm_area_struct *v = find_vma(t, mm, a);
		if (!v || v->vm_start >= end) {
			ret = -12; /* the rest of the range is a hole */
			break;
		}
		if (v->vm_start > a) {
			ret = -12; /* madvise goes on past a hole but reports it */
			a = v->vm_start;
		}
		unsigned long vend = v->vm_end < end ? v->vm_end : end;
		/* zap_page_range_single: a notifier range per VMA. */
		struct mmu_notifier_range range;
		mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, mm, a, vend,
					"madvise(MADV_DONTNEED)");
		mmu_notifier_invalidate_range_start(t, &range);
		pt_zap_range(t, &tlb, a, vend);
		mmu_notifier_invalidate_range_end(t, &range);
		a = vend;
	}
	tlb_finish_mmu(t, &tlb);
	return ret;
}
