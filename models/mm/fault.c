/*
 * The fault core shared by every scheme: __handle_mm_fault, do_anonymous_page and the
 * write-protect fault on the zero page.  The scheme has found the VMA and made it stable
 * (mmap_lock held for read in classic).  Spec: kernel-algorithms.md A.6, A.7.
 *
 * A write fault first gives the VMA its anon_vma (anon_vma_prepare; under a VMA lock
 * vmf_anon_prepare, which needs mmap_lock); a new page is charged to the memcg, mapped
 * with its rmap (page_add_new_anon_rmap) and queued for the LRU.  A write to a present
 * read-only PTE in a writable VMA is do_wp_page: the zero page or a page shared since
 * fork is copied, a page only this PTE maps is reused in place.
 *
 * File VMAs go to do_fault and do_wp_file (models/mm/filemap.c) for their page cache
 * pages; anonymous copies in them take the paths here.  THP's PMD-level paths (anonymous
 * VMAs only) are in huge_memory.c (huge_pmd_fault).
 * A swap entry goes to do_swap_page (models/mm/swap.c).  Not modelled: userfaultfd.
 */
#include "mm.h"
#include "mm/rmap.h"
#include "mm/lru.h"
#include "hw/hw.h"
#include "die.h"
#include "mmu_notifier.h"
#include "mm/migrate.h"
#include "mm/swap.h"

struct page *alloc_zeroed_user_page(struct sim_task *t, struct mm_struct *mm, bool nowait)
{
	struct page *p = nowait ? alloc_page_nowait(t, mm->zone) : alloc_page(t, mm->zone);
	if (!p)
		return NULL;
	count_event(&t->stats, EV_PGALLOC);
	mem_cgroup_charge(t, mm->zone, p);
	hw_bulk_zero(t, hw_page_paddr(p->pfn), PAGE_SIZE); /* clear_page */
	p->content_gen++; /* the checker's shadow of the frame's old contents is void */
	return p;
}

/* Undo an allocation that lost its race: nothing mapped it (folio_put: uncharged and
 * freed). */
void drop_unmapped_page(struct sim_task *t, struct mm_struct *mm, struct page *p)
{
	folio_put(t, mm->zone, p);
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
		/* folio_add_new_anon_rmap, rss counter, folio_add_lru_vma */
		page_add_new_anon_rmap(t, p, vma, addr);
		mm->rss_anon++;
		folio_add_lru(t, mm->zone, p);
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

/*
 * vmf_anon_prepare (≈6.7, spec D.3 step 4): the VMA's anon_vma before its first page.
 * Under a VMA lock alone anon_vma_prepare may not run (it reads neighbouring VMAs that
 * lock does not hold still): it needs mmap_lock, taken by trylock only, else the fault
 * is retried under mmap_lock (VM_FAULT_RETRY).
 */
vm_fault_t vmf_anon_prepare(struct sim_task *t, struct vm_area_struct *vma,
			    unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;

	hw_load(t, &vma->anon_vma, sizeof(vma->anon_vma));
	if (vma->anon_vma)
		return 0;
	if (flags & FAULT_FLAG_VMA_LOCK) {
		if (!down_read_trylock(t, &mm->mmap_lock))
			return VM_FAULT_RETRY;
	}
	int err = anon_vma_prepare(t, vma);
	if (flags & FAULT_FLAG_VMA_LOCK)
		mmap_read_unlock(t, mm);
	return err ? VM_FAULT_OOM : 0;
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
	vm_fault_t ret = vmf_anon_prepare(t, vma, flags);
	if (ret)
		return ret;
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
				  unsigned long addr, pteval_t *pmd, struct page *pt, pteval_t orig,
				  unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	vm_fault_t ret = vmf_anon_prepare(t, vma, flags);
	if (ret)
		return ret;
	struct page *p = alloc_zeroed_user_page(t, mm, false);
	if (!p)
		return VM_FAULT_OOM;
	/* wp_page_copy: secondary MMUs drop the zero page before the PTE changes.
	 * present -> present: set_pte_locked flushes the old translation everywhere. */
	struct mmu_notifier_range range;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, mm, addr & PAGE_MASK,
				(addr & PAGE_MASK) + PAGE_SIZE, "do_wp_page (wp_page_copy)");
	mmu_notifier_invalidate_range_start(t, &range);
	bool done = set_pte_locked(t, vma, addr, pmd, pt, orig, p);
	mmu_notifier_invalidate_range_end(t, &range);
	if (!done) {
		drop_unmapped_page(t, mm, p);
		return 0;
	}
	count_event(&t->stats, EV_FAULT_WP);
	return 0;
}

