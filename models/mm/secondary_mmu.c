/*
 * A KVM-like secondary MMU: vCPUs whose guest memory is the mm's address space, mapped
 * into a shadow table (KVM's EPT/TDP MMU) one page at a time by walking the mm's page
 * tables, and kept coherent with the mm through MMU notifiers (mmu_notifier.h).
 *
 * Modelled after virt/kvm/kvm_main.c (Linux 6.x): kvm_mmu_notifier_invalidate_range_start
 * / _end, mmu_invalidate_seq and mmu_invalidate_in_progress, mmu_invalidate_retry_gfn;
 * and arch/x86/kvm/mmu/mmu.c's fault: snapshot mmu_invalidate_seq, hva_to_pfn (gup-fast:
 * an IRQ-disabled lockless walk of the primary tables; else get_user_pages, which faults
 * the page in under the mm's locking scheme), take mmu_lock, and install the shadow entry
 * only if no invalidation covering the address is in progress and the sequence has not
 * moved since the snapshot; otherwise retry.  That check is what keeps a pfn read before
 * an invalidation from being installed after it.
 *
 * Simplifications: one level of shadow table per 2 MiB of guest memory (a 4 KiB page of
 * 512 entries, zeroed on allocation); the guest's choice of page (memslot lookup) reads
 * the mm's VMA tree uncharged, since KVM's memslots are its own per-VM copy of the layout;
 * the page reference gup takes is charged (an atomic on struct page) but not kept.
 * mmu_lock is a spinlock when the callbacks do not sleep and a mutex when they do
 * (scenario secondary_mmu.sleeps); each invalidate_range_start costs callback_ns
 * (memslot walk, zap, remote TLB flush), busy or asleep accordingly.
 */
#include "mm.h"
#include "mmu_notifier.h"
#include "hw/hw.h"
#include "sync/mutex.h"
#include "sync/rcu.h"
#include "sync/sched.h"
#include "schemes/scheme.h"
#include "die.h"

#define SPTE_PRESENT 0x1ULL
#define SPTE_WRITABLE 0x2ULL
#define SPT_ENTRIES 512

struct secondary_mmu {
	struct mmu_notifier mn;      /* first: container_of by cast */
	struct mm_struct *mm;
	struct secondary_mmu_params p;
	bool registered;
	/* kvm->mmu_lock */
	struct spinlock mmu_lock_spin;
	struct mutex mmu_lock_mutex;
	/* One line, written under mmu_lock by the callbacks, read by vCPU faults (the
	 * sequence also before taking mmu_lock). */
	unsigned long mmu_invalidate_seq __attribute__((aligned(64)));
	long mmu_invalidate_in_progress;
	unsigned long mmu_invalidate_range_start, mmu_invalidate_range_end;
	/* The shadow tables: hva >> PMD_SHIFT -> uint64_t[512] (pfn << 12 | flags). */
	GHashTable *spt;
};

static void mmu_lock(struct sim_task *t, struct secondary_mmu *s)
{
	if (s->p.sleeps)
		mutex_lock(t, &s->mmu_lock_mutex);
	else
		spin_lock(t, &s->mmu_lock_spin);
}

static void mmu_unlock(struct sim_task *t, struct secondary_mmu *s)
{
	if (s->p.sleeps)
		mutex_unlock(t, &s->mmu_lock_mutex);
	else
		spin_unlock(t, &s->mmu_lock_spin);
}

static uint64_t *spt_find(struct secondary_mmu *s, unsigned long hva)
{
	uint64_t *spt = g_hash_table_lookup(s->spt, GSIZE_TO_POINTER(hva >> PMD_SHIFT));
	return spt ? &spt[pt_index(hva, PT_PTE)] : NULL;
}

/* The primary PTE of hva, uncharged (the checker). */
static pteval_t primary_pte(const struct mm_struct *mm, unsigned long hva)
{
	pteval_t *table = mm->pgd->table;
	for (int level = PT_PGD; level > PT_PTE; level--) {
		pteval_t e = table[pt_index(hva, level)];
		if (!e)
			return 0;
		if (level == PT_PMD && pmd_trans_huge(e)) /* a THP: the subpage's translation */
			return ((pte_pfn(e) + pt_index(hva, PT_PTE)) << PAGE_SHIFT) |
			       (e & ~(PTE_PFN_MASK | _PAGE_PSE));
		table = pt_entries(mm, e);
	}
	return table[pt_index(hva, PT_PTE)];
}

