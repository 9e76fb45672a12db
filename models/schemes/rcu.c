/*
 * rcu, rcu-drop: full-RCU ("store-free") page faults, the design Matthew Wilcox proposed
 * as the step after per-VMA locks (linux-mm, Feb 2020, "phase 3: handle page faults
 * entirely under the RCU read lock, fall back to the VMA refcount if problems, page
 * allocation must fail rather than sleep"; Jan 2021 on RCU-freed VMAs; LSFMM 2024,
 * LWN 974392).  Never merged: the steps are our reconstruction from those mails over the
 * primitives of ≈6.15 (vm_refcnt per-VMA locks, type-safe VMA cache, RCU-freed page
 * tables: MMU_GATHER_RCU_TABLE_FREE / pte_free_defer).  `rcu-drop` is Michel Lespinasse's
 * alternative from the SPF discussions: leave RCU to allocate (so the allocation may
 * sleep), then re-enter and re-check the mm sequence count.
 * Spec: ../shared/reference/kernel-algorithms.md §E (with §D.6-D.7, §F.3); docs/schemes/rcu.md.
 *
 * Tier 0 stores to nothing shared before its commit: the maple-tree walk, a sample of
 * mm_lock_seq and the VMA (range, vm_mm, flags, vm_lock_seq), a page-table walk that never
 * allocates, and the data page (GFP_NOWAIT in `rcu`: it can fail; a CPU-local pcp pop and
 * the zeroing of a page nobody else sees).  The commit takes the PTE lock and finds
 * everything it sampled unchanged (sequences, VMA attached and covering addr, PMD entry,
 * PTE) before it maps the page.  Anything else falls back to the 6.15 per-VMA lock path
 * (pervma-refcount), and that to mmap_lock.  The mm's VMAs carry vm_refcnt locks; page
 * tables are freed a grace period after their flush (mm->pt_free_rcu), since no lock
 * keeps them alive for Tier 0.
 *
 * Per Tier-0 fault, shared stores: the PTE lock and the PTE line only.
 * A write fault on a VMA without anon_vma falls back (§E.3 step 7: anon_vma_prepare needs
 * mmap_lock), as does a write to a read-only anonymous page (COW after fork: EV_RCU_FB_STALE).
 * File VMAs fall back from Tier 0 (the design's page cache hit under folio_trylock is not
 * modelled) and are handled by Tier 1 under the VMA lock.  Not modelled: THP.
 */
#include "scheme.h"
#include "hw/hw.h"
#include "sync/rcu.h"
#include "die.h"
#include "mm/khugepaged.h"

#define RCU_TIER0_DONE NR_STAT_EVENTS /* rcu_tier0: no fallback */

/* What Tier 0 read under RCU, all of which the commit must find unchanged. */
struct rcu_sample {
	struct vm_area_struct *vma;
	int mm_seq;    /* mm->mm_lock_seq */
	int vma_seq;   /* vma->vm_lock_seq */
	pteval_t *pmd; /* the PMD entry on addr's path, and its value */
	pteval_t pmd_val;
	struct page *pt; /* the PTE table it points to */
	pteval_t orig;	 /* the PTE */
};

static bool vma_is_detached(const struct mm_struct *mm, const struct vm_area_struct *vma)
{
	if (mm->vma_lock_kind == VMA_LOCK_RWSEM)
		return vma->detached;
	return vma->vm_refcnt.refs == 0;
}

/*
 * Lockless walk to the PMD entry, allocating nothing (pXXp_get_lockless): NULL if a level
 * is missing.  No fresh sim_sync: the values are those of the tree walk's last
 * synchronised step, which lies inside our read-side section, so every table seen is
 * either live or waiting for a grace period that cannot end before we leave.
 */
