/*
 * Page migration (mm/migrate.c: migrate_pages, migrate_folio_unmap, move_to_new_folio,
 * remove_migration_ptes, migration_entry_wait; mm/rmap.c try_to_migrate_one; mm/memory.c
 * copy_nonpresent_pte and zap_nonpresent_ptes; mm/mprotect.c change_pte_range).
 * Spec: kernel-algorithms.md I.4 (try_to_migrate, remove_migration_ptes are rmap walks).
 *
 * For one isolated folio (the rmap walker's migrate pass, models/mm/vmscan.c):
 *   1. lock it: a page cache folio's own lock (folio_trylock); an anonymous folio's lock
 *      here (only migration takes it in the model);
 *   2. anonymous: pin its anon_vma (folio_get_anon_vma) so the walks outlive the VMAs;
 *   3. try_to_migrate: walk the rmap (anon_vma or i_mmap lock for read; every mapping
 *      under its PTE lock, bracketed by MMU notifiers) and replace each PTE by a migration
 *      entry with the PTE's write permission, flush it, drop the mapping's rmap and
 *      reference (the entry holds none; the rss counter stays with the entry);
 *   4. allocate the new frame (charged to the memcg for an anonymous page), copy;
 *   5. freeze the old folio's references (only ours, plus the page cache's for a file
 *      folio; a fault that took one makes the migration fail) and, for a file folio,
 *      put the new one in the page cache slot under xa_lock;
 *   6. remove_migration_ptes: walk the rmap again and replace each migration entry for
 *      the old frame by a PTE of the new one (its rmap and reference added);
 *   7. unlock and free the old frame.
 * On failure at 4 or 5 the entries are restored to the old frame instead.
 *
 * A fault that meets a migration entry waits on the folio lock (migration_entry_wait:
 * no reference, as since 5.18's rework) and retries.  The rmap walk order makes fork safe:
 * a child's VMA sorts after its parent's in the anon_vma and i_mmap trees (creation
 * order for equal offsets), so a walk that restored the parent's entry after fork copied
 * it still meets the child's copy.
 */
#include "mm/migrate.h"
#include "mm/rmap.h"
#include "mm/lru.h"
#include "mm/mmu_notifier.h"
#include "hw/hw.h"
#include "die.h"
#include "sync/rcu.h"
#include "sync/mutex.h"

/* Per frame ever migrated: the anonymous folio lock and whether a migration of that
 * frame is in flight (set and cleared with the folio lock held).  Host memory only; kept
 * for the rest of the run, since a waiter may still hold the mutex's address. */
struct migration_state {
	struct mutex lock;
	bool migrating;
};
static GHashTable *mig_states; /* pfn -> struct migration_state * */

static struct migration_state *migration_state_of(uint64_t pfn)
{
	if (!mig_states)
		mig_states = g_hash_table_new(NULL, NULL);
	struct migration_state *s = g_hash_table_lookup(mig_states, GSIZE_TO_POINTER(pfn));
	if (!s) {
		s = g_aligned_alloc0(1, sizeof(*s), 64);
		mutex_init(&s->lock, "folio_lock");
		g_hash_table_insert(mig_states, GSIZE_TO_POINTER(pfn), s);
	}
	return s;
}

struct mutex *folio_lock_anon(uint64_t pfn)
{
	return &migration_state_of(pfn)->lock;
}

void migrate_reset(void)
{
	if (!mig_states)
		return;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, mig_states);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_aligned_free(v);
	g_hash_table_destroy(mig_states);
	mig_states = NULL;
}

/* ---- the two rmap walks ---- */

struct mig_walk {
	struct sim_task *t;
	struct page *old;
	struct page *new;   /* NULL: try_to_migrate; else remove_migration_ptes onto it */
	struct mm_struct *check_mm;
	int restored;       /* entries met by remove_migration_ptes (inject) */
};

