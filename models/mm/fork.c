/*
 * fork's and exit's halves of the address space (kernel/fork.c dup_mmap, mm/memory.c
 * copy_page_range / copy_present_pte, mm/mmap.c exit_mmap).  Spec:
 * kernel-algorithms.md §I.2-I.3 (anon_vma_fork), D.5 (6.4.1: fork write-locks the
 * parent's VMAs, "fork: lock VMAs of the parent process when forking"), H.1 (PTE locks).
 *
 * dup_mmap, under the parent's mmap_lock (W): every parent VMA is write-locked (so no
 * per-VMA fault changes its PTEs while they are copied), copied with its anon_vma chain
 * plus an anon_vma of its own (anon_vma_fork), and, if it has anonymous pages
 * (vma_needs_copy: it has an anon_vma), its page tables are copied PTE table by PTE
 * table under both tables' locks: a private writable PTE is write-protected in the
 * parent and in the child, so the first write on either side copies (do_wp_page); the
 * page gains a mapcount and a reference.  Zero-page entries are copied as they are.  The
 * parent's TLBs are flushed at the end: its entries became read-only.
 *
 * exit_mmap: the whole range is detached and torn down as munmap does (zap, unlink from
 * the rmap, free the tables after the flush), then the PGD.  The struct mm_struct itself
 * is kept until the end of the run, since RCU callbacks (page tables, tree nodes) may
 * still name it.
 */
#include "mm.h"
#include "mm/anon_vma.h"
#include "mm/rmap.h"
#include "fs.h"
#include "mmu_notifier.h"
#include "hw/hw.h"
#include "die.h"
#include "mm/migrate.h"
#include "mm/swap.h"

static GPtrArray *exited; /* struct mm_struct *, exit order */

/* copy_pte_range for [addr, end) of one source PTE table. */
static void copy_pte_range(struct sim_task *t, struct vm_area_struct *dst_vma,
			   struct vm_area_struct *src_vma, struct page *src_pt, unsigned long addr,
			   unsigned long end)
{
	struct mm_struct *dst_mm = dst_vma->vm_mm, *src_mm = src_vma->vm_mm;
	struct page *pmd_table;

	pteval_t *pmd = pt_pmd_alloc(t, dst_mm, addr, &pmd_table);
	if (!pmd || !pt_pte_alloc(t, dst_mm, pmd_table, pmd))
		sim_die("fork: out of memory for page tables (the machine is too small)");
	struct page *dst_pt = pt_page(dst_mm, *pmd);
	struct spinlock *dst_ptl = pte_lockptr(dst_mm, dst_pt);
	struct spinlock *src_ptl = pte_lockptr(src_mm, src_pt);

	spin_lock(t, dst_ptl);
	spin_lock(t, src_ptl); /* spin_lock_nested(src_ptl, SINGLE_DEPTH_NESTING) */
	for (unsigned long a = addr; a < end; a += PAGE_SIZE) {
		pteval_t *src = &src_pt->table[pt_index(a, PT_PTE)];
		pteval_t *dst = &dst_pt->table[pt_index(a, PT_PTE)];
		hw_load(t, src, sizeof(*src));
		pteval_t e = *src;
		if (!pte_present(e)) { /* copy_nonpresent_pte */
			if (is_migration_entry(e))
				copy_migration_pte(t, src_vma, dst_mm, src, dst, a);
			else if (is_swap_entry(e))
				copy_swap_pte(t, dst_mm, src, dst);
			continue;
		}
		cpu_work(t, t->machine->path.pte_op);
		if (!(e & _PAGE_SPECIAL) &&
		    (pfn_to_page(src_mm->zone, pte_pfn(e))->flags & PG_file)) {
			/* A page cache page of a private file VMA: another mapping of it
			 * (folio_dup_file_rmap), read-only as every file PTE of the VMA. */
			struct page *p = pfn_to_page(src_mm->zone, pte_pfn(e));
			page_dup_anon_rmap(t, p); /* the same mapcount and reference */
			e &= ~_PAGE_ACCESSED;
			dst_mm->rss_file++;
		} else if (!(e & _PAGE_SPECIAL)) {
			struct page *p = pfn_to_page(src_mm->zone, pte_pfn(e));
			page_dup_anon_rmap(t, p);
			if (e & _PAGE_RW) {
				/* is_cow_mapping && pte_write: ptep_set_wrprotect in the parent */
				mm_assert_locked(t, src_mm, a, spin_is_held_by(src_ptl, t), "PTE",
						 src_ptl->dep.class->name);
				hw_rmw(t, src, sizeof(*src));
				*src &= ~_PAGE_RW;
				e &= ~_PAGE_RW;
				if (src_mm->checker)
					mm_check_event(t, src_mm, a, MEV_FORK_WP, p->pfn);
			}
			e &= ~_PAGE_ACCESSED; /* pte_mkold: the child has not used it yet */
			dst_mm->rss_anon++;
		}
		hw_store(t, dst, sizeof(*dst));
		*dst = e;
	}
	spin_unlock(t, src_ptl);
	spin_unlock(t, dst_ptl);
}

/*
 * copy_page_range: the PTEs of src_vma into dst_vma (same range, another mm).  A huge
 * PMD on the way is split in the parent first (pt_next_pte_table without a gather), and
 * its 512 PTEs are then copied as any others: the child shares order-0 pages, not the
 * huge page (the kernel's copy_huge_pmd shares the huge page and deposits a table in the
 * child; see docs/model-mm.md, THP and fork).
 */
