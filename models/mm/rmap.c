/*
 * Anonymous reverse mapping (mm/rmap.c: folio_add_new_anon_rmap, folio_remove_rmap_pte,
 * folio_move_anon_rmap, folio_lock_anon_vma_read, rmap_walk_anon, folio_referenced,
 * try_to_unmap; mm/page_vma_mapped.c).  Spec: kernel-algorithms.md §I.4, A.7 step 9.
 *
 * A page finds its mappings through page->mapping (its anon_vma) and page->index (its
 * page offset): every VMA in the anon_vma's interval tree whose offset range covers the
 * index may map it, at vma_address; the walk looks the PTE up there under its PTE lock
 * (page_vma_mapped_walk).  Lock order (mm/rmap.c): mmap_lock -> anon_vma lock -> PTE lock.
 * mapcount counts PTEs mapping the page across every mm; refcount counts those plus
 * other holders (an LRU batch, a walker's pin).
 */
#include "mm/rmap.h"
#include "mm/fs.h"
#include "mm/lru.h"
#include "mm/mmu_notifier.h"
#include "hw/hw.h"
#include "die.h"
#include "sync/rcu.h"

void page_add_new_anon_rmap(struct sim_task *t, struct page *p, struct vm_area_struct *vma,
			    unsigned long addr)
{
	sim_bug_on(!vma->anon_vma);
	hw_store(t, p, 64);
	p->flags |= PG_anon;
	p->mapcount = 1;
	p->mapping = vma->anon_vma;
	p->index = linear_page_index(vma, addr);
}

void page_dup_anon_rmap(struct sim_task *t, struct page *p)
{
	hw_rmw(t, &p->mapcount, sizeof(p->mapcount));
	p->mapcount++;
	hw_rmw(t, &p->refcount, sizeof(p->refcount));
	p->refcount++;
}

void page_remove_rmap(struct sim_task *t, struct mm_struct *mm, struct page *p,
		      unsigned long addr, const char *path)
{
	hw_rmw(t, &p->mapcount, sizeof(p->mapcount));
	if (p->mapcount <= 0 || p->refcount <= 0 || (p->flags & PG_free))
		mm_violation(t, mm, addr, "mapcount-matches-page-tables", path,
			     "PTE maps pfn %llu: mapcount %d, refcount %d%s",
			     (unsigned long long)p->pfn, p->mapcount, p->refcount,
			     (p->flags & PG_free) ? " (free)" : "");
	p->mapcount--;
}

void folio_move_anon_rmap(struct sim_task *t, struct page *p, struct vm_area_struct *vma)
{
	hw_load(t, &p->mapping, sizeof(p->mapping));
	if (p->mapping == vma->anon_vma)
		return;
	hw_store(t, &p->mapping, sizeof(p->mapping)); /* WRITE_ONCE: rmap walkers read it */
	p->mapping = vma->anon_vma;
}

/*
 * folio_lock_anon_vma_read: the page's anon_vma, read-locked, or NULL (not mapped any
 * more, or contended with try_lock).  The anon_vma cannot be freed while the page is
 * mapped (a mapping VMA keeps its chain), which the RCU section makes safe to check.
 */
static struct anon_vma *folio_lock_anon_vma_read(struct sim_task *t, struct page *p,
						 bool try_lock, bool *contended)
{
	rcu_read_lock(t);
	sim_sync(t);
	hw_load(t, p, 64); /* mapping, mapcount */
	struct anon_vma *av = p->mapping;
	if (!av || p->mapcount <= 0) {
		rcu_read_unlock(t);
		return NULL;
	}
	hw_load(t, &av->root, sizeof(av->root));
	if (anon_vma_trylock_read(t, av)) {
		/* Still mapped (and through the same anon_vma) now that we hold it? */
		hw_load(t, p, 64);
		if (p->mapcount <= 0 || p->mapping != av) {
			anon_vma_unlock_read(t, av);
			av = NULL;
		}
		rcu_read_unlock(t);
		return av;
	}
	if (try_lock) {
		rcu_read_unlock(t);
		*contended = true;
		return NULL;
	}
	/* Pin it, leave RCU, sleep on the lock. */
	hw_rmw(t, &av->refcount, sizeof(av->refcount)); /* atomic_inc_not_zero */
	av->refcount++;
	rcu_read_unlock(t);
	anon_vma_lock_read(t, av);
	hw_load(t, p, 64);
	bool mapped = p->mapcount > 0 && p->mapping == av;
	hw_rmw(t, &av->refcount, sizeof(av->refcount));
	if (--av->refcount == 0) {
		/* Everything else let go meanwhile: we free it. */
		anon_vma_unlock_read(t, av);
		av->refcount = 1;
		put_anon_vma(t, av);
		return NULL;
	}
	if (!mapped) {
		anon_vma_unlock_read(t, av);
		return NULL;
	}
	return av;
}

