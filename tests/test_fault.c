/*
 * The fault path, mmap and munmap on a stub clock (no SimGrid): after faults every touched
 * page is mapped exactly once; after munmap every page and page table is freed; read
 * faults map the zero page and a later write replaces it; partial munmap splits VMAs.
 */
#include <string.h>
#include "tap.h"
#include "clock.h"
#include "hw/machine.h"
#include "hw/hw.h"
#include "mm/mm.h"
#include "schemes/scheme.h"

static struct sim_task task;

static void check(struct mm_struct *mm, const char *when, uint64_t mapped, uint64_t zero)
{
	struct mm_check_report r;
	mm_check(mm, &r);
	tap_ok(!r.error, "%s: consistent%s%s", when, r.error ? ": " : "", r.error ? r.error : "");
	tap_ok(r.mapped_pages == mapped && r.zero_ptes == zero,
	       "%s: %llu pages and %llu zero-page PTEs mapped (want %llu, %llu)", when,
	       (unsigned long long)r.mapped_pages, (unsigned long long)r.zero_ptes,
	       (unsigned long long)mapped, (unsigned long long)zero);
}

static void touch(struct mm_struct *mm, unsigned long a, unsigned long len, bool write)
{
	for (unsigned long off = 0; off < len; off += PAGE_SIZE)
		if (mmu_access(&task, mm, a + off, write))
			tap_ok(0, "access at 0x%lx failed", a + off);
}

