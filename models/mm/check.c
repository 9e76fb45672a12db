/*
 * Whole-address-space consistency, checked after a run (always in tests, `check = true`
 * in scenarios), over one mm or a fork tree of them: every present PTE lies inside a VMA
 * and maps a live page whose rmap leads back to it; a page's mapcount is the number of
 * PTEs mapping it in all the mms, its refcount that plus the LRU batches holding it; a
 * writable PTE maps an unshared page; counters match the tables; the allocator's pages in
 * use are exactly the mapped pages, the pages only an LRU batch holds and the page tables,
 * so a munmapped page that was not freed, or a page freed while mapped, is caught; the
 * memcg's usage is the charged pages plus the per-CPU stocks.
 */
#include "mm.h"
#include "mm/anon_vma.h"
#include "mm/lru.h"
#include <stdarg.h>
#include "die.h"
#include "mm/migrate.h"
#include "mm/swap.h"

struct check_ctx {
	struct mm_struct *mm;
	struct mm_check_report *r;
	GHashTable *seen;   /* anonymous pfn -> PTEs mapping it, over every mm checked */
	GHashTable *file_maps; /* page cache pfn -> PTEs mapping it, over every mm checked */
	GHashTable *batched; /* pfn -> references held by LRU batches */
	GHashTable *swap_entries; /* slot -> swap entries naming it, over every mm checked */
	long pte_tables;
	uint64_t anon_ptes, file_ptes; /* PTEs of this mm (a huge PMD: 512) */
	uint64_t swap_ptes;            /* swap entries of this mm */
	long huge_pmds, deposits;      /* of this mm */
};

static void fail(struct check_ctx *c, char *msg)
{
	if (!c->r->error)
		c->r->error = msg;
	else
		g_free(msg);
}

static struct vm_area_struct *vma_at(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *v = find_vma(NULL, mm, addr);
	return v && v->vm_start <= addr ? v : NULL;
}

static bool avc_is(struct anon_vma_chain *avc, void *arg)
{
	struct anon_vma_chain **want = arg;
	if (avc == *want) {
		*want = NULL;
		return false;
	}
	return true;
}

/* The rmap finds this mapping: the page's anon_vma is one v is chained to, and v's
 * chain to it is in that anon_vma's interval tree over the page's index. */
static bool rmap_reaches_index(struct vm_area_struct *v, struct anon_vma *av,
			       unsigned long index)
{
	for (struct anon_vma_chain *avc = v->anon_vma_chain; avc; avc = avc->same_vma) {
		if (avc->anon_vma != av)
			continue;
		struct anon_vma_chain *want = avc;
		avc_tree_foreach(NULL, av, index, index, avc_is, &want);
		return want == NULL;
	}
	return false;
}

static bool rmap_reaches(struct vm_area_struct *v, struct page *p)
{
	return rmap_reaches_index(v, p->mapping, p->index);
}

/* The PTE tables deposited with a PMD table's huge entries: live, empty, counted. */
static void check_deposits(struct check_ctx *c, struct page *pmd_table)
{
	struct mm_struct *mm = c->mm;
	for (uint32_t pfn = pmd_table->pt_deposit; pfn;) {
		struct page *pt = pfn_to_page(mm->zone, pfn);
		c->r->table_pages++;
		c->pte_tables++;
		c->deposits++;
		if (!(pt->flags & PG_table) || (pt->flags & PG_free) || pt->mm != mm)
			fail(c, g_strdup_printf("deposited table pfn %u is not a live table", pfn));
		for (unsigned j = 0; j < PTRS_PER_TABLE && pt->table; j++)
			if (pt->table[j]) {
				fail(c, g_strdup_printf("deposited table pfn %u has entry %u set", pfn, j));
				break;
			}
		pfn = pt->pt_deposit;
	}
}

