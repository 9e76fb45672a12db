/*
 * The LRU lists and memory-cgroup charging of user pages (lru.c, memcg.c).  Both have a
 * CPU-local fast path and a shared slow path taken once per batch, which is what makes
 * them cheap per fault (spec: kernel-algorithms.md A.7 steps 5 and 9, line LOCAL).
 */
#ifndef MMSIM_LRU_H
#define MMSIM_LRU_H

#include "mm/mm.h"

/* ---- lru.c ---- */

/* folio_batch: PAGEVEC_SIZE / FOLIO_BATCH_SIZE = 15 (include/linux/pagevec.h). */
#define FOLIO_BATCH_SIZE 15

/* The node's LRU (struct lruvec of the run's one node and memcg): one list here, as the
 * model has no active/inactive aging yet.  The list and PG_lru of its pages: lru_lock. */
struct lruvec {
	struct spinlock lru_lock;
	struct page *head, *tail;
	unsigned long nr_pages;
} __attribute__((aligned(64)));

/* cpu_fbatches.lru_add: pages waiting to go onto the LRU, each holding a reference.
 * CPU-local (only its CPU touches it; no lock). */
struct folio_batch {
	unsigned nr;
	struct page *pages[FOLIO_BATCH_SIZE];
} __attribute__((aligned(64)));

void lru_init(struct zone *z);
void lru_destroy(struct zone *z);
/* folio_add_lru (folio_add_lru_vma): take a reference, queue on this CPU's batch; a full
 * batch moves to the LRU under lru_lock (folio_batch_move_lru). */
void folio_add_lru(struct sim_task *t, struct zone *z, struct page *p);
/* lru_add_drain: move this CPU's batch to the LRU now. */
void lru_add_drain(struct sim_task *t, struct zone *z);
/* lru_add_drain_all: every CPU's batch (khugepaged, before it isolates pages). */
void lru_add_drain_all(struct sim_task *t, struct zone *z);
/* lru_add_split_folio: the tails of a folio split into nr order-0 pages join the LRU
 * (under lru_lock once); each holds the reference of its own mapping. */
void folio_split_lru(struct sim_task *t, struct zone *z, struct page *head, unsigned nr);
/* Is p queued in cpu's batch (so that batch holds one of its references)? */
bool folio_in_lru_batch(const struct zone *z, int cpu, const struct page *p);
/* Pages held only by a batch reference (not mapped anywhere): the checker counts them. */
uint64_t lru_batch_pages(const struct zone *z);
/*
 * release_pages / folios_put: free n user pages whose last reference is gone, as one
 * batch: one lru_lock section for those on the LRU, one memcg uncharge, then the
 * allocator.  The caller has flushed every translation to them.
 */
void folios_free(struct sim_task *t, struct zone *z, struct page **pages, unsigned n);
/* folio_put: drop a reference; the last one frees the page. */
void folio_put(struct sim_task *t, struct zone *z, struct page *p);
/* isolate_lru_folios: up to nr pages off the cold end of the list into out, each with a
 * reference of the caller's and PG_lru clear; returns how many. */
unsigned isolate_lru_folios(struct sim_task *t, struct zone *z, unsigned nr, struct page **out);
/* putback_lru_folios (move_folios_to_lru): isolated pages back at the head of the list,
 * their isolation references dropped (the last one frees the page). */
void putback_lru_folios(struct sim_task *t, struct zone *z, struct page **pages, unsigned n);
/* A page put on the list before the run (a warm page cache): no simulated work. */
void lru_add_boot(struct zone *z, struct page *p);

/* ---- memcg.c ---- */

/* MEMCG_CHARGE_BATCH (include/linux/memcontrol.h): pages charged to the shared counter
 * at once, the rest kept in the CPU's stock. */
#define MEMCG_CHARGE_BATCH 64

/* page_counter: usage is an atomic_long on its own line (the shared one). */
struct page_counter {
	long usage;
} __attribute__((aligned(64)));

struct mem_cgroup {
	struct page_counter memory;
};

/* memcg_stock_pcp: pages already charged to `cached`, consumed without an atomic. */
struct memcg_stock_pcp {
	struct mem_cgroup *cached;
	unsigned nr_pages;
} __attribute__((aligned(64)));

void memcg_init(struct zone *z);
void memcg_destroy(struct zone *z);
/* mem_cgroup_charge of one new user page to the run's cgroup (no limit: never fails). */
int mem_cgroup_charge(struct sim_task *t, struct zone *z, struct page *p);
/* The same for a folio of nr pages (a THP: 512), the charge recorded in its head. */
int mem_cgroup_charge_folio(struct sim_task *t, struct zone *z, struct page *p, unsigned nr);
/* uncharge_batch: n freed pages return their charge to the counter at once. */
void mem_cgroup_uncharge_pages(struct sim_task *t, struct zone *z, unsigned n);
/* Pages sitting in the per-CPU stocks (charged, not used): for the checker. */
long memcg_stocked_pages(const struct zone *z);

#endif
