/*
 * The fault core shared by every scheme: __handle_mm_fault, do_anonymous_page and the
 * write-protect fault on the zero page.  The scheme has found the VMA and made it stable
 * (mmap_lock held for read in classic).  Spec: kernel-algorithms.md A.6, A.7.
 *
 * THP's PMD-level paths are in huge_memory.c (huge_pmd_fault).  Not yet modelled here:
 * anon_vma_prepare (anon_vma comes with rmap), file faults, COW of a real page (fork),
 * userfaultfd.
 */
#include "mm.h"
#include "hw/hw.h"
#include "die.h"

struct page *alloc_zeroed_user_page(struct sim_task *t, struct mm_struct *mm, bool nowait)
{
	struct page *p = nowait ? alloc_page_nowait(t, mm->zone) : alloc_page(t, mm->zone);
	if (!p)
		return NULL;
	count_event(&t->stats, EV_PGALLOC);
	hw_bulk_zero(t, hw_page_paddr(p->pfn), PAGE_SIZE); /* clear_page */
	p->content_gen++; /* the checker's shadow of the frame's old contents is void */
	return p;
}

/* Undo an allocation that lost its race: nothing mapped it. */
void drop_unmapped_page(struct sim_task *t, struct mm_struct *mm, struct page *p)
{
	p->refcount--;
	count_event(&t->stats, EV_PGFREE);
	free_page(t, mm->zone, p);
}

/*
 * Map `p` (or the zero page when p is NULL) at the PTE if it is still `expect`; the
 * caller holds the PTE table's lock and releases it.  Returns false if another CPU
 * changed the PTE first.
 */
bool set_pte_ptl_held(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
		      struct page *pt, pteval_t expect, struct page *p)
{
	struct mm_struct *mm = vma->vm_mm;
	pteval_t *pte = &pt->table[pt_index(addr, PT_PTE)];
	struct spinlock *ptl = pte_lockptr(mm, pt);

	sim_bug_on(!spin_is_held_by(ptl, t));
	hw_load(t, pte, sizeof(*pte));
	if (*pte != expect) {
		count_event(&t->stats, EV_FAULT_RACE);
		return false;
	}
	do_set_pte(t, vma, addr, pt, expect, p);
	return true;
}

/* do_set_pte: map p (NULL: the zero page); the caller holds the PTE table's lock and has
 * checked the entry is still `expect`. */
void do_set_pte(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
		struct page *pt, pteval_t expect, struct page *p)
{
	struct mm_struct *mm = vma->vm_mm;
	pteval_t *pte = &pt->table[pt_index(addr, PT_PTE)];
	struct spinlock *ptl = pte_lockptr(mm, pt);

	mm_assert_locked(t, mm, addr, spin_is_held_by(ptl, t), "PTE and rss_anon",
			 ptl->dep.class->name);
	cpu_work(t, t->machine->path.pte_op);
	if (p) {
		/* folio_add_new_anon_rmap + rss counter */
		hw_store(t, p, sizeof(*p));
		p->flags |= PG_anon;
		p->mapcount = 1;
		p->mm = mm;
		p->index = addr >> PAGE_SHIFT;
		mm->rss_anon++;
		hw_store(t, pte, sizeof(*pte));
		*pte = (p->pfn << PAGE_SHIFT) | vma->vm_page_prot;
	} else {
		hw_store(t, pte, sizeof(*pte));
		*pte = (mm->zone->zero_pfn << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_USER |
		       _PAGE_ACCESSED | _PAGE_SPECIAL;
	}
	if ((expect & _PAGE_PRESENT) && mm->inject != INJECT_SKIP_WP_FLUSH) {
		/* present -> present (wp of the zero page): ptep_clear_flush under the PTL, so
		 * no CPU keeps reading the zero page through an old entry (the flush that
		 * inject = "skip-wp-flush" leaves out). */
		flush_tlb_mm_range(t, mm, addr & PAGE_MASK, (addr & PAGE_MASK) + PAGE_SIZE, false);
	}
	if (mm->checker)
		mm_check_event(t, mm, addr, MEV_FAULT_MAP, pte_pfn(*pte));
}

/* The same under pte_offset_map_lock: take the PTE table's lock, commit, drop it.  False
 * also when the table is no longer what *pmd points at (a THP or a collapse came). */
static bool set_pte_locked(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
			   pteval_t *pmd, struct page *pt, pteval_t expect, struct page *p)
{
	struct spinlock *ptl = pte_offset_map_lock(t, vma->vm_mm, pmd, pt);
	if (!ptl)
		return false;
	bool done = set_pte_ptl_held(t, vma, addr, pt, expect, p);
	spin_unlock(t, ptl);
	return done;
}

static vm_fault_t do_anonymous_page(struct sim_task *t, struct vm_area_struct *vma,
				    unsigned long addr, unsigned int flags, pteval_t *pmd,
				    struct page *pt)
{
	struct mm_struct *mm = vma->vm_mm;

