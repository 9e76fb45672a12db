/*
 * The collapse schemes: how khugepaged's collapse_huge_page excludes the walkers of the
 * 2 MiB it rebuilds (faults, MADV_DONTNEED's zap, the MMU) while it isolates, copies and
 * replaces 512 small pages by one huge PMD.  Each is a const ops table built from the
 * steps in collapse_steps.c and khugepaged.c.  Steps, locks, costs and verdicts:
 * docs/schemes/collapse-*.md.
 * Spec: ../shared/reference/kernel-algorithms.md G.2 (the kernel's order), G.4 (the 2024
 * read-lock proposals and why they race).
 *
 *   write-lock       pre-2016 collapse: everything under mmap_lock (W)
 *   read-swapin      the kernel since 4.8 ("khugepaged: do swapin under down_read()",
 *                    2016): revalidate and swap in under (R), upgrade for the collapse
 *   pmd-seq          Rik van Riel's alternative in that thread: mmap_lock (R) and a
 *                    PMD-level sequence count every PTL taker rechecks
 *   pmd-lock         2024: mmap_lock (R), PMD lock and PTL held across isolate and copy
 *   pmd-none-unsafe  2024: mmap_lock (R), the PMD cleared while the locks are dropped for
 *                    the copy.  Wrong on purpose: MADV_DONTNEED and faults see pmd_none
 *   invalid-pte      2024: mmap_lock (R), every PTE replaced by a marker that walkers
 *                    wait on, instead of clearing the PMD
 */
#include <string.h>
#include "khugepaged.h"
#include "hw/hw.h"
#include "die.h"

/* The PMD still points at the table the revalidation found (check_pmd_still_valid). */
static bool pmd_unchanged(struct collapse_control *cc)
{
	hw_load(cc->t, cc->pmd, sizeof(*cc->pmd));
	return *cc->pmd == cc->orig_pmd;
}

/*
 * The collapse proper of G.2 steps 5-13, with mmap_lock (W) held and the VMA revalidated:
 * vma_start_write, anon_vma (W), clear the PMD and flush under the PMD lock, sync IPI,
 * isolate under the PTL, copy with no spinlock held, free the old pages, install.
 */
static enum scan_result collapse_under_write_lock(struct collapse_control *cc)
{
	enum scan_result r;

	vma_start_write(cc->t, cc->vma);
	collapse_lock_anon_vma(cc);
	collapse_pmd_lock(cc);
	collapse_pmd_clear(cc);
	collapse_flush(cc); /* pmdp_collapse_flush flushes under the PMD lock */
	collapse_pmd_unlock(cc);
	collapse_table_sync(cc);
	collapse_ptl_lock(cc);
	r = collapse_isolate(cc, ISOLATE_KEEP);
	collapse_ptl_unlock(cc);
	if (r != SCAN_SUCCEED) {
		collapse_pmd_lock(cc);
		collapse_pmd_restore(cc);
		collapse_pmd_unlock(cc);
		collapse_unlock_anon_vma(cc);
		return r;
	}
	collapse_unlock_anon_vma(cc);
	collapse_copy(cc);
	collapse_release_old(cc, false);
	collapse_pmd_lock(cc);
	sim_bug_on(*cc->pmd); /* nothing can have populated it: mmap_lock (W) */
	collapse_install(cc);
	collapse_pmd_unlock(cc);
	return SCAN_SUCCEED;
}

/* Revalidate and swap in with mmap_lock held as the caller took it. */
static enum scan_result collapse_prepare(struct collapse_control *cc)
{
	enum scan_result r = collapse_revalidate(cc);
	return r == SCAN_SUCCEED ? collapse_swapin(cc) : r;
}

/*
 * The 2016/2024 schemes that collapse under mmap_lock (R): revalidate and swap in, take the
 * anon_vma lock (W) and open the collapse window (`seq`: walkers wait on the table's PMD
 * sequence or markers), then run the scheme's `body`.  The body returns SCAN_SUCCEED having
 * dropped the anon_vma lock itself, or a failure with the anon_vma lock still held and
 * every other lock dropped.
 */
static enum scan_result read_lock_collapse(struct collapse_control *cc, bool seq,
					   enum scan_result (*body)(struct collapse_control *cc))
{
	collapse_mmap_read_lock(cc);
	enum scan_result r = collapse_prepare(cc);
	if (r == SCAN_SUCCEED) {
		collapse_lock_anon_vma(cc);
		collapse_window_begin(cc, seq);
		r = body(cc);
		collapse_window_end(cc);
		if (r != SCAN_SUCCEED)
			collapse_unlock_anon_vma(cc);
	}
	collapse_mmap_read_unlock(cc);
	return r;
}