static pteval_t *rcu_pmd_lookup(struct sim_task *t, struct mm_struct *mm, unsigned long addr)
{
	pteval_t *table = mm->pgd->table;
	for (int level = PT_PGD; level > PT_PMD; level--) {
		pteval_t *e = &table[pt_index(addr, level)];
		hw_load(t, e, sizeof(*e));
		if (!*e)
			return NULL;
		table = pt_entries(mm, *e);
	}
	pteval_t *pmd = &table[pt_index(addr, PT_PMD)];
	hw_load(t, pmd, sizeof(*pmd));
	return pmd;
}

/* The two sequences, as of the caller's last synchronisation. */
static bool rcu_seq_unchanged(struct sim_task *t, struct mm_struct *mm, const struct rcu_sample *s)
{
	hw_load(t, mm_seq_line(mm, &mm->mm_lock_seq), sizeof(mm->mm_lock_seq));
	hw_load(t, &s->vma->vm_lock_seq, sizeof(s->vma->vm_lock_seq));
	return mm->mm_lock_seq == s->mm_seq && s->vma->vm_lock_seq == s->vma_seq;
}

/*
 * Under the PTE lock: is everything Tier 0 sampled still so?  A writer that changes the
 * VMA stamps vm_lock_seq first (vma_start_write), and one that ends its section bumps
 * mm_lock_seq; a detached or reused object, or a shrunk VMA, is caught by the attach
 * state, vm_mm and the range; an unlinked table by the PMD entry.
 */
static enum stat_event rcu_revalidate(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
				      const struct rcu_sample *s)
{
	struct vm_area_struct *vma = s->vma;

	if (!rcu_seq_unchanged(t, mm, s))
		return EV_RCU_FB_SEQ;
	hw_load(t, &vma->vm_refcnt, sizeof(vma->vm_refcnt));
	hw_load(t, vma, 3 * sizeof(unsigned long));
	if (vma_is_detached(mm, vma) || vma->vm_mm != mm || addr < vma->vm_start ||
	    addr >= vma->vm_end)
		return EV_RCU_FB_STALE;
	hw_load(t, s->pmd, sizeof(*s->pmd));
	if (*s->pmd != s->pmd_val)
		return EV_RCU_FB_STALE;
	return RCU_TIER0_DONE;
}

/*
 * Tier 0.  Returns RCU_TIER0_DONE with *ret set, or the fallback reason (an event).  On
 * a fallback nothing shared was changed and nothing is held.  drop: rcu-drop's
 * allocation outside the read-side section.
 */
