/*
 * mm lifetime and the scheme-independent bodies of mmap(2) and munmap(2).  The locking
 * scheme wraps them: classic takes mmap_lock for write around mmap_region_locked (all of
 * it, MAP_FIXED's unmap included) and around munmap_detach_locked, then downgrades to
 * read for munmap_teardown, as do_vmi_align_munmap does (spec: kernel-algorithms.md B.3,
 * B.4; mm/vma.c __mmap_region, vma_merge_new_range, vms_complete_munmap_vmas).
 */
#include <stdlib.h>
#include <string.h>
#include "mm.h"
#include "mm/anon_vma.h"
#include "hw/hw.h"
#include "die.h"
#include "schemes/scheme.h"
#include "mmu_notifier.h"

struct mm_struct *mm_create(struct zone *zone, const struct mm_scheme_ops *scheme)
{
	static unsigned next_asid; /* PCIDs in creation order: deterministic */
	struct mm_struct *mm;

	if (posix_memalign((void **)&mm, 64, sizeof(*mm)))
		sim_die("out of host memory");
	*mm = (struct mm_struct){ 0 };
	/* The part of mm/rmap.c's lock order that the modelled paths take (H.1). */
	lockdep_declare_order("&mm->mmap_lock", "&mm->page_table_lock");
	lockdep_declare_order("&mm->page_table_lock", "ptlock_ptr(ptdesc)");
	lockdep_declare_order("&mm->mmap_lock", "ptlock_ptr(ptdesc)");
	lockdep_declare_order("&mm->mmap_lock", "&zone->lock");
	lockdep_declare_order("&mm->mmap_lock", "&anon_vma->rwsem");
	lockdep_declare_order("&anon_vma->rwsem", "&mm->page_table_lock");
	lockdep_declare_order("&anon_vma->rwsem", "ptlock_ptr(ptdesc)");
	lockdep_declare_order("&mm->mmap_lock", "&anon_vma->lock");
	lockdep_declare_order("&anon_vma->lock", "&mm->page_table_lock");
	lockdep_declare_order("&anon_vma->lock", "ptlock_ptr(ptdesc)");
	lockdep_declare_order("ptlock_ptr(ptdesc)", "&lruvec->lru_lock");
	init_rwsem(&mm->mmap_lock, "&mm->mmap_lock");
	spin_lock_init(&mm->page_table_lock, "&mm->page_table_lock");
	mm->vma_lock_kind = scheme ? scheme->vma_lock : VMA_LOCK_NONE;
	mm->speculative = scheme && scheme->speculative;
	/* Faults that walk page tables with no lock (speculative, lockless) need unlinked
	 * tables freed only after a grace period. */
	mm->pt_free_rcu = scheme && scheme_pt_free(scheme) == PT_FREE_RCU;
	mm->vma_free = scheme ? scheme_vma_free(scheme) : VMA_FREE_IMMEDIATE;
	mm_mt_init(mm);
	mm->mmap_base = MMAP_BASE;
	mm->zone = zone;
	mm->scheme = scheme;
	mm->pgd = zone_alloc_boot(zone);
	mm->pgd->flags = PG_table;
	/* Page-aligned like every table (pgtable.c). */
	mm->pgd->table = g_aligned_alloc0(1, PAGE_SIZE, PAGE_SIZE);
	mm->pgd->mm = mm;
	mm->cpumask = g_aligned_alloc0((gsize)(zone->nr_cpus + 63) / 64, sizeof(uint64_t), 64);
	mm->asid = ++next_asid;
	return mm;
}

static void pt_release(struct mm_struct *mm, struct page *tp, int level)
{
	pteval_t *table = tp->table;
	for (unsigned i = 0; level > PT_PTE && i < PTRS_PER_TABLE; i++)
		if (table[i] && !(level == PT_PMD && pmd_trans_huge(table[i])))
			pt_release(mm, pt_page(mm, table[i]), level - 1);
	/* PTE tables deposited with the PMD table's huge entries (huge_memory.c). */
	for (uint32_t pfn = level == PT_PMD ? tp->pt_deposit : 0; pfn;) {
		struct page *pt = pfn_to_page(mm->zone, pfn);
		pfn = pt->pt_deposit;
		g_aligned_free(pt->table);
	}
	g_aligned_free(table);
}

