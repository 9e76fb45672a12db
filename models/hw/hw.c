/*
 * The hardware model's per-run state, topology, and the access entry points model code
 * calls (hw.h).  Costs come from the machine preset; this file converts them to
 * picoseconds once:
 *   cycles (L1D, L2, LLC, atomic, INVLPG, CR3 write) / freq_ghz;
 *   ns (transfers by CPU relation, DRAM) as given;
 *   interrupt entry + exit of an IPI = the preset's #PF entry/exit path (path.exception):
 *   the same irqentry/iret code, so no separate number is invented (derived).
 */
#include <stdlib.h>
#include <string.h>
#include "hw_model.h"
#include "hw.h"
#include <glib.h>
#include "die.h"

static sim_time_t cyc(const struct machine *m, double cycles)
{
	return ns_to_ps(machine_cycles_to_ns(m, cycles));
}

struct hw_model *hw_create(const struct machine *m, int ncpus)
{
	struct hw_model *hw = calloc(1, sizeof(*hw));
	if (!hw)
		sim_die("out of host memory");
	sim_bug_on(ncpus < 1 || ncpus > m->nr_cpus);
	hw->m = m;
	/* Every CPU of the machine exists (tasks may be placed anywhere); unused ones cost
	 * no memory: their arrays are allocated on first use or mapped lazily. */
	hw->nr_cpus = m->nr_cpus;
	hw->nr_cores = machine_nr_cores(m);
	hw->nr_llc = m->sockets * m->llc_per_socket;
	hw->nr_nodes = m->sockets * m->nodes_per_socket;

	hw->core = calloc((size_t)hw->nr_cores, sizeof(struct hw_core));
	hw->llc = calloc((size_t)hw->nr_llc, sizeof(struct cache));
	hw->cpu = calloc((size_t)hw->nr_cpus, sizeof(struct hw_cpu));
	if (posix_memalign((void **)&hw->csq_mem, CACHE_LINE, (size_t)hw->nr_cpus * CACHE_LINE))
		sim_die("out of host memory");
	memset(hw->csq_mem, 0, (size_t)hw->nr_cpus * CACHE_LINE);
	if (!hw->core || !hw->llc || !hw->cpu)
		sim_die("out of host memory");
	for (int i = 0; i < hw->nr_llc; i++)
		cache_init(&hw->llc[i], m->cache.llc_kib, m->cache.llc_ways);
	for (int k = 0; k < hw->nr_cores; k++) {
		struct hw_core *c = &hw->core[k];
		cache_init(&c->l1d, m->cache.l1d_kib, m->cache.l1d_ways);
		cache_init(&c->l2, m->cache.l2_kib, m->cache.l2_ways);
		c->llc = machine_cpu_llc(m, k);
		c->socket = machine_cpu_socket(m, k);
	}
	/* All tag arrays in one region: untouched parts (unused cores and LLCs) cost no
	 * memory, touched ones get huge pages. */
	hw->tag_bytes = 0;
	for (int i = 0; i < hw->nr_llc; i++)
		hw->tag_bytes += cache_bytes(&hw->llc[i]);
	for (int k = 0; k < hw->nr_cores; k++)
		hw->tag_bytes += cache_bytes(&hw->core[k].l1d) + cache_bytes(&hw->core[k].l2);
	hw->tag_bytes += CACHE_TAG_SLACK;
	hw->tag_mem = hw_big_alloc(hw->tag_bytes);
	uint32_t *next = hw->tag_mem;
	for (int i = 0; i < hw->nr_llc; i++) {
		cache_set_storage(&hw->llc[i], next);
		next += cache_bytes(&hw->llc[i]) / sizeof(uint32_t);
	}
	for (int k = 0; k < hw->nr_cores; k++) {
		cache_set_storage(&hw->core[k].l2, next);
		next += cache_bytes(&hw->core[k].l2) / sizeof(uint32_t);
		cache_set_storage(&hw->core[k].l1d, next);
		next += cache_bytes(&hw->core[k].l1d) / sizeof(uint32_t);
	}
	for (int i = 0; i < hw->nr_cpus; i++) {
		struct hw_cpu *c = &hw->cpu[i];
		c->core = machine_cpu_core(m, i);
		c->llc = machine_cpu_llc(m, i);
		c->socket = machine_cpu_socket(m, i);
		c->node = machine_cpu_node(m, i);
		c->csq = (uint64_t *)(hw->csq_mem + (size_t)i * CACHE_LINE);
		tlb_init_cpu(hw, c);
	}

