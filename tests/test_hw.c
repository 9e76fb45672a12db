/*
 * The hardware model on a stub clock (no SimGrid): cache LRU and capacity, the coherence
 * directory's costs by CPU relation, atomics, SMT, the TLB levels, INVLPG vs full flush,
 * and shootdowns (IPIs to busy CPUs, lazy CPUs skipped unless tables are freed, debt
 * charged at the target's next sync, no translation left anywhere).  Expected costs are
 * computed from the preset's own numbers, so a change in the arithmetic fails here.
 */
#include <string.h>
#include <glib.h>
#include "tap.h"
#include "clock.h"
#include "hw/hw.h"
#include "hw/hw_model.h"
#include "hw/cache.h"

static struct machine *m;
static struct hw_model *hw;
static struct sim_task task[8];

static struct sim_task *on_cpu(int i, int cpu)
{
	struct sim_task *t = &task[i];
	memset(t, 0, sizeof(*t));
	t->id = i;
	t->cpu = cpu;
	t->name = "t";
	t->machine = m;
	t->hw = hw;
	t->deadline = SIM_TIME_MAX;
	return t;
}

/* The tests' accesses happen one after another in simulated time, as they read: each
 * starts once the previous one (on any CPU) has completed, so no access queues behind
 * another still in flight. */
static sim_time_t latest;

static sim_time_t cost_of(struct sim_task *t, void (*op)(struct sim_task *, const void *, unsigned),
			  const void *addr)
{
	if (t->now < latest)
		t->now = latest;
	sim_time_t t0 = t->now;
	op(t, addr, 8);
	if (t->now > latest)
		latest = t->now;
	return t->now - t0;
}

static sim_time_t cyc(double c)
{
	return ns_to_ps(c / m->freq_ghz);
}

static void test_cache_lru(void)
{
	struct cache c;
	uint64_t ev;
	cache_init(&c, 0.5, 2); /* 8 lines, 4 sets of 2 ways */
	tap_ok(c.nsets == 4 && c.ways == 2, "cache geometry: 4 sets x 2 ways");
	cache_access(&c, 4, &ev); /* set 0 */
	cache_access(&c, 8, &ev); /* set 0 */
	cache_access(&c, 4, &ev); /* 4 is now MRU */
	cache_access(&c, 12, &ev); /* evicts LRU: 8 */
	tap_ok(ev == 8 && cache_probe(&c, 4) && cache_probe(&c, 12) && !cache_probe(&c, 8),
	       "LRU evicts the least recently used way (evicted %llu)", (unsigned long long)ev);
	cache_drop(&c, 4);
	tap_ok(!cache_probe(&c, 4) && cache_probe(&c, 12), "drop removes only that line");
	cache_free(&c);
}

static void test_coherence(void)
{
	static uint64_t x[8] __attribute__((aligned(64)));
	static uint64_t pad[64] __attribute__((aligned(64)));
	/* generic-2s: 2 sockets x 32 cores, one LLC per socket, no SMT. */
	struct sim_task *a = on_cpu(0, 0), *b = on_cpu(1, 1), *r = on_cpu(2, 32);

	sim_time_t c = cost_of(a, hw_store, x);
	tap_ok(c == ns_to_ps(m->cache.dram_local_ns) || c == ns_to_ps(m->cache.dram_remote_ns),
	       "first touch comes from DRAM (%lld ps)", (long long)c);
	tap_ok(cost_of(a, hw_load, x) == cyc(m->cache.l1d_cycles), "then an L1D hit");
	tap_ok(cost_of(a, hw_rmw, x) == cyc(m->coh.rmw_cycles),
	       "uncontended LOCK RMW costs rmw_cycles");
	tap_ok(cost_of(b, hw_load, x) == ns_to_ps(m->coh.llc_ns),
	       "load of a line modified in a core of the same socket: one llc_ns transfer");
	/* Clean in socket 0's cores only: the cheaper of a remote transfer and DRAM. */
	sim_time_t rl = cost_of(r, hw_load, x), rem = ns_to_ps(m->coh.remote_ns);
	sim_time_t dl = ns_to_ps(m->cache.dram_local_ns), dr = ns_to_ps(m->cache.dram_remote_ns);
	tap_ok(rl == (rem < dl ? rem : dl) || rl == (rem < dr ? rem : dr),
	       "load of a line clean in the other socket: min(remote transfer, DRAM) = %lld ps",
	       (long long)rl);
	/* x is now shared by cores 0, 1 and 32: a store must invalidate the farthest. */
	tap_ok(cost_of(a, hw_store, x) == ns_to_ps(m->coh.remote_ns),
	       "store to a line shared across sockets waits for the remote invalidation");
	tap_ok(!hw_core_holds(hw, 1, hw_line_of(hw, (uint64_t)(uintptr_t)x)) &&
	       !hw_core_holds(hw, 32, hw_line_of(hw, (uint64_t)(uintptr_t)x)),
	       "the other holders lost their copies");
	tap_ok(cost_of(r, hw_rmw, x) == ns_to_ps(m->coh.remote_ns),
	       "contended atomic from the other socket: one remote transfer");
	/* False sharing: words 8 bytes apart are one line; 64 apart are two. */
	cost_of(a, hw_rmw, &x[1]);
	tap_ok(cost_of(b, hw_rmw, &x[2]) == ns_to_ps(m->coh.llc_ns),
	       "a neighbouring word in the same line still costs a transfer (false sharing)");
	cost_of(a, hw_rmw, &pad[0]);
	cost_of(b, hw_rmw, &pad[8]);
	tap_ok(cost_of(a, hw_rmw, &pad[0]) == cyc(m->coh.rmw_cycles),
	       "a word padded to its own line stays local");
	/* Many sharers: the bitmap form of the holder set. */
	for (int i = 0; i < 8; i++)
		cost_of(on_cpu(3, 2 + i), hw_load, &pad[16]);
	struct sim_task *w = on_cpu(3, 40);
	tap_ok(cost_of(w, hw_store, &pad[16]) == ns_to_ps(m->coh.remote_ns),
	       "store to a line held by 8 cores of the other socket: remote invalidation");
	char *err = hw_check(hw);
	tap_ok(!err, "directory consistent%s%s", err ? ": " : "", err ? err : "");
}

