/*
 * Targeted races of the per-VMA lock schemes, built deterministically on the stub clock:
 * a writer task changes the tree exactly between a fault's lockless tree walk and its
 * VMA lock (scheme_walk_hook).  Run for every registered scheme whose VMAs carry a
 * per-VMA lock:
 *  - replaced: the VMA is unmapped and a new one mapped over the same range.  A lock that
 *    is a separate object (6.4 rwsem) sees the old VMA detached: MISS, walk again, and the
 *    fault completes under the new VMA's lock.  A type-safe VMA cache (6.15) hands the
 *    same object to the new VMA, which the reader revalidates and uses: no MISS.
 *  - unmapped: MISS (the VMA is detached), walk again, no VMA: ABORT, and the mmap_lock
 *    path reports SIGSEGV.
 *  - shrunk: a hole punched below the address splits the VMA; the one found no longer
 *    covers the address: ABORT, and the mmap_lock path faults in the new upper VMA.
 * Both tasks stay inside one RCU read-side section of the reader, so nothing the walk
 * returned is freed under it (checked by the RCU poisoning).
 */
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "tap.h"
#include "clock.h"
#include "hw/machine.h"
#include "hw/hw.h"
#include "mm/mm.h"
#include "sync/rcu.h"
#include "schemes/scheme.h"
#include "mm/anon_vma.h"
#include "race_fixture.h"

static const struct mm_scheme_ops *scheme;
static enum { HOOK_OFF, HOOK_REPLACE, HOOK_UNMAP, HOOK_SHRINK } hook_action;
static unsigned long region, region_len, remapped;

/*
 * mmap, then give the VMA its anon_vma as an earlier write fault would have: 6.4 sends
 * the faults of a VMA without one to mmap_lock before any VMA lock is tried, and these
 * races are about the VMA lock.
 */
static unsigned long mmap_prepared(struct mm_struct *mm, unsigned long len)
{
	unsigned long a = scheme->mmap(&writer, mm, len, VM_READ | VM_WRITE);
	anon_vma_prepare(&writer, find_vma(NULL, mm, a));
	return a;
}

static void hook(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		 struct vm_area_struct *vma)
{
	(void)t;
	(void)vma;
	switch (hook_action) {
	case HOOK_OFF:
		return;
	case HOOK_REPLACE:
		scheme->munmap(&writer, mm, region, region_len);
		remapped = mmap_prepared(mm, region_len);
		break;
	case HOOK_UNMAP:
		scheme->munmap(&writer, mm, region, region_len);
		break;
	case HOOK_SHRINK:
		scheme->munmap(&writer, mm, (addr & PAGE_MASK) - PAGE_SIZE, PAGE_SIZE);
		break;
	}
	hook_action = HOOK_OFF; /* once: the second walk sees the new tree */
}

static uint64_t ev(enum stat_event e)
{
	return reader.stats.ev[e];
}

static void reset_stats(void)
{
	memset(&reader.stats, 0, sizeof(reader.stats));
}

static void check_mm(struct mm_struct *mm, const char *when)
{
	struct mm_check_report r;
	mm_check(mm, &r);
	tap_ok(!r.error, "%s %s: address space consistent%s%s", scheme->name, when,
	       r.error ? ": " : "", r.error ? r.error : "");
	g_free(r.error);
}