/* try_to_migrate_one / remove_migration_pte for the page's address in vma. */
static void migrate_vma(struct mig_walk *w, struct vm_area_struct *vma)
{
	struct sim_task *t = w->t;
	struct mm_struct *mm = vma->vm_mm;
	struct page *old = w->old, *pt = NULL;

	hw_load(t, vma, 64);
	unsigned long addr = vma_pgoff_address(vma, old->index);
	if (old->index < vma->vm_pgoff || addr >= vma->vm_end)
		return;
	pteval_t *pte = pt_lookup_pte(t, mm, addr, &pt);
	if (!pte)
		return;
	hw_load(t, pte, sizeof(*pte));
	bool install = !w->new;
	struct mmu_notifier_range range;
	if (install) {
		/* page_vma_mapped_walk found nothing: no notifier call. */
		if (!pte_present(*pte) || (*pte & _PAGE_SPECIAL) || pte_pfn(*pte) != old->pfn)
			return;
		mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, mm, addr, addr + PAGE_SIZE,
					"try_to_migrate");
		mmu_notifier_invalidate_range_start(t, &range);
	}
	struct spinlock *ptl = pte_lockptr(mm, pt);
	spin_lock(t, ptl);
	hw_load(t, pte, sizeof(*pte));
	pteval_t e = *pte;
	if (install && pte_present(e) && !(e & _PAGE_SPECIAL) && pte_pfn(e) == old->pfn) {
		/* ptep_clear_flush, then the entry; the PTE's dirty bit goes to the folio. */
		cpu_work(t, t->machine->path.pte_op);
		hw_rmw(t, pte, sizeof(*pte));
		*pte = make_migration_entry(old->pfn, e & _PAGE_RW);
		flush_tlb_mm_range(t, mm, addr, addr + PAGE_SIZE, false);
		if (mm->checker)
			mm_check_event(t, mm, addr, MEV_MIGRATE_ENTRY, old->pfn);
		if ((e & _PAGE_DIRTY) && (old->flags & PG_file) && !(old->flags & PG_dirty)) {
			hw_rmw(t, &old->flags, sizeof(old->flags));
			old->flags |= PG_dirty;
		}
		page_remove_rmap(t, mm, old, addr, "try_to_migrate_one");
		hw_rmw(t, &old->refcount, sizeof(old->refcount));
		sim_bug_on(old->refcount <= 1); /* the migration's own reference remains */
		old->refcount--;
	} else if (!install && is_migration_entry(e) && migration_entry_to_pfn(e) == old->pfn &&
		   !(mm->inject == INJECT_MIGRATION_SKIP_CHILD && w->restored++)) {
		/* remove_migration_pte: the VMA's protection, writable only if the entry was
		 * (a page shared since fork or made read-only by mprotect stays so). */
		struct page *np = w->new;
		pteval_t prot = vma->vm_page_prot & ~(_PAGE_RW | _PAGE_DIRTY);
		if (e & _PAGE_MIGRATION_WRITE)
			prot |= _PAGE_RW | _PAGE_DIRTY;
		cpu_work(t, t->machine->path.pte_op);
		hw_rmw(t, &np->mapcount, sizeof(np->mapcount)); /* folio_add_{anon,file}_rmap_pte */
		np->mapcount++;
		hw_rmw(t, &np->refcount, sizeof(np->refcount));
		np->refcount++;
		hw_store(t, pte, sizeof(*pte));
		*pte = (np->pfn << PAGE_SHIFT) | prot;
		if (mm->checker)
			mm_check_event(t, mm, addr, MEV_MIGRATE_RESTORE, np->pfn);
	}
	spin_unlock(t, ptl);
	if (install)
		mmu_notifier_invalidate_range_end(t, &range);
}

static bool migrate_anon_vma_one(struct anon_vma_chain *avc, void *arg)
{
	migrate_vma(arg, avc->vma);
	return true;
}

static bool migrate_file_vma_one(struct vm_area_struct *vma, void *arg)
{
	migrate_vma(arg, vma);
	return true;
}

/* rmap_walk_locked-like: the anon_vma (pinned by us) or i_mmap, read-locked for the walk;
 * no mapcount test, since after try_to_migrate nothing maps the folio. */
static void migrate_walk(struct mig_walk *w, struct anon_vma *av)
{
	struct sim_task *t = w->t;
	struct page *old = w->old;

	if (old->flags & PG_file) {
		struct address_space *m = old->f_mapping;
		i_mmap_lock_read(t, m);
		vma_interval_tree_foreach(t, &m->i_mmap, old->index, old->index,
					  migrate_file_vma_one, w);
		i_mmap_unlock_read(t, m);
	} else {
		anon_vma_lock_read(t, av);
		avc_tree_foreach(t, av, old->index, old->index, migrate_anon_vma_one, w);
		anon_vma_unlock_read(t, av);
	}
}

