/*
 * Four-level page tables as real arrays of 512 entries.  A non-leaf entry holds the frame
 * number of the next table's page, as on x86, so every walk goes entry -> struct page ->
 * table.  Installing a table follows __pte_alloc/__pud_alloc: allocate outside the lock,
 * take the lock of the level (mm->page_table_lock above the PMD, the split PMD lock for a
 * PTE table), recheck the entry is still empty, populate, and free our table if we lost.
 * Zap and change_protection meet huge PMD leaves on their way (zap_huge_pmd,
 * change_huge_pmd, split_huge_pmd in huge_memory.c).
 * Spec: ../shared/reference/kernel-algorithms.md A.6, A.7 step 2, B.4 step 5.
 */
#include <stdlib.h>
#include <string.h>
#include "mm.h"
#include "mm/rmap.h"
#include "hw/hw.h"
#include "die.h"
#include "sync/rcu.h"
#include "mm/migrate.h"
#include "mm/swap.h"

#define TABLE_ENTRY (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)

/* The memory of page-table pages, recycled LIFO (see struct kmem_cache). */
static struct kmem_cache pt_cache = { PAGE_SIZE, PAGE_SIZE, NULL };

struct page *pt_alloc_table(struct sim_task *t, struct mm_struct *mm)
{
	struct page *p = alloc_page(t, mm->zone);
	if (!p)
		return NULL;
	void *mem = kmem_cache_alloc(&pt_cache);
	hw_bulk_zero(t, hw_page_paddr(p->pfn), PAGE_SIZE);
	p->flags = PG_table;
	p->table = mem;
	p->mm = mm;
	p->pmd_seq = 0;
	p->pt_deposit = 0;
	spin_lock_init(&p->ptl, "ptlock_ptr(ptdesc)");
	count_event(&t->stats, EV_PT_ALLOC);
	return p;
}

void pt_free_table(struct sim_task *t, struct mm_struct *mm, struct page *table)
{
	sim_bug_on(!(table->flags & PG_table));
	sim_bug_on(spin_is_busy(&table->ptl));
	kmem_cache_free(&pt_cache, table->table);
	table->table = NULL;
	table->refcount = 0;
	count_event(&t->stats, EV_PT_FREE);
	free_page(t, mm->zone, table);
}

/* Populate *entry with a fresh table under `lock` unless someone beat us to it. */
static bool pt_install(struct sim_task *t, struct mm_struct *mm, pteval_t *entry,
		       struct spinlock *lock, bool pte_table)
{
	struct page *new = pt_alloc_table(t, mm);
	if (!new)
		return false;
	spin_lock(t, lock);
	hw_load(t, entry, sizeof(*entry));
	if (!*entry) {
		mm_assert_locked(t, mm, 0, spin_is_held_by(lock, t), "page-table entry",
				 lock->dep.class->name);
		hw_store(t, entry, sizeof(*entry));
		*entry = (new->pfn << PAGE_SHIFT) | TABLE_ENTRY;
		if (pte_table) {
			hw_rmw(t, &mm->nr_ptes, sizeof(mm->nr_ptes));
			mm->nr_ptes++;
		}
		new = NULL;
	}
	spin_unlock(t, lock);
	if (new)
		pt_free_table(t, mm, new); /* lost the race: another CPU populated it */
	return true;
}

pteval_t *pt_pmd_alloc(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		       struct page **pmd_table)
{
	pteval_t *pgd = mm->pgd->table;
	pteval_t *pgde = &pgd[pt_index(addr, PT_PGD)];

	/*
	 * Upper levels are read locklessly, without a fresh sim_sync: the value may be as old
	 * as the caller's last synchronisation (taking mmap_lock or the VMA lock).  That is
	 * safe because a "none" is rechecked under the level's lock before we install (and we
	 * free our table if another CPU won), and a present entry on the path of an address
	 * inside a VMA that the caller holds stable is never freed: free_pgtables only frees
	 * tables whose whole span lies outside every remaining VMA.
	 */
	hw_load(t, pgde, sizeof(*pgde));
	if (!*pgde && !pt_install(t, mm, pgde, &mm->page_table_lock, false))
		return NULL;
	pteval_t *pude = &pt_entries(mm, *pgde)[pt_index(addr, PT_PUD)];
	hw_load(t, pude, sizeof(*pude));
	if (!*pude && !pt_install(t, mm, pude, &mm->page_table_lock, false))
		return NULL;
	*pmd_table = pt_page(mm, *pude);
	pteval_t *pmde = &(*pmd_table)->table[pt_index(addr, PT_PMD)];
	return pmde;
}

