/*
 * Transparent huge pages for private anonymous memory (mm/huge_memory.c, 6.x): the huge
 * fault (do_huge_pmd_anonymous_page), the huge-PMD walkers of zap, mprotect and split
 * (zap_huge_pmd, change_huge_pmd, __split_huge_pmd), the deposited PTE table, the PTL
 * taker's PMD recheck (pte_offset_map_lock, 6.5+) and madvise(MADV_HUGEPAGE).
 * Spec: ../shared/reference/kernel-algorithms.md A.6 step 4, A.7 step 6, G, H.1.
 *
 * A huge PMD maps a 512-page compound folio allocated at order 9 from the zone (never
 * from the pcp lists).  The fault allocates and clears the 2 MiB and a PTE table before
 * taking the PMD lock, rechecks pmd_none under it, deposits the table and sets the leaf;
 * a loser frees both.  Splitting withdraws the deposit, invalidates the PMD and flushes,
 * fills 512 PTEs and populates the PMD, all under the PMD lock.
 *
 * A huge page is an anonymous folio like any other: the fault gives the VMA its anon_vma
 * first (vmf_anon_prepare), the head carries the rmap (mapping = anon_vma, index), the
 * memcg charge of all 512 pages and the LRU membership; the PMD holds one mapcount and
 * one reference of the head.  Splitting and zapping a huge PMD are inside an MMU
 * notifier range (the split's own, the zap's caller's).
 *
 * Simplifications: splitting the PMD also splits the folio into 512 order-0 pages at
 * once (the kernel keeps a PTE-mapped large folio and splits it later, deferred); there
 * is no huge zero page (a read fault maps a zeroed huge page, as with use_zero_page=0);
 * the model has no mTHP orders and no defrag or compaction: order 9 fails only when no
 * aligned block is left, and the fault then falls back to 4 KiB pages.
 */
#include "mm.h"
#include "hw/hw.h"
#include "die.h"
#include "mm/khugepaged.h"
#include "mm/rmap.h"
#include "mm/lru.h"
#include "mm/mmu_notifier.h"

/* A non-leaf PMD entry, as pgtable.c builds them. */
#define PMD_TABLE_ENTRY (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)

static inline uint64_t hpage_paddr(const struct page *head, unsigned i)
{
	return hw_page_paddr(head->pfn + i);
}

bool thp_vma_suitable(const struct vm_area_struct *vma, unsigned long addr)
{
	const struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = addr & ~(PMD_SIZE - 1);

	if (mm->thp == THP_NEVER || (mm->thp == THP_MADVISE && !(vma->vm_flags & VM_HUGEPAGE)))
		return false;
	if (vma->vm_flags & (VM_SHARED | VM_FILEMAP))
		return false; /* THP here is for private anonymous memory only */
	return haddr >= vma->vm_start && haddr + PMD_SIZE <= vma->vm_end;
}

pteval_t *pt_find_pmd(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		      struct page **pmd_table)
{
	pteval_t *table = mm->pgd->table;

	sim_sync(t);
	for (int level = PT_PGD; level > PT_PMD; level--) {
		pteval_t *e = &table[pt_index(addr, level)];
		hw_load(t, e, sizeof(*e));
		if (!*e)
			return NULL;
		*pmd_table = pt_page(mm, *e);
		table = (*pmd_table)->table;
	}
	return &table[pt_index(addr, PT_PMD)];
}

void pgtable_trans_huge_deposit(struct sim_task *t, struct mm_struct *mm,
				struct page *pmd_table, struct page *pt)
{
	spin_assert_held(t, pmd_lockptr(mm, pmd_table));
	/* list_add on the PMD table page's pmd_huge_pte list */
	hw_store(t, pt, sizeof(*pt));
	pt->pt_deposit = pmd_table->pt_deposit;
	hw_store(t, pmd_table, sizeof(*pmd_table));
	pmd_table->pt_deposit = (uint32_t)pt->pfn;
}