/* A huge PMD maps 512 consecutive frames of one live compound page, allowed by its VMAs. */
static void check_huge(struct check_ctx *c, pteval_t e, unsigned long va)
{
	struct mm_struct *mm = c->mm;
	uint64_t pfn = pte_pfn(e);
	struct page *head = pfn_to_page(mm->zone, pfn);

	c->huge_pmds++;
	if (pfn % HPAGE_PMD_NR || !(head->flags & PG_head) || (head->flags & PG_free) ||
	    !(head->flags & PG_anon) || !head->memcg)
		fail(c, g_strdup_printf("huge PMD at 0x%lx maps pfn %llu: flags 0x%lx%s, want a "
					"live, charged, anonymous compound head", va,
					(unsigned long long)pfn, head->flags,
					head->memcg ? "" : " (not charged)"));
	/* Its mapcount and refcount are checked over every mm (the PMD counts once). */
	gpointer n = g_hash_table_lookup(c->seen, GSIZE_TO_POINTER(pfn));
	g_hash_table_insert(c->seen, GSIZE_TO_POINTER(pfn), GSIZE_TO_POINTER(GPOINTER_TO_SIZE(n) + 1));
	if ((e & _PAGE_RW) && head->mapcount != 1)
		fail(c, g_strdup_printf("huge PMD at 0x%lx maps pfn %llu writable, but %d PMDs map "
					"it", va, (unsigned long long)pfn, head->mapcount));
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++) {
		unsigned long a = va + i * PAGE_SIZE;
		struct page *p = head + i;
		struct vm_area_struct *v = vma_at(mm, a);
		if (!v)
			fail(c, g_strdup_printf("huge PMD at 0x%lx maps 0x%lx outside every VMA", va, a));
		else if ((e & _PAGE_RW) && !(v->vm_flags & VM_WRITE))
			fail(c, g_strdup_printf("huge PMD at 0x%lx is writable in a VMA without "
						"VM_WRITE", va));
		if ((p->flags & PG_free) || !(p->flags & PG_anon) ||
		    (i && (!(p->flags & PG_tail) || p->mapcount || p->refcount ||
			   g_hash_table_contains(c->seen, GSIZE_TO_POINTER(p->pfn)))) ||
		    p->index != head->index + i) {
			fail(c, g_strdup_printf("huge PMD at 0x%lx: page %u (pfn %llu) is not a tail "
						"of it mapping 0x%lx", va, i,
						(unsigned long long)p->pfn, a));
			break;
		}
		/* Each subpage's rmap: the head's anon_vma, at the subpage's index. */
		if (v && (!head->mapping || !v->anon_vma ||
			  p->index != linear_page_index(v, a) ||
			  !rmap_reaches_index(v, head->mapping, p->index))) {
			fail(c, g_strdup_printf("huge PMD at 0x%lx: the rmap of page %u (index 0x%lx) "
						"does not lead back to 0x%lx%s", va, i, p->index, a,
						!head->mapping ? " (no anon_vma)" : ""));
			break;
		}
		c->r->mapped_pages++;
		c->anon_ptes++;
	}
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
	if (level == PT_PMD)
		check_deposits(c, tp);
	for (unsigned i = 0; i < PTRS_PER_TABLE; i++) {
		pteval_t e = tp->table[i];
		unsigned long va = base + i * size;
		if (!e)
			continue;
		if (level == PT_PMD && pmd_trans_huge(e)) {
			check_huge(c, e, va);
			continue;
		}
		if (level > PT_PTE) {
			check_table(c, pt_page(mm, e), level - 1, va);
			continue;
		}
		if (is_swap_entry(e)) {
			gpointer k = GSIZE_TO_POINTER(swap_entry_to_slot(e));
			g_hash_table_insert(c->swap_entries, k, GSIZE_TO_POINTER(GPOINTER_TO_SIZE(
				g_hash_table_lookup(c->swap_entries, k)) + 1));
			c->swap_ptes++;
			if (!vma_at(mm, va))
				fail(c, g_strdup_printf("swap entry for 0x%lx outside every VMA", va));
			continue;
		}
		if (!pte_present(e)) {
			char *merr = migration_entry_check(e, va);
			if (merr)
				fail(c, merr);
			continue;
		}
		struct vm_area_struct *v = vma_at(mm, va);
		if (!v) {
			fail(c, g_strdup_printf("PTE for 0x%lx is present outside every VMA", va));
		} else if ((e & _PAGE_RW) && !(v->vm_flags & VM_WRITE)) {
			/* A write the VMA forbids would go through without a fault. */
			fail(c, g_strdup_printf("PTE for 0x%lx is writable in a VMA without VM_WRITE "
						"[0x%lx, 0x%lx)", va, v->vm_start, v->vm_end));
		} else if (!(e & _PAGE_PROTNONE) && !(v->vm_flags & (VM_READ | VM_WRITE))) {
			fail(c, g_strdup_printf("PTE for 0x%lx is accessible in a PROT_NONE VMA", va));
		}
		if (e & _PAGE_SPECIAL) {
			c->r->zero_ptes++;
			if (pte_pfn(e) != mm->zone->zero_pfn)
				fail(c, g_strdup_printf("special PTE at 0x%lx is not the zero page", va));
			continue;
		}
		uint64_t pfn = pte_pfn(e);
		struct page *p = pfn_to_page(mm->zone, pfn);
		c->r->mapped_pages++;
		if (p->flags & PG_file) {
			char *err = v ? filemap_check_pte(v, va, e, p) : NULL;
			if (err)
				fail(c, err);
			c->file_ptes++;
			gpointer k = GSIZE_TO_POINTER(pfn);
			g_hash_table_insert(c->file_maps, k, GSIZE_TO_POINTER(
				GPOINTER_TO_SIZE(g_hash_table_lookup(c->file_maps, k)) + 1));
			continue;
		}
		c->anon_ptes++;
		if (v && (v->vm_flags & VM_SHARED))
			fail(c, g_strdup_printf("PTE at 0x%lx of a shared file mapping maps anonymous "
						"pfn %llu", va, (unsigned long long)pfn));
		gpointer n = g_hash_table_lookup(c->seen, GSIZE_TO_POINTER(pfn));
		g_hash_table_insert(c->seen, GSIZE_TO_POINTER(pfn),
				    GSIZE_TO_POINTER(GPOINTER_TO_SIZE(n) + 1));
		if ((p->flags & PG_free) || !(p->flags & PG_anon))
			fail(c, g_strdup_printf("PTE at 0x%lx maps pfn %llu which is %s", va,
						(unsigned long long)pfn,
						(p->flags & PG_free) ? "free" : "not anonymous"));
		if ((e & _PAGE_RW) && p->mapcount != 1)
			fail(c, g_strdup_printf("PTE at 0x%lx maps pfn %llu writable, but %d PTEs map "
						"it (a COW that did not copy)", va,
						(unsigned long long)pfn, p->mapcount));
		if (v && (!p->mapping || !v->anon_vma || p->index != linear_page_index(v, va) ||
			  !rmap_reaches(v, p)))
			fail(c, g_strdup_printf("pfn %llu at 0x%lx: the rmap does not lead back here "
						"(index 0x%lx%s)", (unsigned long long)pfn, va,
						p->index << PAGE_SHIFT,
						!p->mapping ? ", no anon_vma" :
						!v->anon_vma ? ", VMA without anon_vma" : ""));
		if (!p->memcg)
			fail(c, g_strdup_printf("pfn %llu at 0x%lx is not charged to a memcg",
						(unsigned long long)pfn, va));
	}
}

/* Per mm: counters, the VMA tree and the per-VMA locks. */
static void check_mm_state(struct check_ctx *c, struct mm_struct *mm)
{
	if (rwsem_is_locked(&mm->mmap_lock) || rwsem_has_waiters(&mm->mmap_lock))
		fail(c, g_strdup("mmap_lock still held at the end"));
	if ((uint64_t)mm->rss_anon != c->anon_ptes)
		fail(c, g_strdup_printf("rss_anon %ld but %llu anonymous pages mapped",
					mm->rss_anon, (unsigned long long)c->anon_ptes));
	if ((uint64_t)mm->rss_swap != c->swap_ptes)
		fail(c, g_strdup_printf("rss_swap %ld but %llu swap entries", mm->rss_swap,
					(unsigned long long)c->swap_ptes));
	if ((uint64_t)mm->rss_file != c->file_ptes)
		fail(c, g_strdup_printf("rss_file %ld but %llu page cache PTEs", mm->rss_file,
					(unsigned long long)c->file_ptes));
	/* Every huge PMD keeps exactly one deposited table for its split. */
	if (c->huge_pmds != c->deposits)
		fail(c, g_strdup_printf("%ld huge PMDs but %ld deposited PTE tables", c->huge_pmds,
					c->deposits));
	if (mm->nr_ptes != c->pte_tables)
		fail(c, g_strdup_printf("nr_ptes %ld but %ld PTE tables", mm->nr_ptes,
					c->pte_tables));
	char *mt_err = mt_validate(&mm->mm_mt);
	if (mt_err) {
		fail(c, g_strdup_printf("VMA tree: %s", mt_err));
		g_free(mt_err);
	}
	/* Each VMA is stored over exactly its own range, and map_count counts them. */
	int nr = 0;
	MA_STATE(mas, &mm->mm_mt, NULL, 0, 0);
	for (struct vm_area_struct *v = mas_find(&mas, ULONG_MAX); v;
	     v = mas_next(&mas, ULONG_MAX), nr++) {
		if (v->vm_start >= v->vm_end || mas.index != v->vm_start ||
		    mas.last != v->vm_end - 1)
			fail(c, g_strdup_printf("VMA [0x%lx,0x%lx) is stored over [0x%lx,0x%lx]",
						v->vm_start, v->vm_end, mas.index, mas.last));
		/* Its chains: one per anon_vma, each in that anon_vma's tree over its range. */
		if (!v->anon_vma != !v->anon_vma_chain)
			fail(c, g_strdup_printf("VMA [0x%lx,0x%lx): anon_vma and chain disagree",
						v->vm_start, v->vm_end));
		for (struct anon_vma_chain *avc = v->anon_vma_chain; avc; avc = avc->same_vma)
			if (avc->vma != v || !avc->rb.linked || avc->rb.start != v->vm_pgoff ||
			    avc->rb.last != vma_pgoff_last(v) ||
			    avc->anon_vma->root != v->anon_vma->root)
				fail(c, g_strdup_printf("VMA [0x%lx,0x%lx): a chain is stale (range "
							"or root)", v->vm_start, v->vm_end));
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
				fail(c, g_strdup_printf("VMA [0x%lx,0x%lx) still locked or detached "
							"at the end (seq %d/%d)", v->vm_start,
							v->vm_end, v->vm_lock_seq,
							mm->mm_lock_seq));
		}
		if (rcuwait_active(&mm->vma_writer_wait))
			fail(c, g_strdup("a VMA writer still waits at the end"));
	}
	if (nr != mm->map_count)
		fail(c, g_strdup_printf("map_count %d but %d VMAs in the tree", mm->map_count, nr));
}

