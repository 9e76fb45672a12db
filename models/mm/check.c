/*
 * Whole-address-space consistency, checked after a run (always in tests, `check = true`
 * in scenarios): every present PTE lies inside a VMA and maps a live page that it alone
 * maps; counters match the tables; the allocator's pages in use are exactly the mapped
 * pages plus the page tables, so a munmapped page that was not freed, or a page freed
 * while mapped, is caught.
 */
#include "mm.h"
#include <stdarg.h>
#include "die.h"

struct check_ctx {
	struct mm_struct *mm;
	struct mm_check_report *r;
	GHashTable *seen;   /* pfn -> 1 */
	long pte_tables;
	long huge_pmds, deposits;
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
	    head->mapcount != 1 || head->refcount != 1)
		fail(c, g_strdup_printf("huge PMD at 0x%lx maps pfn %llu: flags 0x%lx mapcount %d "
					"refcount %d, want a live compound head mapped once", va,
					(unsigned long long)pfn, head->flags, head->mapcount,
					head->refcount));
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
		    (i && (!(p->flags & PG_tail) || p->mapcount || p->refcount)) || p->mm != mm ||
		    p->index != a >> PAGE_SHIFT) {
			fail(c, g_strdup_printf("huge PMD at 0x%lx: page %u (pfn %llu) is not a tail "
						"of it mapping 0x%lx", va, i,
						(unsigned long long)p->pfn, a));
			break;
		}
		if (g_hash_table_contains(c->seen, GSIZE_TO_POINTER(p->pfn)))
			fail(c, g_strdup_printf("pfn %llu mapped twice (again by the huge PMD at 0x%lx)",
						(unsigned long long)p->pfn, va));
		g_hash_table_add(c->seen, GSIZE_TO_POINTER(p->pfn));
		c->r->mapped_pages++;
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
		if (!pte_present(e))
			continue;
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
	/* Every huge PMD keeps exactly one deposited table for its split. */
	if (c.huge_pmds != c.deposits)
		fail(&c, g_strdup_printf("%ld huge PMDs but %ld deposited PTE tables", c.huge_pmds,
					 c.deposits));
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
	/* Tables unlinked by an unmap whose grace period is still running are in use. */
	if (r->pages_in_use !=
	    r->mapped_pages + r->table_pages + (uint64_t)mm->nr_pt_rcu_pending)
		fail(&c, g_strdup_printf("allocator has %llu pages in use but %llu are mapped and "
					 "%llu are page tables (a page leaked or was freed twice)",
					 (unsigned long long)r->pages_in_use,
					 (unsigned long long)r->mapped_pages,
					 (unsigned long long)r->table_pages));
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
	uint64_t begin_seq;
	const struct sim_task *who;
};

struct mm_checker {
	uint64_t seq;                   /* advances at every access and syscall boundary */
	uint64_t loads, stores;
	struct smap page_map, byte_map, phys_map;
	GArray *pages;                  /* struct shadow_page, indexed by page_map */
	GArray *ops;                    /* struct mm_op; inactive slots are reused */
	unsigned nr_active;
	/* pfn -> GArray of uint16_t byte offsets with a phys record, in first-store order:
	 * what a page copy (khugepaged) carries to the new frame.  Looked up, never walked
	 * for output. */
	GHashTable *pfn_offsets;
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
	smap_init(&c->phys_map, 12);
	c->pages = g_array_new(FALSE, TRUE, sizeof(struct shadow_page));
	c->ops = g_array_new(FALSE, TRUE, sizeof(struct mm_op));
	c->pfn_offsets = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)g_array_unref);
	return c;
}