void mm_destroy(struct mm_struct *mm)
{
	if (mm->pgd) { /* exit_mmap freed it already */
		pteval_t *pgd = mm->pgd->table;
		for (unsigned i = 0; i < PTRS_PER_TABLE; i++)
			if (pgd[i])
				pt_release(mm, pt_page(mm, pgd[i]), PT_PUD);
		g_aligned_free(pgd);
	}
	for (struct vm_area_struct *v = find_vma(NULL, mm, 0), *next; v; v = next) {
		next = vma_next(NULL, mm, v);
		if (v->vm_lock)
			g_aligned_free(v->vm_lock);
		g_aligned_free(v);
	}
	mtree_destroy(&mm->mm_mt);
	mmu_notifier_subscriptions_destroy(mm);
	g_aligned_free(mm->cpumask);
	free(mm);
}

/*
 * The hint of an mmap without MAP_FIXED is taken if the whole range is free and inside
 * the user address space (the first test of arch_get_unmapped_area_topdown; the model
 * has no stack guard gap).
 */
static bool mmap_hint_free(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			   unsigned long len)
{
	if (addr < MMAP_MIN_ADDR || len > TASK_SIZE || addr > TASK_SIZE - len)
		return false;
	struct vm_area_struct *next = find_vma(t, mm, addr);
	return !next || next->vm_start >= addr + len;
}

/*
 * mmap_region (6.12+ __mmap_region), with mmap_lock (W) held by the caller throughout:
 *  1. the address: MAP_FIXED's own, else the hint if free, else get_unmapped_area;
 *  2. MAP_FIXED over mappings (vms_gather_munmap_vmas): split at both ends, write-lock
 *     and detach every VMA in the range, exactly as munmap; MAP_FIXED_NOREPLACE refuses;
 *  3. vma_merge_new_range: a compatible neighbour grows over the range, else a new VMA is
 *     stored and, for a file, linked into i_mmap;
 *  4. vms_complete_munmap_vmas without unlock: the replaced VMAs' pages are zapped, their
 *     page tables freed and the TLB flushed still under the write lock (no downgrade: the
 *     new VMA must not be faulted on before the old PTEs are gone), then they are freed.
 * Returns the address, or -ENOMEM / -EEXIST.
 */