void mm_check_mms(struct mm_struct *const *mms, unsigned n, struct mm_check_report *r)
{
	struct check_ctx c = { .r = r, .seen = g_hash_table_new(NULL, NULL),
			       .file_maps = g_hash_table_new(NULL, NULL),
			       .batched = g_hash_table_new(NULL, NULL),
			       .swap_entries = g_hash_table_new(NULL, NULL) };
	struct zone *z = mms[0]->zone;
	uint64_t cache_pages = 0;

	*r = (struct mm_check_report){ 0 };
	for (int cpu = 0; cpu < z->nr_cpus; cpu++)
		for (unsigned i = 0; i < z->lru_add[cpu].nr; i++) {
			if (z->lru_add[cpu].pages[i]->flags & PG_file)
				continue; /* a page cache page: filemap_check counts it */
			gpointer k = GSIZE_TO_POINTER(z->lru_add[cpu].pages[i]->pfn);
			gsize b = GPOINTER_TO_SIZE(g_hash_table_lookup(c.batched, k));
			g_hash_table_insert(c.batched, k, GSIZE_TO_POINTER(b + 1));
		}
	long pt_pending = mm_exited_pt_pending(z);
	for (unsigned i = 0; i < n; i++) {
		c.mm = mms[i];
		c.pte_tables = 0;
		c.anon_ptes = c.file_ptes = c.swap_ptes = 0;
		c.huge_pmds = c.deposits = 0;
		check_table(&c, mms[i]->pgd, PT_PGD, 0);
		check_mm_state(&c, mms[i]);
		pt_pending += mms[i]->nr_pt_rcu_pending;
	}
	r->map_count = mms[0]->map_count; /* checked against its tree above */
	/* Every mapped page: one mapcount per PTE over all mms, one reference per PTE and
	 * per LRU batch slot holding it. */
	uint64_t distinct = g_hash_table_size(c.seen), batch_only = 0;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, c.seen);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		uint64_t pfn = GPOINTER_TO_SIZE(k);
		struct page *p = pfn_to_page(z, pfn);
		long ptes = (long)GPOINTER_TO_SIZE(v);
		long refs = ptes + (long)GPOINTER_TO_SIZE(g_hash_table_lookup(c.batched, k)) +
			    ((p->flags & PG_swapcache) ? 1 : 0); /* the swap cache's */
		if (p->flags & PG_head)
			distinct += HPAGE_PMD_NR - 1; /* a THP: one entry, 512 frames */
		if (p->mapcount != ptes || p->refcount != refs)
			fail(&c, g_strdup_printf("pfn %llu: mapcount %d refcount %d, but %ld PTEs map "
						 "it and %ld references are accounted for",
						 (unsigned long long)pfn, p->mapcount, p->refcount,
						 ptes, refs));
	}
	/* Pages only an LRU batch holds (unmapped since it was queued): still allocated. */
	g_hash_table_iter_init(&it, c.batched);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct page *p = pfn_to_page(z, GPOINTER_TO_SIZE(k));
		if (g_hash_table_contains(c.seen, k))
			continue;
		batch_only += (p->flags & PG_head) ? HPAGE_PMD_NR : 1;
		if (p->mapcount || (p->flags & PG_free) ||
		    p->refcount != (int)GPOINTER_TO_SIZE(v) + ((p->flags & PG_swapcache) ? 1 : 0))
			fail(&c, g_strdup_printf("pfn %llu held by an LRU batch only: mapcount %d "
						 "refcount %d", (unsigned long long)p->pfn,
						 p->mapcount, p->refcount));
	}
	/* The swap device: slot counts against the entries, the swap cache, leaks. */
	uint64_t swap_cache_only = 0;
	char *serr = swap_check(z, c.swap_entries, c.seen, c.batched, &swap_cache_only);
	if (serr)
		fail(&c, serr);
	batch_only += swap_cache_only; /* user pages held without a mapping */
	g_hash_table_destroy(c.swap_entries);
	g_hash_table_destroy(c.seen);
	g_hash_table_destroy(c.batched);
	/* The page caches and i_mmap trees of the files (models/mm/filemap.c). */
	char *ferr = filemap_check(mms, n, c.file_maps, &cache_pages);
	if (ferr)
		fail(&c, ferr);
	g_hash_table_destroy(c.file_maps);
	r->pages_in_use = zone_pages_in_use(z);
	/* Tables unlinked by an unmap whose grace period is still running are in use; page
	 * cache pages are in use whether mapped or not. */
	if (r->pages_in_use !=
	    distinct + batch_only + r->table_pages + cache_pages + (uint64_t)pt_pending)
		fail(&c, g_strdup_printf("allocator has %llu pages in use but %llu anonymous pages "
					 "are mapped, %llu held by LRU batches, %llu are page "
					 "tables and %llu are in page caches (a page leaked or was "
					 "freed twice)",
					 (unsigned long long)r->pages_in_use,
					 (unsigned long long)distinct,
					 (unsigned long long)batch_only,
					 (unsigned long long)r->table_pages,
					 (unsigned long long)cache_pages));
	/* memcg: every user page in use is charged, plus the per-CPU stocks. */
	long usage = z->memcg->memory.usage, want = (long)(distinct + batch_only) +
						     memcg_stocked_pages(z);
	if (usage != want)
		fail(&c, g_strdup_printf("memcg usage %ld pages, but %llu user pages are charged "
					 "and %ld are stocked", usage,
					 (unsigned long long)(distinct + batch_only),
					 memcg_stocked_pages(z)));
}

void mm_check(struct mm_struct *mm, struct mm_check_report *r)
{
	mm_check_mms(&mm, 1, r);
}

/* ------------------------------------------------------------------------------------- */
/*
 * The checker during the run.  Three shadows, each an open-addressing table keyed by an
 * integer (never a pointer) with the record in the slot (the page map's slots index an
 * append-only array of page records), so a lookup costs one hash and a short probe, no
 * iteration, and nothing depends on host addresses:
 *
 *  - phys: (pfn, byte offset) -> the value last stored there and the frame's content
 *    generation then.  A frame cleared for a new user bumps page->content_gen, so older
 *    records read as zero: this is what a load through any translation actually reads.
 *  - bytes: user virtual byte address -> the value the program last stored there and the
 *    checker's sequence number at that store.  This is what the load must read.
 *  - pages: virtual page -> what the completed syscalls say about it (unmapped, not
 *    writable, not readable, the sequence window of the last zap) and a ring of its
 *    recent events for the report.
 *
 * Syscalls in flight (between their entry and their return) are kept in a short list:
 * an access racing with one may see either side of it (old value or zero, old or new
 * protection), exactly as a program racing with munmap/madvise/mprotect may on Linux.
 * Once the call has returned, only the new state is legal.
 */