static void copy_page_range(struct sim_task *t, struct vm_area_struct *dst_vma,
			    struct vm_area_struct *src_vma)
{
	struct mm_struct *src_mm = src_vma->vm_mm;
	struct page *pt;
	pteval_t *pmd;

	/* A private mapping's PTEs become read-only in the parent: its secondary MMUs must
	 * drop their writable translations first (is_cow_mapping). */
	struct mmu_notifier_range range;
	mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, src_mm, src_vma->vm_start,
				src_vma->vm_end, "fork (copy_page_range)");
	mmu_notifier_invalidate_range_start(t, &range);
	for (unsigned long addr = src_vma->vm_start, next;
	     (pt = pt_next_pte_table(t, src_mm, &addr, src_vma->vm_end, &next, &pmd, NULL));
	     addr = next)
		copy_pte_range(t, dst_vma, src_vma, pt, addr, next);
	mmu_notifier_invalidate_range_end(t, &range);
}

struct mm_struct *dup_mm(struct sim_task *t, struct mm_struct *oldmm)
{
	struct mm_struct *mm = mm_create(oldmm->zone, oldmm->scheme);

	count_event(&t->stats, EV_FORK);
	mm->ptl_mode = oldmm->ptl_mode;
	mm->inject = oldmm->inject;
	mm->anon_vma_lock = oldmm->anon_vma_lock;
	mm->pt_free_rcu = oldmm->pt_free_rcu;
	mm->vma_free = oldmm->vma_free;
	mm->spf_walk_irqs_off = oldmm->spf_walk_irqs_off;
	mm_set_tree_lock(mm, oldmm->tree_lock);
	mm->fault_prefetchw = oldmm->fault_prefetchw;
	mm->seq_shares_lock_line = oldmm->seq_shares_lock_line;
	/* THP: the child's faults may map huge PMDs too (no khugepaged scans the child). */
	mm->thp = oldmm->thp;
	mm->pmd_recheck = oldmm->pmd_recheck;
	mmap_write_lock(t, oldmm);
	mmap_write_lock(t, mm); /* mmap_write_lock_nested: nobody else can know mm yet */
	for (struct vm_area_struct *vma = find_vma(t, oldmm, 0); vma;
	     vma = vma_next(t, oldmm, vma)) {
		/* 6.4.1: no per-VMA fault may change the PTEs we are about to copy. */
		vma_start_write(t, vma);
		hw_load(t, vma, 128);
		struct vm_area_struct *tmp = vma_alloc(t, mm, vma->vm_start, vma->vm_end,
						       vma->vm_flags);
		tmp->vm_page_prot = vma->vm_page_prot;
		tmp->vm_pgoff = vma->vm_pgoff;
		anon_vma_fork(t, tmp, vma);
		vma_insert(t, mm, tmp);
		if (vma->vm_file) { /* __vma_link_file: the child's VMA joins i_mmap */
			hw_store(t, &tmp->vm_file, sizeof(tmp->vm_file));
			tmp->vm_file = vma->vm_file;
			vma_link_file(t, tmp);
		}
		/* vma_needs_copy: without an anon_vma there is no anonymous page, and the
		 * file pages of the range are found again by faults. */
		if (vma->anon_vma)
			copy_page_range(t, tmp, vma);
	}
	if (oldmm->checker)
		mm->checker = mm_checker_fork(oldmm->checker);
	mmap_write_unlock(t, mm);
	/* flush_tlb_mm(oldmm): every writable translation of the parent may have become
	 * read-only. */
	flush_tlb_mm_range(t, oldmm, 0, TASK_SIZE, false);
	mmap_write_unlock(t, oldmm);
	return mm;
}

void exit_mmap(struct sim_task *t, struct mm_struct *mm)
{
	GPtrArray *detached = g_ptr_array_new();
	unsigned long floor, ceiling;

	sim_bug_on(mm->exited);
	count_event(&t->stats, EV_EXIT_MMAP);
	mmap_write_lock(t, mm);
	munmap_detach_locked(t, mm, 0, TASK_SIZE, detached, &floor, &ceiling);
	/* unmap_vmas + free_pgtables(FIRST_USER_ADDRESS, USER_PGTABLES_CEILING) + remove_vma */
	munmap_teardown(t, mm, detached, 0, 1UL << 47);
	mmap_write_unlock(t, mm);
	g_ptr_array_free(detached, TRUE);
	/* __mmdrop: pgd_free. */
	pteval_t *pgd = mm->pgd->table;
	for (unsigned i = 0; i < PTRS_PER_TABLE; i++)
		sim_bug_on(pgd[i] != 0);
	pt_free_table(t, mm, mm->pgd);
	mm->pgd = NULL;
	mm->exited = true;
	mm_checker_destroy(mm->checker);
	mm->checker = NULL;
	if (!exited)
		exited = g_ptr_array_new();
	g_ptr_array_add(exited, mm);
}

long mm_exited_pt_pending(const struct zone *z)
{
	long n = 0;
	for (unsigned i = 0; exited && i < exited->len; i++) {
		const struct mm_struct *mm = g_ptr_array_index(exited, i);
		if (mm->zone == z)
			n += mm->nr_pt_rcu_pending;
	}
	return n;
}

void mm_reap_exited(struct zone *z)
{
	for (unsigned i = 0; exited && i < exited->len;) {
		struct mm_struct *mm = g_ptr_array_index(exited, i);
		if (mm->zone != z) {
			i++;
			continue;
		}
		mm_destroy(mm);
		g_ptr_array_remove_index(exited, i);
	}
}