static enum stat_event rcu_tier0(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
				 unsigned int flags, bool drop, vm_fault_t *ret)
{
	struct rcu_sample s;
	struct page *p = NULL;
	enum stat_event why;
	bool write = flags & FAULT_FLAG_WRITE;

	rcu_read_lock(t);
	MA_STATE(mas, &mm->mm_mt, t, addr, addr);
	struct vm_area_struct *vma = mas_walk(&mas);
	if (!vma) {
		why = EV_RCU_FB_NO_VMA;
		goto out;
	}
	/*
	 * Sample at the walk's last synchronised step: mm_lock_seq and the VMA as they were
	 * when the leaf gave us the VMA, so it was in the tree, and not write-locked unless
	 * its stamp equals the mm's sequence.  The object may be reused the moment after
	 * (type-safe cache): everything here is provisional until the commit.
	 */
	s.vma = vma;
	hw_load(t, mm_seq_line(mm, &mm->mm_lock_seq), sizeof(mm->mm_lock_seq));
	hw_load(t, vma, 64); /* VMA.HOT: range, vm_mm, flags, prot, vm_lock_seq */
	s.mm_seq = mm->mm_lock_seq;
	s.vma_seq = vma->vm_lock_seq;
	if (s.vma_seq == s.mm_seq) {
		why = EV_RCU_FB_VMA_LOCKED;
		goto out;
	}
	if (vma->vm_mm != mm || addr < vma->vm_start || addr >= vma->vm_end) {
		why = EV_RCU_FB_STALE;
		goto out;
	}
	/* access_error, and what the fault core does not handle: the slower tiers report. */
	if (access_error(vma->vm_flags, write ? FAULT_FLAG_WRITE : 0) ||
	    (vma->vm_flags & (VM_SHARED | VM_FILEMAP))) {
		why = EV_RCU_FB_NO_VMA;
		goto out;
	}

	count_event(&t->stats, EV_FAULT);
	cpu_work(t, t->machine->path.fault_core);
	s.pmd = rcu_pmd_lookup(t, mm, addr);
	if (!s.pmd || !*s.pmd) {
		why = EV_RCU_FB_PGTABLE;
		goto out;
	}
	s.pmd_val = *s.pmd;
	if (pmd_trans_huge(s.pmd_val)) {
		why = EV_RCU_FB_PGTABLE; /* a huge PMD: the locked tiers handle it */
		goto out;
	}
	s.pt = pt_page(mm, s.pmd_val);
	pteval_t *pte = &s.pt->table[pt_index(addr, PT_PTE)];
	hw_load(t, pte, sizeof(*pte));
	s.orig = *pte;

	/* A first write needs anon_vma_prepare (mmap_lock): the locked tiers do it. */
	hw_load(t, &vma->anon_vma, sizeof(vma->anon_vma));
	if (write && !vma->anon_vma) {
		why = EV_RCU_FB_ANON_VMA;
		goto out;
	}
	enum stat_event done_ev;
	if (pte_is_collapse_marker(s.orig)) {
		why = EV_RCU_FB_STALE; /* a collapse is at work: a locked tier waits for it */
		goto out;
	} else if (s.orig && !pte_present(s.orig)) {
		why = EV_RCU_FB_NONPRESENT; /* a migration entry: a locked tier waits on it */
		goto out;
	} else if (!pte_present(s.orig)) {
		done_ev = write ? EV_FAULT_ANON : EV_FAULT_ZERO;
	} else if (write && (s.orig & _PAGE_PRESENT) && !(s.orig & _PAGE_RW) &&
		   (s.orig & _PAGE_SPECIAL)) {
		done_ev = EV_FAULT_WP; /* copy-on-write of the zero page */
		if (mm->notifier_subscriptions) {
			/* Blocking MMU notifiers around the COW: not under RCU (E). */
			why = EV_RCU_FB_NOTIFIER;
			goto out;
		}
	} else if ((s.orig & _PAGE_PRESENT) && (!write || (s.orig & _PAGE_RW))) {
		*ret = 0; /* another CPU fixed it meanwhile: spurious */
		why = RCU_TIER0_DONE;
		goto out;
	} else {
		/* A PTE the VMA's flags do not explain (mid-mprotect): let a locked tier see. */
		why = EV_RCU_FB_STALE;
		goto out;
	}

	bool hooked = false;
	if (done_ev != EV_FAULT_ZERO) {
		if (drop) {
			/* rcu-drop: allocate outside RCU, where it may sleep and reclaim. */
			rcu_read_unlock(t);
			if (scheme_walk_hook) {
				scheme_walk_hook(t, mm, addr, vma); /* the window is this gap */
				hooked = true;
			}
			p = alloc_zeroed_user_page(t, mm, false);
			rcu_read_lock(t);
			if (!p) {
				*ret = VM_FAULT_OOM;
				why = RCU_TIER0_DONE;
				goto out;
			}
			/* Nothing sampled is protected across the gap unless no writer ran:
			 * the mm sequence count says whether one finished, the VMA's stamp
			 * whether one is at work on it. */
			sim_sync(t);
			if (!rcu_seq_unchanged(t, mm, &s)) {
				why = EV_RCU_FB_REENTER;
				goto out;
			}
		} else {
			p = alloc_zeroed_user_page(t, mm, true); /* GFP_NOWAIT */
			if (!p) {
				why = EV_RCU_FB_NOWAIT;
				goto out;
			}
		}
	}

	if (scheme_walk_hook && !hooked)
		scheme_walk_hook(t, mm, addr, vma);

	/* Commit: pte_offset_map_lock, revalidate, map. */
	struct spinlock *ptl = pte_lockptr(mm, s.pt);
	spin_lock(t, ptl);
	/* Kept alive by RCU: a table freed without its grace period would show here. */
	sim_bug_on(!(s.pt->flags & PG_table) || s.pt->mm != mm);
	why = rcu_revalidate(t, mm, addr, &s);
	if (why == RCU_TIER0_DONE && mm->khugepaged && khugepaged_pmd_seq(mm)) {
		/* pmd-seq: a collapse at work on this table (the locked tiers wait). */
		hw_load(t, &s.pt->pmd_seq, sizeof(s.pt->pmd_seq));
		if (s.pt->pmd_seq & 1)
			why = EV_RCU_FB_STALE;
	}
	if (why != RCU_TIER0_DONE) {
		spin_unlock(t, ptl);
		goto out;
	}
	hw_load(t, pte, sizeof(*pte));
	*ret = 0;
	if (*pte != s.orig) {
		spin_unlock(t, ptl); /* another CPU mapped it first */
		count_event(&t->stats, EV_FAULT_RACE);
		goto out;
	}
	do_set_pte(t, vma, addr, s.pt, s.orig, p);
	spin_unlock(t, ptl);
	count_event(&t->stats, done_ev);
	p = NULL;
out:
	rcu_read_unlock(t);
	if (p)
		drop_unmapped_page(t, mm, p);
	return why;
}