/*
 * The checker: a shadow entry must translate to the page the mm maps at hva now, with no
 * more permission than the mm's PTE gives.  Called where no invalidation may cover hva:
 * at install, at each guest access, and after invalidate_range_end.
 */
static void smmu_verify(struct sim_task *t, struct secondary_mmu *s, unsigned long hva,
			uint64_t spte, const char *path)
{
	struct mm_struct *mm = s->mm;
	uint64_t pfn = spte >> PAGE_SHIFT;
	pteval_t pte = primary_pte(mm, hva);
	const struct page *p = pfn_to_page(mm->zone, pfn);
	const char *why = NULL;
	if (p->flags & PG_free)
		why = "a free page";
	else if (!(pte & _PAGE_PRESENT))
		why = "a page the mm no longer maps there";
	else if (pte_pfn(pte) != pfn)
		why = "a page the mm has since replaced there";
	else if ((spte & SPTE_WRITABLE) && !(pte & _PAGE_RW))
		why = "a page the mm now maps read-only";
	if (why)
		mm_violation(t, mm, hva, "secondary-mmu-maps-live-page", path,
			     "the secondary MMU translates 0x%lx to pfn %llu, %s (primary PTE "
			     "0x%llx): a stale translation survived an invalidation", hva,
			     (unsigned long long)pfn, why, (unsigned long long)pte);
}

/* ---- the notifier callbacks (kvm_mmu_notifier_*) ---- */

/* kvm_unmap_gfn_range: clear every shadow entry in [start, end); returns how many. */
static unsigned long smmu_zap_range(struct sim_task *t, struct secondary_mmu *s,
				    unsigned long start, unsigned long end)
{
	unsigned long zapped = 0;
	for (unsigned long k = start >> PMD_SHIFT; k <= (end - 1) >> PMD_SHIFT; k++) {
		uint64_t *spt = g_hash_table_lookup(s->spt, GSIZE_TO_POINTER(k));
		if (!spt)
			continue;
		unsigned long lo = k << PMD_SHIFT, hi = lo + PMD_SIZE;
		lo = lo < start ? start : lo;
		hi = hi > end ? end : hi;
		for (unsigned long a = lo; a < hi; a += PAGE_SIZE) {
			uint64_t *e = &spt[pt_index(a, PT_PTE)];
			if (!*e)
				continue;
			hw_store(t, e, sizeof(*e));
			*e = 0;
			zapped++;
		}
	}
	t->stats.ev[EV_SMMU_SPTE_ZAP] += zapped;
	return zapped;
}

static int smmu_invalidate_range_start(struct sim_task *t, struct mmu_notifier *sub,
				       const struct mmu_notifier_range *range)
{
	struct secondary_mmu *s = (struct secondary_mmu *)sub;

	count_event(&t->stats, EV_SMMU_INVALIDATE);
	mmu_lock(t, s);
	/* kvm_mmu_invalidate_begin: from here no vCPU installs an entry in the range. */
	hw_store(t, &s->mmu_invalidate_in_progress, sizeof(long));
	if (!s->mmu_invalidate_in_progress++) {
		s->mmu_invalidate_range_start = range->start;
		s->mmu_invalidate_range_end = range->end;
	} else {
		if (range->start < s->mmu_invalidate_range_start)
			s->mmu_invalidate_range_start = range->start;
		if (range->end > s->mmu_invalidate_range_end)
			s->mmu_invalidate_range_end = range->end;
	}
	smmu_zap_range(t, s, range->start, range->end);
	/* The callback's own work (memslot walk, remote TLB flush of the vCPUs): busy with
	 * the spinlock held, or asleep under the mutex. */
	if (s->p.sleeps) {
		/* Off the CPU: mmu_lock's optimistic spinners stop spinning on us. */
		sched_sleep(t, ns_to_ps(s->p.callback_ns));
	} else {
		cpu_work(t, s->p.callback_ns);
	}
	mmu_unlock(t, s);
	return 0;
}

static void smmu_invalidate_range_end(struct sim_task *t, struct mmu_notifier *sub,
				      const struct mmu_notifier_range *range)
{
	struct secondary_mmu *s = (struct secondary_mmu *)sub;
	(void)range;

	mmu_lock(t, s);
	/* kvm_mmu_invalidate_end: the sequence moves first (smp_wmb), then the count. */
	hw_store(t, &s->mmu_invalidate_seq, sizeof(long));
	s->mmu_invalidate_seq++;
	sim_bug_on(s->mmu_invalidate_in_progress <= 0);
	s->mmu_invalidate_in_progress--;
	mmu_unlock(t, s);
}