static enum scan_result write_lock_collapse(struct collapse_control *cc)
{
	collapse_mmap_write_lock(cc);
	collapse_window_begin(cc, false); /* every mmap_lock fault of the mm waits now */
	enum scan_result r = collapse_prepare(cc);
	if (r == SCAN_SUCCEED)
		r = collapse_under_write_lock(cc);
	collapse_window_end(cc);
	collapse_mmap_write_unlock(cc);
	return r;
}

static enum scan_result read_swapin_collapse(struct collapse_control *cc)
{
	collapse_mmap_read_lock(cc);
	enum scan_result r = collapse_prepare(cc);
	collapse_mmap_read_unlock(cc);
	if (r != SCAN_SUCCEED)
		return r;
	collapse_mmap_write_lock(cc);
	collapse_window_begin(cc, false);
	r = collapse_revalidate(cc); /* the lock was dropped: everything may have changed */
	if (r == SCAN_SUCCEED)
		r = collapse_under_write_lock(cc);
	collapse_window_end(cc);
	collapse_mmap_write_unlock(cc);
	return r;
}

/* The PMD sequence of the table (pmd-seq): odd while a collapse works on it.  An atomic,
 * under the PMD lock. */
static void pmd_seq_bump(struct collapse_control *cc)
{
	sim_sync(cc->t);
	hw_rmw(cc->t, &cc->pt->pmd_seq, sizeof(cc->pt->pmd_seq));
	cc->pt->pmd_seq++;
}

/*
 * pmd-seq: the PTEs are cleared under the PTL inside a PMD-lock section that makes the
 * table's sequence odd; every pte_offset_map_lock rechecks the sequence after taking the
 * PTL and, finding it odd or moved, waits for the collapse and walks again.  The PMD
 * keeps pointing at the table until the huge PMD replaces it, so a lockless reader of
 * the PMD (MADV_DONTNEED's zap) never sees pmd_none; it meets the sequence at the PTL.
 */
static enum scan_result pmd_seq_body(struct collapse_control *cc)
{
	enum scan_result r;

	collapse_pmd_lock(cc);
	if (!pmd_unchanged(cc)) {
		collapse_pmd_unlock(cc);
		return SCAN_PMD_CHANGED;
	}
	pmd_seq_bump(cc); /* odd: PTL takers back off from here on */
	collapse_ptl_lock(cc);
	r = collapse_isolate(cc, ISOLATE_CLEAR);
	collapse_ptl_unlock(cc);
	if (r != SCAN_SUCCEED) {
		pmd_seq_bump(cc);
		collapse_pmd_unlock(cc);
		return r;
	}
	collapse_pmd_unlock(cc);
	collapse_flush(cc); /* no CPU translates the old pages after this */
	collapse_unlock_anon_vma(cc);
	collapse_copy(cc);
	collapse_release_old(cc, false);
	collapse_pmd_lock(cc);
	collapse_ptl_lock(cc);
	collapse_install(cc);
	pmd_seq_bump(cc); /* even again, and moved: waiters walk again and find the THP */
	collapse_ptl_unlock(cc);
	collapse_pmd_unlock(cc);
	return SCAN_SUCCEED;
}

static enum scan_result pmd_seq_collapse(struct collapse_control *cc)
{
	return read_lock_collapse(cc, true, pmd_seq_body);
}

/*
 * pmd-lock: the kernel's order under mmap_lock (R) only, with the PMD lock held from the
 * PMD clear to the huge PMD, and the PTL from isolate to install: a fault that sees
 * pmd_none spins on the PMD lock in pmd_install (with ptl = "mm", every PTE-level fault
 * of the mm spins).  A walker that reads pmd_none without the lock is not stopped.
 */
static enum scan_result pmd_lock_body(struct collapse_control *cc)
{
	enum scan_result r;

	collapse_pmd_lock(cc);
	if (!pmd_unchanged(cc)) {
		collapse_pmd_unlock(cc);
		return SCAN_PMD_CHANGED;
	}
	collapse_pmd_clear(cc);
	collapse_flush(cc);
	collapse_table_sync(cc);
	collapse_ptl_lock(cc);
	r = collapse_isolate(cc, ISOLATE_KEEP);
	if (r != SCAN_SUCCEED) {
		collapse_pmd_restore(cc);
		collapse_ptl_unlock(cc);
		collapse_pmd_unlock(cc);
		return r;
	}
	collapse_unlock_anon_vma(cc);
	collapse_copy(cc); /* 2 MiB with two spinlocks held */
	collapse_release_old(cc, true);
	sim_bug_on(*cc->pmd); /* populating it needs the PMD lock we hold */
	collapse_install(cc);
	collapse_ptl_unlock(cc);
	collapse_pmd_unlock(cc);
	return SCAN_SUCCEED;
}

static enum scan_result pmd_lock_collapse(struct collapse_control *cc)
{
	return read_lock_collapse(cc, false, pmd_lock_body);
}