#define EVENT_RING 8

struct mm_event {
	sim_time_t when;                /* ps */
	uint64_t aux;                   /* value, pfn or flags, per kind */
	const struct sim_task *who;
	uint16_t off;                   /* byte offset in the page (accesses) */
	uint8_t kind;                   /* enum mm_event_kind */
};

struct shadow_page {
	uint64_t vpn;
	uint64_t zap_begin, zap_end;    /* sequence window of the last completed zap */
	/* File mappings: file id (0: anonymous), its page here, MAP_SHARED; cow_seq: when a
	 * private copy of the file page was mapped here (0: none since the mapping). */
	uint32_t file_id;
	bool shared;
	uint64_t pgoff, cow_seq;
	bool unmapped, no_write, no_read;
	uint8_t zap_kind;               /* enum mm_op_kind of the last completed zap */
	uint8_t ring_next, ring_len;
	struct mm_event ring[EVENT_RING];
};

/* Payloads: bytes map (virtual byte address) and phys map ((pfn << 12) | offset). */
enum { BYTE_VALUE, BYTE_SEQ };
enum { PHYS_VALUE, PHYS_GEN };

/* Open addressing with linear probing; the payload sits in the slot (one cache miss). */
struct smap_slot {
	uint64_t key;                   /* key + 1; 0 is an empty slot */
	uint64_t v[2];
};

struct smap {
	struct smap_slot *slot;
	uint32_t mask, n;
	int shift;
};

struct mm_op {
	bool active;
	enum mm_op_kind kind;
	unsigned long start, end, vm_flags;
	uint32_t file_id;               /* MOP_MMAP of a file: its id, first page, MAP_SHARED */
	bool shared;
	uint64_t pgoff;
	uint64_t begin_seq;
	const struct sim_task *who;
};

/*
 * What every mm of a fork tree shares: the frames' contents (they share frames until a
 * COW copies one) and the files' contents.  phys_map: byte address of a frame -> value and
 * the frame's content_gen when stored.
 *
 * File contents.  file_map: (file id << 44 | byte offset in the file) -> the value the
 * last store through a shared mapping left and its sequence number: what every mapping of
 * the file must read there, and what a private mapping reads until it copies the page.
 * Byte offsets stored so far, per file page and per frame, make page copies (COW) exact:
 * offs_map keys (file id << 40 | pgoff) and (1 << 63 | pfn) to struct offs_list entries
 * of `offs`.  pending: private copies of file pages made but not yet mapped (dst pfn ->
 * struct cow_pending).
 */
struct shared_shadow {
	struct smap phys_map, file_map, offs_map;
	GPtrArray *offs;
	GHashTable *pending;
	int refs;
};

struct mm_checker {
	uint64_t seq;                   /* advances at every access and syscall boundary */
	uint64_t loads, stores;
	struct smap page_map, byte_map;
	struct shared_shadow *sh;
	struct mm_checker *parent;      /* fork: whose accesses-verified counts get ours */
	GArray *pages;                  /* struct shadow_page, indexed by page_map */
	GArray *ops;                    /* struct mm_op; inactive slots are reused */
	unsigned nr_active;
};

struct offs_list {
	uint32_t gen;                   /* frames: the content_gen the list is for */
	GArray *off;                    /* uint16_t byte offsets, each once */
};

struct cow_pending {
	uint32_t gen;                   /* the copy's content_gen */
	uint32_t file_id;
	uint64_t pgoff;
	GArray *vals;                   /* (offset, value) pairs: the file page when copied */
};

static void smap_init(struct smap *m, int bits)
{
	m->mask = (1u << bits) - 1;
	m->shift = 64 - bits;
	m->n = 0;
	m->slot = g_new0(struct smap_slot, (gsize)m->mask + 1);
}

static inline uint32_t smap_hash(const struct smap *m, uint64_t key)
{
	return (uint32_t)(((key + 1) * 0x9E3779B97F4A7C15ULL) >> m->shift);
}

/* The payload of key, or NULL. */
static uint64_t *smap_find(const struct smap *m, uint64_t key)
{
	for (uint32_t s = smap_hash(m, key);; s = (s + 1) & m->mask) {
		if (m->slot[s].key == key + 1)
			return m->slot[s].v;
		if (!m->slot[s].key)
			return NULL;
	}
}

static uint64_t *smap_insert(struct smap *m, uint64_t key);

static void smap_grow(struct smap *m)
{
	struct smap old = *m;
	smap_init(m, 64 - old.shift + 1);
	for (uint32_t s = 0; s <= old.mask; s++) {
		if (!old.slot[s].key)
			continue;
		uint64_t *v = smap_insert(m, old.slot[s].key - 1);
		v[0] = old.slot[s].v[0];
		v[1] = old.slot[s].v[1];
	}
	g_free(old.slot);
}

/* The payload of key, made (zeroed) if absent; valid until the next insert. */
static uint64_t *smap_insert(struct smap *m, uint64_t key)
{
	uint32_t s = smap_hash(m, key);
	for (; m->slot[s].key; s = (s + 1) & m->mask)
		if (m->slot[s].key == key + 1)
			return m->slot[s].v;
	if (2 * (m->n + 1) > m->mask + 1) {
		smap_grow(m);
		return smap_insert(m, key);
	}
	m->slot[s].key = key + 1;
	m->n++;
	return m->slot[s].v;
}

struct mm_checker *mm_checker_create(void)
{
	struct mm_checker *c = g_new0(struct mm_checker, 1);
	smap_init(&c->page_map, 10);
	smap_init(&c->byte_map, 12);
	c->sh = g_new0(struct shared_shadow, 1);
	c->sh->refs = 1;
	smap_init(&c->sh->phys_map, 12);
	c->pages = g_array_new(FALSE, TRUE, sizeof(struct shadow_page));
	c->ops = g_array_new(FALSE, TRUE, sizeof(struct mm_op));
	smap_init(&c->sh->file_map, 12);
	smap_init(&c->sh->offs_map, 10);
	c->sh->offs = g_ptr_array_new();
	c->sh->pending = g_hash_table_new(NULL, NULL);
	return c;
}

static void shared_shadow_free(struct shared_shadow *sh)
{
	struct smap *maps[] = { &sh->phys_map, &sh->file_map, &sh->offs_map };
	for (int i = 0; i < 3; i++)
		g_free(maps[i]->slot);
	for (unsigned i = 0; i < sh->offs->len; i++) {
		struct offs_list *l = g_ptr_array_index(sh->offs, i);
		g_array_free(l->off, TRUE);
		g_free(l);
	}
	g_ptr_array_free(sh->offs, TRUE);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, sh->pending);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		g_array_free(((struct cow_pending *)v)->vals, TRUE);
		g_free(v);
	}
	g_hash_table_destroy(sh->pending);
	g_free(sh);
}

void mm_checker_destroy(struct mm_checker *c)
{
	if (!c)
		return;
	if (c->parent) { /* a child's verified accesses count for the run */
		c->parent->loads += c->loads;
		c->parent->stores += c->stores;
	}
	g_free(c->page_map.slot);
	g_free(c->byte_map.slot);
	if (--c->sh->refs == 0)
		shared_shadow_free(c->sh);
	g_array_free(c->pages, TRUE);
	g_array_free(c->ops, TRUE);
	g_free(c);
}

