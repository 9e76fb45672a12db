/*
 * TLBs, INVLPG / full flushes and IPI shootdowns.
 *
 * Per CPU (hardware thread; the two threads of a core do not compete for entries here):
 * an L1 dTLB for 4 KiB pages, one for 2 MiB pages, and an STLB shared by both sizes, each
 * set-associative with LRU, sizes from the preset.  Entries are tagged with the address
 * space (PCID), so with PCID switching address spaces keeps them; without, a switch
 * flushes.  There are no paging-structure caches: a miss walks all four levels, loading
 * the real page-table entries through the cache model (models/mm/mmu.c).
 *
 * flush_tlb_mm_range (kernel-algorithms.md H.5; arch/x86/mm/tlb.c): up to
 * tlb_single_page_flush_ceiling (33) pages are flushed one INVLPG each, more by a full
 * flush.  Local cost = flush_tlb_mm_range's fixed overhead + INVLPGs (or a CR3 write; the
 * refill is not charged here: it happens as real misses afterwards).  Remote CPUs of the
 * mm's cpumask are sent IPIs, except CPUs in lazy TLB mode (idle, or their task ended)
 * unless page tables were freed (then a lazy CPU could still walk freed tables through
 * its paging-structure caches, so the kernel IPIs it too).  For target k:
 *   send_k  = the initiator's llist_add (LOCK cmpxchg) on k's call_single_queue line,
 *             costed by the line model (a transfer when k last drained it);
 *   arrive  = send_k + one transfer initiator -> k (the IPI and the flush info);
 *   handler = interrupt entry/exit + the same flush, charged to k as interrupt debt;
 *   ack_k   = arrive + handler + one transfer k -> initiator (the csd unlock it polls).
 * The initiator sends to every target in CPU order, then flushes locally, then waits busy
 * until the last ack.  Entries are invalidated in every TLB at the initiator's (synced)
 * time: earlier than the IPI lands, never later, so no stale translation survives the
 * flush.  A lazy CPU skipped is left with no translation of the range either: on return
 * to the mm the kernel sees its tlb_gen behind and flushes fully, and we charge it that
 * CR3 write as debt.
 */
#include <stdlib.h>
#include <string.h>
#include "hw_model.h"
#include "hw.h"
#include "die.h"
#include "sync/irq.h"
#include <glib.h>

#define TLB_VALID (1ULL << 63)
#define TLB_HUGE (1ULL << 62)
#define TLB_WRITABLE (1ULL << 63)

static void tlb_array_init(struct tlb_array *a, int entries, int ways)
{
	a->ways = (uint16_t)ways;
	a->nsets = (uint32_t)(entries / ways);
	a->key = calloc((size_t)entries, sizeof(uint64_t));
	a->val = calloc((size_t)entries, sizeof(uint64_t));
	if (!a->key || !a->val)
		sim_die("out of host memory for a TLB");
}

void tlb_init_cpu(struct hw_model *hw, struct hw_cpu *c)
{
	const struct tlb_geometry *g = &hw->m->tlb;
	tlb_array_init(&c->l1_4k, g->l1_4k_entries, g->l1_4k_ways);
	tlb_array_init(&c->l1_2m, g->l1_2m_entries, g->l1_2m_ways);
	tlb_array_init(&c->stlb, g->stlb_entries, g->stlb_ways);
	c->loaded_asid = 0;
}

void tlb_free_cpu(struct hw_cpu *c)
{
	struct tlb_array *arrays[] = { &c->l1_4k, &c->l1_2m, &c->stlb };
	for (int i = 0; i < 3; i++) {
		free(arrays[i]->key);
		free(arrays[i]->val);
	}
}

static inline uint64_t tlb_vpn(unsigned long addr, bool huge)
{
	return huge ? addr >> 21 : addr >> 12;
}

static inline uint64_t tlb_key(uint64_t vpn, bool huge, unsigned asid)
{
	return TLB_VALID | (huge ? TLB_HUGE : 0) | vpn << 12 | (asid & 0xfff);
}

