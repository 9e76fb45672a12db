/*
 * The simulated MMU: a user load or store walks the page tables (there is no TLB model
 * yet, so every access walks); a missing or read-only entry raises #PF, handled by the
 * mm's scheme, and the access is retried, as the CPU re-executes the faulting instruction.
 */
#include "mm.h"
#include "hw/hw.h"
#include "schemes/scheme.h"

int mmu_access(struct sim_task *t, struct mm_struct *mm, unsigned long addr, bool write)
{
	unsigned int flags = FAULT_FLAG_USER | (write ? FAULT_FLAG_WRITE : 0);

	count_event(&t->stats, EV_USER_ACCESS);
	for (;;) {
		count_event(&t->stats, EV_PAGE_WALK);
		pteval_t *pte = pt_lookup_pte(t, mm, addr, NULL);
		if (pte && (*pte & _PAGE_PRESENT) && (!write || (*pte & _PAGE_RW))) {
			hw_load(t, (void *)(uintptr_t)hw_page_paddr(pte_pfn(*pte)), 1);
			return 0;
		}
		sim_time_t t0 = t->now;
		cpu_work(t, t->machine->path.exception);
		vm_fault_t ret = mm->scheme->fault(t, mm, addr, flags);
		hist_record(&t->stats.fault_latency, (uint64_t)llround(ps_to_ns(t->now - t0)));
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