static void smap_copy(struct smap *dst, const struct smap *src)
{
	*dst = *src;
	dst->slot = g_memdup2(src->slot, ((gsize)src->mask + 1) * sizeof(struct smap_slot));
}

struct mm_checker *mm_checker_fork(const struct mm_checker *parent)
{
	struct mm_checker *c = g_new0(struct mm_checker, 1);
	c->seq = parent->seq;
	smap_copy(&c->page_map, &parent->page_map);
	smap_copy(&c->byte_map, &parent->byte_map);
	c->sh = parent->sh;
	c->sh->refs++;
	c->parent = (struct mm_checker *)parent;
	c->pages = g_array_sized_new(FALSE, TRUE, sizeof(struct shadow_page), parent->pages->len);
	g_array_append_vals(c->pages, parent->pages->data, parent->pages->len);
	/* The parent's syscalls in flight are not the child's. */
	c->ops = g_array_new(FALSE, TRUE, sizeof(struct mm_op));
	return c;
}

void mm_checker_counts(const struct mm_checker *c, uint64_t *loads, uint64_t *stores)
{
	*loads = c ? c->loads : 0;
	*stores = c ? c->stores : 0;
}

static struct shadow_page *page_find(struct mm_checker *c, uint64_t vpn)
{
	uint64_t *i = smap_find(&c->page_map, vpn);
	return i ? &g_array_index(c->pages, struct shadow_page, *i) : NULL;
}

/* The page's record, made on first use from what the VMA tree says now. */
static struct shadow_page *page_get(struct mm_checker *c, struct mm_struct *mm, uint64_t vpn)
{
	struct shadow_page *p = page_find(c, vpn);
	if (p)
		return p;
	struct shadow_page np = { .vpn = vpn };
	struct vm_area_struct *v = find_vma(NULL, mm, vpn << PAGE_SHIFT);
	np.unmapped = !v || v->vm_start > vpn << PAGE_SHIFT;
	np.no_write = np.unmapped || !(v->vm_flags & VM_WRITE);
	np.no_read = np.unmapped || !(v->vm_flags & VM_ACCESS_FLAGS);
	if (!np.unmapped && v->vm_file) {
		np.file_id = v->vm_file->id;
		np.shared = v->vm_flags & VM_SHARED;
		np.pgoff = v->vm_pgoff + ((vpn << PAGE_SHIFT) - v->vm_start) / PAGE_SIZE;
	}
	smap_insert(&c->page_map, vpn)[0] = c->pages->len;
	g_array_append_val(c->pages, np);
	return &g_array_index(c->pages, struct shadow_page, c->pages->len - 1);
}

static void ring_push(struct shadow_page *p, const struct sim_task *t, enum mm_event_kind kind,
		      unsigned off, uint64_t aux)
{
	struct mm_event *e = &p->ring[p->ring_next];
	e->when = t ? t->now : 0;
	e->who = t;
	e->kind = (uint8_t)kind;
	e->off = (uint16_t)off;
	e->aux = aux;
	p->ring_next = (uint8_t)((p->ring_next + 1) % EVENT_RING);
	if (p->ring_len < EVENT_RING)
		p->ring_len++;
}

/* ---- file contents ---- */

static uint64_t file_key(uint32_t file_id, uint64_t pgoff, unsigned off)
{
	return (uint64_t)file_id << 44 | pgoff << PAGE_SHIFT | off;
}

#define OFFS_FRAME (1ULL << 63)

/* The offsets list under key; a frame's list starts over when the frame's gen moved. */
static struct offs_list *offs_get(struct mm_checker *c, uint64_t key, uint32_t gen)
{
	uint64_t *i = smap_find(&c->sh->offs_map, key);
	struct offs_list *l;
	if (!i) {
		l = g_new0(struct offs_list, 1);
		l->off = g_array_new(FALSE, FALSE, sizeof(uint16_t));
		l->gen = gen;
		smap_insert(&c->sh->offs_map, key)[0] = c->sh->offs->len;
		g_ptr_array_add(c->sh->offs, l);
		return l;
	}
	l = g_ptr_array_index(c->sh->offs, *i);
	if (l->gen != gen) {
		g_array_set_size(l->off, 0);
		l->gen = gen;
	}
	return l;
}

/* Record value at byte off of frame pfn (the frame's real contents). */
static void phys_store(struct mm_checker *c, const struct page *pg, unsigned off, uint64_t value)
{
	uint64_t paddr = (pg->pfn << PAGE_SHIFT) | off;
	uint64_t *ph = smap_find(&c->sh->phys_map, paddr);
	if (!ph || ph[PHYS_GEN] != pg->content_gen) {
		uint16_t o = (uint16_t)off;
		g_array_append_val(offs_get(c, OFFS_FRAME | pg->pfn, pg->content_gen)->off, o);
		ph = smap_insert(&c->sh->phys_map, paddr);
	}
	ph[PHYS_VALUE] = value;
	ph[PHYS_GEN] = pg->content_gen;
}

/* The file's byte (0 if never stored). */
static uint64_t file_value(struct mm_checker *c, uint32_t file_id, uint64_t pgoff, unsigned off)
{
	const uint64_t *f = smap_find(&c->sh->file_map, file_key(file_id, pgoff, off));
	return f ? f[BYTE_VALUE] : 0;
}

/* The frame copy: what the model's copy_user_highpage moves. */
static void frame_copy(struct mm_checker *c, const struct page *sp, const struct page *dp)
{
	const struct offs_list *sl = offs_get(c, OFFS_FRAME | sp->pfn, sp->content_gen);
	for (unsigned i = 0; i < sl->off->len; i++) {
		unsigned off = g_array_index(sl->off, uint16_t, i);
		const uint64_t *ph = smap_find(&c->sh->phys_map, (sp->pfn << PAGE_SHIFT) | off);
		if (ph && ph[PHYS_GEN] == sp->content_gen)
			phys_store(c, dp, off, ph[PHYS_VALUE]);
	}
}

void mm_check_copy_page(struct mm_struct *mm, uint64_t src_pfn, uint64_t dst_pfn)
{
	frame_copy(mm->checker, pfn_to_page(mm->zone, src_pfn), pfn_to_page(mm->zone, dst_pfn));
}

void mm_check_copy_frame(struct mm_struct *mm, uint64_t src_pfn, uint32_t src_gen,
			 uint64_t dst_pfn, uint32_t dst_gen)
{
	/* frame_copy reads only a frame's number and generation. */
	struct page sp = { .pfn = src_pfn, .content_gen = src_gen };
	struct page dp = { .pfn = dst_pfn, .content_gen = dst_gen };
	frame_copy(mm->checker, &sp, &dp);
}

