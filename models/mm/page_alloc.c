/*
 * The page allocator: a zone of frames with per-CPU page lists (pcp).  Allocation pops the
 * local pcp list (CPU-local, no shared traffic); an empty list is refilled with PCP_BATCH
 * frames under zone->lock, and a list above PCP_HIGH drains a batch back under the same
 * lock, as mm/page_alloc.c's rmqueue_bulk/free_pcppages_bulk.  struct pages are created
 * on first use, so memory is only spent on frames a run touches.
 */
#include <string.h>
#include "mm.h"
#include "mm/lru.h"
#include "hw/hw.h"
#include "die.h"

struct zone *zone_create(uint64_t mem_bytes, int nr_cpus)
{
	/* Model objects are line-aligned, so which share a cache line is deterministic. */
	struct zone *z = g_aligned_alloc0(1, sizeof(struct zone), 64);

	spin_lock_init(&z->lock, "&zone->lock");
	z->max_pfn = mem_bytes >> PAGE_SHIFT;
	z->nr_chunks = (unsigned)(z->max_pfn / PAGES_PER_CHUNK + 1);
	z->chunk = g_new0(struct page *, z->nr_chunks);
	z->free = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	z->free_huge = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	z->next_fresh = 1; /* pfn 0 is never handed out: a zero PTE means "none" */
	z->nr_free = z->max_pfn;
	z->nr_cpus = nr_cpus;
	z->pcp = g_aligned_alloc0((gsize)nr_cpus, sizeof(struct per_cpu_pages), 64);
	/* The shared zero page, reserved at boot. */
	z->zero_pfn = z->next_fresh++;
	z->nr_free--;
	z->chunk[0] = g_aligned_alloc0(PAGES_PER_CHUNK, sizeof(struct page), 64);
	for (unsigned i = 0; i < PAGES_PER_CHUNK; i++)
		z->chunk[0][i].pfn = i;
	struct page *zp = pfn_to_page(z, z->zero_pfn);
	zp->flags = PG_zero;
	zp->refcount = 1;
	lru_init(z);
	memcg_init(z);
	return z;
}

void zone_destroy(struct zone *z)
{
	lru_destroy(z);
	memcg_destroy(z);
	for (unsigned i = 0; i < z->nr_chunks; i++)
		g_aligned_free(z->chunk[i]);
	g_free(z->chunk);
	g_array_free(z->free, TRUE);
	g_array_free(z->free_huge, TRUE);
	g_aligned_free(z->pcp);
	g_aligned_free(z);
}

/* The mem_map chunk holding pfn exists (created on first use). */
static void zone_chunk_init(struct zone *z, uint64_t pfn)
{
	unsigned c = (unsigned)(pfn / PAGES_PER_CHUNK);
	if (!z->chunk[c]) {
		z->chunk[c] = g_aligned_alloc0(PAGES_PER_CHUNK, sizeof(struct page), 64);
		for (unsigned i = 0; i < PAGES_PER_CHUNK; i++) {
			z->chunk[c][i].pfn = (uint64_t)c * PAGES_PER_CHUNK + i;
			z->chunk[c][i].flags = PG_free;
		}
	}
}

static uint64_t zone_take(struct zone *z)
{
	if (z->free->len) {
		uint64_t pfn = g_array_index(z->free, uint64_t, z->free->len - 1);
		g_array_set_size(z->free, z->free->len - 1);
		return pfn;
	}
	if (z->next_fresh > z->max_pfn)
		return 0;
	uint64_t pfn = z->next_fresh++;
	zone_chunk_init(z, pfn);
	return pfn;
}

/* rmqueue_bulk: move up to one batch from the zone to this CPU's list. */
static void pcp_refill(struct sim_task *t, struct zone *z, struct per_cpu_pages *pcp)
{
	spin_lock(t, &z->lock);
	count_event(&t->stats, EV_ZONE_LOCK);
	cpu_work(t, t->machine->path.zone_refill);
	for (unsigned i = 0; i < PCP_BATCH; i++) {
		uint64_t pfn = zone_take(z);
		if (!pfn)
			break;
		pfn_to_page(z, pfn)->flags = PG_free;
		pcp->pfn[pcp->count++] = pfn;
		z->nr_free--;
	}
	spin_unlock(t, &z->lock);
}

/* free_pcppages_bulk: give the oldest batch back to the zone. */
static void pcp_drain(struct sim_task *t, struct zone *z, struct per_cpu_pages *pcp)
{
	spin_lock(t, &z->lock);
	count_event(&t->stats, EV_ZONE_LOCK);
	cpu_work(t, t->machine->path.zone_refill);
	for (unsigned i = 0; i < PCP_BATCH; i++)
		g_array_append_val(z->free, pcp->pfn[i]);
	memmove(pcp->pfn, pcp->pfn + PCP_BATCH, (pcp->count - PCP_BATCH) * sizeof(uint64_t));
	pcp->count -= PCP_BATCH;
	z->nr_free += PCP_BATCH;
	spin_unlock(t, &z->lock);
}

struct page *alloc_page(struct sim_task *t, struct zone *z)
{
	struct per_cpu_pages *pcp = &z->pcp[t->cpu];

	cpu_work(t, t->machine->path.page_alloc);
	if (!pcp->count)
		pcp_refill(t, z, pcp);
	if (!pcp->count)
		return NULL;
	struct page *p = pfn_to_page(z, pcp->pfn[--pcp->count]);
	sim_bug_on(!(p->flags & PG_free));
	hw_store(t, p, sizeof(*p));
	p->flags = 0;
	p->refcount = 1;
	p->mapcount = 0;
	p->mm = NULL;
	p->index = 0;
	/* A user page's fields (a table page's are set by pt_alloc_table). */
	p->mapping = NULL;
	p->memcg = NULL;
	p->lru_prev = p->lru_next = NULL;
	return p;
}