/* Lookup with LRU update; returns the value or 0. */
static uint64_t tlb_array_lookup(struct tlb_array *a, uint64_t vpn, uint64_t key)
{
	uint64_t base = (vpn % a->nsets) * a->ways;
	uint64_t *k = a->key + base, *v = a->val + base;
	for (unsigned i = 0; i < a->ways; i++) {
		if (k[i] == key) {
			uint64_t val = v[i];
			memmove(k + 1, k, i * sizeof(uint64_t));
			memmove(v + 1, v, i * sizeof(uint64_t));
			k[0] = key;
			v[0] = val;
			return val;
		}
	}
	return 0;
}

static bool tlb_array_probe(const struct tlb_array *a, uint64_t vpn, uint64_t key)
{
	uint64_t base = (vpn % a->nsets) * a->ways;
	for (unsigned i = 0; i < a->ways; i++)
		if (a->key[base + i] == key)
			return true;
	return false;
}

static void tlb_array_insert(struct tlb_array *a, uint64_t vpn, uint64_t key, uint64_t val)
{
	uint64_t base = (vpn % a->nsets) * a->ways;
	uint64_t *k = a->key + base, *v = a->val + base;
	unsigned n = a->ways - 1;
	for (unsigned i = 0; i < a->ways; i++)
		if (k[i] == key) {
			n = i; /* replace in place (e.g. now writable) */
			break;
		}
	memmove(k + 1, k, n * sizeof(uint64_t));
	memmove(v + 1, v, n * sizeof(uint64_t));
	k[0] = key;
	v[0] = val;
}

static void tlb_array_drop(struct tlb_array *a, uint64_t vpn, uint64_t key)
{
	uint64_t base = (vpn % a->nsets) * a->ways;
	uint64_t *k = a->key + base, *v = a->val + base;
	for (unsigned i = 0; i < a->ways; i++) {
		if (k[i] == key) {
			memmove(k + i, k + i + 1, (a->ways - 1 - i) * sizeof(uint64_t));
			memmove(v + i, v + i + 1, (a->ways - 1 - i) * sizeof(uint64_t));
			k[a->ways - 1] = 0;
			v[a->ways - 1] = 0;
			return;
		}
	}
}

static void tlb_array_clear(struct tlb_array *a)
{
	size_t n = (size_t)a->nsets * a->ways;
	memset(a->key, 0, n * sizeof(uint64_t));
	memset(a->val, 0, n * sizeof(uint64_t));
}

/* Full flush.  It drops every address space's entries (the kernel's flush with PCID drops
 * only the current one's; with one mm per run the difference does not show). */
static void tlb_flush_all(struct hw_cpu *c)
{
	tlb_array_clear(&c->l1_4k);
	tlb_array_clear(&c->l1_2m);
	tlb_array_clear(&c->stlb);
}

/* INVLPG: both page sizes that could map addr. */
static void tlb_flush_one(struct hw_cpu *c, unsigned asid, unsigned long addr)
{
	uint64_t v4 = tlb_vpn(addr, false), v2 = tlb_vpn(addr, true);
	uint64_t k4 = tlb_key(v4, false, asid), k2 = tlb_key(v2, true, asid);
	tlb_array_drop(&c->l1_4k, v4, k4);
	tlb_array_drop(&c->stlb, v4, k4);
	tlb_array_drop(&c->l1_2m, v2, k2);
	tlb_array_drop(&c->stlb, v2, k2);
}

void hw_tlb_switch(struct sim_task *t, unsigned asid)
{
	struct hw_cpu *c = &t->hw->cpu[t->cpu];
	c->task = t;
	if (c->loaded_asid == asid)
		return;
	if (!t->machine->tlb.pcid)
		tlb_flush_all(c);
	c->loaded_asid = asid;
}