unsigned long mmap_region_locked(struct sim_task *t, struct mm_struct *mm,
				 const struct mmap_args *a)
{
	sim_bug_on(!rwsem_is_write_locked_by(&mm->mmap_lock, t));
	sim_bug_on(!a->len || (a->len & ~PAGE_MASK) || (a->addr & ~PAGE_MASK));
	unsigned long addr = a->addr, floor = 0, ceiling = 0;
	GPtrArray *detached = NULL;

	if (a->fixed == MMAP_HINT) {
		if (!addr || !mmap_hint_free(t, mm, addr, a->len))
			addr = get_unmapped_area(t, mm, a->len);
		if (!addr)
			return MMAP_ENOMEM;
	} else {
		sim_bug_on(addr < MMAP_MIN_ADDR || addr + a->len > TASK_SIZE);
		struct vm_area_struct *v = find_vma(t, mm, addr);
		if (v && v->vm_start < addr + a->len) {
			if (a->fixed == MMAP_FIXED_NOREPLACE)
				return MMAP_EEXIST;
			detached = g_ptr_array_new();
			munmap_detach_locked(t, mm, addr, addr + a->len, detached, &floor,
					     &ceiling);
		}
	}

	unsigned long vm_flags = a->vm_flags | (a->file ? VM_FILEMAP : 0);
	/* The mapping to be made, as the VMA it would be (vma_merge_struct). */
	struct vm_area_struct proposed = {
		.vm_start = addr, .vm_end = addr + a->len, .vm_mm = mm, .vm_flags = vm_flags,
		.vm_page_prot = vm_get_page_prot(vm_flags), .vm_file = a->file,
		/* anonymous: the offset of its own address (linear_page_index) */
		.vm_pgoff = a->file ? a->pgoff : addr >> PAGE_SHIFT,
	};
	if (!vma_merge_new_range(t, mm, &proposed)) {
		struct vm_area_struct *vma = vma_alloc(t, mm, addr, addr + a->len, vm_flags);
		if (a->file) {
			hw_store(t, &vma->vm_file, 2 * sizeof(unsigned long));
			vma->vm_file = a->file;
			vma->vm_pgoff = a->pgoff;
		}
		vma_insert(t, mm, vma);
		/* __mmap_region: the new VMA joins i_mmap under i_mmap lock (W). */
		if (a->file)
			vma_link_file(t, vma);
	}

	if (detached) {
		unsigned long pages = 0;
		for (unsigned i = 0; i < detached->len; i++) {
			struct vm_area_struct *v = g_ptr_array_index(detached, i);
			pages += (v->vm_end - v->vm_start) >> PAGE_SHIFT;
		}
		t->stats.ev[EV_MMAP_FIXED_REPLACED] += pages;
		if (mm->inject != INJECT_MMAP_FIXED_NO_ZAP) {
			munmap_teardown(t, mm, detached, floor, ceiling);
		} else {
			/* The bug: the old VMAs go, their PTEs stay under the new mapping. */
			for (unsigned i = 0; i < detached->len; i++) {
				unlink_file_vma(t, g_ptr_array_index(detached, i));
				vma_free(t, g_ptr_array_index(detached, i));
			}
		}
		g_ptr_array_free(detached, TRUE);
	}
	return addr;
}

void munmap_detach_locked(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			  unsigned long end, GPtrArray *detached, unsigned long *floor,
			  unsigned long *ceiling)
{
	sim_bug_on(!rwsem_is_write_locked_by(&mm->mmap_lock, t));
	vma_split_at(t, mm, start);
	vma_split_at(t, mm, end);
	vma_detach_range(t, mm, start, end, detached);
	/* The neighbours bound which page tables may go (free_pgtables' floor/ceiling). */
	struct vm_area_struct *next = find_vma(t, mm, start);
	struct vm_area_struct *prev = find_vma_prev(t, mm, start);
	*ceiling = next ? next->vm_start : 1UL << 47;
	*floor = prev ? prev->vm_end : 0;
}

void munmap_teardown(struct sim_task *t, struct mm_struct *mm, GPtrArray *detached,
		     unsigned long floor, unsigned long ceiling)
{
	struct mmu_gather tlb;

	if (!detached->len)
		return;
	/* unmap_region: zap, unlink tables, flush, and only then free (see tlb.c). */
	struct vm_area_struct *first = g_ptr_array_index(detached, 0);
	struct vm_area_struct *last = g_ptr_array_index(detached, detached->len - 1);
	struct mmu_notifier_range range;
	tlb_gather_mmu(&tlb, mm);
	/* unmap_vmas: one notifier range around the zap of every detached VMA. */
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, mm, first->vm_start, last->vm_end,
				"munmap (unmap_vmas)");
	mmu_notifier_invalidate_range_start(t, &range);
	for (unsigned i = 0; i < detached->len; i++) {
		struct vm_area_struct *v = g_ptr_array_index(detached, i);
		pt_zap_range(t, &tlb, v->vm_start, v->vm_end);
	}
	mmu_notifier_invalidate_range_end(t, &range);
	/* free_pgtables: the VMAs leave the rmap (anon_vma chains and i_mmap) before their
	 * tables go, so no rmap walker can reach a table being freed. */
	for (unsigned i = 0; i < detached->len; i++) {
		unlink_anon_vmas(t, g_ptr_array_index(detached, i));
		unlink_file_vma(t, g_ptr_array_index(detached, i));
	}
	pt_free_range(t, &tlb, first->vm_start, last->vm_end, floor, ceiling);
	tlb_finish_mmu(t, &tlb);
	for (unsigned i = 0; i < detached->len; i++)
		vma_free(t, g_ptr_array_index(detached, i));
}