void mm_check_copy(struct sim_task *t, struct mm_struct *mm, unsigned long addr, uint64_t src,
		   uint64_t dst)
{
	struct mm_checker *c = mm->checker;
	const struct page *sp = pfn_to_page(mm->zone, src), *dp = pfn_to_page(mm->zone, dst);
	struct shadow_page *p = page_get(c, mm, addr >> PAGE_SHIFT);
	(void)t;
	frame_copy(c, sp, dp);
	/* What the copy must hold: the file page as the checker knows it now. */
	if (!p->file_id)
		return;
	struct cow_pending *cp = g_hash_table_lookup(c->sh->pending, GSIZE_TO_POINTER(dst));
	if (!cp) {
		cp = g_new0(struct cow_pending, 1);
		cp->vals = g_array_new(FALSE, FALSE, sizeof(uint64_t));
		g_hash_table_insert(c->sh->pending, GSIZE_TO_POINTER(dst), cp);
	}
	cp->gen = dp->content_gen;
	cp->file_id = p->file_id;
	cp->pgoff = p->pgoff;
	g_array_set_size(cp->vals, 0);
	const struct offs_list *fl = offs_get(c, (uint64_t)p->file_id << 40 | p->pgoff, 0);
	for (unsigned i = 0; i < fl->off->len; i++) {
		uint64_t pair[2] = { g_array_index(fl->off, uint16_t, i), 0 };
		pair[1] = file_value(c, p->file_id, p->pgoff, (unsigned)pair[0]);
		g_array_append_vals(cp->vals, pair, 2);
	}
}

/* A private copy was mapped at vpn: its contents become what the page must read. */
static void cow_mapped(struct mm_checker *c, struct mm_struct *mm, struct shadow_page *p,
		       uint64_t pfn)
{
	struct cow_pending *cp = g_hash_table_lookup(c->sh->pending, GSIZE_TO_POINTER(pfn));
	if (!cp || cp->gen != pfn_to_page(mm->zone, pfn)->content_gen)
		return;
	c->seq++;
	p->cow_seq = c->seq;
	for (unsigned i = 0; i < cp->vals->len; i += 2) {
		uint64_t *sb = smap_insert(&c->byte_map, (p->vpn << PAGE_SHIFT) |
							 g_array_index(cp->vals, uint64_t, i));
		sb[BYTE_VALUE] = g_array_index(cp->vals, uint64_t, i + 1);
		sb[BYTE_SEQ] = c->seq;
	}
	cp->gen = 0; /* used */
}

void mm_check_event(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		    enum mm_event_kind kind, uint64_t aux)
{
	struct mm_checker *c = mm->checker;
	struct shadow_page *p = page_get(c, mm, addr >> PAGE_SHIFT);
	if (kind == MEV_FAULT_MAP && p->file_id && !p->shared)
		cow_mapped(c, mm, p, aux);
	ring_push(p, t, kind, addr & ~PAGE_MASK, aux);
}

/* ---- violation reports ---- */

static mm_violation_fn violation_fn;
static void *violation_arg;

void mm_set_violation_handler(mm_violation_fn fn, void *arg)
{
	violation_fn = fn;
	violation_arg = arg;
}

/* The code path each event comes from, for "paths involved". */
static const char *const event_path[] = {
	[MEV_LOAD] = "user load (mmu_access)",
	[MEV_STORE] = "user store (mmu_access)",
	[MEV_FAULT_MAP] = "page fault (handle_mm_fault)",
	[MEV_ZAP] = "zap_pte_range",
	[MEV_CHANGE_PROT] = "change_pte_range (mprotect)",
	[MEV_PAGE_FREE] = "tlb_finish_mmu (page freed)",
	[MEV_MMAP] = "mmap",
	[MEV_MUNMAP] = "munmap",
	[MEV_DONTNEED] = "madvise(MADV_DONTNEED)",
	[MEV_MPROTECT] = "mprotect",
	[MEV_FORK_WP] = "copy_pte_range (fork)",
	[MEV_COW] = "do_wp_page (copy-on-write)",
	[MEV_COLLAPSE] = "khugepaged collapse_huge_page",
	[MEV_COLLAPSE_RELEASE] = "khugepaged __collapse_huge_page_copy",
	[MEV_MIGRATE_ENTRY] = "try_to_migrate_one",
	[MEV_MIGRATE_RESTORE] = "remove_migration_pte",
	[MEV_SWAP_ENTRY] = "try_to_unmap_one (swap-out)",
	[MEV_SWAP_IN] = "do_swap_page",
};

static void event_describe(GString *s, const struct mm_event *e, uint64_t vpn)
{
	unsigned long a = (vpn << PAGE_SHIFT) + e->off;
	switch ((enum mm_event_kind)e->kind) {
	case MEV_LOAD:
		g_string_append_printf(s, "load 0x%lx read 0x%llx", a, (unsigned long long)e->aux);
		break;
	case MEV_STORE:
		g_string_append_printf(s, "store 0x%lx <- 0x%llx", a, (unsigned long long)e->aux);
		break;
	case MEV_FAULT_MAP:
		g_string_append_printf(s, "fault maps pfn %llu", (unsigned long long)e->aux);
		break;
	case MEV_ZAP:
		g_string_append_printf(s, "zap clears the PTE of pfn %llu",
				       (unsigned long long)e->aux);
		break;
	case MEV_CHANGE_PROT:
		g_string_append_printf(s, "PTE protection bits now 0x%llx",
				       (unsigned long long)e->aux);
		break;
	case MEV_PAGE_FREE:
		g_string_append_printf(s, "pfn %llu freed", (unsigned long long)e->aux);
		break;
	case MEV_MMAP:
	case MEV_MUNMAP:
	case MEV_DONTNEED:
		g_string_append_printf(s, "%s returned", event_path[e->kind]);
		break;
	case MEV_FORK_WP:
		g_string_append_printf(s, "fork shares pfn %llu, write-protected",
				       (unsigned long long)e->aux);
		break;
	case MEV_COW:
		g_string_append_printf(s, "write fault gives this mm pfn %llu",
				       (unsigned long long)e->aux);
		break;
	case MEV_COLLAPSE:
		g_string_append_printf(s, "collapse maps it through the huge PMD (pfn %llu)",
				       (unsigned long long)e->aux);
		break;
	case MEV_COLLAPSE_RELEASE:
		g_string_append_printf(s, "collapse copied pfn %llu and unmaps it",
				       (unsigned long long)e->aux);
		break;
	case MEV_MIGRATE_ENTRY:
		g_string_append_printf(s, "migration entry replaces the PTE of pfn %llu",
				       (unsigned long long)e->aux);
		break;
	case MEV_MIGRATE_RESTORE:
		g_string_append_printf(s, "migration entry becomes a PTE of pfn %llu",
				       (unsigned long long)e->aux);
		break;
	case MEV_SWAP_ENTRY:
		g_string_append_printf(s, "swap entry for slot %llu replaces the PTE",
				       (unsigned long long)e->aux);
		break;
	case MEV_SWAP_IN:
		g_string_append_printf(s, "swap entry becomes a PTE of pfn %llu",
				       (unsigned long long)e->aux);
		break;
	case MEV_MPROTECT:
		g_string_append_printf(s, "mprotect to %s%s%s returned",
				       (e->aux & VM_READ) ? "r" : "",
				       (e->aux & VM_WRITE) ? "w" : "",
				       (e->aux & VM_ACCESS_FLAGS) ? "" : "none");
		break;
	}
	g_string_append_printf(s, " [%s]", event_path[e->kind]);
}

