/*
 * Wall-time cost of the hardware model per modelled access, by access pattern.  Not a
 * test: it prints numbers (ns of host time per simulated access) and never fails on them.
 *   build/bench/hw_access [machine]       (default generic-2s)
 * Patterns: L1D hits; a stream over 4 x L2 (capacity misses, evictions, directory churn);
 * random lines over 64 MiB; a line bounced between two CPUs; 4 KiB clear_page (per line);
 * TLB hits; TLB misses with an insert.  Uses the stub clock: no SimGrid call is involved,
 * which is also true of the model inside a run.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "clock.h"
#include "hw/hw.h"

static struct sim_task task[2];

static double now_ns(void)
{
	return (double)g_get_monotonic_time() * 1000.0;
}

static void report(const char *what, double t0, uint64_t n)
{
	printf("%-44s %10llu accesses %8.1f ns/access\n", what, (unsigned long long)n,
	       (now_ns() - t0) / (double)n);
}

int main(int argc, char **argv)
{
	char *err = NULL;
	struct machine *m = machine_load(argc > 1 ? argv[1] : "generic-2s", &err);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	struct hw_model *hw = hw_create(m, m->nr_cpus);
	for (int i = 0; i < 2; i++) {
		task[i].cpu = i;
		task[i].name = "bench";
		task[i].machine = m;
		task[i].hw = hw;
	}
	struct sim_task *t = &task[0];
	printf("machine %s\n", m->name);

	static uint64_t word __attribute__((aligned(64)));
	uint64_t n = 10000000;
	double t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
		hw_load(t, &word, 8);
	report("L1D hit (one line)", t0, n);

	size_t lines = (size_t)(m->cache.l2_kib * 1024 / 64) * 4;
	uint8_t *buf = g_aligned_alloc0(lines, 64, 64);
	for (size_t i = 0; i < lines; i++) /* first touch: maps host lines */
		hw_load(t, buf + i * 64, 8);
	n = 0;
	t0 = now_ns();
	for (int pass = 0; pass < 5; pass++)
		for (size_t i = 0; i < lines; i++, n++)
			hw_store(t, buf + i * 64, 8);
	report("stream of stores over 4 x L2 (capacity)", t0, n);

	size_t big = (64u << 20) / 64;
	uint8_t *rnd = g_aligned_alloc0(big, 64, 64);
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < big; i++)
		hw_load(t, rnd + i * 64, 8);
	n = 2000000;
	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		hw_load(t, rnd + (x % big) * 64, 8);
	}
	report("random loads over 64 MiB", t0, n);

	n = 2000000;
	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
		hw_rmw(&task[i & 1], &word, 8);
	report("one line bounced between two CPUs (RMW)", t0, n);

	n = 0;
	t0 = now_ns();
	for (uint64_t pfn = 1; pfn <= 50000; pfn++, n += 64)
		hw_bulk_zero(t, hw_page_paddr(pfn), 4096);
	report("clear_page of fresh 4 KiB pages (per line)", t0, n);

	uint64_t pfn;
	hw_tlb_switch(t, 1);
	for (unsigned long p = 0; p < 32; p++)
		hw_tlb_insert(t, 1, 0x10000000 + p * 4096, 100 + p, true, false);
	n = 10000000;
	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
		hw_tlb_lookup(t, 1, 0x10000000 + (i & 31) * 4096, false, &pfn);
	report("TLB lookups hitting the L1 dTLB", t0, n);

	n = 2000000;
	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		unsigned long a = 0x20000000 + (i % 100000) * 4096;
		if (!hw_tlb_lookup(t, 1, a, false, &pfn))
			hw_tlb_insert(t, 1, a, i, true, false);
	}
	report("TLB lookups missing the STLB, then insert", t0, n);

	hw_destroy(hw);
	g_aligned_free(buf);
	g_aligned_free(rnd);
	machine_free(m);
	return 0;
}