struct page *pgtable_trans_huge_withdraw(struct sim_task *t, struct mm_struct *mm,
					 struct page *pmd_table)
{
	spin_assert_held(t, pmd_lockptr(mm, pmd_table));
	hw_load(t, pmd_table, sizeof(*pmd_table));
	sim_bug_on(!pmd_table->pt_deposit);
	struct page *pt = pfn_to_page(mm->zone, pmd_table->pt_deposit);
	hw_store(t, pmd_table, sizeof(*pmd_table));
	pmd_table->pt_deposit = pt->pt_deposit;
	pt->pt_deposit = 0;
	return pt;
}

/*
 * folio_add_new_anon_rmap for a PMD-mapped folio, then folio_add_lru_vma: the head
 * carries the mapping (its anon_vma) and the one entire mapcount; every page's index is
 * its own page offset (the kernel derives the tails' from the head; the model keeps it
 * for the split).  The folio, charged already, joins the LRU as one entry.
 */
static void hpage_add_anon_rmap(struct sim_task *t, struct vm_area_struct *vma,
				struct page *head, unsigned long haddr)
{
	struct mm_struct *mm = vma->vm_mm;
	page_add_new_anon_rmap(t, head, vma, haddr);
	for (unsigned i = 1; i < HPAGE_PMD_NR; i++) {
		head[i].flags |= PG_anon;
		head[i].index = head->index + i;
	}
	mm->rss_anon += HPAGE_PMD_NR;
	folio_add_lru(t, mm->zone, head);
}

/* set_pmd_at with the PMD lock held: the leaf for head with the VMA's protection. */
static void set_huge_pmd(struct sim_task *t, struct mm_struct *mm, struct page *pmd_table,
			 pteval_t *pmd, struct page *head, pteval_t prot, unsigned long haddr)
{
	struct spinlock *pl = pmd_lockptr(mm, pmd_table);
	mm_assert_locked(t, mm, haddr, spin_is_held_by(pl, t), "huge PMD", pl->dep.class->name);
	hw_store(t, pmd, sizeof(*pmd));
	*pmd = (head->pfn << PAGE_SHIFT) | prot | _PAGE_PSE;
}

void khugepaged_install_huge_pmd(struct sim_task *t, struct vm_area_struct *vma,
				 struct page *pmd_table, pteval_t *pmd, struct page *head,
				 struct page *pt, pteval_t prot, unsigned long haddr)
{
	struct mm_struct *mm = vma->vm_mm;
	hpage_add_anon_rmap(t, vma, head, haddr);
	pgtable_trans_huge_deposit(t, mm, pmd_table, pt);
	set_huge_pmd(t, mm, pmd_table, pmd, head, prot, haddr);
	if (mm->checker)
		for (unsigned i = 0; i < HPAGE_PMD_NR; i++)
			mm_check_event(t, mm, haddr + i * PAGE_SIZE, MEV_COLLAPSE, head->pfn + i);
}