/*
 * wp_can_reuse_anon_folio: only this PTE maps the page and nobody else holds it.  A
 * reference held by this CPU's LRU batch is let go first (lru_add_drain); one held by
 * another CPU's batch makes the fault copy, as in the kernel.
 */
static bool wp_can_reuse(struct sim_task *t, struct mm_struct *mm, struct page *p)
{
	hw_load(t, p, 64);
	if (p->mapcount != 1 || p->refcount > 2)
		return false;
	if (p->refcount == 2 && !(p->flags & PG_lru) &&
	    folio_in_lru_batch(mm->zone, t->cpu, p))
		lru_add_drain(t, mm->zone);
	hw_load(t, &p->refcount, sizeof(p->refcount));
	return p->refcount == 1;
}

/*
 * do_wp_page for an anonymous page (fork left it read-only in parent and child).  Entered
 * with nothing but the fault's VMA/mmap lock held: the PTE lock is taken to look at the
 * page (handle_pte_fault's spin_lock + pte_same), kept for a reuse, dropped across the
 * copy (wp_page_copy) and retaken for the commit, which rechecks the PTE.
 */
static vm_fault_t do_wp_page(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
			     pteval_t *pmd, struct page *pt, pteval_t orig, unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	pteval_t *pte = &pt->table[pt_index(addr, PT_PTE)];
	unsigned long page_addr = addr & PAGE_MASK;

	/* pte_offset_map_lock: NULL if a collapse took the table meanwhile (refault). */
	struct spinlock *ptl = pte_offset_map_lock(t, mm, pmd, pt);
	if (!ptl)
		return 0;
	hw_load(t, pte, sizeof(*pte));
	if (*pte != orig) {
		spin_unlock(t, ptl);
		count_event(&t->stats, EV_FAULT_RACE);
		return 0;
	}
	struct page *old = pfn_to_page(mm->zone, pte_pfn(orig));
	sim_bug_on(!(old->flags & PG_anon));
	if (wp_can_reuse(t, mm, old) || mm->inject == INJECT_COW_NO_COPY) {
		/* wp_page_reuse: the page is ours alone (or, injected, assumed to be). */
		folio_move_anon_rmap(t, old, vma);
		mm_assert_locked(t, mm, addr, spin_is_held_by(ptl, t), "PTE", ptl->dep.class->name);
		cpu_work(t, t->machine->path.pte_op);
		hw_rmw(t, pte, sizeof(*pte)); /* ptep_set_access_flags: RO -> RW, no flush */
		*pte |= _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED;
		spin_unlock(t, ptl);
		if (mm->checker)
			mm_check_event(t, mm, addr, MEV_COW, old->pfn);
		count_event(&t->stats, EV_FAULT_COW_REUSE);
		return 0;
	}
	/* wp_page_copy: pin the old page, copy outside the lock. */
	hw_rmw(t, &old->refcount, sizeof(old->refcount));
	old->refcount++;
	spin_unlock(t, ptl);
	vm_fault_t ret = vmf_anon_prepare(t, vma, flags);
	struct page *new = ret ? NULL : alloc_page(t, mm->zone);
	if (!new) {
		folio_put(t, mm->zone, old);
		return ret ? ret : VM_FAULT_OOM;
	}
	count_event(&t->stats, EV_PGALLOC);
	mem_cgroup_charge(t, mm->zone, new);
	/* copy_user_highpage: 4 KiB by the preset's copy bandwidth. */
	hw_bulk_copy(t, hw_page_paddr(new->pfn), hw_page_paddr(old->pfn), PAGE_SIZE);
	new->content_gen++;
	if (mm->checker)
		mm_check_copy_page(mm, old->pfn, new->pfn);
	/* wp_page_copy: secondary MMUs drop the old page before the PTE changes. */
	struct mmu_notifier_range range;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, mm, page_addr, page_addr + PAGE_SIZE,
				"do_wp_page (wp_page_copy)");
	mmu_notifier_invalidate_range_start(t, &range);
	ptl = pte_offset_map_lock(t, mm, pmd, pt);
	if (ptl)
		hw_load(t, pte, sizeof(*pte));
	if (!ptl || *pte != orig) {
		/* Changed while we copied (another thread's COW, a zap, a collapse): drop
		 * ours. */
		if (ptl)
			spin_unlock(t, ptl);
		mmu_notifier_invalidate_range_end(t, &range);
		count_event(&t->stats, EV_FAULT_RACE);
		folio_put(t, mm->zone, new);
		folio_put(t, mm->zone, old);
		return 0;
	}
	mm_assert_locked(t, mm, addr, spin_is_held_by(ptl, t), "PTE", ptl->dep.class->name);
	cpu_work(t, t->machine->path.pte_op);
	/* ptep_clear_flush: no CPU may keep reading the old page through this mm's
	 * translation once the new one is installed (it would miss our writes). */
	hw_rmw(t, pte, sizeof(*pte));
	*pte = 0;
	flush_tlb_mm_range(t, mm, page_addr, page_addr + PAGE_SIZE, false);
	page_add_new_anon_rmap(t, new, vma, addr);
	folio_add_lru(t, mm->zone, new);
	hw_store(t, pte, sizeof(*pte));
	/* maybe_mkwrite: a file VMA's vm_page_prot is read-only (write-notify). */
	*pte = (new->pfn << PAGE_SHIFT) | vma->vm_page_prot | _PAGE_RW | _PAGE_DIRTY;
	page_remove_rmap(t, mm, old, addr, "wp_page_copy");
	if (mm->checker)
		mm_check_event(t, mm, addr, MEV_COW, new->pfn);
	spin_unlock(t, ptl);
	mmu_notifier_invalidate_range_end(t, &range);
	/* The old mapping's reference and our pin (it may be the last: freed now, after the
	 * flush). */
	hw_rmw(t, &old->refcount, sizeof(old->refcount));
	old->refcount--;
	folio_put(t, mm->zone, old);
	count_event(&t->stats, EV_FAULT_COW);
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
	if (is_migration_entry(orig)) /* do_swap_page's migration entry case */
		return migration_entry_wait(t, mm, pt, addr);
	if (is_swap_entry(orig)) /* models/mm/swap.c */
		return do_swap_page(t, vma, addr, flags, pmd, pt, orig);
	if (!pte_present(orig)) /* do_pte_missing */
		return (vma->vm_flags & VM_FILEMAP) ? do_fault(t, vma, addr, flags, pt) :
						      do_anonymous_page(t, vma, addr, flags, pmd, pt);
	/* PROT_NONE entries are refused by access_error before we get here. */
	sim_bug_on(!(orig & _PAGE_PRESENT));
	if ((flags & FAULT_FLAG_WRITE) && !(orig & _PAGE_RW)) {
		if (!(vma->vm_flags & VM_WRITE))
			return VM_FAULT_SIGSEGV;
		if (orig & _PAGE_SPECIAL)
			return do_wp_zero_page(t, vma, addr, pmd, pt, orig, flags);
		/* A page cache page of a file VMA (models/mm/filemap.c); an anonymous copy in
		 * a private file VMA is copied or reused as any anonymous page. */
		if (pfn_to_page(vma->vm_mm->zone, pte_pfn(orig))->flags & PG_file)
			return do_wp_file(t, vma, addr, flags, pt, orig);
		return do_wp_page(t, vma, addr, pmd, pt, orig, flags);
	}
	/* Present and permitted: another CPU fixed it meanwhile (spurious fault). */
	return 0;
}