static void test_capacity(void)
{
	/* Stream over 2 x L2 capacity, then re-read the start: it was evicted to the LLC. */
	size_t lines = (size_t)(m->cache.l2_kib * 1024 / 64) * 2;
	uint8_t *buf = g_aligned_alloc0(lines, 64, 64);
	struct sim_task *a = on_cpu(0, 5);
	for (size_t i = 0; i < lines; i++)
		cost_of(a, hw_load, buf + i * 64);
	uint64_t llc0 = a->stats.ev[EV_LLC_HIT];
	sim_time_t c = cost_of(a, hw_load, buf);
	tap_ok(c == cyc(m->cache.llc_cycles) && a->stats.ev[EV_LLC_HIT] == llc0 + 1,
	       "a line pushed out of L2 by capacity is found in the LLC (%lld ps)", (long long)c);
	c = cost_of(a, hw_load, buf);
	tap_ok(c == cyc(m->cache.l1d_cycles), "and is back in L1D after the miss");
	char *err = hw_check(hw);
	tap_ok(!err, "directory consistent after evictions%s%s", err ? ": " : "", err ? err : "");
	g_aligned_free(buf);
}

/*
 * User pages (pseudo-physical lines, kept compacted in the tag arrays) cleared by one core
 * beyond its L2: the first page's lines were evicted to the LLC and come back from it; the
 * directory, kept by groups of 64 lines, stays consistent as whole groups empty and are
 * recycled.
 */
/*
 * Atomics issued at the same instant on one line by several cores of a socket serialise:
 * each waits for the previous owner's access to complete, then pays its own transfer, so
 * the k-th completes k transfers after the first owner's.
 */
static void test_line_queue(void)
{
	static uint64_t word __attribute__((aligned(64)));
	struct sim_task *w[4];
	for (int i = 0; i < 4; i++)
		w[i] = on_cpu(i, 20 + i);
	sim_time_t start = latest + 1000 * PS_PER_NS;
	w[0]->now = start;
	hw_rmw(w[0], &word, 8);          /* core 20 owns the line, modified */
	sim_time_t first = w[0]->now;
	sim_time_t x = hw->xfer[hw_core_relation(hw, 20, 21)];
	bool ok = true;
	for (int i = 1; i < 4; i++) {
		w[i]->now = first;           /* all issue as the first access completes */
		hw_rmw(w[i], &word, 8);
		sim_time_t want = first + (sim_time_t)i * x;
		/* the queue is kept to the ns: allow the truncation */
		ok &= w[i]->now <= want && w[i]->now > want - i * PS_PER_NS;
		printf("# contender %d completes %lld ps after the first (%d transfers: %lld)\n", i,
		       (long long)(w[i]->now - first), i, (long long)(i * x));
	}
	tap_ok(ok, "contended atomics on one line serialise: the k-th waits k transfers");
	latest = w[3]->now;
}

