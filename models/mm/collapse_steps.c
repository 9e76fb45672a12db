/*
 * The steps khugepaged's collapse schemes are built from (models/mm/collapse.c): the
 * huge folio's allocation, the revalidation, the swap-in loop, the PMD clear and restore,
 * the TLB flushes, isolate, copy, the release of the old pages and the install of the
 * huge PMD.  Each follows mm/khugepaged.c collapse_huge_page (≈6.10) and charges its
 * accesses through the machine model; which locks are held around each is the scheme's
 * business (the lock helpers and the collapse window are in khugepaged.c).
 * Spec: ../shared/reference/kernel-algorithms.md G.2; docs/schemes/collapse-common.md.
 */
#include "mm.h"
#include "khugepaged.h"
#include "mm/rmap.h"
#include "mm/lru.h"
#include "hw/hw.h"
#include "die.h"
#include "mm/swap.h"

/* The kernel's default khugepaged/max_ptes_shared. */
#define KHUGEPAGED_MAX_PTES_SHARED 256

enum scan_result collapse_alloc(struct collapse_control *cc)
{
	struct sim_task *t = cc->t;
	cc->hpage = alloc_pages_huge(t, cc->mm->zone);
	if (!cc->hpage)
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	count_event(&t->stats, EV_PGALLOC);
	/* alloc_charge_folio: 512 pages charged to the memcg at once. */
	mem_cgroup_charge_folio(t, cc->mm->zone, cc->hpage, HPAGE_PMD_NR);
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++)
		cc->hpage[i].content_gen++; /* its old contents are void; the copy fills it */
	return SCAN_SUCCEED;
}

void collapse_free_hpage(struct collapse_control *cc)
{
	if (!cc->hpage)
		return;
	/* folio_put: the only reference; uncharged and freed at order 9. */
	folio_put(cc->t, cc->mm->zone, cc->hpage);
	cc->hpage = NULL;
}

enum scan_result collapse_revalidate(struct collapse_control *cc)
{
	struct sim_task *t = cc->t;
	struct mm_struct *mm = cc->mm;

	rwsem_assert_held(t, &mm->mmap_lock);
	struct vm_area_struct *vma = find_vma(t, mm, cc->haddr);
	if (!vma || vma->vm_start > cc->haddr)
		return SCAN_VMA_CHECK;
	hw_load(t, vma, 40);
	if (!thp_vma_suitable(vma, cc->haddr) || !(vma->vm_flags & (VM_READ | VM_WRITE)) ||
	    !vma->anon_vma)
		return SCAN_VMA_CHECK;
	cc->vma = vma;
	cc->prot = vma->vm_page_prot;
	cc->pmd = pt_find_pmd(t, mm, cc->haddr, &cc->pmd_table);
	if (!cc->pmd || !*cc->pmd)
		return SCAN_PMD_NULL;
	if (pmd_trans_huge(*cc->pmd))
		return SCAN_PMD_MAPPED;
	cc->orig_pmd = *cc->pmd;
	cc->pt = pt_page(mm, cc->orig_pmd);
	return SCAN_SUCCEED;
}

/*
 * __collapse_huge_page_swapin: one do_swap_page (models/mm/swap.c) per swap entry of the
 * range, under the mmap_lock the scheme holds: read since 4.8, write before (the
 * write-lock scheme), where every fault of the mm waits out the device reads.  The PTE
 * table cannot go meanwhile: freeing it needs mmap_lock (W) or this collapse.  Then
 * lru_add_drain, so the swapped-in pages' LRU batch references do not fail the isolate.
 */
enum scan_result collapse_swapin(struct collapse_control *cc)
{
	if (!cc->nr_swap)
		return SCAN_SUCCEED;
	struct sim_task *t = cc->t;
	struct page *pt = cc->pt;
	unsigned done = 0;
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++) {
		pteval_t *pte = &pt->table[i];
		hw_load(t, pte, sizeof(*pte)); /* pte_offset_map per entry, as the kernel */
		pteval_t e = *pte;
		if (!is_swap_entry(e))
			continue;
		vm_fault_t ret = do_swap_page(t, cc->vma, cc->haddr + i * PAGE_SIZE, 0, cc->pmd,
					      pt, e);
		if (ret & VM_FAULT_ERROR)
			return SCAN_ALLOC_HUGE_PAGE_FAIL; /* SCAN_FAIL: no page to read into */
		count_event(&t->stats, EV_COLLAPSE_SWAPIN);
		cc->swapped_in++;
		done++;
	}
	if (done)
		lru_add_drain(t, cc->mm->zone);
	return SCAN_SUCCEED;
}

