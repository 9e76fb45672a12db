/*
 * The fault path, mmap, munmap, mprotect and MADV_DONTNEED on a stub clock (no SimGrid),
 * with the invariant checker on throughout: after faults every touched page is mapped
 * exactly once; after munmap every page and page table is freed; read faults map the zero
 * page and a later write replaces it; partial munmap splits VMAs; mprotect splits and
 * merges VMAs, rewrites PTEs and makes faults honour the new protection; DONTNEED frees
 * the pages but keeps the VMAs and tables.  Then bugs planted on purpose are caught.
 */
#include <string.h>
#include "tap.h"
#include "clock.h"
#include "hw/machine.h"
#include "hw/hw.h"
#include "mm/mm.h"
#include "mm/lru.h"
#include "schemes/scheme.h"
#include "violation_log.h"

static struct sim_task task;

/* Violations reported by the checker: counted, the last one kept. */

/* The syscalls as sim/workload.c issues them: bracketed for the checker. */
static unsigned long sys_mmap_prot(struct mm_struct *mm, unsigned long len, unsigned long prot)
{
	unsigned long a = scheme_mmap_anon(&classic_scheme, &task, mm, len, prot);
	if (a && mm->checker)
		mm_check_op_end(&task, mm, mm_check_op_begin(&task, mm, MOP_MMAP, a, a + len, prot),
				true);
	return a;
}

static unsigned long sys_mmap(struct mm_struct *mm, unsigned long len)
{
	return sys_mmap_prot(mm, len, VM_READ | VM_WRITE);
}

static void sys_munmap(struct mm_struct *mm, unsigned long a, unsigned long len)
{
	int op = mm_check_op_begin(&task, mm, MOP_MUNMAP, a, a + len, 0);
	classic_scheme.munmap(&task, mm, a, len);
	mm_check_op_end(&task, mm, op, true);
}

static int sys_mprotect(struct mm_struct *mm, unsigned long a, unsigned long len,
			unsigned long flags)
{
	int op = mm_check_op_begin(&task, mm, MOP_MPROTECT, a, a + len, flags);
	int ret = classic_scheme.mprotect(&task, mm, a, len, flags);
	mm_check_op_end(&task, mm, op, ret == 0);
	return ret;
}

static int sys_dontneed(struct mm_struct *mm, unsigned long a, unsigned long len)
{
	int op = mm_check_op_begin(&task, mm, MOP_DONTNEED, a, a + len, 0);
	int ret = classic_scheme.madvise_dontneed(&task, mm, a, len);
	mm_check_op_end(&task, mm, op, true);
	return ret;
}