bool pt_pte_alloc(struct sim_task *t, struct mm_struct *mm, struct page *pmd_table, pteval_t *pmd)
{
	/* Lockless and possibly stale, as in pt_pmd_alloc, for the same reasons. */
	hw_load(t, pmd, sizeof(*pmd));
	if (*pmd)
		return true;
	return pt_install(t, mm, pmd, pmd_lockptr(mm, pmd_table), true);
}

pteval_t *pt_lookup_pte(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			struct page **pte_table)
{
	pteval_t *table = mm->pgd->table;

	sim_sync(t);
	for (int level = PT_PGD; level > PT_PTE; level--) {
		pteval_t *e = &table[pt_index(addr, level)];
		hw_load(t, e, sizeof(*e));
		if (!*e)
			return NULL;
		if (level == PT_PMD && pmd_trans_huge(*e))
			return e; /* a huge leaf: the walk ends at the PMD */
		if (level == PT_PMD && pte_table)
			*pte_table = pt_page(mm, *e);
		table = pt_entries(mm, *e);
	}
	pteval_t *pte = &table[pt_index(addr, PT_PTE)];
	hw_load(t, pte, sizeof(*pte));
	return pte;
}

/*
 * Walk to the PTE table covering addr without allocating; NULL if there is none.  On
 * return *pmdp is the PMD entry and *pmd_table its table page; a huge PMD leaf returns
 * the PMD table page with *huge set.
 */
static struct page *pt_find_pte_table(struct sim_task *t, struct mm_struct *mm,
				      unsigned long addr, unsigned long *skip_to,
				      pteval_t **pmdp, struct page **pmd_table, bool *huge)
{
	pteval_t *table = mm->pgd->table;
	struct page *tp = mm->pgd;

	sim_sync(t);
	for (int level = PT_PGD; level > PT_PTE; level--) {
		pteval_t *e = &table[pt_index(addr, level)];
		hw_load(t, e, sizeof(*e));
		if (!*e) {
			unsigned long size = 1UL << (PAGE_SHIFT + 9 * level);
			*skip_to = (addr & ~(size - 1)) + size;
			return NULL;
		}
		if (level == PT_PMD) {
			*pmdp = e;
			*pmd_table = tp;
			*huge = pmd_trans_huge(*e);
			return *huge ? tp : pt_page(mm, *e);
		}
		tp = pt_page(mm, *e);
		table = tp->table;
	}
	return NULL;
}

/*
 * The next PTE table mapping part of [*addr, end), skipping ranges with no table; on
 * return [*addr, *next) is the part it maps.  NULL once the range is done.  A huge PMD
 * in the way is zapped whole (`tlb` given and the range covers it), else split, and the
 * walk goes on through the table the split left.
 */
struct page *pt_next_pte_table(struct sim_task *t, struct mm_struct *mm,
				      unsigned long *addr, unsigned long end, unsigned long *next,
				      pteval_t **pmdp, struct mmu_gather *zap)
{
	while (*addr < end) {
		struct page *pmd_table;
		bool huge = false;
		*next = (*addr & ~(PMD_SIZE - 1)) + PMD_SIZE;
		struct page *pt = pt_find_pte_table(t, mm, *addr, next, pmdp, &pmd_table, &huge);
		if (*next > end)
			*next = end;
		if (huge) {
			unsigned long haddr = *addr & ~(PMD_SIZE - 1);
			if (zap && *addr == haddr && *next == haddr + PMD_SIZE) {
				zap_huge_pmd(t, zap, pmd_table, *pmdp, haddr);
				*addr = *next;
			} else {
				split_huge_pmd(t, mm, pmd_table, *pmdp, haddr);
			}
			continue; /* walk again from *addr */
		}
		if (pt)
			return pt;
		*addr = *next;
	}
	return NULL;
}

/*
 * pte_offset_map_lock for the walkers below: plain spin_lock unless huge PMDs or
 * collapses exist in this mm (then the 6.5+ PMD recheck and the collapse waits).
 */
static struct spinlock *pt_walk_lock(struct sim_task *t, struct mm_struct *mm, pteval_t *pmd,
				     struct page *pt)
{
	if (!mm->pmd_recheck) {
		struct spinlock *ptl = pte_lockptr(mm, pt);
		spin_lock(t, ptl);
		return ptl;
	}
	return pte_offset_map_lock(t, mm, pmd, pt);
}