/* folio_get_anon_vma: the mapped anonymous folio's anon_vma with a reference, or NULL. */
static struct anon_vma *folio_get_anon_vma(struct sim_task *t, struct page *p)
{
	struct anon_vma *av = NULL;
	rcu_read_lock(t);
	hw_load(t, p, 64);
	if (p->mapping && p->mapcount > 0) {
		av = p->mapping;
		hw_rmw(t, &av->refcount, sizeof(av->refcount)); /* atomic_inc_not_zero */
		if (av->refcount > 0)
			av->refcount++;
		else
			av = NULL;
	}
	rcu_read_unlock(t);
	return av;
}

struct page *migrate_folio(struct sim_task *t, struct zone *z, struct mm_struct *check_mm,
			   struct page *p)
{
	hw_load(t, p, 64);
	bool file = p->flags & PG_file;
	if (!(p->flags & (PG_file | PG_anon)))
		return NULL;
	/* A THP: the kernel splits it or moves it whole with PMD migration entries; neither
	 * is modelled, so it stays where it is (counted as a failure by the caller). */
	if (p->flags & PG_head)
		return NULL;
	struct migration_state *ms = migration_state_of(p->pfn);
	if (file ? !filemap_folio_trylock(t, p) : !mutex_trylock(t, &ms->lock)) {
		count_event(&t->stats, EV_RMAP_FOLIO_LOCKED);
		return NULL;
	}
	struct anon_vma *av = NULL;
	if (!file && !(av = folio_get_anon_vma(t, p))) {
		/* Not mapped: nothing to move it under (it is about to be freed). */
		mutex_unlock(t, &ms->lock);
		return NULL;
	}
	ms->migrating = true;
	struct mig_walk w = { .t = t, .old = p, .check_mm = check_mm };
	migrate_walk(&w, av); /* try_to_migrate */

	/* The new frame and the copy (folio_mc_copy), then the switch. */
	struct page *np = NULL;
	hw_load(t, &p->mapcount, sizeof(p->mapcount));
	if (p->mapcount == 0)
		np = alloc_page(t, z);
	bool moved = false;
	if (np) {
		count_event(&t->stats, EV_PGALLOC);
		np->content_gen++;
		hw_bulk_copy(t, hw_page_paddr(np->pfn), hw_page_paddr(p->pfn), PAGE_SIZE);
		if (check_mm && check_mm->checker)
			mm_check_copy_page(check_mm, p->pfn, np->pfn);
		if (file) {
			moved = filemap_migrate_mapping(t, p, np);
		} else {
			hw_rmw(t, &p->refcount, sizeof(p->refcount)); /* folio_ref_freeze(src, 1) */
			if (p->refcount == 1 && p->mapcount == 0) {
				p->refcount = 0;
				mem_cgroup_charge(t, z, np);
				hw_store(t, np, 64);
				np->flags = PG_anon;
				np->mapping = p->mapping;
				np->index = p->index;
				np->refcount = 1;
				moved = true;
			}
		}
		if (!moved) {
			np->refcount = 0;
			count_event(&t->stats, EV_PGFREE);
			free_page(t, z, np);
			np = NULL;
		}
	}
	/* remove_migration_ptes: onto the new frame, or back onto the old one. */
	w.new = moved ? np : p;
	migrate_walk(&w, av);
	ms->migrating = false;
	if (file)
		filemap_folio_unlock(t, p);
	else
		mutex_unlock(t, &ms->lock);
	if (av)
		put_anon_vma(t, av);
	if (!moved) {
		count_event(&t->stats, EV_MIGRATE_FAIL);
		return NULL;
	}
	count_event(&t->stats, EV_MIGRATED);
	folios_free(t, z, &p, 1); /* frozen at 0, off the LRU; the memcg uncharge */
	return np;
}

/* ---- the hooks ---- */

