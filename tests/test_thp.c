/*
 * THP and khugepaged on a stub clock (no SimGrid), with the invariant checker on:
 * a huge fault maps one 2 MiB leaf with its deposited table; partial DONTNEED, mprotect
 * and munmap split it, whole ones zap or change it in place; an order-9 allocation that
 * finds no block falls back to 4 KiB pages; pte_offset_map_lock backs off when the PMD
 * changed, when the PMD sequence is odd (pmd-seq) and a fault waits on a marker PTE
 * (invalid-pte); khugepaged leaves a range alone when it has more empty PTEs than
 * max_ptes_none or no order-9 block is free; and one khugepaged pass collapses a range of
 * small pages under every collapse scheme, keeping every byte the program stored.
 */
#include <string.h>
#include "tap.h"
#include "clock.h"
#include "hw/machine.h"
#include "hw/hw.h"
#include "mm/mm.h"
#include "mm/khugepaged.h"
#include "mm/lru.h"
#include "mm/rmap.h"
#include "schemes/scheme.h"
#include "violation_log.h"

#define HUGE PMD_SIZE

static struct sim_task task, kthread;
static struct machine *machine;


static unsigned long sys_mmap(struct mm_struct *mm, unsigned long len)
{
	unsigned long a = scheme_mmap_anon(&classic_scheme, &task, mm, len, VM_READ | VM_WRITE);
	mm_check_op_end(&task, mm,
			mm_check_op_begin(&task, mm, MOP_MMAP, a, a + len, VM_READ | VM_WRITE), true);
	return a;
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

static void sys_dontneed(struct mm_struct *mm, unsigned long a, unsigned long len)
{
	int op = mm_check_op_begin(&task, mm, MOP_DONTNEED, a, a + len, 0);
	classic_scheme.madvise_dontneed(&task, mm, a, len);
	mm_check_op_end(&task, mm, op, true);
}

static void sys_madvise_hugepage(struct mm_struct *mm, unsigned long a, unsigned long len)
{
	mmap_write_lock(&task, mm);
	madvise_hugepage_locked(&task, mm, a, a + len);
	mmap_write_unlock(&task, mm);
}

static pteval_t entry_of(struct mm_struct *mm, unsigned long a)
{
	pteval_t *e = pt_lookup_pte(&task, mm, a, NULL);
	return e ? *e : 0;
}

static void touch(struct mm_struct *mm, unsigned long a, unsigned long len, unsigned long step,
		  bool write)
{
	for (unsigned long off = 0; off < len; off += step)
		if (mmu_access(&task, mm, a + off, write))
			tap_ok(0, "access at 0x%lx failed", a + off);
}

static void check(struct mm_struct *mm, const char *when, uint64_t mapped)
{
	struct mm_check_report r;
	mm_check(mm, &r);
	tap_ok(!r.error, "%s: consistent%s%s", when, r.error ? ": " : "", r.error ? r.error : "");
	tap_ok(r.mapped_pages == mapped, "%s: %llu pages mapped (want %llu)", when,
	       (unsigned long long)r.mapped_pages, (unsigned long long)mapped);
	tap_ok(!violations, "%s: no checker report%s%s", when, violations ? ": " : "",
	       violations ? last_violation : "");
}

static struct mm_struct *new_mm(struct zone *zone, enum thp_mode thp)
{
	struct mm_struct *mm = mm_create(zone, &classic_scheme);
	mm->thp = thp;
	mm->pmd_recheck = true;
	mm->checker = mm_checker_create();
	task.mm = mm;
	return mm;
}

static void free_mm(struct mm_struct *mm)
{
	mm_checker_destroy(mm->checker);
	khugepaged_detach(mm);
	mm_destroy(mm);
}

static uint64_t ev(enum stat_event e)
{
	return task.stats.ev[e];
}

static void test_huge_faults(void)
{
	struct zone *zone = zone_create(1ULL << 30, machine->nr_cpus);
	struct mm_struct *mm = new_mm(zone, THP_ALWAYS);
	unsigned long base = sys_mmap(mm, 3 * HUGE);
	unsigned long h = (base + HUGE - 1) & ~(HUGE - 1), h2 = h + HUGE;

	touch(mm, h, PAGE_SIZE, PAGE_SIZE, true);
	pteval_t e = entry_of(mm, h);
	tap_ok(ev(EV_THP_FAULT_ALLOC) == 1 && pmd_trans_huge(e) && pte_pfn(e) % HPAGE_PMD_NR == 0,
	       "one write fault maps an aligned 2 MiB leaf (pfn %llu)",
	       (unsigned long long)pte_pfn(e));
	tap_ok(mm->nr_ptes == 1 && mm->rss_anon == HPAGE_PMD_NR,
	       "its PTE table is deposited (nr_ptes %ld) and rss counts 512 (%ld)", mm->nr_ptes,
	       mm->rss_anon);
	uint64_t faults = task.stats.fault_latency.count;
	touch(mm, h, HUGE, PAGE_SIZE, true);
	touch(mm, h + 8, HUGE - 8, 2 * PAGE_SIZE, false);
	tap_ok(task.stats.fault_latency.count == faults, "the other 511 pages do not fault");
	check(mm, "huge PMD written and read", HPAGE_PMD_NR);

	/* partial DONTNEED splits; the dropped page reads zero, the others keep their data */
	sys_dontneed(mm, h + 5 * PAGE_SIZE, 2 * PAGE_SIZE);
	tap_ok(ev(EV_THP_SPLIT_PMD) == 1 && !pmd_trans_huge(entry_of(mm, h)) &&
	       entry_of(mm, h + 5 * PAGE_SIZE) == 0,
	       "DONTNEED of two pages splits the PMD and clears their PTEs");
	touch(mm, h, HUGE, PAGE_SIZE, false);
	check(mm, "after the split", HPAGE_PMD_NR - 2);

	/* a second range: whole DONTNEED zaps the leaf, the block goes back at order 9 */
	touch(mm, h2, HUGE, PAGE_SIZE, true);
	/* The folio waits in this CPU's LRU batch, which holds a reference: drain it so
	 * that the zap drops the last one. */
	lru_add_drain(&task, zone);
	guint huge_free = zone->free_huge->len;
	sys_dontneed(mm, h2, HUGE);
	tap_ok(ev(EV_THP_ZAP_PMD) == 1 && zone->free_huge->len == huge_free + 1 &&
	       entry_of(mm, h2) == 0, "DONTNEED of all 2 MiB zaps the leaf whole and frees the block");
	touch(mm, h2, HUGE, 64 * PAGE_SIZE, false);
	check(mm, "after the zap and a read pass", 2 * HPAGE_PMD_NR - 2);

	/* mprotect of all of it changes the leaf in place; of part of it, splits */
	tap_ok(sys_mprotect(mm, h2, HUGE, VM_READ) == 0 && pmd_trans_huge(entry_of(mm, h2)) &&
	       !(entry_of(mm, h2) & _PAGE_RW), "mprotect(r) of the whole 2 MiB keeps one read-only leaf");
	tap_ok(mmu_access(&task, mm, h2 + PAGE_SIZE, true) == -14, "a write to it is a SIGSEGV");
	sys_mprotect(mm, h2, HUGE, VM_READ | VM_WRITE);
	touch(mm, h2, HUGE, 32 * PAGE_SIZE, true);
	sys_mprotect(mm, h2 + HUGE / 2, PAGE_SIZE, VM_READ);
	tap_ok(ev(EV_THP_SPLIT_PMD) == 2 && !(entry_of(mm, h2 + HUGE / 2) & _PAGE_RW) &&
	       (entry_of(mm, h2) & _PAGE_RW), "mprotect(r) of one page splits and changes only it");
	check(mm, "after the mprotects", 2 * HPAGE_PMD_NR - 2);

	/* munmap of half a leaf splits it first */
	touch(mm, h2, PAGE_SIZE, PAGE_SIZE, true);
	sys_mprotect(mm, h2 + HUGE / 2, PAGE_SIZE, VM_READ | VM_WRITE);
	sys_dontneed(mm, h2, HUGE);
	touch(mm, h2, HUGE, PAGE_SIZE, true);
	sys_munmap(mm, h2 + HUGE / 2, HUGE / 2);
	tap_ok(!pmd_trans_huge(entry_of(mm, h2)), "munmap of half a leaf splits it");
	check(mm, "after munmap of half a leaf", 2 * HPAGE_PMD_NR - 2 - HPAGE_PMD_NR / 2);
	sys_munmap(mm, base, 3 * HUGE);
	check(mm, "after munmap of everything", 0);
	free_mm(mm);
	zone_destroy(zone);
}

static void test_fallback(const struct machine *m)
{
	/* 4 MiB: pfn 0 and the zero page spoil the first block; one block is left. */
	struct zone *zone = zone_create(4ULL << 20, m->nr_cpus);
	struct mm_struct *mm = new_mm(zone, THP_ALWAYS);
	unsigned long base = sys_mmap(mm, 3 * HUGE);
	unsigned long h = (base + HUGE - 1) & ~(HUGE - 1);
	uint64_t alloc0 = ev(EV_THP_FAULT_ALLOC), fb0 = ev(EV_THP_FAULT_FALLBACK);
	touch(mm, h, PAGE_SIZE, PAGE_SIZE, true);
	touch(mm, h + HUGE, PAGE_SIZE, PAGE_SIZE, true);
	tap_ok(ev(EV_THP_FAULT_ALLOC) == alloc0 + 1 && ev(EV_THP_FAULT_FALLBACK) == fb0 + 1 &&
	       pmd_trans_huge(entry_of(mm, h)) && !pmd_trans_huge(entry_of(mm, h + HUGE)),
	       "with one order-9 block left, the second huge fault falls back to 4 KiB");
	check(mm, "after the fallback", HPAGE_PMD_NR + 1);
	sys_munmap(mm, base, 3 * HUGE);
	free_mm(mm);
	zone_destroy(zone);
}

static int stop_calls;
static bool stop_after_one_pass(void)
{
	return stop_calls++ > 0;
}

static void attach_none(struct mm_struct *mm, const char *scheme, unsigned max_ptes_none)
{
	struct khugepaged_params p = {
		.ops = collapse_find(scheme), .pages_to_scan = 4096, .scan_sleep_ms = 0.01,
		.max_ptes_none = max_ptes_none, .max_ptes_swap = 64, .cpu = 1, .should_stop = stop_after_one_pass,
	};
	khugepaged_attach(mm, &p);
}

static void attach(struct mm_struct *mm, const char *scheme)
{
	attach_none(mm, scheme, 511);
}

static void one_pass(struct mm_struct *mm, struct khugepaged_summary *s)
{
	stop_calls = 0;
	kthread.now = task.now;
	khugepaged_main(&kthread, mm);
	task.now = kthread.now;
	khugepaged_summary(mm, s);
}

/* A range khugepaged must leave alone: too many holes, or no huge block to copy into. */
static void test_no_collapse(const struct machine *m)
{
	struct zone *zone = zone_create(1ULL << 30, m->nr_cpus);
	struct mm_struct *mm = new_mm(zone, THP_MADVISE);
	attach_none(mm, "read-swapin", 0);
	unsigned long base = sys_mmap(mm, 2 * HUGE);
	unsigned long h = (base + HUGE - 1) & ~(HUGE - 1);
	touch(mm, h, HUGE - PAGE_SIZE, PAGE_SIZE, true);
	sys_madvise_hugepage(mm, h, HUGE);
	struct khugepaged_summary s;
	one_pass(mm, &s);
	tap_ok(s.collapses == 0 && s.scan_fail[SCAN_EXCEED_NONE_PTE] == 1 &&
	       !pmd_trans_huge(entry_of(mm, h)),
	       "max_ptes_none = 0: a range with one empty PTE is not collapsed");
	check(mm, "after the refused scan", HPAGE_PMD_NR - 1);
	sys_munmap(mm, base, 2 * HUGE);
	free_mm(mm);
	zone_destroy(zone);

	/* 4 MiB: the small pages and tables use the only aligned block there was */
	zone = zone_create(4ULL << 20, m->nr_cpus);
	mm = new_mm(zone, THP_MADVISE);
	attach(mm, "write-lock");
	base = sys_mmap(mm, 2 * HUGE);
	h = (base + HUGE - 1) & ~(HUGE - 1);
	touch(mm, h, HUGE, PAGE_SIZE, true);
	sys_madvise_hugepage(mm, h, HUGE);
	one_pass(mm, &s);
	tap_ok(s.collapses == 0 && s.collapse_fail[SCAN_ALLOC_HUGE_PAGE_FAIL] == 1 &&
	       !pmd_trans_huge(entry_of(mm, h)),
	       "no order-9 block: the collapse fails at the allocation and changes nothing");
	touch(mm, h, HUGE, PAGE_SIZE, false);
	check(mm, "after the failed allocation", HPAGE_PMD_NR);
	sys_munmap(mm, base, 2 * HUGE);
	free_mm(mm);
	zone_destroy(zone);
}

static void test_backoff(void)
{
	struct zone *zone = zone_create(1ULL << 30, machine->nr_cpus);
	struct mm_struct *mm = new_mm(zone, THP_NEVER);
	attach(mm, "pmd-seq");
	unsigned long a = sys_mmap(mm, HUGE);
	touch(mm, a, PAGE_SIZE, PAGE_SIZE, true);
	struct page *pmd_table;
	pteval_t *pmd = pt_find_pmd(&task, mm, a, &pmd_table);
	struct page *pt = pt_page(mm, *pmd);

	pteval_t other = 0;
	tap_ok(!pte_offset_map_lock(&task, mm, &other, pt),
	       "pte_offset_map_lock fails when the PMD no longer points at the table");
	struct spinlock *ptl = pte_offset_map_lock(&task, mm, pmd, pt);
	tap_ok(ptl && spin_is_held_by(ptl, &task), "and locks it when it does");
	spin_unlock(&task, ptl);
	uint64_t waits = ev(EV_COLLAPSE_WAIT);
	pt->pmd_seq = 1;
	tap_ok(!pte_offset_map_lock(&task, mm, pmd, pt) && ev(EV_COLLAPSE_WAIT) == waits + 1,
	       "pmd-seq: an odd PMD sequence makes the PTL taker wait and walk again");
	pt->pmd_seq = 2;
	ptl = pte_offset_map_lock(&task, mm, pmd, pt);
	tap_ok(ptl != NULL, "pmd-seq: an even one lets it through");
	spin_unlock(&task, ptl);

	/* a marker PTE: the fault waits for the collapse and returns to refault */
	pteval_t *pte = &pt->table[pt_index(a + PAGE_SIZE, PT_PTE)];
	*pte = PTE_MARKER_COLLAPSE;
	mmap_read_lock(&task, mm);
	struct vm_area_struct *vma = find_vma(&task, mm, a);
	vm_fault_t r = handle_mm_fault(&task, vma, a + PAGE_SIZE, FAULT_FLAG_WRITE);
	mmap_read_unlock(&task, mm);
	tap_ok(r == 0 && ev(EV_COLLAPSE_WAIT) == waits + 2 && *pte == PTE_MARKER_COLLAPSE,
	       "a fault on a marker PTE waits and leaves it alone");
	*pte = 0;
	sys_munmap(mm, a, HUGE);
	free_mm(mm);
	zone_destroy(zone);
}

/* One khugepaged pass over a range of 512 small pages (minus `holes`), per scheme. */
/* A huge page is an anonymous folio: rmap, memcg, LRU; split and zap keep them right. */
static void test_folio(void)
{
	struct zone *zone = zone_create(1ULL << 30, machine->nr_cpus);
	struct mm_struct *mm = new_mm(zone, THP_ALWAYS);
	unsigned long base = sys_mmap(mm, 3 * HUGE);
	unsigned long h = (base + HUGE - 1) & ~(HUGE - 1);
	long usage0 = zone->memcg->memory.usage;
	long stock0 = memcg_stocked_pages(zone);

	touch(mm, h, PAGE_SIZE, PAGE_SIZE, true);
	struct vm_area_struct *vma = find_vma(NULL, mm, h);
	struct page *head = pfn_to_page(zone, pte_pfn(entry_of(mm, h)));
	tap_ok(vma->anon_vma && head->mapping == vma->anon_vma &&
	       head->index == linear_page_index(vma, h) && head[5].index == head->index + 5,
	       "the huge fault gave the VMA its anon_vma and the head its rmap");
	tap_ok(head->memcg == zone->memcg &&
	       zone->memcg->memory.usage - usage0 == HPAGE_PMD_NR &&
	       memcg_stocked_pages(zone) == stock0,
	       "its 512 pages are charged to the counter at once (usage +%ld, stock %ld)",
	       zone->memcg->memory.usage - usage0, memcg_stocked_pages(zone));
	tap_ok(head->mapcount == 1 && head->refcount == 2 && folio_in_lru_batch(zone, 0, head),
	       "one mapcount and reference for the PMD, one for the LRU batch");
	lru_add_drain(&task, zone);
	tap_ok((head->flags & PG_lru) && head->refcount == 1 && zone->lruvec->nr_pages == 1,
	       "drained: the folio is one LRU entry");
	tap_ok(folio_referenced(&task, head, false) == 1 &&
	       !(entry_of(mm, h) & _PAGE_ACCESSED) && folio_referenced(&task, head, false) == 0,
	       "folio_referenced finds the huge PMD through the anon_vma and clears its bit");
	check(mm, "huge folio on the LRU", HPAGE_PMD_NR);

	long usage1 = zone->memcg->memory.usage;
	sys_dontneed(mm, h + 3 * PAGE_SIZE, PAGE_SIZE);
	tap_ok(!pmd_trans_huge(entry_of(mm, h)) && head[1].mapping == vma->anon_vma &&
	       head[1].memcg == zone->memcg && (head[1].flags & PG_lru) &&
	       zone->lruvec->nr_pages == HPAGE_PMD_NR - 1,
	       "split: 512 pages in the anon_vma and memcg, the tails on the LRU (one zapped)");
	tap_ok(zone->memcg->memory.usage == usage1 - 1,
	       "the zapped page alone was uncharged (usage %ld -> %ld)", usage1,
	       zone->memcg->memory.usage);
	check(mm, "after the split", HPAGE_PMD_NR - 1);

	touch(mm, h + HUGE, PAGE_SIZE, PAGE_SIZE, true);
	struct page *h2 = pfn_to_page(zone, pte_pfn(entry_of(mm, h + HUGE)));
	lru_add_drain(&task, zone);
	long usage2 = zone->memcg->memory.usage;
	sys_munmap(mm, h + HUGE, HUGE);
	tap_ok(zone->memcg->memory.usage == usage2 - HPAGE_PMD_NR && (h2->flags & PG_free),
	       "a zapped huge PMD uncharges 512 pages and frees the folio");
	sys_munmap(mm, base, 3 * HUGE);
	check(mm, "after munmap of everything", 0);
	free_mm(mm);
	zone_destroy(zone);
}

static void test_collapse(const char *scheme)
{
	struct zone *zone = zone_create(1ULL << 30, machine->nr_cpus);
	struct mm_struct *mm = new_mm(zone, THP_MADVISE);
	attach(mm, scheme);
	unsigned long base = sys_mmap(mm, 2 * HUGE);
	unsigned long h = (base + HUGE - 1) & ~(HUGE - 1);
	touch(mm, h, HUGE, PAGE_SIZE, true);
	touch(mm, h + 24, HUGE - 24, 4 * PAGE_SIZE, true);
	sys_dontneed(mm, h + 7 * PAGE_SIZE, PAGE_SIZE);
	touch(mm, h + 9 * PAGE_SIZE, PAGE_SIZE, PAGE_SIZE, false);
	sys_madvise_hugepage(mm, h, HUGE);
	tap_ok(!pmd_trans_huge(entry_of(mm, h)), "%s: 511 small pages before khugepaged", scheme);

	struct khugepaged_summary s;
	one_pass(mm, &s);
	pteval_t e = entry_of(mm, h);
	tap_ok(s.collapses == 1 && pmd_trans_huge(e),
	       "%s: one pass collapses the range into a huge PMD (%llu collapses, %llu failed)",
	       scheme, (unsigned long long)s.collapses, (unsigned long long)s.failed);
	tap_ok(s.nr_records == 1 && s.records[0].held[CL_ANON_VMA] > 0,
	       "%s: the collapse held the VMA's anon_vma lock (W)", scheme);
	struct page *head = pfn_to_page(zone, pte_pfn(e));
	struct vm_area_struct *vma = find_vma(NULL, mm, h);
	tap_ok(head->mapping == vma->anon_vma && head->memcg && head->mapcount == 1 &&
	       head->index == linear_page_index(vma, h),
	       "%s: the new huge page has the VMA's anon_vma, its index and a memcg charge",
	       scheme);
	tap_ok(s.nr_records == 1 && s.records[0].result == SCAN_SUCCEED &&
	       s.records[0].held[CL_PMD] > 0 && s.records[0].ipis > 0,
	       "%s: the record has the PMD lock's hold time and the IPIs to the task's CPU (%llu)",
	       scheme, (unsigned long long)(s.nr_records ? s.records[0].ipis : 0));
	/* every byte stored is still there (the checker verifies each load), the dropped
	 * page and the zero-page one read zero */
	touch(mm, h, HUGE, PAGE_SIZE, false);
	touch(mm, h + 24, HUGE - 24, 4 * PAGE_SIZE, false);
	check(mm, scheme, HPAGE_PMD_NR);
	sys_munmap(mm, base, 2 * HUGE);
	check(mm, "after munmap", 0);
	free_mm(mm);
	zone_destroy(zone);
}

int main(void)
{
	char *err = NULL;
	machine = machine_load("generic-2s", &err);
	if (!machine) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	struct hw_model *hw = hw_create(machine, machine->nr_cpus);
	task = (struct sim_task){ .name = "test", .machine = machine, .hw = hw,
				  .deadline = SIM_TIME_MAX };
	kthread = (struct sim_task){ .name = "khugepaged", .id = 1, .cpu = 1, .daemon = true,
				     .machine = machine, .hw = hw, .deadline = SIM_TIME_MAX };
	mm_set_violation_handler(record_violation, NULL);

	test_huge_faults();
	test_folio();
	test_fallback(machine);
	test_backoff();
	test_no_collapse(machine);
	for (int i = 0; collapse_schemes[i]; i++)
		test_collapse(collapse_schemes[i]->name);

	hw_destroy(hw);
	machine_free(machine);
	g_free(last_violation);
	return tap_done();
}
