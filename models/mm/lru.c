/*
 * LRU membership of user pages (mm/swap.c: folio_add_lru, folio_batch_move_lru,
 * lru_add_drain, release_pages / folios_put_refs; mm/vmscan.c lruvec).  Spec:
 * kernel-algorithms.md A.7 step 9.
 *
 * A new anonymous page is not put on the LRU at once: folio_add_lru takes a reference
 * and queues it on the CPU's batch of 15 (CPU-local stores only); the batch's pages move
 * onto the node's list under lruvec->lru_lock when the batch is full, so the shared lock
 * is taken once per 15 faults.  A queued page keeps that reference until the drain, so
 * a page unmapped meanwhile is freed by the drain, and a COW fault that finds a page's
 * refcount raised by its own CPU's batch drains it first (wp_can_reuse_anon_folio).
 * Freeing pages takes lru_lock once per batch of freed pages that are on the list.
 *
 * Page cache pages join the list too when the run has an rmap walker (zone->lru_file),
 * which isolates pages from its tail (isolate_lru_folios) and puts them back at its head
 * (putback_lru_folios).
 *
 * Not modelled: active/inactive lists and aging (the walker rotates what it finds
 * referenced), per-memcg lruvecs (one cgroup), lru_add_drain_all.
 */
#include "mm/lru.h"
#include "hw/hw.h"
#include "die.h"

void lru_init(struct zone *z)
{
	z->lruvec = g_aligned_alloc0(1, sizeof(struct lruvec), 64);
	spin_lock_init(&z->lruvec->lru_lock, "&lruvec->lru_lock");
	z->lru_add = g_aligned_alloc0((gsize)z->nr_cpus, sizeof(struct folio_batch), 64);
}

void lru_destroy(struct zone *z)
{
	g_aligned_free(z->lruvec);
	g_aligned_free(z->lru_add);
}

/* lruvec_add_folio: at the head of the list.  lru_lock held. */
static void lruvec_add(struct sim_task *t, struct lruvec *lv, struct page *p)
{
	spin_assert_held(t, &lv->lru_lock);
	hw_store(t, p, 64);
	p->flags |= PG_lru;
	p->lru_prev = NULL;
	p->lru_next = lv->head;
	if (lv->head) {
		hw_store(t, lv->head, 64);
		lv->head->lru_prev = p;
	} else {
		lv->tail = p;
	}
	lv->head = p;
	lv->nr_pages++;
}

/* lruvec_del_folio.  lru_lock held. */
static void lruvec_del(struct sim_task *t, struct lruvec *lv, struct page *p)
{
	spin_assert_held(t, &lv->lru_lock);
	sim_bug_on(!(p->flags & PG_lru));
	if (p->lru_prev) {
		hw_store(t, p->lru_prev, 64);
		p->lru_prev->lru_next = p->lru_next;
	} else {
		lv->head = p->lru_next;
	}
	if (p->lru_next) {
		hw_store(t, p->lru_next, 64);
		p->lru_next->lru_prev = p->lru_prev;
	} else {
		lv->tail = p->lru_prev;
	}
	hw_store(t, p, 64);
	p->lru_prev = p->lru_next = NULL;
	p->flags &= ~PG_lru;
	lv->nr_pages--;
}

/* folio_batch_move_lru: the batch's pages onto the list under one lru_lock section,
 * then the batch's references go (a page nobody maps any more is freed). */
static void folio_batch_move_lru(struct sim_task *t, struct zone *z, struct folio_batch *fb)
{
	struct lruvec *lv = z->lruvec;
	struct page *last_ref[FOLIO_BATCH_SIZE];
	unsigned nr_free = 0;

	spin_lock(t, &lv->lru_lock);
	hw_store(t, lv, sizeof(*lv));
	for (unsigned i = 0; i < fb->nr; i++) {
		struct page *p = fb->pages[i];
		hw_load(t, &p->refcount, sizeof(p->refcount));
		if (p->refcount > 1)
			lruvec_add(t, lv, p);
	}
	spin_unlock(t, &lv->lru_lock);
	for (unsigned i = 0; i < fb->nr; i++) {
		struct page *p = fb->pages[i];
		hw_rmw(t, &p->refcount, sizeof(p->refcount));
		sim_bug_on(p->refcount <= 0);
		if (--p->refcount == 0)
			last_ref[nr_free++] = p;
	}
	hw_store(t, &fb->nr, sizeof(fb->nr));
	fb->nr = 0;
	if (nr_free)
		folios_free(t, z, last_ref, nr_free);
}

void folio_add_lru(struct sim_task *t, struct zone *z, struct page *p)
{
	struct folio_batch *fb = &z->lru_add[t->cpu];

	hw_rmw(t, &p->refcount, sizeof(p->refcount)); /* folio_get */
	p->refcount++;
	hw_store(t, &fb->nr, sizeof(fb->nr));
	hw_store(t, &fb->pages[fb->nr], sizeof(fb->pages[0]));
	fb->pages[fb->nr++] = p;
	if (fb->nr == FOLIO_BATCH_SIZE)
		folio_batch_move_lru(t, z, fb);
}

void lru_add_drain_all(struct sim_task *t, struct zone *z)
{
	/* Each CPU's batch, charged to the caller: the model has no per-CPU workers, so
	 * the drains run in the caller's time rather than on each CPU's kworker. */
	for (int cpu = 0; cpu < z->nr_cpus; cpu++) {
		struct folio_batch *fb = &z->lru_add[cpu];
		hw_load(t, &fb->nr, sizeof(fb->nr));
		if (fb->nr)
			folio_batch_move_lru(t, z, fb);
	}
}