	if (vma->vm_flags & VM_SHARED)
		return VM_FAULT_SIGSEGV; /* shared anonymous memory is shmem: not modelled */
	if (!(flags & FAULT_FLAG_WRITE)) {
		/* Read fault: map the shared zero page, no allocation. */
		if (set_pte_locked(t, vma, addr, pmd, pt, 0, NULL))
			count_event(&t->stats, EV_FAULT_ZERO);
		return 0;
	}
	struct page *p = alloc_zeroed_user_page(t, mm, false);
	if (!p)
		return VM_FAULT_OOM;
	if (!set_pte_locked(t, vma, addr, pmd, pt, 0, p)) {
		drop_unmapped_page(t, mm, p);
		return 0;
	}
	count_event(&t->stats, EV_FAULT_ANON);
	return 0;
}

/* do_wp_page for the zero page: copy-on-write into a fresh zeroed page. */
static vm_fault_t do_wp_zero_page(struct sim_task *t, struct vm_area_struct *vma,
				  unsigned long addr, pteval_t *pmd, struct page *pt, pteval_t orig)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *p = alloc_zeroed_user_page(t, mm, false);
	if (!p)
		return VM_FAULT_OOM;
	/* present -> present: set_pte_locked flushes the old translation everywhere. */
	if (!set_pte_locked(t, vma, addr, pmd, pt, orig, p)) {
		drop_unmapped_page(t, mm, p);
		return 0;
	}
	count_event(&t->stats, EV_FAULT_WP);
	return 0;
}

vm_fault_t handle_mm_fault(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
			   unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *pmd_table;

	count_event(&t->stats, EV_FAULT);
	cpu_work(t, t->machine->path.fault_core);
	pteval_t *pmd = pt_pmd_alloc(t, mm, addr, &pmd_table);
	if (!pmd)
		return VM_FAULT_OOM;
	/* THP: create_huge_pmd and the huge-PMD paths (models/mm/huge_memory.c). */
	vm_fault_t hret;
	if (mm->pmd_recheck && huge_pmd_fault(t, vma, addr, flags, pmd_table, pmd, &hret))
		return hret;
	if (!pt_pte_alloc(t, mm, pmd_table, pmd))
		return VM_FAULT_OOM;
	if (mm->pmd_recheck && pmd_trans_huge(*pmd))
		return 0; /* pmd_trans_unstable: a huge PMD appeared meanwhile; refault */
	struct page *pt = pt_page(mm, *pmd);
	pteval_t *pte = &pt->table[pt_index(addr, PT_PTE)];
	hw_load(t, pte, sizeof(*pte));
	pteval_t orig = *pte;

	if (pte_is_collapse_marker(orig)) {
		/* invalid-pte collapse in progress: wait for it as for a migration entry. */
		count_event(&t->stats, EV_COLLAPSE_WAIT);
		khugepaged_wait_collapse(t, mm);
		return 0;
	}
	if (!pte_present(orig))
		return do_anonymous_page(t, vma, addr, flags, pmd, pt);
	/* PROT_NONE entries are refused by access_error before we get here. */
	sim_bug_on(!(orig & _PAGE_PRESENT));
	if ((flags & FAULT_FLAG_WRITE) && !(orig & _PAGE_RW)) {
		if (!(vma->vm_flags & VM_WRITE))
			return VM_FAULT_SIGSEGV;
		sim_bug_on(!(orig & _PAGE_SPECIAL)); /* no fork yet: only the zero page is RO */
		return do_wp_zero_page(t, vma, addr, pmd, pt, orig);
	}
	/* Present and permitted: another CPU fixed it meanwhile (spurious fault). */
	return 0;
}
