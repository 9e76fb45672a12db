/*
 * classic: every fault under mmap_lock held for read (x86 do_user_addr_fault before 6.4).
 * mmap, munmap and mprotect take it for write; munmap downgrades to read before zapping,
 * as do_vmi_align_munmap does since 4.20; madvise(MADV_DONTNEED) takes it for read.
 *
 * Steps and lines: ../shared/reference/kernel-algorithms.md §A (fault), §B.3-B.5.
 * Every fault does an atomic on the mmap_lock line to take it and another to drop it, so
 * that line bounces between faulting CPUs even with no writer.
 * mmap_lock is taken through models/mm/mmap_lock.c, shared with the per-VMA schemes, whose
 * mmap and munmap are these (the VMA write locks are taken by the VMA code underneath).
 * The entry prefetchw of mmap_lock is the scenario knob `prefetchw` (models/mm/mmu.c).
 * Not yet modelled: VM_FAULT_RETRY (no fault here sleeps for I/O), stack expansion.
 */
#include "scheme.h"
#include "hw/hw.h"

/* Also the fallback of every scheme that tries something lighter first (lock_mmap). */
vm_fault_t classic_fault(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
				unsigned int flags)
{
	vm_fault_t ret;

	mmap_read_lock(t, mm);
	struct vm_area_struct *vma = find_vma(t, mm, addr);
	if (!vma || vma->vm_start > addr) {
		ret = VM_FAULT_SIGSEGV; /* bad_area */
		goto out;
	}
	hw_load(t, vma, 32);
	if (access_error(vma->vm_flags, flags)) {
		ret = VM_FAULT_SIGSEGV;
		goto out;
	}
	ret = handle_mm_fault(t, vma, addr, flags);
out:
	mmap_read_unlock(t, mm);
	return ret;
}

unsigned long classic_mmap(struct sim_task *t, struct mm_struct *mm, unsigned long len,
				  unsigned long vm_flags)
{
	mmap_write_lock(t, mm);
	unsigned long addr = mmap_region_locked(t, mm, len, vm_flags);
	mmap_write_unlock(t, mm);
	return addr;
}

unsigned long classic_mmap_file(struct sim_task *t, struct mm_struct *mm, unsigned long len,
				unsigned long vm_flags, struct address_space *m, unsigned long pgoff)
{
	mmap_write_lock(t, mm);
	unsigned long addr = mmap_region_file_locked(t, mm, len, vm_flags, m, pgoff);
	mmap_write_unlock(t, mm);
	return addr;
}

void classic_munmap(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			   unsigned long len)
{
	GPtrArray *detached = g_ptr_array_new();
	unsigned long floor, ceiling;

	mmap_write_lock(t, mm);
	munmap_detach_locked(t, mm, start, start + len, detached, &floor, &ceiling);
	/* The VMAs are unreachable: faults elsewhere may proceed while we zap. */
	mmap_write_downgrade(t, mm);
	munmap_teardown(t, mm, detached, floor, ceiling);
	mmap_read_unlock(t, mm);
	g_ptr_array_free(detached, TRUE);
}

int classic_mprotect(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			    unsigned long len, unsigned long vm_flags)
{
	mmap_write_lock(t, mm);
	int ret = mprotect_locked(t, mm, start, start + len, vm_flags);
	/* mmap_write_unlock, not a bare up_write: the mm_lock_seq increment is what releases
	 * the VMA write locks mprotect took. */
	mmap_write_unlock(t, mm);
	return ret;
}

/* MADV_DONTNEED only needs the VMAs to stay put: the read lock (madvise_need_mmap_write). */
int classic_madvise_dontneed(struct sim_task *t, struct mm_struct *mm,
				    unsigned long start, unsigned long len)
{
	mmap_read_lock(t, mm);
	int ret = madvise_dontneed_locked(t, mm, start, start + len);
	mmap_read_unlock(t, mm);
	return ret;
}

const struct mm_scheme_ops classic_scheme = {
	.name = "classic",
	.description = "every fault under mmap_lock (read); mmap/munmap under it (write)",
	.vma_lock = VMA_LOCK_NONE,
	.fault = classic_fault,
	.mmap = classic_mmap,
	.mmap_file = classic_mmap_file,
	.munmap = classic_munmap,
	.mprotect = classic_mprotect,
	.madvise_dontneed = classic_madvise_dontneed,
};