void pt_zap_range(struct sim_task *t, struct mmu_gather *tlb, unsigned long start,
		  unsigned long end)
{
	struct mm_struct *mm = tlb->mm;
	struct page *pt;
	pteval_t *pmd;

	for (unsigned long addr = start, next;
	     (pt = pt_next_pte_table(t, mm, &addr, end, &next, &pmd, tlb)); addr = next) {
		/* zap_pte_range: everything under the PTE table's lock. */
		struct spinlock *ptl = pt_walk_lock(t, mm, pmd, pt);
		if (!ptl) {
			next = addr; /* the PMD changed under us: walk this range again */
			continue;
		}
		bool busy = false;
		for (unsigned long a = addr; a < next; a += PAGE_SIZE) {
			pteval_t *pte = &pt->table[pt_index(a, PT_PTE)];
			hw_load(t, pte, sizeof(*pte));
			if (pte_is_collapse_marker(*pte)) {
				busy = true; /* a collapse owns the table: wait, then walk again */
				break;
			}
			if (!pte_present(*pte)) {
				if (is_migration_entry(*pte))
					zap_migration_pte(t, mm, pte, a);
				else if (is_swap_entry(*pte)) {
					struct page *fp = zap_swap_pte(t, mm, pte, a);
					if (fp) /* freed with the gather's pages */
						g_ptr_array_add(tlb->pages, fp);
				}
				continue;
			}
			if (tlb->dontneed && mm->inject == INJECT_DONTNEED_NO_ZAP)
				continue; /* injected bug: the PTE survives the zap */
			pteval_t old = *pte;
			mm_assert_locked(t, mm, a, spin_is_held_by(ptl, t), "PTE",
					 ptl->dep.class->name);
			hw_rmw(t, pte, sizeof(*pte)); /* ptep_get_and_clear_full */
			*pte = 0;
			if (mm->checker)
				mm_check_event(t, mm, a, MEV_ZAP, pte_pfn(old));
			/* tlb_remove_tlb_entry: the range to flush grows. */
			if (a < tlb->start)
				tlb->start = a;
			if (a + PAGE_SIZE > tlb->end)
				tlb->end = a + PAGE_SIZE;
			cpu_work(t, t->machine->path.pte_op);
			if (old & _PAGE_SPECIAL)
				continue; /* the zero page is not refcounted */
			struct page *p = pfn_to_page(mm->zone, pte_pfn(old));
			if (p->flags & PG_file) {
				/* the page cache keeps its own reference */
				page_remove_rmap(t, mm, p, a, "zap_pte_range");
				hw_rmw(t, &p->refcount, sizeof(p->refcount));
				p->refcount--;
				zap_file_pte(t, mm, p, old);
			} else {
				page_remove_rmap(t, mm, p, a, "zap_pte_range");
				mm->rss_anon--;
				/* The mapping's reference: the last one frees the page after the
				 * TLB flush (an LRU batch or a COW in flight may still hold one). */
				hw_rmw(t, &p->refcount, sizeof(p->refcount));
				p->refcount--;
			}
			if (p->refcount == 0)
				g_ptr_array_add(tlb->pages, p);
		}
		if (busy) {
			spin_unlock(t, ptl);
			count_event(&t->stats, EV_COLLAPSE_WAIT);
			khugepaged_wait_collapse(t, mm);
			next = addr;
			continue;
		}
		if (tlb->dontneed && mm->checker) {
			/* MADV_DONTNEED's postcondition, checked while no fault can refill the
			 * table (we still hold its lock). */
			for (unsigned long a = addr; a < next; a += PAGE_SIZE)
				if (pte_present(pt->table[pt_index(a, PT_PTE)]))
					mm_violation(
					    t, mm, a, "dontneed-leaves-no-present-pte",
					    "zap_pte_range (madvise_dontneed)",
					    "PTE for 0x%lx still present after the zap: 0x%llx", a,
					    (unsigned long long)pt->table[pt_index(a, PT_PTE)]);
		}
		spin_unlock(t, ptl);
	}
}