static vm_fault_t rcu_fault_tiers(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
				  unsigned int flags, bool drop)
{
	sim_time_t t0 = t->now;
	vm_fault_t ret = 0;

	enum stat_event why = rcu_tier0(t, mm, addr, flags, drop, &ret);
	if (why == RCU_TIER0_DONE) {
		count_event(&t->stats, EV_RCU_TIER0);
		return ret;
	}
	count_event(&t->stats, why);
	t->stats.ev[EV_RCU_WASTED_NS] += (uint64_t)llround(ps_to_ns(t->now - t0));
	ret = pervma_refcount_try(t, mm, addr, flags);
	if (!(ret & VM_FAULT_RETRY)) {
		count_event(&t->stats, EV_RCU_TIER_PERVMA);
		return ret;
	}
	count_event(&t->stats, EV_MMAP_LOCK_FALLBACK);
	count_event(&t->stats, EV_RCU_TIER_CLASSIC);
	return classic_fault(t, mm, addr, flags);
}

static vm_fault_t rcu_fault(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			    unsigned int flags)
{
	return rcu_fault_tiers(t, mm, addr, flags, false);
}

static vm_fault_t rcu_drop_fault(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
				 unsigned int flags)
{
	return rcu_fault_tiers(t, mm, addr, flags, true);
}

/* Writers are classic's: the VMA code write-locks (stamps) every VMA it changes, which
 * is all Tier 0 needs of them, and the mmu_gather defers table frees by a grace period. */
const struct mm_scheme_ops rcu_scheme = {
	.name = "rcu",
	.description = "full-RCU faults: Tier 0 under RCU alone with GFP_NOWAIT, then per-VMA, "
		       "then mmap_lock",
	.vma_lock = VMA_LOCK_REFCNT,
	.lockless_fault = true,
	.fault = rcu_fault,
	.mmap = classic_mmap,
	.munmap = classic_munmap,
	.mprotect = classic_mprotect,
	.madvise_dontneed = classic_madvise_dontneed,
};

const struct mm_scheme_ops rcu_drop_scheme = {
	.name = "rcu-drop",
	.description = "full-RCU faults that leave RCU to allocate, then re-check the mm "
		       "sequence count",
	.vma_lock = VMA_LOCK_REFCNT,
	.lockless_fault = true,
	.fault = rcu_drop_fault,
	.mmap = classic_mmap,
	.munmap = classic_munmap,
	.mprotect = classic_mprotect,
	.madvise_dontneed = classic_madvise_dontneed,
};