bool rmap_walk_vma(struct vm_area_struct *vma, void *arg)
{
	struct rmap_walk_ctx *w = arg;
	struct sim_task *t = w->t;
	struct mm_struct *mm = vma->vm_mm;
	struct page *p = w->p, *pt = NULL;

	hw_load(t, vma, 64);
	unsigned long addr = vma_pgoff_address(vma, p->index);
	if (p->index < vma->vm_pgoff || addr >= vma->vm_end)
		return true; /* invalid_vma: the tree's interval is the VMA's, so only if stale */
	pteval_t *pte = pt_lookup_pte(t, mm, addr, &pt);
	if (!pte || !pte_present(*pte))
		return true;
	struct mmu_notifier_range range;
	if (w->notify) { /* try_to_unmap_one: before the PTE lock, as it may sleep */
		mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, mm, addr, addr + PAGE_SIZE,
					"try_to_unmap");
		mmu_notifier_invalidate_range_start(t, &range);
	}
	struct spinlock *ptl;
	if (pmd_trans_huge(*pte)) {
		/* A PMD-mapped THP (p is its head): the PMD leaf, under the PMD lock. */
		struct page *pmd_table = NULL;
		pt_find_pmd(t, mm, addr, &pmd_table);
		ptl = pmd_lockptr(mm, pmd_table);
	} else {
		ptl = pte_lockptr(mm, pt);
	}
	spin_lock(t, ptl);
	hw_load(t, pte, sizeof(*pte));
	if (pte_present(*pte) && !(*pte & _PAGE_SPECIAL) && pte_pfn(*pte) == p->pfn) {
		w->visited++;
		if (!w->fn(t, p, vma, addr, pte, w->arg))
			w->stop = true;
	}
	spin_unlock(t, ptl);
	if (w->notify)
		mmu_notifier_invalidate_range_end(t, &range);
	/* Stop once the page is no longer mapped anywhere (rwc->done: folio_not_mapped). */
	return !w->stop && p->mapcount > 0;
}

static bool rmap_walk_avc(struct anon_vma_chain *avc, void *arg)
{
	return rmap_walk_vma(avc->vma, arg);
}

int rmap_walk_anon(struct sim_task *t, struct page *p, unsigned flags, rmap_one_fn fn, void *arg)
{
	bool contended = false;
	struct anon_vma *av = folio_lock_anon_vma_read(t, p, flags & RMAP_WALK_TRYLOCK,
						       &contended);
	if (!av) {
		if (!contended)
			return -1;
		count_event(&t->stats, EV_RMAP_CONTENDED);
		return RMAP_WALK_CONTENDED;
	}
	struct rmap_walk_ctx w = { .t = t, .p = p, .fn = fn, .arg = arg,
				   .notify = flags & RMAP_WALK_NOTIFY };
	avc_tree_foreach(t, av, p->index, p->index, rmap_walk_avc, &w);
	anon_vma_unlock_read(t, av);
	return w.visited;
}

int rmap_walk(struct sim_task *t, struct page *p, unsigned flags, rmap_one_fn fn, void *arg)
{
	hw_load(t, &p->flags, sizeof(p->flags));
	if (p->flags & PG_anon)
		return rmap_walk_anon(t, p, flags, fn, arg);
	if (p->flags & PG_file)
		return rmap_walk_file(t, p, flags, fn, arg);
	return -1;
}

/* folio_referenced_one: test and clear the accessed bit (ptep_clear_flush_young; x86
 * skips the flush: a stale TLB entry only delays the next setting of the bit). */
static bool referenced_one(struct sim_task *t, struct page *p, struct vm_area_struct *vma,
			   unsigned long addr, pteval_t *pte, void *arg)
{
	int *referenced = arg;
	(void)p;
	(void)vma;
	(void)addr;
	if (*pte & _PAGE_ACCESSED) {
		hw_rmw(t, pte, sizeof(*pte)); /* test_and_clear_bit */
		*pte &= ~_PAGE_ACCESSED;
		(*referenced)++;
	}
	return true;
}

int folio_referenced(struct sim_task *t, struct page *p, bool try_lock)
{
	int referenced = 0;
	int r = rmap_walk(t, p, try_lock ? RMAP_WALK_TRYLOCK : 0, referenced_one, &referenced);
	if (r == RMAP_WALK_CONTENDED)
		return -1; /* rwc.contended */
	return r < 0 ? 0 : referenced;
}

/* try_to_unmap_one: ptep_clear_flush, rmap and rss, the mapping's reference. */
static bool unmap_one(struct sim_task *t, struct page *p, struct vm_area_struct *vma,
		      unsigned long addr, pteval_t *pte, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;
	(void)arg;
	cpu_work(t, t->machine->path.pte_op);
	hw_rmw(t, pte, sizeof(*pte));
	pteval_t old = *pte;
	*pte = 0;
	flush_tlb_mm_range(t, mm, addr, addr + PAGE_SIZE, false);
	if (mm->checker)
		mm_check_event(t, mm, addr, MEV_ZAP, p->pfn);
	page_remove_rmap(t, mm, p, addr, "try_to_unmap_one");
	if (p->flags & PG_file)
		zap_file_pte(t, mm, p, old); /* rss_file; the PTE's dirty bit to the folio */
	else
		mm->rss_anon--;
	hw_rmw(t, &p->refcount, sizeof(p->refcount));
	sim_bug_on(p->refcount <= 1); /* the caller's own reference remains */
	p->refcount--;
	return true;
}

bool try_to_unmap(struct sim_task *t, struct page *p)
{
	/* A PMD-mapped THP would be split first (TTU_SPLIT_HUGE_PMD): no caller passes one. */
	sim_bug_on(p->flags & PG_head);
	rmap_walk(t, p, RMAP_WALK_NOTIFY, unmap_one, NULL);
	return p->mapcount == 0;
}