	hw->l1 = cyc(m, m->cache.l1d_cycles);
	hw->l2 = cyc(m, m->cache.l2_cycles);
	hw->llc_hit = cyc(m, m->cache.llc_cycles);
	hw->dram_local = ns_to_ps(m->cache.dram_local_ns);
	hw->dram_remote = ns_to_ps(m->cache.dram_remote_ns);
	hw->rmw = cyc(m, m->coh.rmw_cycles);
	hw->xfer[REL_SELF] = hw->l1;
	hw->xfer[REL_SMT] = ns_to_ps(m->coh.smt_ns);
	hw->xfer[REL_LLC] = ns_to_ps(m->coh.llc_ns);
	hw->xfer[REL_SOCKET] = ns_to_ps(m->coh.socket_ns);
	hw->xfer[REL_REMOTE] = ns_to_ps(m->coh.remote_ns);
	hw->stlb_hit = cyc(m, m->tlb.stlb_hit_cycles);
	hw->invlpg = cyc(m, m->tlb.invlpg_cycles);
	hw->flush_base = cyc(m, m->tlb.flush_base_cycles);
	hw->cr3_flush = cyc(m, m->tlb.cr3_flush_cycles);
	hw->flush_ceiling = m->tlb.flush_ceiling;
	hw->irq_entry_exit = ns_to_ps(m->path.exception);
	dir_init(hw);
	hw->lmap_mask = 4095;
	hw->lmap = hw_big_alloc((hw->lmap_mask + 1) * 2 * sizeof(uint64_t));
	hw->next_line = 1; /* line 0 is the directory's empty-slot marker */
	for (int i = 0; i < HW_LCACHE; i++)
		hw->lcache[i].hline = ~0ULL;
	return hw;
}

void hw_user_line_too_high(uint64_t addr)
{
	sim_die("pseudo-physical address %#llx: the machine model supports user pages below "
		"pfn 2^25 (128 GiB)", (unsigned long long)addr);
}

static uint64_t lmap_slot(const struct hw_model *hw, uint64_t hline)
{
	return ((hline * 0x9E3779B97F4A7C15ULL) >> 20) & hw->lmap_mask;
}

uint64_t hw_line_lookup(struct hw_model *hw, uint64_t hline)
{
	uint64_t key = hline + 1; /* 0 marks an empty slot */
	uint64_t i = lmap_slot(hw, hline);
	for (; hw->lmap[2 * i]; i = (i + 1) & hw->lmap_mask)
		if (hw->lmap[2 * i] == key)
			return hw->lmap[2 * i + 1];
	if ((hw->lmap_used + 1) * 2 > hw->lmap_mask + 1) {
		uint64_t *old = hw->lmap, n = hw->lmap_mask + 1;
		hw->lmap_mask = 2 * n - 1;
		hw->lmap = hw_big_alloc(2 * n * 2 * sizeof(uint64_t));
		for (uint64_t j = 0; j < n; j++) {
			if (!old[2 * j])
				continue;
			uint64_t k = lmap_slot(hw, old[2 * j] - 1);
			while (hw->lmap[2 * k])
				k = (k + 1) & hw->lmap_mask;
			hw->lmap[2 * k] = old[2 * j];
			hw->lmap[2 * k + 1] = old[2 * j + 1];
		}
		hw_big_free(old, n * 2 * sizeof(uint64_t));
		i = lmap_slot(hw, hline);
		while (hw->lmap[2 * i])
			i = (i + 1) & hw->lmap_mask;
	}
	if (hw->next_line > CACHE_TAG_MAX_KERNEL_LINE)
		sim_die("more than 2^31 host lines touched: the cache tags cannot name them");
	hw->lmap[2 * i] = key;
	hw->lmap[2 * i + 1] = hw->next_line;
	hw->lmap_used++;
	return hw->next_line++;
}

void hw_destroy(struct hw_model *hw)
{
	if (!hw)
		return;
	for (int i = 0; i < hw->nr_llc; i++)
		cache_free(&hw->llc[i]);
	for (int k = 0; k < hw->nr_cores; k++) {
		cache_free(&hw->core[k].l1d);
		cache_free(&hw->core[k].l2);
	}
	for (int i = 0; i < hw->nr_cpus; i++)
		tlb_free_cpu(&hw->cpu[i]);
	dir_free(hw);
	hw_big_free(hw->tag_mem, hw->tag_bytes);
	hw_big_free(hw->lmap, (hw->lmap_mask + 1) * 2 * sizeof(uint64_t));
	free(hw->csq_mem);
	free(hw->core);
	free(hw->llc);
	free(hw->cpu);
	free(hw);
}

/* Every line of [a, a + size) in turn; a zero size touches one line. */
static void hw_access(struct sim_task *t, uint64_t a, unsigned size, enum hw_kind kind)
{
	uint64_t last = a + (size ? size - 1 : 0);
	struct hw_cpu *c = &t->hw->cpu[t->cpu];
	uint64_t line = hw_line_of(t->hw, a);
	if (__builtin_expect(c->pf_line == line, 0)) {
		/* The rest of this CPU's outstanding prefetchw of the line. */
		if (c->pf_done > t->now)
			cpu_charge(t, c->pf_done - t->now);
		c->pf_line = 0;
	}
	sim_time_t cost = hw_line_access(t->hw, t->cpu, line, kind, t->now, &t->stats);
	/* An object straddling lines (rare: most are line-aligned) costs each line. */
	for (uint64_t b = (a | 63) + 1; b <= last; b += CACHE_LINE)
		cost += hw_line_access(t->hw, t->cpu, hw_line_of(t->hw, b), kind, t->now + cost,
				       &t->stats);
	cpu_charge(t, cost);
}