static void smmu_check(struct sim_task *t, struct mmu_notifier *sub,
		       const struct mmu_notifier_range *range)
{
	struct secondary_mmu *s = (struct secondary_mmu *)sub;
	for (unsigned long k = range->start >> PMD_SHIFT; k <= (range->end - 1) >> PMD_SHIFT; k++) {
		uint64_t *spt = g_hash_table_lookup(s->spt, GSIZE_TO_POINTER(k));
		for (unsigned i = 0; spt && i < SPT_ENTRIES; i++) {
			unsigned long a = (k << PMD_SHIFT) + ((unsigned long)i << PAGE_SHIFT);
			if (spt[i] && a >= range->start && a < range->end)
				smmu_verify(t, s, a, spt[i], range->path);
		}
	}
}

static const struct mmu_notifier_ops smmu_ops = {
	.name = "kvm-like",
	.invalidate_range_start = smmu_invalidate_range_start,
	.invalidate_range_end = smmu_invalidate_range_end,
	.check = smmu_check,
};

/* ---- the vCPU side ---- */

/* mmu_invalidate_retry_gfn: may a pfn read after snapshot `seq` be installed at hva? */
static bool smmu_retry(struct sim_task *t, struct secondary_mmu *s, unsigned long seq,
		       unsigned long hva)
{
	hw_load(t, &s->mmu_invalidate_seq, sizeof(long));
	if (s->mmu_invalidate_in_progress && hva >= s->mmu_invalidate_range_start &&
	    hva < s->mmu_invalidate_range_end)
		return true;
	return s->mmu_invalidate_seq != seq;
}

static uint64_t *spt_alloc(struct sim_task *t, struct secondary_mmu *s, unsigned long hva)
{
	uint64_t *spte = spt_find(s, hva);
	if (spte)
		return spte;
	/* A shadow table page from the vCPU's memory cache, zeroed. */
	uint64_t *spt = g_aligned_alloc0(SPT_ENTRIES, sizeof(uint64_t), PAGE_SIZE);
	cpu_work(t, t->machine->path.page_alloc);
	hw_bulk_zero(t, (uint64_t)(uintptr_t)spt, PAGE_SIZE);
	g_hash_table_insert(s->spt, GSIZE_TO_POINTER(hva >> PMD_SHIFT), spt);
	return &spt[pt_index(hva, PT_PTE)];
}

/* The vCPU's EPT violation on hva: map it in the shadow table. */
static void smmu_fault(struct sim_task *t, struct secondary_mmu *s, unsigned long hva)
{
	struct mm_struct *mm = s->mm;

	count_event(&t->stats, EV_SMMU_FAULT);
	for (;;) {
		sim_sync(t);
		hw_load(t, &s->mmu_invalidate_seq, sizeof(long));
		unsigned long seq = s->mmu_invalidate_seq; /* then smp_rmb() */
		/* hva_to_pfn: gup-fast walks the primary tables with IRQs off. */
		pteval_t *pte = pt_lookup_pte(t, mm, hva, NULL);
		if (!pte || !(*pte & _PAGE_PRESENT)) {
			/* get_user_pages: fault it in under the mm's scheme (a read fault:
			 * the guest loads). */
			count_event(&t->stats, EV_SMMU_GUP_SLOW);
			vm_fault_t r = mm->scheme->fault(t, mm, hva, 0);
			mmu_notifier_assert_balanced(t, mm, "get_user_pages (fault)");
			rcu_user_return(t);
			if (r & VM_FAULT_ERROR)
				return; /* unmapped meanwhile: KVM reports -EFAULT to the VMM */
			continue;
		}
		/* A huge PMD leaf (THP): the subpage of hva; the reference is the folio's. */
		bool huge = pmd_trans_huge(*pte);
		uint64_t pfn = pte_pfn(*pte) + (huge ? pt_index(hva, PT_PTE) : 0);
		bool writable = *pte & _PAGE_RW;
		struct page *page = pfn_to_page(mm->zone, huge ? pte_pfn(*pte) : pfn);
		hw_rmw(t, &page->refcount, sizeof(page->refcount)); /* get_page */
		mmu_lock(t, s);
		/* inject = "secondary-mmu-no-retry" leaves the check out: a pfn read before an
		 * invalidation can then be installed after it. */
		if (mm->inject != INJECT_SMMU_NO_RETRY && smmu_retry(t, s, seq, hva)) {
			mmu_unlock(t, s);
			hw_rmw(t, &page->refcount, sizeof(page->refcount)); /* put_page */
			count_event(&t->stats, EV_SMMU_FAULT_RETRY);
			/* RET_PF_RETRY: back into the guest, which faults again; the exit and
			 * re-entry are charged as one exception entry and exit of the preset
			 * (no separate VM-exit figure is invented). */
			cpu_work(t, t->machine->path.exception);
			continue;
		}
		uint64_t *spte = spt_alloc(t, s, hva);
		hw_store(t, spte, sizeof(*spte));
		*spte = (pfn << PAGE_SHIFT) | SPTE_PRESENT | (writable ? SPTE_WRITABLE : 0);
		smmu_verify(t, s, hva, *spte, "kvm_mmu_page_fault (install)");
		mmu_unlock(t, s);
		hw_rmw(t, &page->refcount, sizeof(page->refcount)); /* put_page */
		return;
	}
}