void pt_change_prot_range(struct sim_task *t, struct mmu_gather *tlb, unsigned long start,
			  unsigned long end, pteval_t newprot)
{
	struct mm_struct *mm = tlb->mm;
	struct page *pt;
	pteval_t *pmd;

	for (unsigned long addr = start, next; addr < end; addr = next) {
		/* change_pmd_range: a huge PMD the range covers whole changes in place (a
		 * partial one is split by the walk below). */
		unsigned long haddr = addr & ~(PMD_SIZE - 1);
		if (mm->pmd_recheck && addr == haddr && end - haddr >= PMD_SIZE) {
			struct page *pmd_table;
			pteval_t *hpmd = pt_find_pmd(t, mm, addr, &pmd_table);
			if (hpmd && pmd_trans_huge(*hpmd)) {
				change_huge_pmd(t, tlb, pmd_table, hpmd, haddr, newprot);
				next = haddr + PMD_SIZE;
				continue;
			}
		}
		pt = pt_next_pte_table(t, mm, &addr, end, &next, &pmd, NULL);
		if (!pt)
			break;
		/* change_pte_range: each present PTE rewritten under the table's lock. */
		struct spinlock *ptl = pt_walk_lock(t, mm, pmd, pt);
		if (!ptl) {
			next = addr;
			continue;
		}
		for (unsigned long a = addr; a < next; a += PAGE_SIZE) {
			pteval_t *pte = &pt->table[pt_index(a, PT_PTE)];
			hw_load(t, pte, sizeof(*pte));
			pteval_t old = *pte;
			/* mprotect holds mmap_lock (W): no read-lock collapse runs now. */
			sim_bug_on(pte_is_collapse_marker(old));
			if (!pte_present(old)) {
				if (is_migration_entry(old))
					change_migration_pte(t, mm, pte);
				continue;
			}
			pteval_t prot = newprot;
			if (old & _PAGE_SPECIAL) /* the zero page is never writable */
				prot = (prot & ~(_PAGE_RW | _PAGE_DIRTY)) | _PAGE_SPECIAL;
			else if ((prot & _PAGE_RW) && !(old & _PAGE_RW)) {
				/* can_change_pte_writable: a page shared since fork stays
				 * read-only, so the next write copies it (do_wp_page). */
				struct page *pg = pfn_to_page(mm->zone, pte_pfn(old));
				hw_load(t, &pg->mapcount, sizeof(pg->mapcount));
				/* A page in the swap cache may still be mapped through
				 * another entry for its slot (PageAnonExclusive clear). */
				if (pg->mapcount != 1 || (pg->flags & PG_swapcache))
					prot &= ~(_PAGE_RW | _PAGE_DIRTY);
			}
			pteval_t new = (old & PTE_PFN_MASK) | prot;
			if (new == old)
				continue;
			mm_assert_locked(t, mm, a, spin_is_held_by(ptl, t), "PTE",
					 ptl->dep.class->name);
			/* ptep_modify_prot_start (get and clear) ... commit: no other CPU runs
			 * in between, so the pair is one locked RMW of the entry here. */
			hw_rmw(t, pte, sizeof(*pte));
			*pte = new;
			cpu_work(t, t->machine->path.pte_op);
			if (a < tlb->start)
				tlb->start = a;
			if (a + PAGE_SIZE > tlb->end)
				tlb->end = a + PAGE_SIZE;
			if (mm->checker)
				mm_check_event(t, mm, a, MEV_CHANGE_PROT, new & ~PTE_PFN_MASK);
		}
		spin_unlock(t, ptl);
	}
}

/*
 * free_pgd_range: free the tables below `table` (of `level`, covering VA from `base`) that
 * map only addresses in [floor, ceiling) and intersect [start, end).  Called once the
 * range's VMAs are unreachable; no lock is needed to clear the entries (B.4 step 5).
 */
static void pt_free_level(struct sim_task *t, struct mmu_gather *tlb, pteval_t *table, int level,
			  unsigned long base, unsigned long start, unsigned long end,
			  unsigned long floor, unsigned long ceiling)
{
	struct mm_struct *mm = tlb->mm;
	unsigned long size = 1UL << (PAGE_SHIFT + 9 * level);

	for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
		unsigned long va = base + i * size;
		if (va + size <= start || va >= end)
			continue;
		pteval_t *e = &table[i];
		hw_load(t, e, sizeof(*e));
		if (!*e)
			continue;
		struct page *child = pt_page(mm, *e);
		if (level > PT_PMD)
			pt_free_level(t, tlb, child->table, level - 1, va, start, end, floor, ceiling);
		if (va < floor || va + size > ceiling)
			continue;
		if (level == PT_PMD) {
			for (unsigned j = 0; j < PTRS_PER_TABLE; j++)
				sim_bug_on(child->table[j] != 0);
			hw_rmw(t, &mm->nr_ptes, sizeof(mm->nr_ptes));
			mm->nr_ptes--;
		}
		hw_store(t, e, sizeof(*e));
		*e = 0;
		/* pte_free_tlb & co: freed after the flush, lazy CPUs get the IPI too, and the
		 * range grows by one page at the table's address (tlb_flush_pmd_range). */
		g_ptr_array_add(tlb->tables, child);
		tlb->freed_tables = true;
		unsigned long a = va < start ? start : va;
		if (a < tlb->start)
			tlb->start = a;
		if (a + PAGE_SIZE > tlb->end)
			tlb->end = a + PAGE_SIZE;
	}
}

void pt_free_range(struct sim_task *t, struct mmu_gather *tlb, unsigned long start,
		   unsigned long end, unsigned long floor, unsigned long ceiling)
{
	pt_free_level(t, tlb, tlb->mm->pgd->table, PT_PGD, 0, start, end, floor, ceiling);
}
