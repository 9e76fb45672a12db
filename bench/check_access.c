/*
 * Host cost of the invariant checker per user access: the same loads and stores through
 * mmu_access with the checker off and on, alternated so both see the same machine load,
 * the best of several rounds each.  Not a test: it prints numbers and never fails on them.
 *   build/bench/check_access
 * Loads and stores hit the TLB (the common case in a run); the difference between the
 * two columns is what check.c adds: three table lookups and a ring entry per access.
 * Uses the stub clock: the checker makes no SimGrid call in a run either.
 */
#include <stdio.h>
#include <glib.h>
#include "clock.h"
#include "hw/machine.h"
#include "hw/hw.h"
#include "mm/mm.h"
#include "schemes/scheme.h"

static struct sim_task task;

static double pass_ns(struct mm_struct *mm, unsigned long a, unsigned long len, bool write)
{
	gint64 t0 = g_get_monotonic_time();
	for (unsigned long off = 0; off < len; off += 64)
		mmu_access(&task, mm, a + off, write);
	return (double)(g_get_monotonic_time() - t0) * 1000.0 / (double)(len / 64);
}

int main(void)
{
	char *err = NULL;
	struct machine *m = machine_load("generic-2s", &err);
	if (!m) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	task.name = "bench";
	task.machine = m;
	task.deadline = SIM_TIME_MAX;
	task.hw = hw_create(m, m->nr_cpus);
	struct zone *zone = zone_create(1ULL << 30, m->nr_cpus);
	struct mm_struct *mm = mm_create(zone, &classic_scheme);
	struct mm_checker *checker = mm_checker_create();
	task.mm = mm;
	unsigned long len = 2UL << 20;
	unsigned long a = scheme_mmap_anon(&classic_scheme, &task, mm, len, VM_READ | VM_WRITE);
	mm->checker = checker;
	pass_ns(mm, a, len, true); /* fault everything in, shadow every line */

	double best[2][2] = { { 1e9, 1e9 }, { 1e9, 1e9 } }; /* [checker][write] */
	for (int round = 0; round < 15; round++) {
		for (int on = 0; on < 2; on++) {
			mm->checker = on ? checker : NULL;
			for (int w = 0; w < 2; w++) {
				double ns = pass_ns(mm, a, len, w);
				if (ns < best[on][w])
					best[on][w] = ns;
			}
		}
	}
	printf("%-8s %14s %14s %14s\n", "access", "checker off", "checker on", "checker adds");
	for (int w = 0; w < 2; w++)
		printf("%-8s %11.1f ns %11.1f ns %11.1f ns\n", w ? "store" : "load", best[0][w],
		       best[1][w], best[1][w] - best[0][w]);
	uint64_t loads, stores;
	mm_checker_counts(checker, &loads, &stores);
	printf("(%llu loads and %llu stores verified)\n", (unsigned long long)loads,
	       (unsigned long long)stores);
	mm->checker = NULL;
	mm_checker_destroy(checker);
	mm_destroy(mm);
	zone_destroy(zone);
	hw_destroy(task.hw);
	machine_free(m);
	return 0;
}
