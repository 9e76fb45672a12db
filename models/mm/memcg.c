/*
 * Memory-cgroup charging of user pages (mm/memcontrol.c: mem_cgroup_charge, try_charge,
 * consume_stock, refill_stock, uncharge_batch; mm/page_counter.c).  Spec:
 * kernel-algorithms.md A.7 step 5 ("LOCAL stock; page_counter A on miss").
 *
 * Every task of the run is in one cgroup with no limit.  A charge first takes a page
 * from its CPU's stock (memcg_stock_pcp: CPU-local stores); an empty stock charges
 * MEMCG_CHARGE_BATCH pages at once to the cgroup's page_counter (one atomic on the shared
 * usage line) and keeps the rest.  Freed pages are uncharged per free batch, one atomic
 * per batch (uncharge_batch).  Invariant (checked): usage = pages charged + pages stocked.
 *
 * Not modelled: limits, reclaim and OOM, the hierarchy (one counter), stock draining
 * (drain_all_stock), the kernel-memory (obj_cgroup) stock.
 */
#include "mm/lru.h"
#include "hw/hw.h"
#include "die.h"

void memcg_init(struct zone *z)
{
	z->memcg = g_aligned_alloc0(1, sizeof(struct mem_cgroup), 64);
	z->memcg_stock = g_aligned_alloc0((gsize)z->nr_cpus, sizeof(struct memcg_stock_pcp), 64);
}

void memcg_destroy(struct zone *z)
{
	g_aligned_free(z->memcg);
	g_aligned_free(z->memcg_stock);
}

/* page_counter_try_charge with no limit: one atomic add on the shared line. */
static void page_counter_charge(struct sim_task *t, struct page_counter *c, long nr)
{
	hw_rmw(t, &c->usage, sizeof(c->usage));
	c->usage += nr;
}

int mem_cgroup_charge(struct sim_task *t, struct zone *z, struct page *p)
{
	return mem_cgroup_charge_folio(t, z, p, 1);
}

int mem_cgroup_charge_folio(struct sim_task *t, struct zone *z, struct page *p, unsigned nr)
{
	struct mem_cgroup *memcg = z->memcg;
	struct memcg_stock_pcp *stock = &z->memcg_stock[t->cpu];

	/* consume_stock (local_lock'd per-CPU data: no shared traffic); a charge larger
	 * than the batch never looks at the stock (try_charge_memcg). */
	if (nr <= MEMCG_CHARGE_BATCH)
		hw_load(t, stock, sizeof(*stock));
	if (nr <= MEMCG_CHARGE_BATCH && stock->cached == memcg && stock->nr_pages >= nr) {
		hw_store(t, stock, sizeof(*stock));
		stock->nr_pages -= nr;
	} else if (nr > MEMCG_CHARGE_BATCH) {
		/* try_charge: batch = max(MEMCG_CHARGE_BATCH, nr_pages), no surplus left. */
		page_counter_charge(t, &memcg->memory, nr);
	} else {
		/* try_charge: a batch to the counter, the surplus into the stock (refill_stock;
		 * a stock cached for another cgroup would be drained first: there is one). */
		page_counter_charge(t, &memcg->memory, MEMCG_CHARGE_BATCH);
		hw_store(t, stock, sizeof(*stock));
		stock->cached = memcg;
		stock->nr_pages += MEMCG_CHARGE_BATCH - nr;
	}
	hw_store(t, &p->memcg, sizeof(p->memcg)); /* commit_charge: folio->memcg_data */
	p->memcg = memcg;
	return 0;
}

void mem_cgroup_uncharge_pages(struct sim_task *t, struct zone *z, unsigned n)
{
	struct page_counter *c = &z->memcg->memory;
	hw_rmw(t, &c->usage, sizeof(c->usage)); /* page_counter_uncharge */
	sim_bug_on(c->usage < (long)n);
	c->usage -= n;
}

long memcg_stocked_pages(const struct zone *z)
{
	long n = 0;
	for (int c = 0; c < z->nr_cpus; c++)
		n += z->memcg_stock[c].nr_pages;
	return n;
}
