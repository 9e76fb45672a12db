/*
 * spf: speculative page faults, Michel Lespinasse's patchset v2 (Jan 2022, never merged;
 * lore 20220128131006.67712-1-michel@lespinasse.org, tree lespinasse/linux
 * v5.17-rc1-spf-anon: patches 10 mmap sequence count, 13 x86 speculative attempt, 14
 * speculative_page_walk_begin, 16 speculative __handle_mm_fault, 17 pte_map_lock, 18
 * do_anonymous_page, and the "anon spf statistics" patch).
 * Spec: ../shared/reference/kernel-algorithms.md §C, B.1; docs/schemes/spf.md.
 *
 * An anonymous fault is first handled with no lock at all: sample mm->mmap_seq (odd while
 * mmap_lock is write-held), look the VMA up in the RCU-mode maple tree and copy it, walk
 * the page tables under RCU without allocating any, allocate and clear the page with
 * nothing held, then pte_map_lock: recheck the sequence count, recheck the PMD entry,
 * spin_trylock the PTE table's lock and recheck the count under it.  A count that has not
 * moved means no mmap writer ran since the sample, so the copy is still the VMA; from the
 * PTL on, any later writer must take that lock to zap or change the PTE.  Any failed
 * check frees what was allocated and goes to the classic path (mmap_lock for read).
 *
 * Per fault, shared stores: the PTL trylock and unlock only (classic adds two atomics on
 * the mmap_lock line); the shared reads are the MM.SEQ line three times, the tree and
 * the VMA.  The count is per mm: a writer anywhere in the address space aborts every
 * speculation in flight, unrelated VMAs included.
 *
 * Walk variants (scenario field spf_walk, mm->spf_walk_irqs_off): RCU (x86 with
 * MMU_GATHER_RCU_TABLE_FREE), so the mm frees unlinked page tables after a grace period
 * (models/mm/tlb.c); or interrupts disabled (speculative_page_walk_begin on
 * architectures without RCU table freeing), so a table is freed only after the flush IPI
 * that this CPU acknowledges when it enables interrupts again (models/sync/irq.c): the
 * zapper's flush waits for the walker instead.  VMAs are freed through call_rcu in both.
 * A write to a VMA without anon_vma (anon_vma_prepare needs mmap_lock) and the COW of a
 * page shared since fork abort (spf_abort_anon); so does a COW on an mm with MMU
 * notifier subscribers (the series' mmu_notifier_trylock is not modelled: the locked
 * path runs the notifiers).  Not modelled: the mm_users > 1 gate (every task of a run
 * shares its mm); swap and uffd.  File VMAs (VM_FILEMAP) abort to mmap_lock: the series
 * speculated on anonymous VMAs only.
 */
#include <stddef.h>
#include "scheme.h"
#include "hw/hw.h"
#include "sync/rcu.h"
#include "sync/irq.h"
#include "die.h"
#include "mm/khugepaged.h"

/* speculative_page_walk_begin/end: what keeps the page tables from being freed. */
static void spf_walk_begin(struct sim_task *t, struct mm_struct *mm)
{
	if (mm->spf_walk_irqs_off)
		local_irq_disable(t);
	else
		rcu_read_lock(t);
}

static void spf_walk_end(struct sim_task *t, struct mm_struct *mm)
{
	if (mm->spf_walk_irqs_off)
		local_irq_enable(t);
	else
		rcu_read_unlock(t);
}

/* What one speculative attempt carries from step to step (the kernel's vm_fault). */
struct spf_fault {
	struct mm_struct *mm;
	unsigned long addr;
	unsigned int flags;
	unsigned long seq;           /* mmap_seq sampled at the start: even */
	struct vm_area_struct vma;   /* the copy (pvma): the original may go at any time */
	pteval_t *pmd;               /* PMD entry for addr, and its value seen by the walk */
	pteval_t orig_pmd;
	struct page *pt;             /* PTE table the walk found */
	unsigned long pmd_seq;       /* its PMD sequence then (collapse = "pmd-seq") */
	pteval_t orig_pte;
};

/*
 * mmap_seq_read_check: has an mmap writer started since the sample?  Every read of the
 * count is as of the task's latest synchronisation point (the tree walk's steps, the
 * allocator's locks, the PTL trylock), never a fresh one: a stale value can only make a
 * check fail, and the check that admits the commit is made under the PTL, whose trylock
 * orders it against every writer in simulated time.
 */
static bool mmap_seq_changed(struct sim_task *t, struct spf_fault *f)
{
	hw_load(t, mm_seq_line(f->mm, &f->mm->mmap_seq), sizeof(f->mm->mmap_seq)); /* after smp_rmb */
	return f->mm->mmap_seq != f->seq;
}

/*
 * The lockless VMA lookup and copy (C.2-C.4).  The tree may be mid-update; the copy is
 * validated by the sequence check after it, and freed VMAs and tree nodes wait for a
 * grace period, so what the walk returns is readable until rcu_read_unlock.
 */