/* One guest load of hva: through the shadow table, or an EPT violation first. */
static void smmu_guest_access(struct sim_task *t, struct secondary_mmu *s, unsigned long hva)
{
	uint64_t *spte = spt_find(s, hva);
	sim_sync(t); /* whether the entry is still there depends on other CPUs' zaps */
	if (spte) {
		hw_load(t, spte, sizeof(*spte));
		if (*spte & SPTE_PRESENT) {
			smmu_verify(t, s, hva, *spte, "guest access");
			hw_load_paddr(t, hw_page_paddr(*spte >> PAGE_SHIFT) + (hva & ~PAGE_MASK));
			count_event(&t->stats, EV_SMMU_ACCESS);
			return;
		}
	}
	smmu_fault(t, s, hva);
}

/*
 * The guest's next page: a random page of a random VMA (uncharged: KVM's memslots).  The
 * uncharged walk needs a tree no store is half way through: while a writer holds
 * mmap_lock (every store does) the guest picks nothing this time.
 */
static unsigned long smmu_pick(struct sim_task *t, struct secondary_mmu *s)
{
	if (s->mm->mmap_lock.count & RWSEM_WRITER_LOCKED)
		return 0;
	unsigned n = 0;
	for (struct vm_area_struct *v = find_vma(NULL, s->mm, 0); v; v = vma_next(NULL, s->mm, v))
		n++;
	if (!n)
		return 0;
	unsigned k = (unsigned)(rng_double(&t->rng) * n);
	struct vm_area_struct *v = find_vma(NULL, s->mm, 0);
	while (k--)
		v = vma_next(NULL, s->mm, v);
	unsigned long pages = (v->vm_end - v->vm_start) >> PAGE_SHIFT;
	return v->vm_start + ((unsigned long)(rng_double(&t->rng) * pages) << PAGE_SHIFT);
}

void secondary_mmu_vcpu_main(struct sim_task *t, void *arg)
{
	struct secondary_mmu *s = arg;
	/* Mean gap between guest accesses, uniform in [0, 2 / rate). */
	double gap_ns = 1e6 / s->p.rate_per_ms;

	if (!s->mn.mm) {
		/* The first vCPU to run creates the VM: kvm_init_mmu_notifier. */
		s->mn.mm = s->mm;
		mmu_notifier_register(t, &s->mn, s->mm);
		s->registered = true;
	}
	while (t->now < t->deadline) {
		rcu_idle_enter(t);
		cpu_idle(t, ns_to_ps(2 * gap_ns * rng_double(&t->rng)));
		rcu_idle_exit(t);
		/* The mm's layout, as of now in simulated time. */
		sim_sync(t);
		if (!s->registered)
			continue;
		unsigned long hva = smmu_pick(t, s);
		if (hva)
			smmu_guest_access(t, s, hva);
	}
}

struct secondary_mmu *secondary_mmu_create(struct mm_struct *mm,
					   const struct secondary_mmu_params *p)
{
	struct secondary_mmu *s = g_aligned_alloc0(1, sizeof(*s), 64);
	s->mn.ops = &smmu_ops;
	s->mm = mm;
	s->p = *p;
	spin_lock_init(&s->mmu_lock_spin, "&kvm->mmu_lock");
	mutex_init(&s->mmu_lock_mutex, "&kvm->mmu_lock (sleeping)");
	s->spt = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_aligned_free);
	return s;
}

void secondary_mmu_destroy(struct secondary_mmu *s)
{
	if (!s)
		return;
	g_hash_table_destroy(s->spt);
	g_aligned_free(s);
}
