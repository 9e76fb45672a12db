/*
 * Speculative faults against an mmap writer, built deterministically on the stub clock:
 * scheme_walk_hook lets a writer task run exactly inside a speculative fault's window
 * (after the lockless VMA lookup and copy, before the copy is validated).  For every registered
 * scheme that speculates:
 *  - a munmap of another VMA inside the window aborts the speculation (mmap_seq moved;
 *    the count is per mm, so unrelated VMAs abort too) and the fault completes under
 *    mmap_lock;
 *  - the same munmap just before or just after the fault does not: it succeeds
 *    speculatively;
 *  - an mprotect making the faulting page read-only inside the window aborts the same way:
 *    the write fault gets SIGSEGV from the mmap_lock path, and no writable PTE appears
 *    (a speculation that trusted its stale copy would install one);
 *  - a munmap of the faulting VMA itself inside the window aborts the same way, and the
 *    mmap_lock path reports SIGSEGV: the stale copy is never used;
 *  - the first fault in a 2 MiB region finds no PTE table and falls back (SPF never
 *    allocates page tables).
 * Everything the writer frees stays readable until the reader leaves RCU (poisoning).
 */
#include <string.h>
#include "tap.h"
#include "clock.h"
#include "hw/machine.h"
#include "hw/hw.h"
#include "mm/mm.h"
#include "sync/rcu.h"
#include "schemes/scheme.h"
#include "race_fixture.h"

static const struct mm_scheme_ops *scheme;
static unsigned long unmap_start, unmap_len; /* the hook's munmap or mprotect; 0: none */
static bool hook_mprotect;                    /* make it read-only instead of unmapping */
static int hook_calls;

static void hook(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		 struct vm_area_struct *vma)
{
	(void)t;
	(void)addr;
	(void)vma;
	hook_calls++;
	if (!unmap_len)
		return;
	if (hook_mprotect)
		scheme->mprotect(&writer, mm, unmap_start, unmap_len, VM_READ);
	else
		scheme->munmap(&writer, mm, unmap_start, unmap_len);
	unmap_len = 0; /* once: the fallback's walk sees the new tree */
}

static uint64_t ev(enum stat_event e)
{
	return reader.stats.ev[e];
}

static uint64_t spf_aborts(void)
{
	uint64_t n = 0;
	for (int e = EV_SPF_ABORT_ODD; e <= EV_SPF_ABORT_NOMEM; e++)
		n += reader.stats.ev[e];
	return n;
}

static void reset_stats(void)
{
	memset(&reader.stats, 0, sizeof(reader.stats));
	hook_calls = 0;
}

static void check_mm(struct mm_struct *mm, const char *when)
{
	struct mm_check_report r;
	mm_check(mm, &r);
	tap_ok(!r.error, "%s %s: address space consistent%s%s", scheme->name, when,
	       r.error ? ": " : "", r.error ? r.error : "");
	g_free(r.error);
}

static bool pte_present_at(struct mm_struct *mm, unsigned long addr)
{
	pteval_t *pte = pt_lookup_pte(&writer, mm, addr, NULL);
	return pte && pte_present(*pte);
}

/* One write fault at addr with `elsewhere` unmapped before, inside the window or after. */
enum when { BEFORE, INSIDE, AFTER };

static void fault_with_munmap(struct mm_struct *mm, unsigned long addr, unsigned long other,
			      unsigned long other_len, enum when when)
{
	static const char *const names[] = { "before", "inside the window", "after" };
	reset_stats();
	if (when == BEFORE)
		scheme->munmap(&writer, mm, other, other_len);
	if (when == INSIDE) {
		unmap_start = other;
		unmap_len = other_len;
	}
	int err = mmu_access(&reader, mm, addr, true);
	if (when == AFTER)
		scheme->munmap(&writer, mm, other, other_len);
	bool mapped = pte_present_at(mm, addr);
	if (when == INSIDE)
		tap_ok(!err && mapped && hook_calls == 1 && ev(EV_SPF_ABORT_VMA_COPY) == 1 &&
			       spf_aborts() == 1 && ev(EV_SPF_SUCCESS) == 0 &&
			       ev(EV_MMAP_LOCK_FALLBACK) == 1 && ev(EV_SPF_WASTED_NS) > 0,
		       "%s munmap elsewhere %s: abort (mmap_seq changed), fault done under "
		       "mmap_lock (err %d, mapped %d, vma_copy %llu, aborts %llu, success %llu, "
		       "fallback %llu, wasted %llu ns)", scheme->name, names[when], err, mapped,
		       (unsigned long long)ev(EV_SPF_ABORT_VMA_COPY),
		       (unsigned long long)spf_aborts(), (unsigned long long)ev(EV_SPF_SUCCESS),
		       (unsigned long long)ev(EV_MMAP_LOCK_FALLBACK),
		       (unsigned long long)ev(EV_SPF_WASTED_NS));
	else
		tap_ok(!err && mapped && ev(EV_SPF_SUCCESS) == 1 && spf_aborts() == 0 &&
			       ev(EV_MMAP_LOCK_FALLBACK) == 0 && ev(EV_SPF_WASTED_NS) == 0,
		       "%s munmap elsewhere %s: the speculative fault succeeds (err %d, mapped %d, "
		       "success %llu, aborts %llu, fallback %llu)", scheme->name, names[when], err,
		       mapped, (unsigned long long)ev(EV_SPF_SUCCESS),
		       (unsigned long long)spf_aborts(),
		       (unsigned long long)ev(EV_MMAP_LOCK_FALLBACK));
}