static void test_user_pages(void)
{
	uint64_t l2_pages = (uint64_t)(m->cache.l2_kib * 1024) / 4096;
	uint64_t base = (1ULL << 24) + 12345; /* high pfns: the top bits of the compact tag */
	struct sim_task *a = on_cpu(0, 9);
	for (uint64_t p = 0; p < 2 * l2_pages; p++)
		hw_bulk_zero(a, hw_page_paddr(base + p), 4096);
	uint64_t line = hw_line_of(hw, hw_page_paddr(base));
	tap_ok(!hw_core_holds(hw, 9, line), "the first page cleared left core 9's L2");
	sim_time_t c = a->now;
	hw_load_paddr(a, hw_page_paddr(base) + 64);
	c = a->now - c;
	tap_ok(c == cyc(m->cache.llc_cycles), "and its lines come back from the LLC (%lld ps)",
	       (long long)c);
	uint64_t last = hw_line_of(hw, hw_page_paddr(base + 2 * l2_pages - 1));
	tap_ok(hw_core_owns(hw, 9, last), "the last page cleared is modified in core 9");
	c = a->now;
	hw_load_paddr(a, hw_page_paddr(base + 2 * l2_pages - 1) + 128);
	tap_ok(a->now - c == cyc(m->cache.l1d_cycles), "and a load of it hits the L1D");
	struct sim_task *b = on_cpu(1, 40);
	b->now = a->now; /* after the clears have completed */
	c = b->now;
	hw_load_paddr(b, hw_page_paddr(base + 2 * l2_pages - 1) + 128);
	tap_ok(b->now - c == ns_to_ps(m->coh.remote_ns),
	       "another socket's load of it is one remote transfer");
	char *err = hw_check(hw);
	tap_ok(!err, "directory consistent after clears%s%s", err ? ": " : "", err ? err : "");
}

static void test_smt(struct machine *smt)
{
	static uint64_t y __attribute__((aligned(64)));
	struct hw_model *h = hw_create(smt, smt->nr_cpus);
	struct machine *keep = m;
	struct hw_model *keep_hw = hw;
	m = smt;
	hw = h;
	int sib = machine_nr_cores(smt); /* CPU 0's sibling */
	struct sim_task *a = on_cpu(0, 0), *b = on_cpu(1, sib);
	cost_of(a, hw_store, &y);
	tap_ok(cost_of(b, hw_load, &y) == ns_to_ps(smt->coh.smt_ns),
	       "load of the SMT sibling's fresh store costs smt_ns (CPU %d)", sib);
	tap_ok(cost_of(b, hw_load, &y) == cyc(smt->cache.l1d_cycles),
	       "then it is an L1D hit in the shared core");
	hw_destroy(h);
	m = keep;
	hw = keep_hw;
}

static void test_tlb(void)
{
	struct sim_task *a = on_cpu(0, 0);
	uint64_t pfn;
	hw_tlb_switch(a, 7);
	tap_ok(!hw_tlb_lookup(a, 7, 0x400000, false, &pfn), "empty TLB misses");
	hw_tlb_insert(a, 7, 0x400000, 1234, true, false);
	tap_ok(hw_tlb_lookup(a, 7, 0x400123, true, &pfn) && pfn == 1234, "4 KiB entry hits");
	tap_ok(!hw_tlb_lookup(a, 8, 0x400000, false, &pfn), "another PCID does not see it");
	/* Fill more 4 KiB pages than the L1 dTLB holds: the first one comes from the STLB. */
	for (int i = 1; i <= m->tlb.l1_4k_entries; i++)
		hw_tlb_insert(a, 7, 0x400000 + (unsigned long)i * 4096 * m->tlb.l1_4k_entries /
			      m->tlb.l1_4k_ways, 2000 + (uint64_t)i, true, false);
	sim_time_t t0 = a->now;
	bool hit = hw_tlb_lookup(a, 7, 0x400000, false, &pfn);
	tap_ok(hit && pfn == 1234 && a->now - t0 == cyc(m->tlb.stlb_hit_cycles),
	       "evicted from the L1 dTLB, found in the STLB at stlb_hit_cycles");
	/* 2 MiB entries: one entry serves the whole huge page. */
	hw_tlb_insert(a, 7, 0x40000000, 512 * 9, true, true);
	tap_ok(hw_tlb_lookup(a, 7, 0x40000000 + 5 * 4096 + 17, false, &pfn) && pfn == 512 * 9 + 5,
	       "a 2 MiB entry translates any 4 KiB page inside it");
	/* Read-only entry and a write. */
	hw_tlb_insert(a, 7, 0x800000, 99, false, false);
	tap_ok(!hw_tlb_lookup(a, 7, 0x800000, true, &pfn) && !hw_tlb_probe(hw, 0, 7, 0x800000),
	       "a write through a read-only entry misses and drops it");
}