void mm_violation(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		  const char *invariant, const char *path, const char *fmt, ...)
{
	GString *s = g_string_new("");
	va_list ap;

	g_string_append_printf(s, "address-space invariant violated: %s\n  ", invariant);
	va_start(ap, fmt);
	g_string_append_vprintf(s, fmt, ap);
	va_end(ap);
	g_string_append_printf(s, "\n  at %.3f us: task %s on cpu %d, in %s\n",
			       t ? ps_to_ns(t->now) / 1000.0 : 0.0, t ? t->name : "-",
			       t ? t->cpu : -1, path);
	struct shadow_page *p = mm && mm->checker && addr ? page_find(mm->checker,
								       addr >> PAGE_SHIFT) : NULL;
	if (p && p->ring_len) {
		/* CPUs and paths: ours, then every other one in the page's recent history. */
		g_string_append_printf(s, "  CPUs and code paths involved: cpu %d (%s: %s)",
				       t ? t->cpu : -1, t ? t->name : "-", path);
		for (unsigned i = 0; i < p->ring_len; i++) {
			const struct mm_event *e =
			    &p->ring[(p->ring_next + EVENT_RING - p->ring_len + i) % EVENT_RING];
			bool dup = e->who == t;
			for (unsigned j = 0; j < i && !dup; j++) {
				const struct mm_event *f = &p->ring[(p->ring_next + EVENT_RING -
								     p->ring_len + j) % EVENT_RING];
				dup = f->who == e->who && f->kind == e->kind;
			}
			if (!dup && e->who)
				g_string_append_printf(s, ", cpu %d (%s: %s)", e->who->cpu,
						       e->who->name, event_path[e->kind]);
		}
		g_string_append_printf(s, "\n  last events on page 0x%llx (oldest first):\n",
				       (unsigned long long)(p->vpn << PAGE_SHIFT));
		for (unsigned i = 0; i < p->ring_len; i++) {
			const struct mm_event *e =
			    &p->ring[(p->ring_next + EVENT_RING - p->ring_len + i) % EVENT_RING];
			g_string_append_printf(s, "    %12.3f us  cpu %-3d %-14s ",
					       ps_to_ns(e->when) / 1000.0,
					       e->who ? e->who->cpu : -1,
					       e->who ? e->who->name : "-");
			event_describe(s, e, p->vpn);
			g_string_append_c(s, '\n');
		}
	}
	if (violation_fn) {
		violation_fn(s->str, violation_arg);
		g_string_free(s, TRUE);
		return;
	}
	fprintf(stderr, "mmsim: %s", s->str);
	fflush(stderr);
	_exit(EXIT_VIOLATION);
}

/* ---- syscalls in flight ---- */

int mm_check_op_begin(struct sim_task *t, struct mm_struct *mm, enum mm_op_kind kind,
		      unsigned long start, unsigned long end, unsigned long vm_flags)
{
	struct mm_checker *c = mm->checker;
	unsigned i = 0;
	while (i < c->ops->len && g_array_index(c->ops, struct mm_op, i).active)
		i++;
	if (i == c->ops->len)
		g_array_set_size(c->ops, i + 1);
	g_array_index(c->ops, struct mm_op, i) = (struct mm_op){
		.active = true, .kind = kind, .start = start, .end = end, .vm_flags = vm_flags,
		.begin_seq = ++c->seq, .who = t,
	};
	c->nr_active++;
	return (int)i;
}

static void op_apply(struct mm_checker *c, const struct mm_op *op, struct shadow_page *p,
		     const struct sim_task *t)
{
	static const enum mm_event_kind ev[] = {
		[MOP_MMAP] = MEV_MMAP, [MOP_MUNMAP] = MEV_MUNMAP,
		[MOP_DONTNEED] = MEV_DONTNEED, [MOP_MPROTECT] = MEV_MPROTECT,
	};
	switch (op->kind) {
	case MOP_MUNMAP:
		p->unmapped = p->no_read = p->no_write = true;
		/* its data is gone as after a zap */
		__attribute__((fallthrough));
	case MOP_DONTNEED:
		p->zap_kind = (uint8_t)op->kind;
		p->zap_begin = op->begin_seq;
		p->zap_end = c->seq;
		break;
	case MOP_MMAP:
		p->unmapped = false;
		p->file_id = op->file_id;
		p->shared = op->shared;
		p->pgoff = op->pgoff + (p->vpn - (op->start >> PAGE_SHIFT));
		p->cow_seq = 0;
		__attribute__((fallthrough));
	case MOP_MPROTECT:
		p->no_write = !(op->vm_flags & VM_WRITE);
		p->no_read = !(op->vm_flags & VM_ACCESS_FLAGS);
		break;
	}
	ring_push(p, t, ev[op->kind], 0, op->vm_flags);
}

void mm_check_op_end(struct sim_task *t, struct mm_struct *mm, int i, bool done)
{
	struct mm_checker *c = mm->checker;
	struct mm_op *op = &g_array_index(c->ops, struct mm_op, i);
	uint64_t first = op->start >> PAGE_SHIFT, last = (op->end - 1) >> PAGE_SHIFT;

	c->seq++;
	if (!done)
		last = first - 1; /* nothing to apply */
	/* Visit the pages of the range that have records: by address if the range is the
	 * smaller, else every record (in creation order); either way a fixed order. */
	if (last < first) {
		/* failed: no page changes */
	} else if (last - first < c->pages->len) {
		for (uint64_t vpn = first; vpn <= last; vpn++) {
			struct shadow_page *p = page_find(c, vpn);
			if (p)
				op_apply(c, op, p, t);
		}
	} else {
		for (unsigned j = 0; j < c->pages->len; j++) {
			struct shadow_page *p = &g_array_index(c->pages, struct shadow_page, j);
			if (p->vpn >= first && p->vpn <= last)
				op_apply(c, op, p, t);
		}
	}
	op->active = false;
	c->nr_active--;
}

void mm_check_mmap_file(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			unsigned long end, unsigned long vm_flags, uint32_t file_id,
			uint64_t pgoff, bool shared)
{
	struct mm_checker *c = mm->checker;
	int i = mm_check_op_begin(t, mm, MOP_MMAP, start, end, vm_flags);
	struct mm_op *op = &g_array_index(c->ops, struct mm_op, i);
	op->file_id = file_id;
	op->pgoff = pgoff;
	op->shared = shared;
	mm_check_op_end(t, mm, i, true);
}

/* A syscall in flight of a kind in `kinds` (bit mask of 1 << mm_op_kind) over addr that
 * began after sequence number `after`. */
static bool op_in_flight(const struct mm_checker *c, unsigned kinds, unsigned long addr,
			 uint64_t after)
{
	if (!c->nr_active)
		return false;
	for (unsigned i = 0; i < c->ops->len; i++) {
		const struct mm_op *op = &g_array_index(c->ops, struct mm_op, i);
		if (op->active && (kinds & (1u << op->kind)) && op->start <= addr &&
		    addr < op->end && op->begin_seq > after)
			return true;
	}
	return false;
}

#define ZAPS ((1u << MOP_MUNMAP) | (1u << MOP_DONTNEED))
#define PROT_CHANGES ((1u << MOP_MPROTECT) | (1u << MOP_MUNMAP))