static void run_scheme(void)
{
	struct zone *zone = zone_create(1ULL << 30, reader.machine->nr_cpus);
	struct mm_struct *mm = mm_create(zone, scheme);
	reader.mm = writer.mm = mm;
	scheme_walk_hook = hook;

	/* Three VMAs to unmap, elsewhere, and one of 4 MiB for the faults, at a 2 MiB
	 * boundary inside it: a PTE table of its own. */
	unsigned long len = 16 * PAGE_SIZE, region_len = 2 * PMD_SIZE;
	unsigned long others[3];
	for (int i = 0; i < 3; i++)
		others[i] = scheme_mmap_anon(scheme, &writer, mm, len, VM_READ | VM_WRITE);
	unsigned long vma_start = scheme_mmap_anon(scheme, &writer, mm, region_len,
						   VM_READ | VM_WRITE);
	unsigned long region = (vma_start + PMD_SIZE - 1) & ~(PMD_SIZE - 1);
	for (int i = 0; i < 3; i++) /* each other VMA touched: it has pages and tables */
		tap_ok(!mmu_access(&writer, mm, others[i], true), "%s: fault in VMA %d",
		       scheme->name, i);

	/* First touch of the region's 2 MiB: no PTE table yet, never allocated here. */
	reset_stats();
	int err = mmu_access(&reader, mm, region, true);
	tap_ok(!err && ev(EV_SPF_ABORT_NO_TABLE) == 1 && spf_aborts() == 1 &&
		       ev(EV_MMAP_LOCK_FALLBACK) == 1 && ev(EV_PT_ALLOC) >= 1,
	       "%s first fault of a 2 MiB region: no table, abort, mmap_lock path allocates it "
	       "(err %d, no_table %llu, fallback %llu)", scheme->name, err,
	       (unsigned long long)ev(EV_SPF_ABORT_NO_TABLE),
	       (unsigned long long)ev(EV_MMAP_LOCK_FALLBACK));

	fault_with_munmap(mm, region + 1 * PAGE_SIZE, others[0], len, BEFORE);
	fault_with_munmap(mm, region + 2 * PAGE_SIZE, others[1], len, INSIDE);
	fault_with_munmap(mm, region + 3 * PAGE_SIZE, others[2], len, AFTER);
	check_mm(mm, "after the munmaps elsewhere");

	/* The faulting page made read-only inside the window. */
	reset_stats();
	unsigned long ro = region + 6 * PAGE_SIZE;
	unmap_start = ro;
	unmap_len = PAGE_SIZE;
	hook_mprotect = true;
	err = mmu_access(&reader, mm, ro, true);
	hook_mprotect = false;
	pteval_t *pte = pt_lookup_pte(&writer, mm, ro, NULL);
	bool writable = pte && pte_present(*pte) && (*pte & _PAGE_RW);
	tap_ok(err == -14 && !writable && ev(EV_SPF_ABORT_VMA_COPY) == 1 && spf_aborts() == 1 &&
		       ev(EV_SPF_SUCCESS) == 0 && ev(EV_MMAP_LOCK_FALLBACK) == 1,
	       "%s page made read-only inside the window: abort, SIGSEGV from the mmap_lock path, "
	       "no writable PTE (err %d, writable %d, vma_copy %llu, fallback %llu)",
	       scheme->name, err, writable, (unsigned long long)ev(EV_SPF_ABORT_VMA_COPY),
	       (unsigned long long)ev(EV_MMAP_LOCK_FALLBACK));
	check_mm(mm, "after the mprotect race");

	/* The faulting VMA itself unmapped inside the window. */
	reset_stats();
	unmap_start = vma_start;
	unmap_len = region_len;
	err = mmu_access(&reader, mm, region + 5 * PAGE_SIZE, true);
	tap_ok(err == -14 && ev(EV_SPF_ABORT_VMA_COPY) == 1 && spf_aborts() == 1 &&
		       ev(EV_SPF_SUCCESS) == 0 && ev(EV_MMAP_LOCK_FALLBACK) == 1 &&
		       ev(EV_PGALLOC) == 0 && !pte_present_at(mm, region + 5 * PAGE_SIZE),
	       "%s own VMA unmapped inside the window: abort before any allocation, SIGSEGV "
	       "from the mmap_lock path (err %d, vma_copy %llu, fallback %llu, pgalloc %llu)",
	       scheme->name, err, (unsigned long long)ev(EV_SPF_ABORT_VMA_COPY),
	       (unsigned long long)ev(EV_MMAP_LOCK_FALLBACK), (unsigned long long)ev(EV_PGALLOC));
	check_mm(mm, "at the end");

	/* Grace periods end once both tasks pass quiescent states: the deferred frees of
	 * VMAs, tree nodes and page tables run, and nothing was read after its free. */
	rcu_qs(&reader);
	rcu_qs(&writer);
	rcu_qs(&reader);
	tap_ok(!rcu->violation && mm->nr_pt_rcu_pending == 0,
	       "%s: no access after a grace period, deferred table frees done (%ld left)%s%s",
	       scheme->name, mm->nr_pt_rcu_pending, rcu->violation ? ": " : "",
	       rcu->violation ? rcu->violation : "");
	scheme_walk_hook = NULL;
	mm_destroy(mm);
	zone_destroy(zone);
}

int main(void)
{
	if (!race_setup())
		return 1;
	int n = 0;
	for (int i = 0; mm_schemes[i]; i++) {
		if (!mm_schemes[i]->speculative)
			continue;
		scheme = mm_schemes[i];
		run_scheme();
		n++;
	}
	tap_ok(n >= 1, "%d speculating schemes tested", n);
	return race_teardown();
}
