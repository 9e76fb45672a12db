/*
 * Tier 0 of the schemes whose faults first try RCU alone (capability lockless_fault),
 * built deterministically on the stub clock.  A writer task acts exactly inside Tier 0's
 * window (scheme_walk_hook: before the commit under the PTE lock, or, for a scheme that
 * leaves RCU to allocate, in that gap):
 *  - uncontended: the first fault of a fresh region finds no PTE table and falls back
 *    (Tier 0 allocates none); the next one completes in Tier 0, with no VMA lock taken.
 *  - replaced: the region is unmapped and mapped again at the same address; Tier 0 sees
 *    the sequences move and falls back; the per-VMA tier faults in the new VMA.  The
 *    unlinked page table waits for the reader's grace period meanwhile.
 *  - unmapped: Tier 0 falls back, the per-VMA tier finds no VMA, the mmap_lock tier
 *    reports SIGSEGV.
 *  - made read-only (mprotect): same VMA, same range, same tables, same empty PTE; only
 *    the sequences tell Tier 0 that the write it sampled as allowed no longer is: it
 *    falls back and the write faults with SIGSEGV, no writable PTE appears.
 *  - GFP_NOWAIT failing always (zone->nowait_fail = 1): a scheme that allocates under RCU
 *    falls back on every allocating fault and the fault still completes correctly; one
 *    that allocates outside RCU never fails.  Never failing (0): no fallback at all.
 * After each, the address space is checked and no object is used after its grace period.
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
static enum { HOOK_OFF, HOOK_REPLACE, HOOK_UNMAP, HOOK_READONLY } hook_action;
static unsigned long region, region_len, remapped;
static long pending_in_window; /* tables waiting for a grace period, seen by the writer */

static void hook(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		 struct vm_area_struct *vma)
{
	(void)t;
	(void)addr;
	(void)vma;
	switch (hook_action) {
	case HOOK_OFF:
		return;
	case HOOK_REPLACE:
		scheme->munmap(&writer, mm, region, region_len);
		pending_in_window = mm->nr_pt_rcu_pending;
		remapped = scheme_mmap_anon(scheme, &writer, mm, region_len, VM_READ | VM_WRITE);
		break;
	case HOOK_UNMAP:
		scheme->munmap(&writer, mm, region, region_len);
		break;
	case HOOK_READONLY:
		/* r-x: flags no other VMA has, so nothing merges and the VMA stays itself. */
		scheme->mprotect(&writer, mm, region, region_len, VM_READ | VM_EXEC);
		break;
	}
	hook_action = HOOK_OFF;
}

static uint64_t ev(enum stat_event e)
{
	return reader.stats.ev[e];
}

static void reset_stats(void)
{
	memset(&reader.stats, 0, sizeof(reader.stats));
}

/* Fallbacks of every reason. */
static uint64_t fallbacks(void)
{
	return ev(EV_RCU_FB_NO_VMA) + ev(EV_RCU_FB_VMA_LOCKED) + ev(EV_RCU_FB_PGTABLE) +
	       ev(EV_RCU_FB_NOWAIT) + ev(EV_RCU_FB_SEQ) + ev(EV_RCU_FB_STALE) +
	       ev(EV_RCU_FB_REENTER);
}

static void check_mm(struct mm_struct *mm, const char *when)
{
	struct mm_check_report r;
	mm_check(mm, &r);
	tap_ok(!r.error, "%s %s: address space consistent%s%s", scheme->name, when,
	       r.error ? ": " : "", r.error ? r.error : "");
	g_free(r.error);
}

/* Is addr mapped to a page of its own (written)? */
static bool mapped_rw(struct mm_struct *mm, unsigned long addr)
{
	pteval_t *pte = pt_lookup_pte(&reader, mm, addr, NULL);
	return pte && (*pte & _PAGE_PRESENT) && (*pte & _PAGE_RW);
}