/* do_huge_pmd_anonymous_page: false means VM_FAULT_FALLBACK (go on with 4 KiB pages). */
static bool do_huge_pmd_anonymous_page(struct sim_task *t, struct vm_area_struct *vma,
				       unsigned long addr, unsigned int flags,
				       struct page *pmd_table, pteval_t *pmd, vm_fault_t *ret)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long haddr = addr & ~(PMD_SIZE - 1);

	/* vmf_anon_prepare first: the folio's rmap needs the VMA's anon_vma. */
	*ret = vmf_anon_prepare(t, vma, flags);
	if (*ret)
		return true;
	struct page *head = alloc_pages_huge(t, mm->zone);
	if (!head) {
		count_event(&t->stats, EV_THP_FAULT_FALLBACK);
		return false;
	}
	count_event(&t->stats, EV_PGALLOC);
	/* vma_alloc_anon_folio_pmd: mem_cgroup_charge of the 512 pages. */
	mem_cgroup_charge_folio(t, mm->zone, head, HPAGE_PMD_NR);
	/* pte_alloc_one: the table to deposit, allocated before any lock. */
	struct page *pt = pt_alloc_table(t, mm);
	if (!pt) {
		folio_put(t, mm->zone, head); /* uncharged and freed */
		count_event(&t->stats, EV_THP_FAULT_FALLBACK);
		return false;
	}
	/* clear_huge_page: 2 MiB at the preset's clearing bandwidth. */
	hw_bulk_zero(t, hpage_paddr(head, 0), PMD_SIZE);
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++)
		head[i].content_gen++;
	*ret = 0;
	struct spinlock *pl = pmd_lockptr(mm, pmd_table);
	spin_lock(t, pl);
	hw_load(t, pmd, sizeof(*pmd));
	if (*pmd) {
		/* Another CPU populated the PMD first: refault through what it put there. */
		spin_unlock(t, pl);
		pt_free_table(t, mm, pt);
		folio_put(t, mm->zone, head);
		count_event(&t->stats, EV_FAULT_RACE);
		return true;
	}
	hpage_add_anon_rmap(t, vma, head, haddr);
	pgtable_trans_huge_deposit(t, mm, pmd_table, pt);
	hw_rmw(t, &mm->nr_ptes, sizeof(mm->nr_ptes)); /* mm_inc_nr_ptes for the deposit */
	mm->nr_ptes++;
	set_huge_pmd(t, mm, pmd_table, pmd, head, vma->vm_page_prot, haddr);
	spin_unlock(t, pl);
	count_event(&t->stats, EV_THP_FAULT_ALLOC);
	if (mm->checker)
		for (unsigned i = 0; i < HPAGE_PMD_NR; i++)
			mm_check_event(t, mm, haddr + i * PAGE_SIZE, MEV_FAULT_MAP, head->pfn + i);
	return true;
}

bool huge_pmd_fault(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
		    unsigned int flags, struct page *pmd_table, pteval_t *pmd, vm_fault_t *ret)
{
	hw_load(t, pmd, sizeof(*pmd));
	pteval_t val = *pmd;
	if (!val)
		return thp_vma_suitable(vma, addr) &&
		       do_huge_pmd_anonymous_page(t, vma, addr, flags, pmd_table, pmd, ret);
	if (!pmd_trans_huge(val))
		return false;
	/*
	 * A huge leaf: the access check passed, and mprotect rewrites the whole leaf with
	 * the VMA's protection (or splits it), so a writable VMA has a writable leaf.  The
	 * fault is spurious (another CPU installed it meanwhile): huge_pmd_set_accessed.
	 */
	sim_bug_on((flags & FAULT_FLAG_WRITE) && !(val & _PAGE_RW));
	*ret = 0;
	return true;
}

struct spinlock *pte_offset_map_lock(struct sim_task *t, struct mm_struct *mm, pteval_t *pmd,
				     struct page *pt)
{
	struct spinlock *ptl = pte_lockptr(mm, pt);
	bool seq = mm->khugepaged && khugepaged_pmd_seq(mm);
	uint32_t seq0 = 0;

	if (seq) {
		/* pmd-seq: sample the PMD sequence (on the table's descriptor line). */
		hw_load(t, &pt->pmd_seq, sizeof(pt->pmd_seq));
		seq0 = pt->pmd_seq;
	}
	spin_lock(t, ptl);
	if (mm->pmd_recheck) {
		/* 6.5+: the PMD may have changed between the lockless read and the lock. */
		hw_load(t, pmd, sizeof(*pmd));
		if (!*pmd || pmd_trans_huge(*pmd) || pte_pfn(*pmd) != pt->pfn) {
			spin_unlock(t, ptl);
			return NULL;
		}
	}
	if (seq) {
		hw_load(t, &pt->pmd_seq, sizeof(pt->pmd_seq));
		if ((seq0 & 1) || pt->pmd_seq != seq0) {
			spin_unlock(t, ptl);
			count_event(&t->stats, EV_COLLAPSE_WAIT);
			khugepaged_wait_collapse(t, mm);
			return NULL;
		}
	}
	return ptl;
}

/*
 * The deposited table goes back (zap_deposited_table: pte_free + mm_dec_nr_ptes).  In an
 * mm whose faults walk page tables under RCU alone (mm->pt_free_rcu) a walker may still
 * hold it from before the collapse that deposited it, so it goes through the gather and
 * waits for a grace period like every other unlinked table.
 */