void collapse_pmd_clear(struct collapse_control *cc)
{
	struct sim_task *t = cc->t;
	struct spinlock *pl = pmd_lockptr(cc->mm, cc->pmd_table);
	mm_assert_locked(t, cc->mm, cc->haddr, spin_is_held_by(pl, t), "PMD", pl->dep.class->name);
	hw_rmw(t, cc->pmd, sizeof(*cc->pmd)); /* pmdp_collapse_flush: xchg to none */
	*cc->pmd = 0;
}

void collapse_pmd_restore(struct collapse_control *cc)
{
	struct sim_task *t = cc->t;
	struct spinlock *pl = pmd_lockptr(cc->mm, cc->pmd_table);
	mm_assert_locked(t, cc->mm, cc->haddr, spin_is_held_by(pl, t), "PMD", pl->dep.class->name);
	hw_store(t, cc->pmd, sizeof(*cc->pmd)); /* pmd_populate(_pmd) */
	*cc->pmd = cc->orig_pmd;
}

/*
 * collapse_flush: flush_tlb_range over the 2 MiB (more than the single-page ceiling: a
 * full flush on every CPU of the mm's cpumask).  collapse_table_sync:
 * tlb_remove_table_sync_one, an IPI to every CPU so that no lockless walker (GUP-fast)
 * still reads a detached table.  khugepaged is a kernel thread: it flushes for the mm
 * without running it (no switch_mm).
 */
void collapse_flush(struct collapse_control *cc)
{
	struct sim_task *t = cc->t;
	struct mm_struct *mm = cc->mm;
	uint64_t ipis0 = t->stats.ev[EV_TLB_SHOOTDOWN_IPI];

	hw_load(t, mm->cpumask, sizeof(uint64_t));
	hw_tlb_flush_range(t, mm->cpumask, mm->zone->nr_cpus, mm->asid, cc->haddr,
			   cc->haddr + PMD_SIZE, false);
	cc->ipis += t->stats.ev[EV_TLB_SHOOTDOWN_IPI] - ipis0;
}

void collapse_table_sync(struct collapse_control *cc)
{
	struct sim_task *t = cc->t;
	struct mm_struct *mm = cc->mm;
	uint64_t ipis0 = t->stats.ev[EV_TLB_SHOOTDOWN_IPI];

	/* No range, every CPU of the mask, lazy ones too (freed_tables). */
	hw_tlb_flush_range(t, mm->cpumask, mm->zone->nr_cpus, mm->asid, cc->haddr, cc->haddr,
			   true);
	cc->ipis += t->stats.ev[EV_TLB_SHOOTDOWN_IPI] - ipis0;
}

enum scan_result collapse_isolate(struct collapse_control *cc, enum isolate_mode mode)
{
	struct sim_task *t = cc->t;
	struct mm_struct *mm = cc->mm;
	struct page *pt = cc->pt;
	unsigned none = 0, shared = 0;
	bool writable = false;

	spin_assert_held(t, pte_lockptr(mm, pt));
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++) {
		pteval_t *pte = &pt->table[i];
		if (i % 8 == 0)
			hw_load(t, pte, CACHE_LINE);
		pteval_t e = cc->old[i] = *pte;
		if (!e || (e & _PAGE_SPECIAL)) {
			none++;
			continue;
		}
		if (pte_is_collapse_marker(e))
			return SCAN_PTE_BUSY;
		if (!pte_present(e)) /* swapped out again after the swap-in: SCAN_PTE_NON_PRESENT */
			return SCAN_EXCEED_SWAP_PTE;
		struct page *p = pfn_to_page(mm->zone, pte_pfn(e));
		hw_load(t, p, sizeof(*p));
		/* folio_trylock + folio_isolate_lru + the refcount check: one PTE's worth of
		 * rmap and counter work (path.pte_op). */
		cpu_work(t, t->machine->path.pte_op);
		if (p->mapcount > 1)
			shared++;
		if (!(p->flags & PG_anon) || p->refcount != p->mapcount || p->mapcount < 1)
			return SCAN_PAGE_COUNT;
		writable |= e & _PAGE_RW;
	}
	if (none > cc->max_ptes_none)
		return SCAN_EXCEED_NONE_PTE;
	if (shared > KHUGEPAGED_MAX_PTES_SHARED)
		return SCAN_EXCEED_SHARED_PTE;
	if (!writable)
		return SCAN_PAGE_RO;
	if (mode == ISOLATE_KEEP)
		return SCAN_SUCCEED;
	/* The PTEs stop translating: cleared, or the marker every walker waits on. */
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++) {
		pteval_t *pte = &pt->table[i];
		if (i % 8 == 0)
			hw_store(t, pte, CACHE_LINE);
		if (mode == ISOLATE_MARKER)
			*pte = PTE_MARKER_COLLAPSE;
		else if (*pte)
			*pte = 0; /* ptep_get_and_clear, within the line just written */
	}
	return SCAN_SUCCEED;
}