/*
 * pmd-none-unsafe: the kernel's steps with mmap_lock (R) instead of (W) and no VMA lock.
 * Between the PMD clear and the huge PMD nothing holds walkers off: MADV_DONTNEED reads
 * pmd_none, skips the range and returns, and the copy brings the old data back; a fault
 * installs a fresh table (or THP) that the collapse then overwrites (the kernel would
 * BUG_ON(!pmd_none) there; this variant does what the unguarded store does).
 */
static enum scan_result pmd_none_unsafe_body(struct collapse_control *cc)
{
	enum scan_result r;

	collapse_pmd_lock(cc);
	if (!pmd_unchanged(cc)) {
		collapse_pmd_unlock(cc);
		return SCAN_PMD_CHANGED;
	}
	collapse_pmd_clear(cc);
	collapse_flush(cc);
	collapse_pmd_unlock(cc);
	collapse_table_sync(cc);
	collapse_ptl_lock(cc);
	r = collapse_isolate(cc, ISOLATE_KEEP);
	collapse_ptl_unlock(cc);
	if (r != SCAN_SUCCEED) {
		collapse_pmd_lock(cc);
		collapse_pmd_restore(cc);
		collapse_pmd_unlock(cc);
		return r;
	}
	collapse_unlock_anon_vma(cc);
	collapse_copy(cc);
	collapse_release_old(cc, false);
	collapse_pmd_lock(cc);
	collapse_install(cc); /* over whatever a fault put there meanwhile */
	collapse_pmd_unlock(cc);
	return SCAN_SUCCEED;
}

static enum scan_result pmd_none_unsafe_collapse(struct collapse_control *cc)
{
	return read_lock_collapse(cc, false, pmd_none_unsafe_body);
}

/*
 * invalid-pte: under the PTL every PTE becomes PTE_MARKER_COLLAPSE (not present, not
 * none), then the range is flushed and copied with no spinlock held; the markers stay
 * until, under the PMD lock and the PTL, they are cleared and the huge PMD replaces the
 * table.  Faults, the zap and the speculative paths recognise the marker and wait for the
 * collapse (the MMU sees it as not present and faults).
 */
static enum scan_result invalid_pte_body(struct collapse_control *cc)
{
	enum scan_result r;

	collapse_ptl_lock(cc);
	if (!pmd_unchanged(cc))
		r = SCAN_PMD_CHANGED;
	else
		r = collapse_isolate(cc, ISOLATE_MARKER);
	collapse_ptl_unlock(cc);
	if (r != SCAN_SUCCEED)
		return r;
	collapse_flush(cc);
	collapse_unlock_anon_vma(cc);
	collapse_copy(cc);
	collapse_pmd_lock(cc);
	collapse_ptl_lock(cc);
	collapse_release_old(cc, true); /* the markers go only now */
	collapse_install(cc);
	collapse_ptl_unlock(cc);
	collapse_pmd_unlock(cc);
	return SCAN_SUCCEED;
}

static enum scan_result invalid_pte_collapse(struct collapse_control *cc)
{
	return read_lock_collapse(cc, true, invalid_pte_body);
}

static const struct collapse_ops write_lock_ops = {
	.name = "write-lock",
	.description = "everything under mmap_lock (W), as before 2016",
	.collapse = write_lock_collapse,
};

static const struct collapse_ops read_swapin_ops = {
	.name = "read-swapin",
	.description = "revalidate and swap in under mmap_lock (R), (W) for the collapse "
		       "(Linux since 4.8)",
	.collapse = read_swapin_collapse,
};

static const struct collapse_ops pmd_seq_ops = {
	.name = "pmd-seq",
	.description = "mmap_lock (R); a PMD sequence count every PTL taker rechecks (2016)",
	.pmd_seq = true,
	.collapse = pmd_seq_collapse,
};

static const struct collapse_ops pmd_lock_ops = {
	.name = "pmd-lock",
	.description = "mmap_lock (R); PMD lock and PTL held across isolate and copy (2024)",
	.collapse = pmd_lock_collapse,
};

static const struct collapse_ops pmd_none_unsafe_ops = {
	.name = "pmd-none-unsafe",
	.description = "mmap_lock (R) with a transient pmd_none: races with MADV_DONTNEED "
		       "and faults (wrong on purpose)",
	.collapse = pmd_none_unsafe_collapse,
};

static const struct collapse_ops invalid_pte_ops = {
	.name = "invalid-pte",
	.description = "mmap_lock (R); PTEs replaced by a marker walkers wait on (2024)",
	.collapse = invalid_pte_collapse,
};

const struct collapse_ops *const collapse_schemes[] = {
	&write_lock_ops, &read_swapin_ops, &pmd_seq_ops, &pmd_lock_ops, &pmd_none_unsafe_ops,
	&invalid_pte_ops, NULL,
};

const struct collapse_ops *collapse_find(const char *name)
{
	for (int i = 0; collapse_schemes[i]; i++)
		if (!strcmp(collapse_schemes[i]->name, name))
			return collapse_schemes[i];
	return NULL;
}