void hw_load(struct sim_task *t, const void *addr, unsigned size)
{
	hw_access(t, (uint64_t)(uintptr_t)addr, size, HW_LOAD);
}

void hw_store(struct sim_task *t, const void *addr, unsigned size)
{
	hw_access(t, (uint64_t)(uintptr_t)addr, size, HW_STORE);
}

void hw_rmw(struct sim_task *t, const void *addr, unsigned size)
{
	hw_access(t, (uint64_t)(uintptr_t)addr, size, HW_RMW);
}

void hw_prefetchw(struct sim_task *t, const void *addr)
{
	hw_access(t, (uint64_t)(uintptr_t)addr, 1, HW_PREFETCHW);
}

bool hw_prefetchw_async(struct sim_task *t, const void *addr)
{
	struct hw_model *hw = t->hw;
	struct hw_cpu *c = &hw->cpu[t->cpu];
	uint64_t line = hw_line_of(hw, (uint64_t)(uintptr_t)addr);
	bool owned = hw_core_owns(hw, c->core, line);
	sim_time_t rfo = hw_line_access(hw, t->cpu, line, HW_PREFETCHW_RFO, t->now, &t->stats);
	c->pf_line = line;
	c->pf_done = t->now + rfo;
	cpu_charge(t, hw->l1);
	return !owned;
}

bool hw_owns(struct sim_task *t, const void *addr)
{
	struct hw_model *hw = t->hw;
	return hw_core_owns(hw, hw->cpu[t->cpu].core, hw_line_of(hw, (uint64_t)(uintptr_t)addr));
}

void hw_load_paddr(struct sim_task *t, uint64_t paddr)
{
	hw_access(t, paddr, 1, HW_LOAD);
}

void hw_store_paddr(struct sim_task *t, uint64_t paddr)
{
	hw_access(t, paddr, 1, HW_STORE);
}

/*
 * Leave the destination lines modified in t's caches, as rep stosb/movsb do (they are
 * ordinary write-allocate stores).  Only the last L2-sized part is run through the line
 * model: anything before it would be evicted from the private caches by the rest.
 *
 * The lines go through the model one by one, exactly as single stores would; what is
 * special is only host-side: consecutive lines use consecutive sets, so the tag sets a few
 * lines ahead, and the LLC set of the line the L2 will evict there, are prefetched.  The
 * model's own state is the host's memory bottleneck here, not its arithmetic.
 */
#define BULK_AHEAD 8

static void bulk_dirty(struct sim_task *t, uint64_t dst, size_t bytes)
{
	struct hw_model *hw = t->hw;
	const struct hw_core *core = &hw->core[hw->cpu[t->cpu].core];
	const struct cache *llc = &hw->llc[core->llc];
	uint64_t l2_bytes = (uint64_t)(t->machine->cache.l2_kib * 1024.0);
	uint64_t from = bytes > l2_bytes ? dst + bytes - l2_bytes : dst;
	uint64_t end = dst + bytes;
	for (uint64_t a = from & ~63ULL; a < end; a += CACHE_LINE) {
		if (a + BULK_AHEAD * CACHE_LINE < end) {
			uint64_t ahead = hw_line_of(hw, a + BULK_AHEAD * CACHE_LINE);
			cache_prefetch(&core->l2, ahead);
			cache_prefetch(&core->l1d, ahead);
		}
		if (a + BULK_AHEAD / 2 * CACHE_LINE < end) {
			uint64_t near = hw_line_of(hw, a + BULK_AHEAD / 2 * CACHE_LINE);
			uint64_t v = cache_lru(&core->l2, near);
			if (v)
				cache_prefetch(llc, v);
		}
		hw_line_access(hw, t->cpu, hw_line_of(hw, a), HW_BULK_STORE, t->now, NULL);
	}
}

void hw_bulk_zero(struct sim_task *t, uint64_t paddr, size_t bytes)
{
	cpu_charge(t, (sim_time_t)((double)bytes / t->machine->hw.zero_bytes_per_ps));
	bulk_dirty(t, paddr, bytes);
}

void hw_bulk_copy(struct sim_task *t, uint64_t dst, uint64_t src, size_t bytes)
{
	cpu_charge(t, (sim_time_t)((double)bytes / t->machine->hw.copy_bytes_per_ps));
	bulk_dirty(t, dst, bytes);
}

sim_time_t hw_handoff(const struct sim_task *owner, const struct sim_task *waiter,
		      const void *addr)
{
	/* Computed by the releaser at its time; the waiter takes the line modified. */
	return hw_line_access(waiter->hw, waiter->cpu,
			      hw_line_of(waiter->hw, (uint64_t)(uintptr_t)addr), HW_STORE,
			      owner->now, NULL);
}

char *hw_check(struct hw_model *hw)
{
	return dir_check(hw);
}