static void zap_deposited_table(struct sim_task *t, struct mmu_gather *tlb, struct page *pt)
{
	struct mm_struct *mm = tlb->mm;
	hw_rmw(t, &mm->nr_ptes, sizeof(mm->nr_ptes));
	mm->nr_ptes--;
	if (mm->pt_free_rcu) {
		g_ptr_array_add(tlb->tables, pt);
		tlb->freed_tables = true;
	} else {
		pt_free_table(t, mm, pt);
	}
}

void zap_huge_pmd(struct sim_task *t, struct mmu_gather *tlb, struct page *pmd_table,
		  pteval_t *pmd, unsigned long haddr)
{
	struct mm_struct *mm = tlb->mm;
	struct spinlock *pl = pmd_lockptr(mm, pmd_table);

	spin_lock(t, pl);
	hw_load(t, pmd, sizeof(*pmd));
	if (!pmd_trans_huge(*pmd)) {
		spin_unlock(t, pl); /* split or zapped meanwhile: the caller walks again */
		return;
	}
	pteval_t old = *pmd;
	mm_assert_locked(t, mm, haddr, spin_is_held_by(pl, t), "huge PMD", pl->dep.class->name);
	hw_rmw(t, pmd, sizeof(*pmd)); /* pmdp_huge_get_and_clear_full */
	*pmd = 0;
	struct page *pt = pgtable_trans_huge_withdraw(t, mm, pmd_table);
	struct page *head = pfn_to_page(mm->zone, pte_pfn(old));
	if (!(head->flags & PG_head))
		mm_violation(t, mm, haddr, "mapcount-matches-page-tables", "zap_huge_pmd",
			     "huge PMD maps pfn %llu, not a compound head (flags 0x%lx)",
			     (unsigned long long)head->pfn, head->flags);
	/* folio_remove_rmap_pmd; the mapping's reference (an LRU batch may hold another). */
	page_remove_rmap(t, mm, head, haddr, "zap_huge_pmd");
	hw_rmw(t, &head->refcount, sizeof(head->refcount));
	head->refcount--;
	mm->rss_anon -= HPAGE_PMD_NR;
	cpu_work(t, t->machine->path.pte_op);
	if (haddr < tlb->start)
		tlb->start = haddr;
	if (haddr + PMD_SIZE > tlb->end)
		tlb->end = haddr + PMD_SIZE;
	if (head->refcount == 0)
		g_ptr_array_add(tlb->pages, head); /* freed, at order 9, after the flush */
	if (mm->checker)
		for (unsigned i = 0; i < HPAGE_PMD_NR; i++)
			mm_check_event(t, mm, haddr + i * PAGE_SIZE, MEV_ZAP, head->pfn + i);
	spin_unlock(t, pl);
	count_event(&t->stats, EV_THP_ZAP_PMD);
	zap_deposited_table(t, tlb, pt);
}