int main(void)
{
	char *err = NULL;
	struct machine *m = machine_load("generic-2s", &err);
	if (!m) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	task.name = "test";
	task.machine = m;
	task.deadline = SIM_TIME_MAX;
	task.hw = hw_create(m, m->nr_cpus);
	struct zone *zone = zone_create(1ULL << 30, m->nr_cpus);
	struct mm_struct *mm = mm_create(zone, &classic_scheme);
	task.mm = mm;

	/* Two 4 MiB regions: 1024 pages each, across PTE-table boundaries. */
	unsigned long len = 4UL << 20;
	unsigned long a = classic_scheme.mmap(&task, mm, len, VM_READ | VM_WRITE);
	unsigned long b = classic_scheme.mmap(&task, mm, len, VM_READ | VM_WRITE);
	tap_ok(a && b && b + len <= a, "two mappings placed top-down without overlap");
	touch(mm, a, len, true);
	check(mm, "after writing 1024 pages", 1024, 0);
	tap_ok(task.stats.ev[EV_FAULT_ANON] == 1024, "one anonymous fault per page (%llu)",
	       (unsigned long long)task.stats.ev[EV_FAULT_ANON]);
	touch(mm, a, len, true);
	tap_ok(task.stats.ev[EV_FAULT_ANON] == 1024 && task.stats.fault_latency.count == 1024,
	       "second pass over mapped pages does not fault");

	/* Read faults map the zero page; a write then copies it. */
	touch(mm, b, len, false);
	check(mm, "after reading the second region", 1024, 1024);
	touch(mm, b, 16 * PAGE_SIZE, true);
	tap_ok(task.stats.ev[EV_FAULT_WP] == 16, "writes to zero-page PTEs take wp faults (%llu)",
	       (unsigned long long)task.stats.ev[EV_FAULT_WP]);
	check(mm, "after writing 16 zero-page PTEs", 1040, 1008);

	/* Partial munmap in the middle of a: two VMAs remain, the pages inside are freed. */
	unsigned long hole = a + (1UL << 20);
	classic_scheme.munmap(&task, mm, hole, 2UL << 20);
	tap_ok(mm->map_count == 3, "munmap of the middle splits the VMA (%d VMAs)", mm->map_count);
	check(mm, "after punching a 2 MiB hole", 1040 - 512, 1008);
	tap_ok(mmu_access(&task, mm, hole + PAGE_SIZE, true) == -14,
	       "an access in the hole is a SIGSEGV");

	/* The gap search places a new mapping at the top of the highest gap that fits:
	 * the hole (a's upper part ends at mmap_base), not below b. */
	unsigned long c1 = classic_scheme.mmap(&task, mm, 1UL << 20, VM_READ | VM_WRITE);
	tap_ok(c1 == hole + (1UL << 20),
	       "mmap of 1 MiB lands at the top of the 2 MiB hole "
	       "(0x%lx, hole at 0x%lx)",
	       c1, hole);
	unsigned long c2 = classic_scheme.mmap(&task, mm, 2UL << 20, VM_READ | VM_WRITE);
	tap_ok(c2 == b - (2UL << 20),
	       "mmap of 2 MiB no longer fits there: placed below b "
	       "(0x%lx)",
	       c2);
	classic_scheme.munmap(&task, mm, c1, 1UL << 20);
	classic_scheme.munmap(&task, mm, c2, 2UL << 20);
	tap_ok(mm->map_count == 3, "both unmapped again (%d VMAs)", mm->map_count);

	classic_scheme.munmap(&task, mm, a, len);
	classic_scheme.munmap(&task, mm, b, len);
	check(mm, "after unmapping everything", 0, 0);
	struct mm_check_report r;
	mm_check(mm, &r);
	tap_ok(r.table_pages == 1 && r.pages_in_use == 1,
	       "all data pages and page tables freed: %llu tables, %llu pages in use (the PGD)",
	       (unsigned long long)r.table_pages, (unsigned long long)r.pages_in_use);
	tap_ok(task.stats.ev[EV_PGALLOC] == task.stats.ev[EV_PGFREE],
	       "pages allocated == pages freed (%llu)",
	       (unsigned long long)task.stats.ev[EV_PGALLOC]);
	tap_ok(task.stats.ev[EV_PT_ALLOC] == task.stats.ev[EV_PT_FREE],
	       "page tables allocated == freed (%llu)",
	       (unsigned long long)task.stats.ev[EV_PT_ALLOC]);

	/* Single-thread fault cost: the calibration target of the preset's path lengths. */
	double mean = (double)task.stats.fault_latency.sum_ns /
		      (double)task.stats.fault_latency.count;
	tap_ok(mean > 0, "mean fault latency %.0f ns recorded", mean);

	/* Many VMAs: the tree grows, holes are reused top-down, and it empties again. */
	enum { NR_MANY = 1200 };
	static unsigned long many[NR_MANY];
	for (unsigned i = 0; i < NR_MANY; i++)
		many[i] =
		    classic_scheme.mmap(&task, mm, PAGE_SIZE * (1 + i % 3), VM_READ | VM_WRITE);
	unsigned tall = mm->mm_mt.height;
	for (unsigned i = 0; i < NR_MANY; i += 2)
		classic_scheme.munmap(&task, mm, many[i], PAGE_SIZE * (1 + i % 3));
	check(mm, "after mapping 1200 VMAs and unmapping every other one", 0, 0);
	tap_ok(tall >= 3 && mm->map_count == NR_MANY / 2,
	       "1200 VMAs made a tree of height %u; %d remain", tall, mm->map_count);
	/* The highest hole of at least 3 pages is the one many[2] left (the first 3-page
	 * mapping unmapped; many[0..1] sit above it with no room). */
	unsigned long again = classic_scheme.mmap(&task, mm, 3 * PAGE_SIZE, VM_READ | VM_WRITE);
	tap_ok(again == many[2], "a 3-page mmap reuses the highest 3-page hole (0x%lx, want 0x%lx)",
	       again, many[2]);
	classic_scheme.munmap(&task, mm, again, 3 * PAGE_SIZE);
	for (unsigned i = 1; i < NR_MANY; i += 2)
		classic_scheme.munmap(&task, mm, many[i], PAGE_SIZE * (1 + i % 3));
	tap_ok(mm->map_count == 0 && mm->mm_mt.height == 0 && !mm->mm_mt.ma_root,
	       "unmapping them all empties the tree (map_count %d, height %u)", mm->map_count,
	       mm->mm_mt.height);
	check(mm, "after unmapping the 1200 VMAs", 0, 0);

	/* The checker itself must catch a leaked page. */
	unsigned long c = classic_scheme.mmap(&task, mm, PAGE_SIZE, VM_READ | VM_WRITE);
	touch(mm, c, PAGE_SIZE, true);
	pteval_t *pte = pt_lookup_pte(&task, mm, c, NULL);
	*pte = 0; /* a zap that forgot to free the page */
	mm->rss_anon--;
	mm_check(mm, &r);
	tap_ok(r.error && strstr(r.error, "leaked"), "the checker catches a leaked page: %s",
	       r.error ? r.error : "(nothing reported)");

	char *herr = hw_check(task.hw);
	tap_ok(!herr, "hardware model state consistent%s%s", herr ? ": " : "", herr ? herr : "");
	mm_destroy(mm);
	zone_destroy(zone);
	hw_destroy(task.hw);
	machine_free(m);
	return tap_done();
}