static enum stat_event spf_get_vma(struct sim_task *t, struct spf_fault *f)
{
	struct mm_struct *mm = f->mm;

	rcu_read_lock(t);
	MA_STATE(mas, &mm->mm_mt, t, f->addr, f->addr);
	struct vm_area_struct *vma = mas_walk(&mas);
	if (!vma) {
		rcu_read_unlock(t);
		return EV_SPF_ABORT_UNMAPPED;
	}
	rcu_check_access(t, vma, "spf lockless VMA lookup");
	/* pvma = *vma: the lines before vm_refcnt hold every field the fault uses. */
	hw_load(t, vma, offsetof(struct vm_area_struct, vm_refcnt));
	f->vma = *vma;
	if (scheme_walk_hook) /* race tests: a writer runs here, after the copy */
		scheme_walk_hook(t, mm, f->addr, vma);
	rcu_read_unlock(t);
	if (mmap_seq_changed(t, f))
		return EV_SPF_ABORT_VMA_COPY;
	if (f->addr < f->vma.vm_start || f->addr >= f->vma.vm_end)
		return EV_SPF_ABORT_UNMAPPED;
	/* access_error, and only private anonymous memory is speculated on (NO_SPECULATE);
	 * the classic path produces the real SIGSEGV. */
	unsigned long fl = f->vma.vm_flags;
	if (access_error(fl, f->flags) || (fl & (VM_SHARED | VM_FILEMAP)))
		return EV_SPF_ABORT_ACCESS;
	return 0;
}

/*
 * The walk to the PTE under RCU (speculative_page_walk_begin/end, C.5): RCU keeps the
 * tables readable, and any missing level aborts since allocating a table needs mmap_lock.
 * The entries are read as of the last synchronisation point: pte_map_lock revalidates.
 */
static enum stat_event spf_walk(struct sim_task *t, struct spf_fault *f)
{
	struct mm_struct *mm = f->mm;
	pteval_t *table = mm->pgd->table;
	enum stat_event ret = 0;

	spf_walk_begin(t, mm);
	for (int level = PT_PGD; level > PT_PTE; level--) {
		pteval_t *e = &table[pt_index(f->addr, level)];
		hw_load(t, e, sizeof(*e));
		if (!*e) {
			ret = EV_SPF_ABORT_NO_TABLE;
			goto out;
		}
		if (level == PT_PMD) {
			if (pmd_trans_huge(*e)) {
				ret = EV_SPF_ABORT_HUGE_PMD;
				goto out;
			}
			f->pmd = e;
			f->orig_pmd = *e;
			f->pt = pt_page(mm, *e);
			f->pmd_seq = f->pt->pmd_seq;
		}
		table = pt_entries(mm, *e);
	}
	pteval_t *pte = &table[pt_index(f->addr, PT_PTE)];
	hw_load(t, pte, sizeof(*pte));
	f->orig_pte = *pte;
out:
	spf_walk_end(t, mm);
	return ret;
}

/*
 * pte_map_lock (patch 17, C.6): returns 0 with the PTE table's lock held, or the abort.
 * The trylock is not a spin because a zapper holding the PTL may be waiting on this CPU
 * (in the IRQs-off variant, for its TLB IPI), and a failed attempt just takes the slow
 * path.  The second sequence check is the one that matters: made under the PTL, it
 * orders this fault before every later writer, who must take the PTL to touch the PTE.
 */
static enum stat_event pte_map_lock(struct sim_task *t, struct spf_fault *f)
{
	struct mm_struct *mm = f->mm;
	enum stat_event ret = 0;

	spf_walk_begin(t, mm);
	if (mmap_seq_changed(t, f)) {
		ret = EV_SPF_ABORT_SEQ1;
		goto out;
	}
	/* pmd_same(orig_pmd): the table was not unlinked or replaced meanwhile. */
	hw_load(t, f->pmd, sizeof(*f->pmd));
	if (*f->pmd != f->orig_pmd) {
		ret = EV_SPF_ABORT_PMD;
		goto out;
	}
	struct spinlock *ptl = pte_lockptr(mm, f->pt);
	if (!spin_trylock(t, ptl)) {
		ret = EV_SPF_ABORT_PTL;
		goto out;
	}
	/* Read as of the lock's acquisition: the trylock synchronised. */
	if (mmap_seq_changed(t, f)) {
		spin_unlock(t, ptl);
		ret = EV_SPF_ABORT_SEQ2;
	} else if (mm->pmd_recheck && (hw_load(t, f->pmd, sizeof(*f->pmd)),
				       *f->pmd != f->orig_pmd)) {
		/* A read-lock collapse does not move mmap_seq: the PMD is rechecked under
		 * the PTL (huge PMDs and collapses only). */
		spin_unlock(t, ptl);
		ret = EV_SPF_ABORT_PMD;
	} else if (mm->khugepaged && khugepaged_pmd_seq(mm) &&
		   (hw_load(t, &f->pt->pmd_seq, sizeof(f->pt->pmd_seq)),
		    (f->pt->pmd_seq & 1) || f->pt->pmd_seq != f->pmd_seq)) {
		spin_unlock(t, ptl);
		ret = EV_SPF_ABORT_COLLAPSE;
	}
out:
	spf_walk_end(t, mm);
	return ret;
}