void collapse_unisolate(struct collapse_control *cc)
{
	struct page *pt = cc->pt;
	spin_assert_held(cc->t, pte_lockptr(cc->mm, pt));
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++) {
		if (i % 8 == 0)
			hw_store(cc->t, &pt->table[i], CACHE_LINE);
		pt->table[i] = cc->old[i];
	}
}

void collapse_copy(struct collapse_control *cc)
{
	struct sim_task *t = cc->t;
	struct mm_struct *mm = cc->mm;

	for (unsigned i = 0; i < HPAGE_PMD_NR; i++) {
		pteval_t e = cc->old[i];
		uint64_t dst = cc->hpage->pfn + i;
		if (!e || (e & _PAGE_SPECIAL)) {
			hw_bulk_zero(t, hw_page_paddr(dst), PAGE_SIZE); /* clear_user_highpage */
			continue;
		}
		hw_bulk_copy(t, hw_page_paddr(dst), hw_page_paddr(pte_pfn(e)), PAGE_SIZE);
		if (mm->checker)
			mm_check_copy_page(mm, pte_pfn(e), dst);
	}
}

/*
 * __collapse_huge_page_copy_succeeded: each old PTE is cleared under the PTL (the kernel
 * takes it per entry), the page leaves the rmap and the counters, and is freed once the
 * locks are dropped (no TLB can hold it: the range was flushed before the copy).
 */
void collapse_release_old(struct collapse_control *cc, bool ptl_held)
{
	struct sim_task *t = cc->t;
	struct mm_struct *mm = cc->mm;
	struct page *pt = cc->pt;
	struct spinlock *ptl = pte_lockptr(mm, pt);
	GPtrArray *to_free = g_ptr_array_new();

	for (unsigned i = 0; i < HPAGE_PMD_NR; i++) {
		pteval_t e = cc->old[i];
		pteval_t *pte = &pt->table[i];
		bool clear = *pte != 0; /* ISOLATE_CLEAR left nothing to clear */
		if (!e && !clear)
			continue;
		bool lock = clear && !ptl_held;
		if (lock)
			spin_lock(t, ptl);
		if (clear) {
			mm_assert_locked(t, mm, cc->haddr + i * PAGE_SIZE, spin_is_held_by(ptl, t),
					 "PTE", ptl->dep.class->name);
			hw_store(t, pte, sizeof(*pte)); /* ptep_clear */
			*pte = 0;
		}
		if (e && !(e & _PAGE_SPECIAL)) {
			struct page *p = pfn_to_page(mm->zone, pte_pfn(e));
			page_remove_rmap(t, mm, p, cc->haddr + i * PAGE_SIZE,
					 "__collapse_huge_page_copy_succeeded");
			hw_rmw(t, &p->refcount, sizeof(p->refcount)); /* the mapping's reference */
			p->refcount--;
			mm->rss_anon--;
			cpu_work(t, t->machine->path.pte_op);
			if (mm->checker)
				mm_check_event(t, mm, cc->haddr + i * PAGE_SIZE,
					       MEV_COLLAPSE_RELEASE, p->pfn);
			if (!p->refcount)
				g_ptr_array_add(to_free, p);
		}
		if (lock)
			spin_unlock(t, ptl);
	}
	/* Freed after the unlocks above (free_folio_and_swap_cache), or by the caller's
	 * last unlock when the PTL is held throughout: kept for collapse_finish. */
	cc->to_free = to_free;
}

void collapse_free_old(struct collapse_control *cc)
{
	if (!cc->to_free)
		return;
	for (unsigned i = 0; i < cc->to_free->len; i++) {
		struct page *p = g_ptr_array_index(cc->to_free, i);
		if (cc->mm->checker)
			mm_check_event(cc->t, cc->mm, cc->haddr + (p->index & (HPAGE_PMD_NR - 1)) *
				       PAGE_SIZE, MEV_PAGE_FREE, p->pfn);
	}
	/* free_folio_and_swap_cache for each: off the LRU, uncharged, freed (one batch). */
	if (cc->to_free->len)
		folios_free(cc->t, cc->mm->zone, (struct page **)cc->to_free->pdata,
			    cc->to_free->len);
	g_ptr_array_free(cc->to_free, TRUE);
	cc->to_free = NULL;
}

void collapse_install(struct collapse_control *cc)
{
	struct sim_task *t = cc->t;
	struct mm_struct *mm = cc->mm;
	/* __folio_mark_uptodate: smp_wmb orders the copy before the PMD that publishes it. */
	cpu_work(t, t->machine->path.pte_op);
	(void)mm;
	khugepaged_install_huge_pmd(t, cc->vma, cc->pmd_table, cc->pmd, cc->hpage, cc->pt, cc->prot,
				    cc->haddr);
	cc->hpage = NULL; /* mapped now */
}