vm_fault_t migration_entry_wait(struct sim_task *t, struct mm_struct *mm, struct page *pt,
				unsigned long addr)
{
	struct spinlock *ptl = pte_lockptr(mm, pt);
	pteval_t *pte = &pt->table[pt_index(addr, PT_PTE)];

	spin_lock(t, ptl);
	hw_load(t, pte, sizeof(*pte));
	pteval_t e = *pte;
	if (!is_migration_entry(e)) {
		spin_unlock(t, ptl);
		return VM_FAULT_NOPAGE;
	}
	uint64_t pfn = migration_entry_to_pfn(e);
	struct page *p = pfn_to_page(mm->zone, pfn);
	struct migration_state *ms = migration_state_of(pfn);
	if (!ms->migrating)
		mm_violation(t, mm, addr, "migration-entry-of-migrating-folio", "migration_entry_wait",
			     "migration entry 0x%llx for pfn %llu, which is not being migrated",
			     (unsigned long long)e, (unsigned long long)pfn);
	hw_load(t, p, 64);
	/* The entry is there, so the folio is still locked and not freed: its mapping is
	 * stable until we drop the PTL. */
	struct address_space *m = (p->flags & PG_file) ? p->f_mapping : NULL;
	spin_unlock(t, ptl);
	sim_time_t t0 = t->now;
	if (m) {
		filemap_folio_wait(t, m, pfn);
	} else {
		mutex_lock(t, &ms->lock);
		mutex_unlock(t, &ms->lock);
	}
	count_event(&t->stats, EV_MIGRATE_WAIT);
	t->stats.ev[EV_MIGRATE_WAIT_NS] += (uint64_t)ps_to_ns(t->now - t0);
	return VM_FAULT_NOPAGE;
}

/* rss counter of the folio a migration entry names (mm_counter). */
static long *entry_rss(struct sim_task *t, struct mm_struct *mm, pteval_t e)
{
	struct page *p = pfn_to_page(mm->zone, migration_entry_to_pfn(e));
	hw_load(t, &p->flags, sizeof(p->flags));
	return (p->flags & PG_file) ? &mm->rss_file : &mm->rss_anon;
}

void zap_migration_pte(struct sim_task *t, struct mm_struct *mm, pteval_t *pte,
		       unsigned long addr)
{
	pteval_t e = *pte;
	cpu_work(t, t->machine->path.pte_op);
	hw_rmw(t, pte, sizeof(*pte));
	*pte = 0;
	(*entry_rss(t, mm, e))--;
	if (mm->checker)
		mm_check_event(t, mm, addr, MEV_ZAP, migration_entry_to_pfn(e));
}

void change_migration_pte(struct sim_task *t, struct mm_struct *mm, pteval_t *pte)
{
	(void)mm;
	if (!(*pte & _PAGE_MIGRATION_WRITE))
		return;
	/* make_readable_migration_entry: the permission is rechecked by the next write. */
	hw_rmw(t, pte, sizeof(*pte));
	*pte &= ~_PAGE_MIGRATION_WRITE;
}

void copy_migration_pte(struct sim_task *t, struct vm_area_struct *src_vma,
			struct mm_struct *dst_mm, pteval_t *src, pteval_t *dst, unsigned long addr)
{
	pteval_t e = *src;
	(void)addr;
	cpu_work(t, t->machine->path.pte_op);
	if ((e & _PAGE_MIGRATION_WRITE) && !(src_vma->vm_flags & VM_SHARED)) {
		/* is_cow_mapping: both sides read-only, so a write after the migration
		 * copies (or reuses) the page as for any page shared since fork. */
		hw_rmw(t, src, sizeof(*src));
		e &= ~_PAGE_MIGRATION_WRITE;
		*src = e;
	}
	(*entry_rss(t, dst_mm, e))++;
	hw_store(t, dst, sizeof(*dst));
	*dst = e;
}

char *migration_entry_check(pteval_t e, unsigned long va)
{
	if (!is_migration_entry(e))
		return g_strdup_printf("PTE for 0x%lx is not present but not empty either: 0x%llx",
				       va, (unsigned long long)e);
	struct migration_state *ms =
		mig_states ? g_hash_table_lookup(mig_states,
						 GSIZE_TO_POINTER(migration_entry_to_pfn(e))) :
			     NULL;
	if (!ms || !ms->migrating)
		return g_strdup_printf("migration entry for pfn %llu at 0x%lx, which is not being "
				       "migrated (left behind by remove_migration_ptes)",
				       (unsigned long long)migration_entry_to_pfn(e), va);
	return NULL;
}