static void run_scheme(const struct machine *m)
{
	struct zone *zone = zone_create(1ULL << 30, m->nr_cpus);
	struct mm_struct *mm = mm_create(zone, scheme);
	reader.mm = writer.mm = mm;
	scheme_walk_hook = hook;
	region_len = 16 * PAGE_SIZE;

	/* Replaced between walk and lock. */
	region = mmap_prepared(mm, region_len);
	struct vm_area_struct *old = find_vma(NULL, mm, region);
	hook_action = HOOK_REPLACE;
	reset_stats();
	int err = mmu_access(&reader, mm, region + 5 * PAGE_SIZE, true);
	struct vm_area_struct *now = find_vma(NULL, mm, region);
	tap_ok(!err && remapped == region, "%s replaced: the fault succeeds in the new VMA at the "
	       "same address (err %d)", scheme->name, err);
	bool reused = now == old;
	if (mm->vma_lock_kind == VMA_LOCK_RWSEM)
		tap_ok(!reused && ev(EV_VMA_LOCK_MISS) == 1 && ev(EV_VMA_LOCK_SUCCESS) == 1 &&
			       ev(EV_MMAP_LOCK_FALLBACK) == 0,
		       "%s replaced: old VMA seen detached, walked again, locked the new one "
		       "(miss %llu success %llu fallback %llu)", scheme->name,
		       (unsigned long long)ev(EV_VMA_LOCK_MISS),
		       (unsigned long long)ev(EV_VMA_LOCK_SUCCESS),
		       (unsigned long long)ev(EV_MMAP_LOCK_FALLBACK));
	else
		tap_ok(reused && ev(EV_VMA_LOCK_MISS) == 0 && ev(EV_VMA_LOCK_SUCCESS) == 1,
		       "%s replaced: the type-safe cache reused the object for the new VMA, "
		       "revalidated and used (reused %d, miss %llu success %llu)", scheme->name,
		       reused, (unsigned long long)ev(EV_VMA_LOCK_MISS),
		       (unsigned long long)ev(EV_VMA_LOCK_SUCCESS));
	check_mm(mm, "after the replaced race");

	/* Unmapped between walk and lock. */
	hook_action = HOOK_UNMAP;
	reset_stats();
	err = mmu_access(&reader, mm, region + 3 * PAGE_SIZE, true);
	tap_ok(err == -14 && ev(EV_VMA_LOCK_MISS) == 1 && ev(EV_VMA_LOCK_ABORT) == 1 &&
		       ev(EV_MMAP_LOCK_FALLBACK) == 1,
	       "%s unmapped: MISS, walk again, ABORT, SIGSEGV from the mmap_lock path "
	       "(err %d, miss %llu abort %llu fallback %llu)", scheme->name, err,
	       (unsigned long long)ev(EV_VMA_LOCK_MISS), (unsigned long long)ev(EV_VMA_LOCK_ABORT),
	       (unsigned long long)ev(EV_MMAP_LOCK_FALLBACK));
	check_mm(mm, "after the unmapped race");

	/* Shrunk by a split between walk and lock. */
	region = mmap_prepared(mm, region_len);
	hook_action = HOOK_SHRINK;
	reset_stats();
	err = mmu_access(&reader, mm, region + 9 * PAGE_SIZE, true);
	tap_ok(!err && ev(EV_VMA_LOCK_ABORT) == 1 && ev(EV_VMA_LOCK_MISS) == 0 &&
		       ev(EV_MMAP_LOCK_FALLBACK) == 1 && mm->map_count == 2,
	       "%s shrunk: the VMA found no longer covers the address: ABORT, faulted under "
	       "mmap_lock (err %d, abort %llu fallback %llu, %d VMAs)", scheme->name, err,
	       (unsigned long long)ev(EV_VMA_LOCK_ABORT),
	       (unsigned long long)ev(EV_MMAP_LOCK_FALLBACK), mm->map_count);

	/* Without a writer: the VMA lock path, no fallback. */
	reset_stats();
	err = mmu_access(&reader, mm, region + 12 * PAGE_SIZE, true);
	tap_ok(!err && ev(EV_VMA_LOCK_SUCCESS) == 1 && ev(EV_MMAP_LOCK_FALLBACK) == 0,
	       "%s uncontended: the fault completes under the VMA lock", scheme->name);
	check_mm(mm, "at the end");

	race_end_grace_periods(scheme);
	mm_destroy(mm);
	zone_destroy(zone);
}

/* A VMA changed without vma_start_write is an internal error (exit 70), not a silent race. */
static void check_unlocked_change_dies(const struct machine *m)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(1);
		struct zone *zone = zone_create(1ULL << 30, m->nr_cpus);
		struct mm_struct *mm = mm_create(zone, scheme);
		writer.mm = mm;
		unsigned long a = scheme->mmap(&writer, mm, 4 * PAGE_SIZE, VM_READ | VM_WRITE);
		struct vm_area_struct *vma = find_vma(NULL, mm, a);
		mmap_write_lock(&writer, mm);
		vma_assert_write_locked(&writer, vma); /* new section: not locked yet */
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 70,
	       "%s: changing a VMA that is not write-locked is caught (exit %d)", scheme->name,
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void)
{
	if (!race_setup())
		return 1;
	struct machine *m = race_machine;
	int n = 0;
	for (int i = 0; mm_schemes[i]; i++) {
		if (mm_schemes[i]->vma_lock == VMA_LOCK_NONE)
			continue;
		scheme = mm_schemes[i];
		/* Schemes whose faults first try RCU alone: tests/test_rcu_fault.c. */
		if (!scheme->lockless_fault)
			run_scheme(m);
		check_unlocked_change_dies(m);
		n++;
	}
	tap_ok(n >= 1, "%d schemes with per-VMA locks tested", n);
	return race_teardown();
}