static void run_scheme(const struct machine *m)
{
	struct zone *zone = zone_create(1ULL << 30, m->nr_cpus);
	struct mm_struct *mm = mm_create(zone, scheme);
	/* rcu allocates with GFP_NOWAIT inside the section; rcu-drop leaves it first. */
	bool allocates_under_rcu = !strcmp(scheme->name, "rcu");
	reader.mm = writer.mm = mm;
	scheme_walk_hook = hook;
	region_len = 16 * PAGE_SIZE;

	/* Uncontended. */
	region = scheme_mmap_anon(scheme, &writer, mm, region_len, VM_READ | VM_WRITE);
	reset_stats();
	int err = mmu_access(&reader, mm, region, true);
	tap_ok(!err && ev(EV_RCU_FB_PGTABLE) == 1 && ev(EV_RCU_TIER_PERVMA) == 1 &&
		   ev(EV_RCU_TIER0) == 0,
	       "%s first fault of a region: no PTE table, falls back to the per-VMA tier "
	       "(pgtable %llu, pervma %llu)",
	       scheme->name, (unsigned long long)ev(EV_RCU_FB_PGTABLE),
	       (unsigned long long)ev(EV_RCU_TIER_PERVMA));
	tap_ok(ev(EV_RCU_WASTED_NS) > 0, "%s: the fallback's wasted work is counted (%llu ns)",
	       scheme->name, (unsigned long long)ev(EV_RCU_WASTED_NS));
	reset_stats();
	err = mmu_access(&reader, mm, region + PAGE_SIZE, true);
	tap_ok(!err && ev(EV_RCU_TIER0) == 1 && fallbacks() == 0 && ev(EV_FAULT_ANON) == 1 &&
		   ev(EV_VMA_LOCK_SUCCESS) == 0 && ev(EV_RCU_WASTED_NS) == 0 &&
		   mapped_rw(mm, region + PAGE_SIZE),
	       "%s second fault: completes in Tier 0, no VMA lock (tier0 %llu, fallbacks %llu)",
	       scheme->name, (unsigned long long)ev(EV_RCU_TIER0), (unsigned long long)fallbacks());
	reset_stats();
	err = mmu_access(&reader, mm, region + 2 * PAGE_SIZE, false);
	tap_ok(!err && ev(EV_RCU_TIER0) == 1 && ev(EV_FAULT_ZERO) == 1,
	       "%s read fault: the zero page, in Tier 0", scheme->name);
	reset_stats();
	err = mmu_access(&reader, mm, region + 2 * PAGE_SIZE, true);
	tap_ok(!err && ev(EV_RCU_TIER0) == 1 && ev(EV_FAULT_WP) == 1 &&
		   mapped_rw(mm, region + 2 * PAGE_SIZE),
	       "%s write after read: copy of the zero page, in Tier 0", scheme->name);
	check_mm(mm, "uncontended");

	/* Replaced inside the window. */
	hook_action = HOOK_REPLACE;
	pending_in_window = 0;
	reset_stats();
	err = mmu_access(&reader, mm, region + 5 * PAGE_SIZE, true);
	/* Left RCU to allocate: the writer ran in that gap, seen on re-entry. */
	enum stat_event why = allocates_under_rcu ? EV_RCU_FB_SEQ : EV_RCU_FB_REENTER;
	tap_ok(!err && remapped == region && ev(why) == 1 && fallbacks() == 1 &&
		   ev(EV_RCU_TIER0) == 0 && ev(EV_RCU_TIER_PERVMA) == 1 &&
		   mapped_rw(mm, region + 5 * PAGE_SIZE),
	       "%s replaced: Tier 0 sees the sequences move (%s) and falls back; the per-VMA "
	       "tier faults in the new VMA (err %d, fallbacks %llu, pervma %llu)",
	       scheme->name, stat_event_name[why], err, (unsigned long long)fallbacks(),
	       (unsigned long long)ev(EV_RCU_TIER_PERVMA));
	tap_ok(pending_in_window > 0,
	       "%s replaced: the unlinked page table waits for a grace "
	       "period (%ld pending)",
	       scheme->name, pending_in_window);
	check_mm(mm, "after the replaced race");

	/* Unmapped inside the window. */
	region = remapped;
	err = mmu_access(&reader, mm, region + PAGE_SIZE, true); /* the PTE table again */
	hook_action = HOOK_UNMAP;
	reset_stats();
	err = mmu_access(&reader, mm, region + 3 * PAGE_SIZE, true);
	tap_ok(err == -14 && fallbacks() == 1 && ev(EV_VMA_LOCK_ABORT) == 1 &&
		   ev(EV_RCU_TIER_CLASSIC) == 1,
	       "%s unmapped: Tier 0 falls back, no VMA for the per-VMA tier, SIGSEGV from "
	       "the mmap_lock tier (err %d, abort %llu, classic %llu)",
	       scheme->name, err, (unsigned long long)ev(EV_VMA_LOCK_ABORT),
	       (unsigned long long)ev(EV_RCU_TIER_CLASSIC));
	check_mm(mm, "after the unmapped race");

	/* GFP_NOWAIT always failing. */
	region = scheme_mmap_anon(scheme, &writer, mm, region_len, VM_READ | VM_WRITE);
	err = mmu_access(&reader, mm, region, true); /* the PTE table */
	zone->nowait_fail = 1.0;
	reset_stats();
	int failed = 0;
	for (unsigned long a = region + PAGE_SIZE; a < region + 8 * PAGE_SIZE; a += PAGE_SIZE)
		failed |= mmu_access(&reader, mm, a, true) || !mapped_rw(mm, a);
	if (allocates_under_rcu)
		tap_ok(!failed && ev(EV_RCU_FB_NOWAIT) == 7 && ev(EV_PGALLOC_NOWAIT_FAIL) == 7 &&
			   ev(EV_RCU_TIER0) == 0 && ev(EV_RCU_TIER_PERVMA) == 7,
		       "%s gfp_nowait_fail = 1: every allocating fault falls back and completes "
		       "(nowait %llu, tier0 %llu, pervma %llu)",
		       scheme->name, (unsigned long long)ev(EV_RCU_FB_NOWAIT),
		       (unsigned long long)ev(EV_RCU_TIER0),
		       (unsigned long long)ev(EV_RCU_TIER_PERVMA));
	else
		tap_ok(!failed && ev(EV_PGALLOC_NOWAIT_FAIL) == 0 && ev(EV_RCU_TIER0) == 7,
		       "%s gfp_nowait_fail = 1: allocating outside RCU never fails (tier0 %llu)",
		       scheme->name, (unsigned long long)ev(EV_RCU_TIER0));
	/* ... and never failing. */
	zone->nowait_fail = 0.0;
	reset_stats();
	failed = 0;
	for (unsigned long a = region + 8 * PAGE_SIZE; a < region + 15 * PAGE_SIZE; a += PAGE_SIZE)
		failed |= mmu_access(&reader, mm, a, true) || !mapped_rw(mm, a);
	tap_ok(!failed && fallbacks() == 0 && ev(EV_RCU_TIER0) == 7,
	       "%s gfp_nowait_fail = 0: no fallback (tier0 %llu, fallbacks %llu)", scheme->name,
	       (unsigned long long)ev(EV_RCU_TIER0), (unsigned long long)fallbacks());
	check_mm(mm, "after the allocation failures");

	/* Made read-only inside the window. */
	unsigned long ro = region + 15 * PAGE_SIZE;
	hook_action = HOOK_READONLY;
	reset_stats();
	err = mmu_access(&reader, mm, ro, true);
	pteval_t *pte = pt_lookup_pte(&reader, mm, ro, NULL);
	tap_ok(err == -14 && ev(why) == 1 && fallbacks() == 1 && ev(EV_RCU_TIER_CLASSIC) == 1 &&
		       pte && !(*pte & _PAGE_RW),
	       "%s made read-only: only the sequences show it (%s); the write fails with "
	       "SIGSEGV, no writable PTE (err %d, fallbacks %llu)",
	       scheme->name, stat_event_name[why], err, (unsigned long long)fallbacks());
	check_mm(mm, "at the end");

	race_end_grace_periods(scheme);
	mm_destroy(mm);
	zone_destroy(zone);
}

int main(void)
{
	if (!race_setup())
		return 1;
	struct machine *m = race_machine;
	rng_seed(&reader.rng, 1, 0);
	int n = 0;
	for (int i = 0; mm_schemes[i]; i++) {
		if (!mm_schemes[i]->lockless_fault)
			continue;
		scheme = mm_schemes[i];
		run_scheme(m);
		n++;
	}
	tap_ok(n >= 2, "%d schemes with RCU-only faults tested", n);
	return race_teardown();
}