bool hw_tlb_lookup(struct sim_task *t, unsigned asid, unsigned long addr, bool write,
		   uint64_t *pfn)
{
	struct hw_cpu *c = &t->hw->cpu[t->cpu];
	uint64_t v4 = tlb_vpn(addr, false), v2 = tlb_vpn(addr, true);
	uint64_t k4 = tlb_key(v4, false, asid), k2 = tlb_key(v2, true, asid);
	uint64_t val;
	bool huge = false;

	if ((val = tlb_array_lookup(&c->l1_4k, v4, k4)) ||
	    (huge = true, val = tlb_array_lookup(&c->l1_2m, v2, k2))) {
		count_event(&t->stats, EV_DTLB_HIT);
	} else {
		huge = false;
		if (!(val = tlb_array_lookup(&c->stlb, v4, k4)) &&
		    !(huge = true, val = tlb_array_lookup(&c->stlb, v2, k2)))
			return false;
		count_event(&t->stats, EV_STLB_HIT);
		cpu_charge(t, t->hw->stlb_hit);
		if (huge)
			tlb_array_insert(&c->l1_2m, v2, k2, val);
		else
			tlb_array_insert(&c->l1_4k, v4, k4, val);
	}
	if (write && !(val & TLB_WRITABLE)) {
		/* A write through a read-only entry faults; the CPU drops the entry. */
		tlb_flush_one(c, asid, addr);
		return false;
	}
	uint64_t base = val & ~TLB_WRITABLE;
	*pfn = huge ? base + ((addr >> 12) & 511) : base;
	return true;
}

void hw_tlb_insert(struct sim_task *t, unsigned asid, unsigned long addr, uint64_t pfn,
		   bool writable, bool huge)
{
	struct hw_cpu *c = &t->hw->cpu[t->cpu];
	uint64_t vpn = tlb_vpn(addr, huge), key = tlb_key(vpn, huge, asid);
	uint64_t val = (huge ? pfn & ~511ULL : pfn) | (writable ? TLB_WRITABLE : 0);
	tlb_array_insert(&c->stlb, vpn, key, val);
	tlb_array_insert(huge ? &c->l1_2m : &c->l1_4k, vpn, key, val);
}

bool hw_tlb_probe(struct hw_model *hw, int cpu, unsigned asid, unsigned long addr)
{
	struct hw_cpu *c = &hw->cpu[cpu];
	uint64_t v4 = tlb_vpn(addr, false), v2 = tlb_vpn(addr, true);
	uint64_t k4 = tlb_key(v4, false, asid), k2 = tlb_key(v2, true, asid);
	return tlb_array_probe(&c->l1_4k, v4, k4) || tlb_array_probe(&c->stlb, v4, k4) ||
	       tlb_array_probe(&c->l1_2m, v2, k2) || tlb_array_probe(&c->stlb, v2, k2);
}

/* Invalidate the range in c's TLB; returns what the flush costs the CPU doing it. */
static sim_time_t tlb_flush_cpu(struct hw_model *hw, struct hw_cpu *c, unsigned asid,
				unsigned long start, unsigned long end, bool full)
{
	if (full) {
		tlb_flush_all(c);
		return hw->flush_base + hw->cr3_flush;
	}
	sim_time_t cost = hw->flush_base;
	for (unsigned long a = start; a < end; a += 4096) {
		tlb_flush_one(c, asid, a);
		cost += hw->invlpg;
	}
	return cost;
}

/* Is the task on this CPU in lazy TLB mode at time `at`: ended, or idle in sleep()? */
static bool cpu_is_lazy(const struct sim_task *k, sim_time_t at)
{
	return k->state == TASK_DEAD || (k->idle_from <= at && at < k->idle_to);
}

