/*
 * Whole-address-space consistency, checked after a run (always in tests, `check = true`
 * in scenarios): every present PTE lies inside a VMA and maps a live page that it alone
 * maps; counters match the tables; the allocator's pages in use are exactly the mapped
 * pages plus the page tables, so a munmapped page that was not freed, or a page freed
 * while mapped, is caught.
 */
#include "mm.h"
#include "die.h"

struct check_ctx {
	struct mm_struct *mm;
	struct mm_check_report *r;
	GHashTable *seen;   /* pfn -> 1 */
	long pte_tables;
};

static void fail(struct check_ctx *c, char *msg)
{
	if (!c->r->error)
		c->r->error = msg;
	else
		g_free(msg);
}

static bool in_vma(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *v = find_vma(NULL, mm, addr);
	return v && v->vm_start <= addr;
}

static void check_table(struct check_ctx *c, struct page *tp, int level, unsigned long base)
{
	struct mm_struct *mm = c->mm;
	unsigned long size = 1UL << (PAGE_SHIFT + 9 * level);

	c->r->table_pages++;
	if (!(tp->flags & PG_table) || (tp->flags & PG_free) || tp->mm != mm)
		fail(c, g_strdup_printf("page-table page pfn %llu is not a live table of this mm",
					(unsigned long long)tp->pfn));
	if (spin_is_busy(&tp->ptl))
		fail(c, g_strdup_printf("PTL of table pfn %llu still held at the end",
					(unsigned long long)tp->pfn));
	if (level == PT_PTE)
		c->pte_tables++;
	for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
		pteval_t e = tp->table[i];
		unsigned long va = base + i * size;
		if (!e)
			continue;
		if (level > PT_PTE) {
			check_table(c, pt_page(mm, e), level - 1, va);
			continue;
		}
		if (!(e & _PAGE_PRESENT))
			continue;
		if (!in_vma(mm, va))
			fail(c, g_strdup_printf("PTE for 0x%lx is present outside every VMA", va));
		if (e & _PAGE_SPECIAL) {
			c->r->zero_ptes++;
			if (pte_pfn(e) != mm->zone->zero_pfn)
				fail(c, g_strdup_printf("special PTE at 0x%lx is not the zero page", va));
			continue;
		}
		uint64_t pfn = pte_pfn(e);
		struct page *p = pfn_to_page(mm->zone, pfn);
		c->r->mapped_pages++;
		if (g_hash_table_contains(c->seen, GSIZE_TO_POINTER(pfn)))
			fail(c, g_strdup_printf("pfn %llu mapped twice (again at 0x%lx)",
						(unsigned long long)pfn, va));
		g_hash_table_add(c->seen, GSIZE_TO_POINTER(pfn));
		if ((p->flags & PG_free) || !(p->flags & PG_anon))
			fail(c, g_strdup_printf("PTE at 0x%lx maps pfn %llu which is %s", va,
						(unsigned long long)pfn,
						(p->flags & PG_free) ? "free" : "not anonymous"));
		if (p->mapcount != 1 || p->refcount != 1)
			fail(c, g_strdup_printf("pfn %llu at 0x%lx: mapcount %d refcount %d, want 1/1",
						(unsigned long long)pfn, va, p->mapcount,
						p->refcount));
		if (p->mm != mm || p->index != va >> PAGE_SHIFT)
			fail(c, g_strdup_printf("pfn %llu at 0x%lx: rmap says index 0x%lx",
						(unsigned long long)pfn, va,
						p->index << PAGE_SHIFT));
	}
}

void mm_check(struct mm_struct *mm, struct mm_check_report *r)
{
	struct check_ctx c = { .mm = mm, .r = r, .seen = g_hash_table_new(NULL, NULL) };

	*r = (struct mm_check_report){ 0 };
	check_table(&c, mm->pgd, PT_PGD, 0);
	g_hash_table_destroy(c.seen);
	if (rwsem_is_locked(&mm->mmap_lock) || rwsem_has_waiters(&mm->mmap_lock))
		fail(&c, g_strdup("mmap_lock still held at the end"));
	if ((uint64_t)mm->rss_anon != r->mapped_pages)
		fail(&c, g_strdup_printf("rss_anon %ld but %llu pages mapped", mm->rss_anon,
					 (unsigned long long)r->mapped_pages));
	if (mm->nr_ptes != c.pte_tables)
		fail(&c, g_strdup_printf("nr_ptes %ld but %ld PTE tables", mm->nr_ptes,
					 c.pte_tables));
	char *mt_err = mt_validate(&mm->mm_mt);
	if (mt_err) {
		fail(&c, g_strdup_printf("VMA tree: %s", mt_err));
		g_free(mt_err);
	}
	/* Each VMA is stored over exactly its own range, and map_count counts them. */
	int nr = 0;
	MA_STATE(mas, &mm->mm_mt, NULL, 0, 0);
	for (struct vm_area_struct *v = mas_find(&mas, ULONG_MAX); v;
	     v = mas_next(&mas, ULONG_MAX), nr++) {
		if (v->vm_start >= v->vm_end || mas.index != v->vm_start ||
		    mas.last != v->vm_end - 1)
			fail(&c, g_strdup_printf("VMA [0x%lx,0x%lx) is stored over [0x%lx,0x%lx]",
						 v->vm_start, v->vm_end, mas.index, mas.last));
	}
	/* Per-VMA locks: the last write section ended, so no VMA is write-locked, none is
	 * read-held, none in the tree is marked detached, and no writer waits. */
	if (mm->vma_lock_kind != VMA_LOCK_NONE) {
		MA_STATE(vmas, &mm->mm_mt, NULL, 0, 0);
		for (struct vm_area_struct *v = mas_find(&vmas, ULONG_MAX); v;
		     v = mas_next(&vmas, ULONG_MAX)) {
			bool bad = v->vm_lock_seq == mm->mm_lock_seq;
			if (mm->vma_lock_kind == VMA_LOCK_RWSEM)
				bad |= v->detached || rwsem_is_locked(&v->vm_lock->lock) ||
				       rwsem_has_waiters(&v->vm_lock->lock);
			else
				bad |= v->vm_refcnt.refs != 1;
			if (bad)
				fail(&c, g_strdup_printf("VMA [0x%lx,0x%lx) still locked or detached "
							 "at the end (seq %d/%d)", v->vm_start,
							 v->vm_end, v->vm_lock_seq,
							 mm->mm_lock_seq));
		}
		if (rcuwait_active(&mm->vma_writer_wait))
			fail(&c, g_strdup("a VMA writer still waits at the end"));
	}
	if (nr != mm->map_count)
		fail(&c, g_strdup_printf("map_count %d but %d VMAs in the tree", mm->map_count, nr));
	r->pages_in_use = zone_pages_in_use(mm->zone);
	if (r->pages_in_use != r->mapped_pages + r->table_pages)
		fail(&c, g_strdup_printf("allocator has %llu pages in use but %llu are mapped and "
					 "%llu are page tables (a page leaked or was freed twice)",
					 (unsigned long long)r->pages_in_use,
					 (unsigned long long)r->mapped_pages,
					 (unsigned long long)r->table_pages));
}