/*
 * GFP_NOWAIT (no direct reclaim, no sleep): the caller may be inside an RCU read-side
 * section.  The model has no watermarks; z->nowait_fail stands for the chance that the
 * free pages are below the min watermark, drawn from the task's own stream (so no other
 * task's schedule changes it), and only when it is strictly between 0 and 1: the
 * settings 0 and 1 leave the task's stream, and so its program's rand(), untouched.
 */
struct page *alloc_page_nowait(struct sim_task *t, struct zone *z)
{
	double p = z->nowait_fail;
	if (p >= 1.0 || (p > 0.0 && rng_double(&t->rng) < p)) {
		cpu_work(t, t->machine->path.page_alloc); /* got as far as the watermark check */
		count_event(&t->stats, EV_PGALLOC_NOWAIT_FAIL);
		return NULL;
	}
	return alloc_page(t, z);
}

void free_page(struct sim_task *t, struct zone *z, struct page *p)
{
	struct per_cpu_pages *pcp = &z->pcp[t->cpu];

	sim_bug_on(p->flags & (PG_free | PG_zero));
	sim_bug_on(p->refcount != 0 || p->mapcount != 0);
	/* folios_free takes a user page off the LRU and uncharges it first. */
	sim_bug_on(!(p->flags & PG_table) && ((p->flags & PG_lru) || p->memcg));
	cpu_work(t, t->machine->path.page_alloc);
	hw_store(t, p, sizeof(*p));
	p->flags = PG_free;
	p->mm = NULL;
	pcp->pfn[pcp->count++] = p->pfn;
	if (pcp->count >= PCP_HIGH + PCP_BATCH / 2)
		pcp_drain(t, z, pcp);
}

/*
 * The order-9 path (__rmqueue for a THP): huge pages never come from the pcp lists; the
 * zone lock is taken for each allocation and each free.  Blocks are 512 frames aligned
 * to 512, so a tail's head is at pfn & ~511.  The model keeps order-0 and order-9 free
 * frames apart (no buddy merging or splitting): a block comes from the order-9 free list
 * or from never-used frames, whose alignment gap goes to the order-0 free list; no block
 * left means failure, and the caller falls back to 4 KiB pages.
 */
struct page *alloc_pages_huge(struct sim_task *t, struct zone *z)
{
	uint64_t head = 0;
	bool fresh = false;

	cpu_work(t, t->machine->path.page_alloc);
	spin_lock(t, &z->lock);
	count_event(&t->stats, EV_ZONE_LOCK);
	if (z->free_huge->len) {
		head = g_array_index(z->free_huge, uint64_t, z->free_huge->len - 1);
		g_array_set_size(z->free_huge, z->free_huge->len - 1);
	} else {
		uint64_t start = (z->next_fresh + HPAGE_PMD_NR - 1) & ~(uint64_t)(HPAGE_PMD_NR - 1);
		if (start + HPAGE_PMD_NR - 1 <= z->max_pfn) {
			for (uint64_t pfn = z->next_fresh; pfn < start; pfn++) {
				zone_chunk_init(z, pfn);
				g_array_append_val(z->free, pfn);
			}
			zone_chunk_init(z, start);
			z->next_fresh = start + HPAGE_PMD_NR;
			head = start;
			fresh = true;
		}
	}
	if (head)
		z->nr_free -= HPAGE_PMD_NR;
	spin_unlock(t, &z->lock);
	if (!head)
		return NULL;
	/* prep_compound_page: every struct page of the folio is written. */
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++) {
		struct page *p = pfn_to_page(z, head + i);
		sim_bug_on(!fresh && !(p->flags & PG_free)); /* (never-used frames: any) */
		hw_store(t, p, sizeof(*p));
		p->flags = i ? PG_tail : PG_head;
		p->refcount = i ? 0 : 1;
		p->mapcount = 0;
		p->mm = NULL;
		p->index = 0;
		p->mapping = NULL;
		p->lru_prev = p->lru_next = NULL;
		p->memcg = NULL;
	}
	return pfn_to_page(z, head);
}

void free_pages_huge(struct sim_task *t, struct zone *z, struct page *head)
{
	sim_bug_on(!(head->flags & PG_head) || head->refcount != 0 || head->mapcount != 0);
	cpu_work(t, t->machine->path.page_alloc);
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++) {
		struct page *p = head + i;
		hw_store(t, p, sizeof(*p));
		p->flags = PG_free;
		p->mm = NULL;
	}
	spin_lock(t, &z->lock);
	count_event(&t->stats, EV_ZONE_LOCK);
	g_array_append_val(z->free_huge, head->pfn);
	z->nr_free += HPAGE_PMD_NR;
	spin_unlock(t, &z->lock);
}

uint64_t zone_pages_in_use(const struct zone *z)
{
	uint64_t on_pcp = 0;
	for (int i = 0; i < z->nr_cpus; i++)
		on_pcp += z->pcp[i].count;
	/* Frames ever handed out, minus those back in the zone or on a pcp list, minus the
	 * zero page. */
	return (z->max_pfn - z->nr_free) - on_pcp - 1;
}

struct page *zone_alloc_boot(struct zone *z)
{
	uint64_t pfn = zone_take(z);
	sim_bug_on(!pfn);
	z->nr_free--;
	struct page *p = pfn_to_page(z, pfn);
	p->flags = 0;
	p->refcount = 1;
	return p;
}