sim_time_t hw_tlb_flush_range(struct sim_task *t, const uint64_t *cpumask, int nbits,
			      unsigned asid, unsigned long start, unsigned long end,
			      bool freed_tables)
{
	struct hw_model *hw = t->hw;
	unsigned long pages = (end - start) >> 12;
	bool full = pages > (unsigned long)hw->flush_ceiling;
	sim_time_t t0 = t->now, last_ack = 0;
	GPtrArray *blocked = NULL; /* targets with interrupts disabled right now */
	GArray *blocked_ack = NULL; /* ps from each one's local_irq_enable to its ack */

	/* The cpumask and the other CPUs' TLBs are shared state. */
	sim_sync(t);
	t0 = t->now;
	count_event(&t->stats, EV_TLB_FLUSH);
	for (int w = 0; w < (nbits + 63) / 64; w++) {
		for (uint64_t bits = cpumask[w]; bits; bits &= bits - 1) {
			int cpu = w * 64 + __builtin_ctzll(bits);
			if (cpu == t->cpu || cpu >= hw->nr_cpus)
				continue;
			struct hw_cpu *c = &hw->cpu[cpu];
			struct sim_task *k = c->task;
			if (!k || (cpu_is_lazy(k, t->now) && !freed_tables)) {
				/* Lazy: no IPI; it flushes everything when it comes back. */
				tlb_flush_all(c);
				if (k && k->state != TASK_DEAD)
					k->irq_debt += hw->flush_base + hw->cr3_flush;
				count_event(&t->stats, EV_TLB_LAZY_SKIP);
				continue;
			}
			/* llist_add to the target's call_single_queue. */
			hw_rmw(t, c->csq, sizeof(uint64_t));
			enum cpu_relation rel = hw_cpu_relation(hw, t->cpu, cpu);
			sim_time_t handler = hw->irq_entry_exit +
					     tlb_flush_cpu(hw, c, asid, start, end, full);
			/* The handler runs when the target has interrupts on (irq.h). */
			sim_time_t run = irq_handler_start(k, t->now + hw->xfer[rel]);
			if (run == SIM_TIME_MAX) {
				if (!blocked) {
					blocked = g_ptr_array_new();
					blocked_ack = g_array_new(FALSE, FALSE,
								  sizeof(sim_time_t));
				}
				g_ptr_array_add(blocked, k);
				g_array_append_val(blocked_ack, (sim_time_t){ handler +
									  hw->xfer[rel] });
				count_event(&t->stats, EV_TLB_IPI_IRQS_OFF);
				run = t->now + hw->xfer[rel]; /* for the queue line below */
			} else if (run > t->now + hw->xfer[rel]) {
				count_event(&t->stats, EV_TLB_IPI_IRQS_OFF);
			}
			sim_time_t ack = run + handler + hw->xfer[rel];
			last_ack = ack > last_ack ? ack : last_ack;
			/* The handler's llist_del_all leaves the queue line modified at k. */
			hw_line_access(hw, cpu, hw_line_of(hw, (uint64_t)(uintptr_t)c->csq), HW_RMW,
				       ack, NULL);
			k->irq_debt += handler;
			k->stats.ev[EV_IPI_RECEIVED]++;
			count_event(&t->stats, EV_TLB_SHOOTDOWN_IPI);
		}
	}
	cpu_charge(t, tlb_flush_cpu(hw, &hw->cpu[t->cpu], asid, start, end, full));
	if (blocked) {
		/* Some targets are inside a section with interrupts disabled: spin until
		 * the last of them enables them and acknowledges. */
		sim_time_t before = t->now;
		irq_wait_enable(t, (struct sim_task *const *)blocked->pdata,
				(const sim_time_t *)(void *)blocked_ack->data, blocked->len);
		t->stats.spin += t->now - before;
		t->stats.busy += t->now - before;
		g_ptr_array_free(blocked, TRUE);
		g_array_free(blocked_ack, TRUE);
	}
	if (last_ack > t->now) {
		/* Waiting for the acks in smp_call_function_many_cond: busy. */
		t->stats.spin += last_ack - t->now;
		cpu_charge(t, last_ack - t->now);
	}
	return t->now - t0;
}