void mm_checker_destroy(struct mm_checker *c)
{
	if (!c)
		return;
	struct smap *maps[] = { &c->page_map, &c->byte_map, &c->phys_map };
	for (int i = 0; i < 3; i++)
		g_free(maps[i]->slot);
	g_array_free(c->pages, TRUE);
	g_array_free(c->ops, TRUE);
	g_hash_table_destroy(c->pfn_offsets);
	g_free(c);
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

void mm_check_event(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		    enum mm_event_kind kind, uint64_t aux)
{
	struct mm_checker *c = mm->checker;
	ring_push(page_get(c, mm, addr >> PAGE_SHIFT), t, kind, addr & ~PAGE_MASK, aux);
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
	[MEV_COLLAPSE] = "khugepaged collapse_huge_page",
	[MEV_COLLAPSE_RELEASE] = "khugepaged __collapse_huge_page_copy",
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
	case MEV_COLLAPSE:
		g_string_append_printf(s, "collapse maps it through the huge PMD (pfn %llu)",
				       (unsigned long long)e->aux);
		break;
	case MEV_COLLAPSE_RELEASE:
		g_string_append_printf(s, "collapse copied pfn %llu and unmaps it",
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

static void phys_offset_add(struct mm_checker *c, uint64_t pfn, unsigned long off)
{
	GArray *a = g_hash_table_lookup(c->pfn_offsets, GSIZE_TO_POINTER(pfn));
	if (!a) {
		a = g_array_new(FALSE, FALSE, sizeof(uint16_t));
		g_hash_table_insert(c->pfn_offsets, GSIZE_TO_POINTER(pfn), a);
	}
	uint16_t o = (uint16_t)off;
	g_array_append_val(a, o);
}

void mm_check_copy_page(struct mm_struct *mm, uint64_t src_pfn, uint64_t dst_pfn)
{
	struct mm_checker *c = mm->checker;
	const struct page *src = pfn_to_page(mm->zone, src_pfn);
	const struct page *dst = pfn_to_page(mm->zone, dst_pfn);
	GArray *a = g_hash_table_lookup(c->pfn_offsets, GSIZE_TO_POINTER(src_pfn));

	for (unsigned i = 0; a && i < a->len; i++) {
		uint16_t off = g_array_index(a, uint16_t, i);
		const uint64_t *ph = smap_find(&c->phys_map, (src_pfn << PAGE_SHIFT) | off);
		if (!ph || ph[PHYS_GEN] != src->content_gen)
			continue; /* an older life of the source frame: it reads as zero */
		uint64_t value = ph[PHYS_VALUE];
		uint32_t n0 = c->phys_map.n;
		uint64_t *d = smap_insert(&c->phys_map, (dst_pfn << PAGE_SHIFT) | off);
		if (c->phys_map.n != n0)
			phys_offset_add(c, dst_pfn, off);
		d[PHYS_VALUE] = value;
		d[PHYS_GEN] = dst->content_gen;
	}
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
		uint32_t n0 = c->phys_map.n;
		uint64_t *ph = smap_insert(&c->phys_map, paddr);
		if (c->phys_map.n != n0)
			phys_offset_add(c, pfn, addr & ~PAGE_MASK);
		ph[PHYS_VALUE] = value;
		ph[PHYS_GEN] = pg->content_gen;
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
		const uint64_t *ph = smap_find(&c->phys_map, paddr);
		if (ph && ph[PHYS_GEN] == pg->content_gen)
			got = ph[PHYS_VALUE];
	}
	/* What it must read: the last store, or zero once a zap has returned after it. */
	uint64_t want = 0;
	bool zero_ok = false;
	const uint64_t *sb = smap_find(&c->byte_map, addr);
	if (sb) {
		want = sb[BYTE_VALUE];
		if (sb[BYTE_SEQ] < p->zap_begin)
			want = 0;
		else if (sb[BYTE_SEQ] < p->zap_end || op_in_flight(c, ZAPS, addr, sb[BYTE_SEQ]))
			zero_ok = true; /* stored while a zap ran, or one runs now */
	}
	ring_push(p, t, MEV_LOAD, addr & ~PAGE_MASK, got);
	if (got != want && !(zero_ok && got == 0)) {
		/* Name the zap that made zero the only legal value. */
		bool zapped = sb && sb[BYTE_SEQ] < p->zap_begin;
		mm_violation(t, mm, addr, "load-returns-last-store", path,
			     "load of 0x%lx through pfn %llu read 0x%llx, but the last store "
			     "there left 0x%llx%s%s", addr, (unsigned long long)pfn,
			     (unsigned long long)got, (unsigned long long)want,
			     zero_ok ? " (or zero: a zap raced with it)" : "",
			     !zapped ? "" : p->zap_kind == MOP_DONTNEED ?
			     ": madvise(MADV_DONTNEED) returned after that store, so the page "
			     "must read zero (old data came back)" :
			     ": munmap returned after that store");
	}
}