void mm_check_access(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		     uint64_t pfn, bool write)
{
	struct mm_checker *c = mm->checker;
	const struct page *pg = pfn_to_page(mm->zone, pfn);
	uint64_t paddr = (pfn << PAGE_SHIFT) | (addr & ~PAGE_MASK);
	struct shadow_page *p = page_get(c, mm, addr >> PAGE_SHIFT);
	const char *path = write ? "user store (mmu_access)" : "user load (mmu_access)";

	c->seq++;
	if (p->unmapped && !op_in_flight(c, 1u << MOP_MUNMAP, addr, 0))
		mm_violation(t, mm, addr, "access-after-munmap-faults", path,
			     "%s of 0x%lx succeeded after munmap returned (through pfn %llu)",
			     write ? "store" : "load", addr, (unsigned long long)pfn);
	if (write) {
		c->stores++;
		if (p->no_write && !op_in_flight(c, PROT_CHANGES, addr, 0))
			mm_violation(t, mm, addr, "store-honours-protection", path,
				     "store to 0x%lx succeeded through pfn %llu, but mprotect made "
				     "the page read-only and returned",
				     addr, (unsigned long long)pfn);
		if (pg->flags & (PG_zero | PG_free))
			mm_violation(t, mm, addr, "store-reaches-live-page", path,
				     "store to 0x%lx lands in pfn %llu, which is %s", addr,
				     (unsigned long long)pfn,
				     (pg->flags & PG_zero) ? "the zero page" : "free");
		uint64_t value = ((uint64_t)(t->id + 1) << 40) | c->stores;
		unsigned off = addr & ~PAGE_MASK;
		phys_store(c, pg, off, value);
		if (p->file_id && !p->unmapped && p->shared) {
			/* MAP_SHARED: the store lands in the file's page cache page. */
			if (!(pg->flags & PG_file) || pg->f_mapping->id != p->file_id ||
			    pg->index != p->pgoff)
				mm_violation(t, mm, addr, "shared-store-reaches-page-cache", path,
					     "store to 0x%lx of a shared mapping of file page %llu "
					     "lands in pfn %llu, which is not that page cache page",
					     addr, (unsigned long long)p->pgoff,
					     (unsigned long long)pfn);
			uint64_t *f = smap_find(&c->sh->file_map, file_key(p->file_id, p->pgoff, off));
			if (!f) {
				uint16_t o = (uint16_t)off;
				g_array_append_val(offs_get(c, (uint64_t)p->file_id << 40 | p->pgoff,
							    0)->off, o);
				f = smap_insert(&c->sh->file_map, file_key(p->file_id, p->pgoff, off));
			}
			f[BYTE_VALUE] = value;
			f[BYTE_SEQ] = c->seq;
			ring_push(p, t, MEV_STORE, off, value);
			return;
		}
		if (p->file_id && !p->unmapped && (pg->flags & PG_file))
			mm_violation(t, mm, addr, "private-store-stays-private", path,
				     "store to 0x%lx of a private file mapping lands in page cache "
				     "pfn %llu: every mapping of the file would see it", addr,
				     (unsigned long long)pfn);
		uint64_t *sb = smap_insert(&c->byte_map, addr);
		sb[BYTE_VALUE] = value;
		sb[BYTE_SEQ] = c->seq;
		ring_push(p, t, MEV_STORE, addr & ~PAGE_MASK, value);
		return;
	}

	c->loads++;
	if (p->no_read && !op_in_flight(c, PROT_CHANGES, addr, 0))
		mm_violation(t, mm, addr, "load-honours-protection", path,
			     "load of 0x%lx succeeded through pfn %llu, but mprotect made the "
			     "page PROT_NONE and returned", addr, (unsigned long long)pfn);
	/* What the access reads: the frame's contents (the zero page holds zeros). */
	uint64_t got = 0;
	if (!(pg->flags & PG_zero)) {
		const uint64_t *ph = smap_find(&c->sh->phys_map, paddr);
		if (ph && ph[PHYS_GEN] == pg->content_gen)
			got = ph[PHYS_VALUE];
	}
	/*
	 * What it must read.  A shared file mapping: the file.  Otherwise the last store, or
	 * once a zap has returned after it, what a fresh fault maps: zeros (anonymous), the
	 * file (private file mapping), or zeros beyond the bytes the file had when a private
	 * copy of it was mapped (the copy's bytes are then stores of their own).
	 */
	uint64_t want = 0, fresh = 0;
	bool zero_ok = false;
	unsigned off = addr & ~PAGE_MASK;
	if (p->file_id && !p->unmapped && p->shared) {
		want = file_value(c, p->file_id, p->pgoff, off);
		ring_push(p, t, MEV_LOAD, off, got);
		if (got != want)
			mm_violation(t, mm, addr, "load-returns-last-store", path,
				     "load of 0x%lx (shared mapping of file page %llu) through pfn "
				     "%llu read 0x%llx, but the file holds 0x%llx", addr,
				     (unsigned long long)p->pgoff, (unsigned long long)pfn,
				     (unsigned long long)got, (unsigned long long)want);
		return;
	}
	if (p->file_id && !p->unmapped) {
		uint64_t base = file_value(c, p->file_id, p->pgoff, off);
		bool copied = p->cow_seq && p->cow_seq >= p->zap_begin;
		want = copied ? 0 : base;
		fresh = base; /* a zap drops the copy: the file shows through again */
		/* A copy mapped while a zap ran, or a zap running now: either side. */
		if (copied && (p->cow_seq < p->zap_end || op_in_flight(c, ZAPS, addr, p->cow_seq)))
			zero_ok = true;
	}
	const uint64_t *sb = smap_find(&c->byte_map, addr);
	if (sb) {
		if (sb[BYTE_SEQ] >= p->zap_begin)
			want = sb[BYTE_VALUE];
		if (sb[BYTE_SEQ] >= p->zap_begin &&
		    (sb[BYTE_SEQ] < p->zap_end || op_in_flight(c, ZAPS, addr, sb[BYTE_SEQ])))
			zero_ok = true; /* stored while a zap ran, or one runs now */
	}
	ring_push(p, t, MEV_LOAD, off, got);
	if (got != want && !(zero_ok && got == fresh)) {
		/* Name the zap that made a fresh page the only legal contents. */
		bool zapped = sb && sb[BYTE_SEQ] < p->zap_begin;
		mm_violation(t, mm, addr, "load-returns-last-store", path,
			     "load of 0x%lx through pfn %llu read 0x%llx, but the last store "
			     "there left 0x%llx%s%s", addr, (unsigned long long)pfn,
			     (unsigned long long)got, (unsigned long long)want,
			     zero_ok ? " (or what a fresh fault maps: a zap raced with it)" : "",
			     !zapped ? "" : p->zap_kind == MOP_DONTNEED ?
			     p->file_id ? ": madvise(MADV_DONTNEED) returned after that store, so "
			     "the page must read the file again (old data came back)" :
			     ": madvise(MADV_DONTNEED) returned after that store, so the page "
			     "must read zero (old data came back)" :
			     ": munmap returned after that store");
	}
}
