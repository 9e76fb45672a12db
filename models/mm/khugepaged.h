/*
 * khugepaged (models/mm/khugepaged.c) and its collapse schemes (models/mm/collapse.c):
 * the daemon scans an mm's anonymous VMAs for 2 MiB ranges mapped by small pages and
 * collapses each into a huge PMD.  How the collapse proper synchronises with faults,
 * MADV_DONTNEED and the MMU is the scheme: a const struct collapse_ops, built from the
 * common steps declared here.  Spec: ../shared/reference/kernel-algorithms.md §G.
 */
#ifndef MMSIM_KHUGEPAGED_H
#define MMSIM_KHUGEPAGED_H

#include "mm/mm.h"
#include "sync/mutex.h"
#include "mm/mmu_notifier.h"

/* Why a scan or a collapse gave up (the kernel's enum scan_result, the ones modelled). */
enum scan_result {
	SCAN_SUCCEED,
	SCAN_PMD_NULL,        /* no PTE table there */
	SCAN_PMD_MAPPED,      /* already a huge PMD */
	SCAN_EXCEED_NONE_PTE, /* more than max_ptes_none empty or zero-page PTEs */
	SCAN_EXCEED_SWAP_PTE, /* more than max_ptes_swap swap entries */
	SCAN_EXCEED_SHARED_PTE, /* more than max_ptes_shared pages mapped elsewhere too */
	SCAN_PAGE_RO,         /* no writable PTE in the range */
	SCAN_PAGE_COUNT,      /* a page has other references: cannot isolate */
	SCAN_VMA_CHECK,       /* hugepage_vma_revalidate: the VMA went or changed */
	SCAN_PMD_CHANGED,     /* the PMD no longer points at the scanned table */
	SCAN_ALLOC_HUGE_PAGE_FAIL,
	SCAN_PTE_BUSY,        /* a collapse marker: another collapse is at work */
	NR_SCAN_RESULTS,
};
extern const char *const scan_result_name[NR_SCAN_RESULTS];

/* Locks whose hold time a collapse reports. */
enum collapse_lock {
	CL_MMAP_WRITE, CL_MMAP_READ, CL_ANON_VMA, CL_PMD, CL_PTL, NR_CL,
};
extern const char *const collapse_lock_name[NR_CL];

/* What the isolate step does to the 512 PTEs once every page passed its checks. */
enum isolate_mode {
	ISOLATE_KEEP,    /* leave the PTEs (the PMD was cleared and flushed before) */
	ISOLATE_CLEAR,   /* ptep_get_and_clear each under the PTL (pmd-seq) */
	ISOLATE_MARKER,  /* replace each by PTE_MARKER_COLLAPSE under the PTL (invalid-pte) */
};

/* One collapse in flight (the kernel's collapse_control plus collapse_huge_page's locals). */
struct collapse_control {
	struct sim_task *t;
	struct mm_struct *mm;
	struct khugepaged_mm *k;
	unsigned long haddr;
	unsigned nr_swap;               /* swap entries the scan saw (none without swap) */
	unsigned swapped_in;            /* ... that the swap-in step read back */
	unsigned max_ptes_none;         /* the tunable, for the isolate step */
	struct vm_area_struct *vma;     /* valid while mmap_lock is held */
	struct mmu_notifier_range mn_range; /* while the anon_vma lock is held */
	struct page *hpage;             /* the new folio */
	struct page *pmd_table;
	pteval_t *pmd;
	pteval_t orig_pmd;              /* the table entry found by the revalidation */
	struct page *pt;                /* the PTE table being collapsed */
	pteval_t old[HPAGE_PMD_NR];     /* the PTEs as isolated */
	pteval_t prot;                  /* vm_page_prot for the huge PMD */
	bool ptl_nested;                /* the PTL is the PMD lock (ptl = "mm"), held already */
	GPtrArray *to_free;             /* old pages, freed once every lock is dropped */
	/* accounting */
	sim_time_t since[NR_CL], held[NR_CL]; /* ps */
	sim_time_t window_start;        /* ps: first step that excludes faults (0: none yet) */
	uint64_t ipis;
	enum scan_result result;
};

struct collapse_ops {
	const char *name;
	const char *description;
	/* PTL takers recheck the PMD sequence count (pmd-seq). */
	bool pmd_seq;
	/* From the scan's success (mmap_lock dropped) to the end, all locks released. */
	enum scan_result (*collapse)(struct collapse_control *cc);
};

extern const struct collapse_ops *const collapse_schemes[]; /* NULL-terminated */
const struct collapse_ops *collapse_find(const char *name);

/* khugepaged's tunables (scenario fields khugepaged_*; docs/scenarios.md). */
struct khugepaged_params {
	const struct collapse_ops *ops;
	unsigned pages_to_scan;  /* PTEs per wake-up (/sys/.../khugepaged/pages_to_scan) */
	double scan_sleep_ms;    /* between wake-ups (scan_sleep_millisecs) */
	unsigned max_ptes_none;  /* empty or zero-page PTEs a range may have (default 511) */
	unsigned max_ptes_swap;  /* swap entries a range may have (max_ptes_swap, default 64) */
	int cpu;                 /* the CPU it runs on (one with no task) */
	/* True once the run's user tasks have ended: the daemon stops at its next wake-up,
	 * never inside a collapse. */
	bool (*should_stop)(void);
};