/* Shootdowns: CPU 0 unmaps; CPUs 1 (busy), 2 (idle: lazy) and 33 (other socket). */
static void test_shootdown(void)
{
	struct sim_task *i = on_cpu(0, 0), *busy = on_cpu(1, 1), *lazy = on_cpu(2, 2),
			*far = on_cpu(3, 33);
	uint64_t mask[2] = { 0 };
	struct sim_task *all[] = { i, busy, lazy, far };
	for (int k = 0; k < 4; k++) {
		hw_tlb_switch(all[k], 3);
		mask[all[k]->cpu / 64] |= 1ULL << (all[k]->cpu % 64);
		for (unsigned long p = 0; p < 40; p++)
			hw_tlb_insert(all[k], 3, 0x10000000 + p * 4096, 100 + p, true, false);
	}
	cpu_idle(lazy, 1000000); /* asleep over the flush: lazy TLB mode */
	i->now = lazy->now - 500000;
	busy->now = far->now = i->now;
	sim_time_t lat = hw_tlb_flush_range(i, mask, 64, 3, 0x10000000, 0x10000000 + 4 * 4096,
					    false);
	tap_ok(i->stats.ev[EV_TLB_SHOOTDOWN_IPI] == 2 && i->stats.ev[EV_TLB_LAZY_SKIP] == 1,
	       "4 pages, 4 CPUs: IPIs to the 2 busy CPUs, the idle one skipped (%llu IPIs)",
	       (unsigned long long)i->stats.ev[EV_TLB_SHOOTDOWN_IPI]);
	bool stale = false;
	for (int k = 0; k < 4; k++)
		for (unsigned long p = 0; p < 4; p++)
			stale |= hw_tlb_probe(hw, all[k]->cpu, 3, 0x10000000 + p * 4096);
	tap_ok(!stale, "no CPU keeps a translation of the flushed range");
	tap_ok(hw_tlb_probe(hw, 1, 3, 0x10000000 + 10 * 4096),
	       "INVLPG flush (4 <= 33 pages) leaves the rest of the TLB");
	sim_time_t flush = cyc(m->tlb.flush_base_cycles + 4 * m->tlb.invlpg_cycles);
	sim_time_t handler = ns_to_ps(m->path.exception) + flush;
	tap_ok(busy->irq_debt == handler && far->irq_debt == handler,
	       "each IPI'd CPU owes entry/exit + 4 INVLPGs (%lld ps)", (long long)handler);
	tap_ok(lat >= 2 * ns_to_ps(m->coh.remote_ns) + handler,
	       "the initiator waits for the far CPU's ack: %lld ps >= 2 x remote + handler",
	       (long long)lat);
	sim_time_t b0 = busy->now;
	sim_sync(busy);
	tap_ok(busy->now == b0 + handler && busy->irq_debt == 0 && busy->stats.irq == handler,
	       "the debt is charged at the target's next sync");
	/* More than the ceiling: full flushes, and with freed tables the lazy CPU gets one. */
	uint64_t ipis = i->stats.ev[EV_TLB_SHOOTDOWN_IPI];
	hw_tlb_flush_range(i, mask, 64, 3, 0x10000000, 0x10000000 + 40 * 4096, true);
	tap_ok(i->stats.ev[EV_TLB_SHOOTDOWN_IPI] == ipis + 3,
	       "freed page tables: lazy CPUs are IPI'd too");
	tap_ok(!hw_tlb_probe(hw, 1, 3, 0x10000000 + 10 * 4096),
	       "40 pages > ceiling 33: a full flush empties the TLB");
}

int main(void)
{
	char *err = NULL;
	m = machine_load("generic-2s", &err);
	struct machine *smt = machine_load("icelake-sp-2s", &err);
	if (!m || !smt) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	hw = hw_create(m, m->nr_cpus);
	test_cache_lru();
	test_coherence();
	test_capacity();
	test_line_queue();
	test_user_pages();
	test_smt(smt);
	test_tlb();
	test_shootdown();
	hw_destroy(hw);
	machine_free(m);
	machine_free(smt);
	return tap_done();
}