static pteval_t pte_of(struct mm_struct *mm, unsigned long a)
{
	pteval_t *pte = pt_lookup_pte(&task, mm, a, NULL);
	return pte ? *pte : 0;
}

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
	mm->checker = mm_checker_create();
	mm_set_violation_handler(record_violation, NULL);

	/* Two 4 MiB regions: 1024 pages each, across PTE-table boundaries. */
	unsigned long len = 4UL << 20;
	unsigned long a = sys_mmap(mm, len);
	unsigned long b = sys_mmap(mm, len);
	tap_ok(a && b && b + len <= a, "two mappings placed top-down without overlap");
	tap_ok(b + len == a && mm->map_count == 1,
	       "the second one is adjacent and alike: the first VMA grew down over it (%d VMA)",
	       mm->map_count);
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

	/* Partial munmap in the middle of a: the VMA of a and b is split in two, the pages
	 * inside are freed. */
	unsigned long hole = a + (1UL << 20);
	sys_munmap(mm, hole, 2UL << 20);
	tap_ok(mm->map_count == 2, "munmap of the middle splits the VMA (%d VMAs)", mm->map_count);
	check(mm, "after punching a 2 MiB hole", 1040 - 512, 1008);
	tap_ok(mmu_access(&task, mm, hole + PAGE_SIZE, true) == -14,
	       "an access in the hole is a SIGSEGV");

	/* The gap search places a new mapping at the top of the highest gap that fits:
	 * the hole (a's upper part ends at mmap_base), not below b. */
	unsigned long c1 = sys_mmap(mm, 1UL << 20);
	tap_ok(c1 == hole + (1UL << 20),
	       "mmap of 1 MiB lands at the top of the 2 MiB hole "
	       "(0x%lx, hole at 0x%lx)",
	       c1, hole);
	unsigned long c2 = sys_mmap(mm, 2UL << 20);
	tap_ok(c2 == b - (2UL << 20),
	       "mmap of 2 MiB no longer fits there: placed below b "
	       "(0x%lx)",
	       c2);
	sys_munmap(mm, c1, 1UL << 20);
	sys_munmap(mm, c2, 2UL << 20);
	tap_ok(mm->map_count == 2, "both unmapped again (%d VMAs)", mm->map_count);

	sys_munmap(mm, a, len);
	sys_munmap(mm, b, len);
	check(mm, "after unmapping everything", 0, 0);
	/* The CPU's LRU batch still holds the last pages queued: its drain frees them. */
	lru_add_drain(&task, zone);
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

	/* Many VMAs: the tree grows, holes are reused top-down, and it empties again.
	 * Neighbours alternate read-write and read-only, so none merges. */
	enum { NR_MANY = 1200 };
	static unsigned long many[NR_MANY];
	for (unsigned i = 0; i < NR_MANY; i++)
		many[i] = sys_mmap_prot(mm, PAGE_SIZE * (1 + i % 3),
					i % 2 ? VM_READ : VM_READ | VM_WRITE);
	unsigned tall = mm->mm_mt.height;
	for (unsigned i = 0; i < NR_MANY; i += 2)
		sys_munmap(mm, many[i], PAGE_SIZE * (1 + i % 3));
	check(mm, "after mapping 1200 VMAs and unmapping every other one", 0, 0);
	tap_ok(tall >= 3 && mm->map_count == NR_MANY / 2,
	       "1200 VMAs made a tree of height %u; %d remain", tall, mm->map_count);
	/* The highest hole of at least 3 pages is the one many[2] left (the first 3-page
	 * mapping unmapped; many[0..1] sit above it with no room). */
	unsigned long again = sys_mmap(mm, 3 * PAGE_SIZE);
	tap_ok(again == many[2], "a 3-page mmap reuses the highest 3-page hole (0x%lx, want 0x%lx)",
	       again, many[2]);
	sys_munmap(mm, again, 3 * PAGE_SIZE);
	for (unsigned i = 1; i < NR_MANY; i += 2)
		sys_munmap(mm, many[i], PAGE_SIZE * (1 + i % 3));
	tap_ok(mm->map_count == 0 && mm->mm_mt.height == 0 && !mm->mm_mt.ma_root,
	       "unmapping them all empties the tree (map_count %d, height %u)", mm->map_count,
	       mm->mm_mt.height);
	check(mm, "after unmapping the 1200 VMAs", 0, 0);

	tap_ok(violations == 0, "the invariant checker saw no violation so far (%d)%s%s",
	       violations, last_violation ? ": " : "", last_violation ? last_violation : "");

	/* ---- mprotect ---- */
	enum { NP = 16 };
	unsigned long d = sys_mmap(mm, NP * PAGE_SIZE);
	touch(mm, d, NP * PAGE_SIZE, true);
	int vmas = mm->map_count;
	uint64_t flushes = task.stats.ev[EV_TLB_FLUSH], faults = task.stats.ev[EV_FAULT];
	tap_ok(sys_mprotect(mm, d + 4 * PAGE_SIZE, 4 * PAGE_SIZE, VM_READ) == 0,
	       "mprotect(r) of 4 pages in the middle succeeds");
	tap_ok(mm->map_count == vmas + 2, "it splits the VMA in three (%d VMAs, was %d)",
	       mm->map_count, vmas);
	tap_ok(task.stats.ev[EV_TLB_FLUSH] == flushes + 1, "one TLB flush for the range (%llu)",
	       (unsigned long long)(task.stats.ev[EV_TLB_FLUSH] - flushes));
	bool ro = true, rw = true;
	for (unsigned i = 0; i < NP; i++) {
		pteval_t e = pte_of(mm, d + i * PAGE_SIZE);
		if (i >= 4 && i < 8)
			ro &= (e & _PAGE_PRESENT) && !(e & _PAGE_RW);
		else
			rw &= (e & _PAGE_PRESENT) && (e & _PAGE_RW);
	}
	tap_ok(ro && rw, "change_protection: PTEs inside read-only, outside still writable");
	check(mm, "after mprotect(r)", NP, 0);
	tap_ok(mmu_access(&task, mm, d + 5 * PAGE_SIZE, true) == -14,
	       "a write to the read-only part is a SIGSEGV");
	tap_ok(mmu_access(&task, mm, d + 5 * PAGE_SIZE, false) == 0, "a read there succeeds");
	tap_ok(sys_mprotect(mm, d + 4 * PAGE_SIZE, 4 * PAGE_SIZE, VM_READ | VM_WRITE) == 0 &&
		   mm->map_count == vmas,
	       "mprotect(rw) back: the three VMAs merge into one (%d VMAs)", mm->map_count);
	faults = task.stats.ev[EV_FAULT];
	touch(mm, d, NP * PAGE_SIZE, true);
	tap_ok(task.stats.ev[EV_FAULT] == faults,
	       "writes after mprotect(rw) need no fault: the PTEs were made writable");
	tap_ok(sys_mprotect(mm, d + 9 * PAGE_SIZE, PAGE_SIZE, 0) == 0 &&
		   mmu_access(&task, mm, d + 9 * PAGE_SIZE, false) == -14,
	       "PROT_NONE: a read is a SIGSEGV");
	pteval_t none = pte_of(mm, d + 9 * PAGE_SIZE);
	tap_ok(pte_present(none) && !(none & _PAGE_PRESENT) && pte_pfn(none),
	       "PROT_NONE keeps the frame in a non-present entry (0x%llx)",
	       (unsigned long long)none);
	check(mm, "with a PROT_NONE page", NP, 0);
	tap_ok(sys_mprotect(mm, d + 9 * PAGE_SIZE, PAGE_SIZE, VM_READ | VM_WRITE) == 0 &&
		   mmu_access(&task, mm, d + 9 * PAGE_SIZE, false) == 0 && mm->map_count == vmas,
	       "back to rw: the page reads again (the checker verified its old contents)");
	tap_ok(sys_mprotect(mm, d + (NP - 2) * PAGE_SIZE, 8 * PAGE_SIZE, VM_READ) == -12 &&
		   mm->map_count == vmas && (pte_of(mm, d + (NP - 1) * PAGE_SIZE) & _PAGE_RW),
	       "mprotect over a hole: ENOMEM, nothing changed");

	/* ---- MADV_DONTNEED ---- */
	uint64_t freed = task.stats.ev[EV_PGFREE], zero = task.stats.ev[EV_FAULT_ZERO];
	uint64_t tables = task.stats.ev[EV_PT_FREE];
	long rss = mm->rss_anon;
	tap_ok(sys_dontneed(mm, d + 2 * PAGE_SIZE, 4 * PAGE_SIZE) == 0,
	       "madvise(MADV_DONTNEED) of 4 pages succeeds");
	tap_ok(task.stats.ev[EV_PGFREE] == freed + 4 && mm->rss_anon == rss - 4,
	       "it frees the 4 pages (%llu freed, rss %ld)",
	       (unsigned long long)(task.stats.ev[EV_PGFREE] - freed), mm->rss_anon);
	tap_ok(mm->map_count == vmas && task.stats.ev[EV_PT_FREE] == tables,
	       "the VMAs and the page tables stay");
	bool gone = true;
	for (unsigned i = 2; i < 6; i++)
		gone &= !pte_of(mm, d + i * PAGE_SIZE);
	tap_ok(gone, "no PTE is left in the range");
	check(mm, "after DONTNEED", NP - 4, 0);
	touch(mm, d + 2 * PAGE_SIZE, 4 * PAGE_SIZE, false);
	tap_ok(task.stats.ev[EV_FAULT_ZERO] == zero + 4,
	       "reads fault in the zero page (and read zero: the checker verified it)");
	uint64_t wp = task.stats.ev[EV_FAULT_WP];
	touch(mm, d + 2 * PAGE_SIZE, 4 * PAGE_SIZE, true);
	tap_ok(task.stats.ev[EV_FAULT_WP] == wp + 4, "writes then fault fresh pages");
	check(mm, "after rewriting the dropped pages", NP, 0);
	tap_ok(sys_dontneed(mm, d + (NP - 1) * PAGE_SIZE, 4 * PAGE_SIZE) == -12 &&
		   !pte_of(mm, d + (NP - 1) * PAGE_SIZE),
	       "DONTNEED over a hole: ENOMEM, the mapped part is still dropped");
	tap_ok(violations == 0, "no violation through mprotect and DONTNEED (%d)%s%s", violations,
	       last_violation ? ": " : "", last_violation ? last_violation : "");

	/* ---- page-table lock granularity ---- */
	struct page *pt = NULL, *pmdt = NULL;
	pt_lookup_pte(&task, mm, d, &pt);
	pteval_t *pud = pt_entries(mm, mm->pgd->table[pt_index(d, PT_PGD)]);
	pmdt = pt_page(mm, pud[pt_index(d, PT_PUD)]);
	tap_ok(pte_lockptr(mm, pt) == &pt->ptl && pmd_lockptr(mm, pmdt) == &pmdt->ptl,
	       "ptl=split-pmd (default): PTE and PMD locks live in their tables");
	mm->ptl_mode = PTL_SPLIT_PTE;
	tap_ok(pte_lockptr(mm, pt) == &pt->ptl && pmd_lockptr(mm, pmdt) == &mm->page_table_lock,
	       "ptl=split-pte: PMD entries under mm->page_table_lock");
	mm->ptl_mode = PTL_MM;
	tap_ok(pte_lockptr(mm, pt) == &mm->page_table_lock &&
		   pmd_lockptr(mm, pmdt) == &mm->page_table_lock,
	       "ptl=mm: every entry under mm->page_table_lock");
	sys_dontneed(mm, d, NP * PAGE_SIZE);
	touch(mm, d, NP * PAGE_SIZE, true);
	sys_mprotect(mm, d, NP * PAGE_SIZE, VM_READ);
	touch(mm, d, NP * PAGE_SIZE, false);
	sys_mprotect(mm, d, NP * PAGE_SIZE, VM_READ | VM_WRITE);
	tap_ok(violations == 0 && !spin_is_busy(&mm->page_table_lock),
	       "faults, DONTNEED and mprotect run under ptl=mm too (%d)%s", violations,
	       last_violation ? last_violation : "");
	check(mm, "under ptl=mm", NP, 0);
	mm->ptl_mode = PTL_SPLIT_PMD;

	/* ---- planted bugs ---- */
	mm->inject = INJECT_SKIP_TLB_FLUSH;
	touch(mm, d, PAGE_SIZE, true); /* the TLB now holds a writable translation */
	sys_mprotect(mm, d, PAGE_SIZE, VM_READ);
	mmu_access(&task, mm, d, true);
	tap_ok(violations == 1 && strstr(last_violation, "store-honours-protection") &&
		   strstr(last_violation, "last events on page"),
	       "a skipped mprotect flush: the store through the stale entry is caught");
	mm->inject = INJECT_NONE;
	sys_mprotect(mm, d, PAGE_SIZE, VM_READ | VM_WRITE);

	mm->inject = INJECT_DONTNEED_NO_ZAP;
	touch(mm, d + PAGE_SIZE, PAGE_SIZE, true);
	sys_dontneed(mm, d + PAGE_SIZE, PAGE_SIZE);
	tap_ok(violations == 2 && strstr(last_violation, "dontneed-leaves-no-present-pte"),
	       "a zap that leaves the PTE: caught under the PTL");
	touch(mm, d + PAGE_SIZE, PAGE_SIZE, false);
	tap_ok(violations == 3 && strstr(last_violation, "load-returns-last-store"),
	       "and the shadow catches the old data read back after DONTNEED");
	mm->inject = INJECT_NONE;
	sys_dontneed(mm, d + PAGE_SIZE, PAGE_SIZE);

	mm_assert_locked(&task, mm, d, spin_is_held_by(&mm->page_table_lock, &task), "PTE",
			 "&mm->page_table_lock");
	tap_ok(violations == 4 && strstr(last_violation, "field-written-under-its-lock") &&
		   strstr(last_violation, "PTE written without &mm->page_table_lock held"),
	       "a write without its lock is a violation");
	sys_munmap(mm, d, NP * PAGE_SIZE);
	violations = 0;

	/* A PTE left writable in a read-only VMA (an mprotect that raced a fault). */
	{
		unsigned long w = sys_mmap(mm, PAGE_SIZE);
		touch(mm, w, PAGE_SIZE, true);
		struct vm_area_struct *v = find_vma(NULL, mm, w);
		unsigned long saved = v->vm_flags;
		v->vm_flags &= ~VM_WRITE; /* the VMA says read-only, the PTE still RW */
		mm_check(mm, &r);
		tap_ok(r.error && strstr(r.error, "writable in a VMA without VM_WRITE"),
		       "the checker catches a writable PTE in a read-only VMA: %s",
		       r.error ? r.error : "(nothing reported)");
		g_free(r.error);
		v->vm_flags = saved;
		sys_munmap(mm, w, PAGE_SIZE);
	}

	/* The checker itself must catch a leaked page. */
	unsigned long c = sys_mmap(mm, PAGE_SIZE);
	touch(mm, c, PAGE_SIZE, true);
	lru_add_drain(&task, zone); /* on the LRU: only the PTE's reference is left */
	pteval_t *pte = pt_lookup_pte(&task, mm, c, NULL);
	*pte = 0; /* a zap that forgot to free the page */
	mm->rss_anon--;
	mm_check(mm, &r);
	tap_ok(r.error && strstr(r.error, "leaked"), "the checker catches a leaked page: %s",
	       r.error ? r.error : "(nothing reported)");

	char *herr = hw_check(task.hw);
	tap_ok(!herr, "hardware model state consistent%s%s", herr ? ": " : "", herr ? herr : "");
	mm_checker_destroy(mm->checker);
	g_free(last_violation);
	mm_destroy(mm);
	zone_destroy(zone);
	hw_destroy(task.hw);
	machine_free(m);
	return tap_done();
}