/*
 * The speculative __handle_mm_fault and do_anonymous_page (C.5-C.6), including the
 * write fault on a zero-page PTE (do_wp_page for a page with no other user).  Returns 0
 * when the fault is handled, or the abort reason.
 */
static enum stat_event spf_handle(struct sim_task *t, struct spf_fault *f)
{
	struct mm_struct *mm = f->mm;
	struct page *p = NULL;
	enum stat_event ret;

	count_event(&t->stats, EV_FAULT);
	cpu_work(t, t->machine->path.fault_core);
	ret = spf_walk(t, f);
	if (ret)
		return ret;
	bool write = f->flags & FAULT_FLAG_WRITE;
	pteval_t expect = f->orig_pte;
	if (pte_present(expect)) {
		if (!write || (expect & _PAGE_RW))
			return 0; /* spurious: another CPU fixed it (the kernel's pte_spinlock
				   * path only updates accessed/dirty bits) */
		/* A read-only anonymous page (shared since fork): do_wp_page's copy or reuse
		 * is left to the locked path. */
		if (!(expect & _PAGE_SPECIAL))
			return EV_SPF_ABORT_ANON;
		/* wp_page_copy calls the MMU notifiers, whose callbacks may sleep: not from a
		 * speculative fault (the 2022 series read-trylocks a per-mm notifier lock
		 * instead; the model takes the mmap_lock path). */
		if (mm->notifier_subscriptions)
			return EV_SPF_ABORT_NOTIFIER;
	} else if (pte_is_collapse_marker(expect)) {
		return EV_SPF_ABORT_COLLAPSE; /* the classic path waits for the collapse */
	} else if (expect) {
		return EV_SPF_ABORT_NONPRESENT; /* a migration entry: the locked path waits */
	}
	/* A first write to the VMA needs anon_vma_prepare, which needs mmap_lock. */
	if (write && !f->vma.anon_vma)
		return EV_SPF_ABORT_ANON;
	if (write) {
		/* Nothing is held: the page is wasted if the attempt aborts. */
		p = alloc_zeroed_user_page(t, mm, false);
		if (!p)
			return EV_SPF_ABORT_NOMEM;
	}
	ret = pte_map_lock(t, f);
	if (ret)
		goto free;
	struct spinlock *ptl = pte_lockptr(mm, f->pt);
	/* The copy stands for the VMA: it cannot have changed while mmap_seq did not. */
	bool done = set_pte_ptl_held(t, &f->vma, f->addr, f->pt, expect, p);
	spin_unlock(t, ptl);
	if (done) {
		count_event(&t->stats, !write ? EV_FAULT_ZERO :
				       expect ? EV_FAULT_WP : EV_FAULT_ANON);
		return 0;
	}
	ret = EV_SPF_ABORT_PTE;
free:
	if (p)
		drop_unmapped_page(t, mm, p);
	return ret;
}

static vm_fault_t spf_fault(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			    unsigned int flags)
{
	sim_time_t start = t->now;
	struct spf_fault f = { .mm = mm, .addr = addr, .flags = flags };
	enum stat_event ret;

	/* mmap_seq_read_start: an odd count means a writer holds mmap_lock. */
	hw_load(t, mm_seq_line(mm, &mm->mmap_seq), sizeof(mm->mmap_seq));
	f.seq = mm->mmap_seq;
	if (f.seq & 1) {
		ret = EV_SPF_ABORT_ODD;
		goto abort;
	}
	ret = spf_get_vma(t, &f);
	if (!ret)
		ret = spf_handle(t, &f);
	if (!ret) {
		count_event(&t->stats, EV_SPF_SUCCESS);
		return 0;
	}
abort:
	count_event(&t->stats, ret);
	t->stats.ev[EV_SPF_WASTED_NS] += (uint64_t)((t->now - start) / 1000);
	/* Lost the race for the PTE under the PTL: the fault is resolved (another CPU mapped
	 * the page), the access is simply retried, as do_anonymous_page returns 0. */
	if (ret == EV_SPF_ABORT_PTE)
		return 0;
	count_event(&t->stats, EV_MMAP_LOCK_FALLBACK);
	return classic_fault(t, mm, addr, flags);
}

const struct mm_scheme_ops spf_scheme = {
	.name = "spf",
	.description = "speculative faults (2022): mmap_seq, lockless VMA copy, RCU page walk, "
		       "PTL trylock; mmap_lock fallback",
	.vma_lock = VMA_LOCK_NONE,
	.speculative = true,
	.fault = spf_fault,
	/* mmap/munmap are classic's: mmap_write_lock/unlock/downgrade bump mmap_seq. */
	.mmap = classic_mmap,
	.munmap = classic_munmap,
	.mprotect = classic_mprotect,
	.madvise_dontneed = classic_madvise_dontneed,
};