void folio_split_lru(struct sim_task *t, struct zone *z, struct page *head, unsigned nr)
{
	struct lruvec *lv = z->lruvec;
	spin_lock(t, &lv->lru_lock);
	for (unsigned i = 1; i < nr; i++)
		lruvec_add(t, lv, head + i);
	spin_unlock(t, &lv->lru_lock);
}

void lru_add_drain(struct sim_task *t, struct zone *z)
{
	struct folio_batch *fb = &z->lru_add[t->cpu];
	hw_load(t, &fb->nr, sizeof(fb->nr));
	if (fb->nr)
		folio_batch_move_lru(t, z, fb);
}

bool folio_in_lru_batch(const struct zone *z, int cpu, const struct page *p)
{
	const struct folio_batch *fb = &z->lru_add[cpu];
	for (unsigned i = 0; i < fb->nr; i++)
		if (fb->pages[i] == p)
			return true;
	return false;
}

uint64_t lru_batch_pages(const struct zone *z)
{
	uint64_t n = 0;
	for (int c = 0; c < z->nr_cpus; c++)
		n += z->lru_add[c].nr;
	return n;
}

void folios_free(struct sim_task *t, struct zone *z, struct page **pages, unsigned n)
{
	struct lruvec *lv = z->lruvec;
	bool locked = false;
	unsigned charged = 0;

	for (unsigned i = 0; i < n; i++) {
		struct page *p = pages[i];
		sim_bug_on(p->refcount || p->mapcount);
		if (p->flags & PG_lru) {
			if (!locked) { /* folio_lruvec_relock_irqsave: once for the batch */
				spin_lock(t, &lv->lru_lock);
				locked = true;
			}
			lruvec_del(t, lv, p);
		}
	}
	if (locked)
		spin_unlock(t, &lv->lru_lock);
	for (unsigned i = 0; i < n; i++) {
		struct page *p = pages[i];
		bool huge = p->flags & PG_head; /* a THP folio: its head, 512 pages */
		if (p->memcg) {
			charged += huge ? HPAGE_PMD_NR : 1;
			p->memcg = NULL;
		}
		p->mapping = NULL; /* free_pages_prepare */
		count_event(&t->stats, EV_PGFREE);
		if (huge)
			free_pages_huge(t, z, p);
		else
			free_page(t, z, p);
	}
	if (charged)
		mem_cgroup_uncharge_pages(t, z, charged);
}

void folio_put(struct sim_task *t, struct zone *z, struct page *p)
{
	hw_rmw(t, &p->refcount, sizeof(p->refcount));
	sim_bug_on(p->refcount <= 0);
	if (--p->refcount == 0)
		folios_free(t, z, &p, 1);
}

/*
 * isolate_lru_folios: up to nr pages from the cold end (the tail) of the list, each taken
 * off it with a reference of the caller's (folio_try_get: a page whose last reference is
 * being dropped is skipped, its freer takes it off the list).  One lru_lock section.
 */
unsigned isolate_lru_folios(struct sim_task *t, struct zone *z, unsigned nr, struct page **out)
{
	struct lruvec *lv = z->lruvec;
	unsigned n = 0;

	spin_lock(t, &lv->lru_lock);
	hw_load(t, lv, sizeof(*lv));
	struct page *p = lv->tail;
	while (p && n < nr) {
		struct page *prev = p->lru_prev;
		hw_rmw(t, &p->refcount, sizeof(p->refcount));
		if (p->refcount > 0) {
			p->refcount++;
			lruvec_del(t, lv, p);
			out[n++] = p;
		}
		p = prev;
	}
	spin_unlock(t, &lv->lru_lock);
	return n;
}

/*
 * move_folios_to_lru: isolated pages back on the list (at the head: rotated, seen again
 * last) in one lru_lock section, then the isolation references go; a page that lost its
 * last other reference meanwhile is freed (its PG_lru set first, so the freer takes it
 * off the list under lru_lock).
 */
void putback_lru_folios(struct sim_task *t, struct zone *z, struct page **pages, unsigned n)
{
	struct lruvec *lv = z->lruvec;
	unsigned nr_free = 0;

	if (!n)
		return;
	spin_lock(t, &lv->lru_lock);
	hw_store(t, lv, sizeof(*lv));
	for (unsigned i = 0; i < n; i++) {
		struct page *p = pages[i];
		hw_load(t, &p->refcount, sizeof(p->refcount));
		if (p->refcount > 1)
			lruvec_add(t, lv, p);
	}
	spin_unlock(t, &lv->lru_lock);
	for (unsigned i = 0; i < n; i++) {
		struct page *p = pages[i];
		hw_rmw(t, &p->refcount, sizeof(p->refcount));
		sim_bug_on(p->refcount <= 0);
		if (--p->refcount == 0)
			pages[nr_free++] = p; /* nr_free <= i: reuses the slots already done */
	}
	if (nr_free)
		folios_free(t, z, pages, nr_free);
}

void lru_add_boot(struct zone *z, struct page *p)
{
	struct lruvec *lv = z->lruvec;
	p->flags |= PG_lru;
	p->lru_prev = NULL;
	p->lru_next = lv->head;
	if (lv->head)
		lv->head->lru_prev = p;
	else
		lv->tail = p;
	lv->head = p;
	lv->nr_pages++;
}