void split_huge_pmd(struct sim_task *t, struct mm_struct *mm, struct page *pmd_table,
		    pteval_t *pmd, unsigned long haddr)
{
	struct spinlock *pl = pmd_lockptr(mm, pmd_table);
	/* __split_huge_pmd: secondary MMUs drop the 2 MiB before the PMD changes. */
	struct mmu_notifier_range range;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, mm, haddr, haddr + PMD_SIZE,
				"__split_huge_pmd");
	mmu_notifier_invalidate_range_start(t, &range);

	spin_lock(t, pl);
	hw_load(t, pmd, sizeof(*pmd));
	if (!pmd_trans_huge(*pmd)) {
		spin_unlock(t, pl); /* another CPU split or zapped it first */
		mmu_notifier_invalidate_range_end(t, &range);
		return;
	}
	pteval_t old = *pmd;
	mm_assert_locked(t, mm, haddr, spin_is_held_by(pl, t), "huge PMD", pl->dep.class->name);
	/* pmdp_invalidate: not present, then flush, before the PTEs become visible. */
	hw_rmw(t, pmd, sizeof(*pmd));
	*pmd = old & ~(_PAGE_PRESENT | _PAGE_PROTNONE);
	flush_tlb_mm_range(t, mm, haddr, haddr + PMD_SIZE, false);
	struct page *pt = pgtable_trans_huge_withdraw(t, mm, pmd_table);
	struct page *head = pfn_to_page(mm->zone, pte_pfn(old));
	pteval_t prot = old & ~(PTE_PFN_MASK | _PAGE_PSE);
	/*
	 * The folio is split with the PMD (see the header): 512 order-0 pages, each mapped
	 * once with one reference, in the head's anon_vma and memcg (its charge of 512
	 * becomes 512 charges of one: the counter does not move), the tails on the LRU
	 * beside the head (__split_huge_page: lru_add_split_folio).  The head keeps any
	 * reference an LRU batch holds.
	 */
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++) {
		if (i % 8 == 0)
			hw_store(t, &pt->table[i], CACHE_LINE);
		pt->table[i] = ((head->pfn + i) << PAGE_SHIFT) | prot;
		head[i].flags &= ~(PG_head | PG_tail);
		head[i].mapcount = 1;
		if (i) {
			head[i].refcount = 1;
			head[i].mapping = head->mapping;
			head[i].memcg = head->memcg;
		}
	}
	hw_store(t, head, sizeof(*head));
	folio_split_lru(t, mm->zone, head, HPAGE_PMD_NR);
	cpu_work(t, t->machine->path.pte_op * HPAGE_PMD_NR / 8);
	/* pmd_populate: smp_wmb orders the PTEs before the PMD that publishes them. */
	hw_store(t, pmd, sizeof(*pmd));
	*pmd = (pt->pfn << PAGE_SHIFT) | PMD_TABLE_ENTRY;
	spin_unlock(t, pl);
	mmu_notifier_invalidate_range_end(t, &range);
	count_event(&t->stats, EV_THP_SPLIT_PMD);
}

void change_huge_pmd(struct sim_task *t, struct mmu_gather *tlb, struct page *pmd_table,
		     pteval_t *pmd, unsigned long haddr, pteval_t newprot)
{
	struct mm_struct *mm = tlb->mm;
	struct spinlock *pl = pmd_lockptr(mm, pmd_table);

	spin_lock(t, pl);
	hw_load(t, pmd, sizeof(*pmd));
	pteval_t old = *pmd, new = (old & PTE_PFN_MASK) | newprot | _PAGE_PSE;
	if (pmd_trans_huge(old) && new != old) {
		mm_assert_locked(t, mm, haddr, spin_is_held_by(pl, t), "huge PMD",
				 pl->dep.class->name);
		hw_rmw(t, pmd, sizeof(*pmd)); /* pmdp_invalidate_ad ... set_pmd_at */
		*pmd = new;
		cpu_work(t, t->machine->path.pte_op);
		if (haddr < tlb->start)
			tlb->start = haddr;
		if (haddr + PMD_SIZE > tlb->end)
			tlb->end = haddr + PMD_SIZE;
		if (mm->checker)
			for (unsigned i = 0; i < HPAGE_PMD_NR; i++)
				mm_check_event(t, mm, haddr + i * PAGE_SIZE, MEV_CHANGE_PROT,
					       newprot);
	}
	spin_unlock(t, pl);
}

int madvise_hugepage_locked(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			    unsigned long end)
{
	rwsem_assert_held_write(t, &mm->mmap_lock);
	for (unsigned long a = start; a < end;) {
		struct vm_area_struct *v = find_vma(t, mm, a);
		if (!v || v->vm_start > a)
			return -12; /* a hole: the VMAs below it keep the new flag, as Linux */
		unsigned long vend = v->vm_end < end ? v->vm_end : end;
		hw_load(t, v, 32);
		if (!(v->vm_flags & VM_HUGEPAGE)) {
			vma_split_at(t, mm, a);
			vma_split_at(t, mm, vend);
			v = find_vma(t, mm, a);
			vma_start_write(t, v);
			mm_assert_locked(t, mm, a, rwsem_is_write_locked_by(&mm->mmap_lock, t),
					 "vm_flags", "mmap_lock (W)");
			hw_store(t, v, 32);
			v->vm_flags |= VM_HUGEPAGE;
		}
		a = vend;
	}
	return 0;
}
