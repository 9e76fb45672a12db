/*
 * The simulated MMU: a user load or store translates through the CPU's TLB; a miss walks
 * the four levels of page tables, loading each real entry through the cache model, and
 * installs the translation; a missing or read-only entry raises #PF, handled by the mm's
 * scheme, and the access is retried, as the CPU re-executes the faulting instruction.
 *
 * Every translation is checked: a TLB hit that leads to a freed page, or to a page now
 * mapping something else, is a use-after-free the TLB flush protocol should have
 * prevented, and ends the run as a model violation.  With the checker on, every access
 * then goes through its shadow of user memory (check.c): a load must read the last store.
 */
#include "mm.h"
#include "mm/anon_vma.h"
#include "hw/hw.h"
#include "schemes/scheme.h"
#include "die.h"
#include "mmu_notifier.h"

/* Is pfn still what addr of mm may legally reach through an old translation? */
/* Does a VMA of the page's anon_vma map its offset `index` at addr in mm? */
struct rmap_here {
	const struct mm_struct *mm;
	unsigned long addr, index;
	bool found;
};

static bool rmap_maps_here(struct anon_vma_chain *avc, void *arg)
{
	struct rmap_here *h = arg;
	const struct vm_area_struct *v = avc->vma;
	h->found = v->vm_mm == h->mm && v->vm_start <= h->addr && h->addr < v->vm_end &&
		   linear_page_index(v, h->addr) == h->index;
	return !h->found;
}

static void mmu_check_translation(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
				  uint64_t pfn)
{
	const struct page *p = pfn_to_page(mm->zone, pfn);
	if (p->flags & PG_zero)
		return;
	/* Anonymous page offsets are addresses (in every mm of a fork tree), except in a
	 * private file VMA, where they are file offsets: then one of the VMAs its rmap reaches
	 * (detached ones included until they are unlinked) must map that offset here, unless
	 * the page is unmapped and waits in an mmu_gather for the flush this TLB entry is
	 * waiting for too.  A page cache page may be mapped anywhere: it must only still be
	 * allocated. */
	bool reused = !(p->flags & (PG_anon | PG_file));
	if (!reused && (p->flags & PG_anon) && p->index != addr >> PAGE_SHIFT && p->mapcount) {
		struct rmap_here want = { .mm = mm, .addr = addr & PAGE_MASK, .index = p->index };
		if (p->mapping)
			avc_tree_foreach(NULL, p->mapping, p->index, p->index, rmap_maps_here, &want);
		reused = !want.found;
	}
	if ((p->flags & PG_free) || reused)
		mm_violation(t, mm, addr, "tlb-maps-live-page", "mmu_access (TLB hit)",
			     "stale TLB entry: 0x%lx -> pfn %llu, which is %s (a frame may be "
			     "reused only after the flush of its old translations)", addr,
			     (unsigned long long)pfn,
			     (p->flags & PG_free) ? "free" : "reused");
}

static void mmu_data_access(struct sim_task *t, struct mm_struct *mm, uint64_t pfn,
			    unsigned long addr, bool write)
{
	uint64_t paddr = hw_page_paddr(pfn) + (addr & ~PAGE_MASK);
	if (write)
		hw_store_paddr(t, paddr);
	else
		hw_load_paddr(t, paddr);
	if (mm->checker)
		mm_check_access(t, mm, addr, pfn, write);
}

int mmu_access(struct sim_task *t, struct mm_struct *mm, unsigned long addr, bool write)
{
	unsigned int flags = FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0);
	uint64_t pfn;

	count_event(&t->stats, EV_USER_ACCESS);
	switch_mm(t, mm);
	for (;;) {
		/* Whether a cached translation is still valid depends on other CPUs' flushes,
		 * and the access itself (after a fault too, which may have run ahead of other
		 * CPUs since its last lock) must be applied in simulated-time order. */
		sim_sync(t);
		if (hw_tlb_lookup(t, mm->asid, addr, write, &pfn)) {
			mmu_check_translation(t, mm, addr, pfn);
			mmu_data_access(t, mm, pfn, addr, write);
			return 0;
		}
		count_event(&t->stats, EV_PAGE_WALK);
		pteval_t *pte = pt_lookup_pte(t, mm, addr, NULL);
		if (pte && (*pte & _PAGE_PRESENT) && (!write || (*pte & _PAGE_RW))) {
			/* A huge PMD leaf ends the walk a level early: a 2 MiB translation. */
			bool huge = pmd_trans_huge(*pte);
			pfn = pte_pfn(*pte) + (huge ? (addr >> PAGE_SHIFT) % HPAGE_PMD_NR : 0);
			if (!(*pte & _PAGE_ACCESSED)) {
				/* The walker sets the accessed bit (a locked update of the PTE or
				 * PMD leaf); folio_referenced clears it. */
				hw_rmw(t, pte, sizeof(*pte));
				*pte |= _PAGE_ACCESSED;
			}
			hw_tlb_insert(t, mm->asid, addr, pfn, *pte & _PAGE_RW, huge);
			mmu_data_access(t, mm, pfn, addr, write);
			return 0;
		}
		sim_time_t t0 = t->now;
		if (mm->fault_prefetchw) {
			/* exc_page_fault's prefetchw(&mm->mmap_lock) (arch/x86/mm/fault.c, A.1):
			 * the RFO runs under the entry path, so the trylock's atomic finds the
			 * line exclusive and waits only for what the entry did not hide.
			 * Whether the line is still ours at the trylock depends on other CPUs'
			 * accesses in between: apply it in simulated-time order. */
			sim_sync(t);
			if (hw_prefetchw_async(t, &mm->mmap_lock))
				count_event(&t->stats, EV_FAULT_PREFETCHW_RFO);
		}
		cpu_work(t, t->machine->path.exception);
		vm_fault_t ret = mm->scheme->fault(t, mm, addr, flags);
		mmu_notifier_assert_balanced(t, mm, "page fault");
		hist_record(&t->stats.fault_latency, (uint64_t)llround(ps_to_ns(t->now - t0)));
		if (mm->khugepaged)
			khugepaged_note_fault(mm, t0, t->now);
		if (t->now <= t->deadline)
			count_event(&t->stats, EV_FAULT_IN_WINDOW);
		if (ret & VM_FAULT_SIGSEGV) {
			count_event(&t->stats, EV_FAULT_SIGSEGV);
			return -14; /* -EFAULT: SIGSEGV for the task */
		}
		if (ret & VM_FAULT_OOM) {
			count_event(&t->stats, EV_FAULT_OOM);
			return -12; /* -ENOMEM */
		}
		flags |= FAULT_FLAG_TRIED;
	}
}