void khugepaged_attach(struct mm_struct *mm, const struct khugepaged_params *p);
void khugepaged_detach(struct mm_struct *mm);
/* The daemon's body (engine_spawn, daemon): arg is the mm. */
void khugepaged_main(struct sim_task *t, void *arg);
bool khugepaged_pmd_seq(const struct mm_struct *mm);
/* One collapse attempt, for the report. */
struct collapse_record {
	unsigned long haddr;
	sim_time_t start, end;          /* ps: from the allocation to the last unlock */
	sim_time_t window;              /* ps: faults on the range excluded or waiting */
	sim_time_t held[NR_CL];
	uint64_t ipis;
	enum scan_result result;
};

/* What khugepaged did in a run (sim/report.c writes it to results.json). */
struct khugepaged_summary {
	const char *collapse;
	int cpu;
	uint64_t wakeups, trylock_failed, ranges_scanned, collapses, failed, ipis;
	uint64_t scan_fail[NR_SCAN_RESULTS], collapse_fail[NR_SCAN_RESULTS];
	uint64_t held_count[NR_CL];
	sim_time_t held_total[NR_CL], held_max[NR_CL]; /* ps */
	sim_time_t window_total, window_max;           /* ps */
	/* walkers (faults, zaps) that slept until a collapse ended, and how long in all */
	uint64_t walker_waits;
	sim_time_t walker_wait_total;                  /* ps */
	uint64_t swapins;        /* pages swapped in before collapses (collapse_swapin) */
	/* user-visible faults that overlapped a collapse window, and the others */
	struct latency_hist during, outside;
	unsigned nr_records;
	const struct collapse_record *records;
};
extern const char *const collapse_lock_key[NR_CL];

/* False if the mm has no khugepaged. */
bool khugepaged_summary(const struct mm_struct *mm, struct khugepaged_summary *sum);
/* The lock_stat.txt section; nothing if the mm has no khugepaged. */
void khugepaged_report_text(const struct mm_struct *mm, GString *s);

/* ---- the common steps the schemes are built from (khugepaged.c: locks and window;
 * collapse_steps.c: the rest) ---- */
void collapse_mmap_read_lock(struct collapse_control *cc);
void collapse_mmap_read_unlock(struct collapse_control *cc);
void collapse_mmap_write_lock(struct collapse_control *cc);
void collapse_mmap_write_unlock(struct collapse_control *cc);
void collapse_pmd_lock(struct collapse_control *cc);
void collapse_pmd_unlock(struct collapse_control *cc);
void collapse_ptl_lock(struct collapse_control *cc);
void collapse_ptl_unlock(struct collapse_control *cc);
void collapse_lock_anon_vma(struct collapse_control *cc);
void collapse_unlock_anon_vma(struct collapse_control *cc);
/* Walkers that meet a collapse in progress wait for its end (read-lock schemes). */
void collapse_window_begin(struct collapse_control *cc, bool walkers_wait);
void collapse_window_end(struct collapse_control *cc);
/* alloc_charge_folio: the 2 MiB folio (not cleared: the copy fills it). */
enum scan_result collapse_alloc(struct collapse_control *cc);
/* hugepage_vma_revalidate + find_pmd_or_thp_or_none; mmap_lock held. */
enum scan_result collapse_revalidate(struct collapse_control *cc);
/* __collapse_huge_page_swapin over the swap entries the scan saw; mmap_lock held. */
enum scan_result collapse_swapin(struct collapse_control *cc);
/* pmdp_collapse_flush's clear under the PMD lock (held by the caller); the flushes. */
void collapse_pmd_clear(struct collapse_control *cc);
void collapse_flush(struct collapse_control *cc);
void collapse_table_sync(struct collapse_control *cc);
/* Put the table back after a failed isolate (pmd_populate; PMD lock held). */
void collapse_pmd_restore(struct collapse_control *cc);
/* __collapse_huge_page_isolate; the PTL is held. */
enum scan_result collapse_isolate(struct collapse_control *cc, enum isolate_mode mode);
/* Undo ISOLATE_CLEAR / ISOLATE_MARKER (PTL held). */
void collapse_unisolate(struct collapse_control *cc);
/* __collapse_huge_page_copy: 512 copies (zero fill for none). */
void collapse_copy(struct collapse_control *cc);
/* ...copy_succeeded: clear the old PTEs (taking the PTL per entry unless held), drop the
 * old pages' rmap and free them. */
void collapse_release_old(struct collapse_control *cc, bool ptl_held);
/* The old pages' free, once every lock is dropped (collapse_huge_page calls it). */
void collapse_free_old(struct collapse_control *cc);
/* The huge PMD goes in (PMD lock held); the old table is deposited. */
void collapse_install(struct collapse_control *cc);
void collapse_free_hpage(struct collapse_control *cc);

/* huge_memory.c */
void khugepaged_install_huge_pmd(struct sim_task *t, struct vm_area_struct *vma,
				 struct page *pmd_table, pteval_t *pmd, struct page *head,
				 struct page *pt, pteval_t prot, unsigned long haddr);

#endif
