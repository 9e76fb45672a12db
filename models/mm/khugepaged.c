/*
 * khugepaged for anonymous memory (mm/khugepaged.c, ≈6.10-6.12): a kernel thread that
 * wakes every scan_sleep_ms, takes mmap_read_trylock on the mm, scans up to
 * pages_to_scan PTEs of 2 MiB-aligned ranges in VMAs that may have THPs
 * (hpage_collapse_scan_pmd: none/zero, swap and shared counts under the PTL), and hands
 * every range that qualifies to collapse_huge_page, whose locking is the collapse scheme
 * (models/mm/collapse.c).  This file holds the daemon, the scan, the lock helpers that
 * time each hold, the collapse window walkers wait on, and the per-collapse statistics;
 * the page-table steps the schemes share are in collapse_steps.c.
 * Spec: ../shared/reference/kernel-algorithms.md G.1, G.2; docs/schemes/collapse-*.md.
 *
 * The model has one mm, so the kernel's mm_slot list and khugepaged_mm_lock are not
 * modelled; a wake-up ends when its budget is spent or when the scan wraps around the
 * address space.  The deferred allocation sleep (alloc_sleep_millisecs) is not modelled:
 * a failed allocation just fails the collapse.  max_ptes_swap (scenario field
 * khugepaged_max_ptes_swap, default 64) and max_ptes_shared (256) are checked; the swap
 * entries of a range are swapped in before the collapse (collapse_swapin).
 */
#include <string.h>
#include "mm.h"
#include "khugepaged.h"
#include "mm/anon_vma.h"
#include "mm/lru.h"
#include "hw/hw.h"
#include "die.h"

#define KHUGEPAGED_MAX_PTES_SHARED 256

const char *const scan_result_name[NR_SCAN_RESULTS] = {
	[SCAN_SUCCEED] = "succeeded",
	[SCAN_PMD_NULL] = "pmd_null",
	[SCAN_PMD_MAPPED] = "pmd_mapped",
	[SCAN_EXCEED_NONE_PTE] = "exceed_none_pte",
	[SCAN_EXCEED_SWAP_PTE] = "exceed_swap_pte",
	[SCAN_EXCEED_SHARED_PTE] = "exceed_shared_pte",
	[SCAN_PAGE_RO] = "page_ro",
	[SCAN_PAGE_COUNT] = "page_count",
	[SCAN_VMA_CHECK] = "vma_check",
	[SCAN_PMD_CHANGED] = "pmd_changed",
	[SCAN_ALLOC_HUGE_PAGE_FAIL] = "alloc_huge_page_fail",
	[SCAN_PTE_BUSY] = "pte_busy",
};

const char *const collapse_lock_name[NR_CL] = {
	[CL_MMAP_WRITE] = "mmap_lock (W)",
	[CL_MMAP_READ] = "mmap_lock (R)",
	[CL_ANON_VMA] = "anon_vma (W)",
	[CL_PMD] = "PMD lock",
	[CL_PTL] = "PTE lock",
};
/* The same as JSON member names. */
const char *const collapse_lock_key[NR_CL] = {
	[CL_MMAP_WRITE] = "mmap_write", [CL_MMAP_READ] = "mmap_read",
	[CL_ANON_VMA] = "anon_vma", [CL_PMD] = "pmd", [CL_PTL] = "ptl",
};

/* An interval of simulated time (ps). */
struct span {
	sim_time_t from, to;
};

struct khugepaged_mm {
	struct khugepaged_params p;
	/*
	 * Held for the window of a read-lock collapse whose walkers wait (pmd-seq,
	 * invalid-pte): a walker that meets the collapse sleeps on it, as
	 * migration_entry_wait sleeps on the folio lock.
	 */
	struct mutex collapse_wait;
	unsigned long scan_address;     /* khugepaged_scan.address: where the scan resumes */
	/* statistics */
	uint64_t wakeups, trylock_failed, ranges_scanned, collapses, failed;
	uint64_t scan_fail[NR_SCAN_RESULTS], collapse_fail[NR_SCAN_RESULTS];
	sim_time_t held_total[NR_CL], held_max[NR_CL];
	uint64_t held_count[NR_CL];
	sim_time_t window_total, window_max;
	uint64_t ipis;
	uint64_t walker_waits;          /* walkers that slept on collapse_wait */
	sim_time_t walker_wait_total;   /* ps they slept, all together */
	uint64_t swapins;               /* pages the swap-in step read back (collapse_swapin) */
	GArray *records;                /* struct collapse_record, every collapse attempt */
	GArray *windows;                /* struct span, in order (one collapse at a time) */
	GArray *faults;                 /* struct span of every user-visible fault */
};

void khugepaged_attach(struct mm_struct *mm, const struct khugepaged_params *p)
{
	struct khugepaged_mm *k = g_aligned_alloc0(1, sizeof(*k), 64);
	k->p = *p;
	mutex_init(&k->collapse_wait, "collapse_wait (folio lock)");
	k->records = g_array_new(FALSE, TRUE, sizeof(struct collapse_record));
	k->windows = g_array_new(FALSE, FALSE, sizeof(struct span));
	k->faults = g_array_new(FALSE, FALSE, sizeof(struct span));
	mm->khugepaged = k;
	mm->pmd_recheck = true;
	/* The order of the locks a collapse nests (H.1). */
	lockdep_declare_order("&mm->mmap_lock", "collapse_wait (folio lock)");
	lockdep_declare_order("collapse_wait (folio lock)", "ptlock_ptr(ptdesc)");
	lockdep_declare_order("collapse_wait (folio lock)", "&mm->page_table_lock");
}

void khugepaged_detach(struct mm_struct *mm)
{
	struct khugepaged_mm *k = mm->khugepaged;
	if (!k)
		return;
	g_array_free(k->records, TRUE);
	g_array_free(k->windows, TRUE);
	g_array_free(k->faults, TRUE);
	g_aligned_free(k);
	mm->khugepaged = NULL;
}

bool khugepaged_pmd_seq(const struct mm_struct *mm)
{
	return mm->khugepaged->p.ops->pmd_seq;
}

void khugepaged_wait_collapse(struct sim_task *t, struct mm_struct *mm)
{
	struct khugepaged_mm *k = mm->khugepaged;
	sim_bug_on(!k);
	sim_time_t t0 = t->now;
	mutex_lock(t, &k->collapse_wait);
	mutex_unlock(t, &k->collapse_wait);
	k->walker_waits++;
	k->walker_wait_total += t->now - t0;
}

void khugepaged_note_fault(struct mm_struct *mm, sim_time_t t0, sim_time_t t1)
{
	struct span s = { t0, t1 };
	g_array_append_val(mm->khugepaged->faults, s);
}

/* ---- lock steps, with their hold times ---- */

static void hold_begin(struct collapse_control *cc, enum collapse_lock l)
{
	cc->since[l] = cc->t->now;
}

static void hold_end(struct collapse_control *cc, enum collapse_lock l)
{
	cc->held[l] += cc->t->now - cc->since[l];
}

void collapse_mmap_read_lock(struct collapse_control *cc)
{
	mmap_read_lock(cc->t, cc->mm);
	hold_begin(cc, CL_MMAP_READ);
}

void collapse_mmap_read_unlock(struct collapse_control *cc)
{
	hold_end(cc, CL_MMAP_READ);
	mmap_read_unlock(cc->t, cc->mm);
}

void collapse_mmap_write_lock(struct collapse_control *cc)
{
	mmap_write_lock(cc->t, cc->mm);
	hold_begin(cc, CL_MMAP_WRITE);
}

void collapse_mmap_write_unlock(struct collapse_control *cc)
{
	hold_end(cc, CL_MMAP_WRITE);
	mmap_write_unlock(cc->t, cc->mm);
}

void collapse_pmd_lock(struct collapse_control *cc)
{
	spin_lock(cc->t, pmd_lockptr(cc->mm, cc->pmd_table));
	hold_begin(cc, CL_PMD);
}

void collapse_pmd_unlock(struct collapse_control *cc)
{
	hold_end(cc, CL_PMD);
	spin_unlock(cc->t, pmd_lockptr(cc->mm, cc->pmd_table));
}

/* The PTE table's lock; with ptl = "mm" it is the PMD lock too, taken once. */
void collapse_ptl_lock(struct collapse_control *cc)
{
	struct spinlock *ptl = pte_lockptr(cc->mm, cc->pt);
	cc->ptl_nested = spin_is_held_by(ptl, cc->t);
	if (!cc->ptl_nested)
		spin_lock(cc->t, ptl);
	hold_begin(cc, CL_PTL);
}

void collapse_ptl_unlock(struct collapse_control *cc)
{
	hold_end(cc, CL_PTL);
	/* Taken inside the PMD lock that is the same lock: the PMD unlock releases it. */
	if (!cc->ptl_nested)
		spin_unlock(cc->t, pte_lockptr(cc->mm, cc->pt));
	cc->ptl_nested = false;
}

/*
 * anon_vma_lock_write(vma->anon_vma): excludes rmap walkers (reclaim, migration, idle
 * page tracking) while the pages are isolated (the rwsem or the spinlock, per the
 * scenario's anon_vma_lock).  Inside it the secondary MMUs are told the 2 MiB range is
 * going (collapse_huge_page's mmu_notifier_invalidate_range_start, MMU_NOTIFY_CLEAR);
 * the end comes before the lock is dropped, once the PMD and PTEs have been cleared (the
 * kernel ends it right after pmdp_collapse_flush; the isolate that follows is inside the
 * window here, which only widens it).  mmap_lock is held, so the VMA and its anon_vma
 * stay.
 */
void collapse_lock_anon_vma(struct collapse_control *cc)
{
	anon_vma_lock_write(cc->t, cc->vma->anon_vma);
	hold_begin(cc, CL_ANON_VMA);
	mmu_notifier_range_init(&cc->mn_range, MMU_NOTIFY_CLEAR, cc->mm, cc->haddr,
				cc->haddr + PMD_SIZE, "collapse_huge_page");
	mmu_notifier_invalidate_range_start(cc->t, &cc->mn_range);
}

void collapse_unlock_anon_vma(struct collapse_control *cc)
{
	mmu_notifier_invalidate_range_end(cc->t, &cc->mn_range);
	hold_end(cc, CL_ANON_VMA);
	anon_vma_unlock_write(cc->t, cc->vma->anon_vma);
}

void collapse_window_begin(struct collapse_control *cc, bool walkers_wait)
{
	if (walkers_wait)
		mutex_lock(cc->t, &cc->k->collapse_wait);
	cc->window_start = cc->t->now;
}

void collapse_window_end(struct collapse_control *cc)
{
	struct span s = { cc->window_start, cc->t->now };
	if (mutex_is_held_by(&cc->k->collapse_wait, cc->t))
		mutex_unlock(cc->t, &cc->k->collapse_wait);
	g_array_append_val(cc->k->windows, s);
	cc->window_start = 0;
}

/* ---- collapse_huge_page and the scan ---- */

static void collapse_account(struct khugepaged_mm *k, struct collapse_control *cc,
			     sim_time_t start)
{
	struct collapse_record r = { .haddr = cc->haddr, .start = start, .end = cc->t->now,
				     .ipis = cc->ipis, .result = cc->result };
	memcpy(r.held, cc->held, sizeof(r.held));
	if (k->windows->len && g_array_index(k->windows, struct span, k->windows->len - 1).from >=
				       start) {
		const struct span *w = &g_array_index(k->windows, struct span, k->windows->len - 1);
		r.window = w->to - w->from;
	}
	if (cc->result == SCAN_SUCCEED)
		k->collapses++;
	else {
		k->failed++;
		k->collapse_fail[cc->result]++;
	}
	for (int l = 0; l < NR_CL; l++) {
		if (!cc->held[l])
			continue;
		k->held_total[l] += cc->held[l];
		k->held_count[l]++;
		if (cc->held[l] > k->held_max[l])
			k->held_max[l] = cc->held[l];
	}
	k->window_total += r.window;
	if (r.window > k->window_max)
		k->window_max = r.window;
	k->ipis += cc->ipis;
	g_array_append_val(k->records, r);
}

/* Called with mmap_lock (R) held by the scan; returns with it released. */
static void collapse_huge_page(struct sim_task *t, struct mm_struct *mm, unsigned long haddr,
			       unsigned nr_swap)
{
	struct khugepaged_mm *k = mm->khugepaged;
	struct collapse_control *cc = g_new0(struct collapse_control, 1);
	sim_time_t start = t->now;

	mmap_read_unlock(t, mm);
	*cc = (struct collapse_control){ .t = t, .mm = mm, .k = k, .haddr = haddr,
					 .nr_swap = nr_swap, .max_ptes_none = k->p.max_ptes_none };
	cc->result = collapse_alloc(cc);
	if (cc->result == SCAN_SUCCEED)
		cc->result = k->p.ops->collapse(cc);
	sim_bug_on(cc->window_start);
	sim_bug_on(t->lockdep.depth); /* every scheme returns with nothing held */
	collapse_free_old(cc);
	collapse_free_hpage(cc);
	collapse_account(k, cc, start);
	k->swapins += cc->swapped_in;
	g_free(cc);
}

/* May khugepaged collapse in this VMA at all (hugepage_vma_check)? */
static bool khugepaged_vma_ok(const struct vm_area_struct *v)
{
	const struct mm_struct *mm = v->vm_mm;
	if (mm->thp == THP_NEVER || (mm->thp == THP_MADVISE && !(v->vm_flags & VM_HUGEPAGE)))
		return false;
	/* Anonymous memory only (file VMAs have no THP here), and only a VMA that has
	 * anonymous pages, i.e. an anon_vma (hugepage_vma_check's expect_anon). */
	return !(v->vm_flags & (VM_SHARED | VM_FILEMAP)) && v->anon_vma &&
	       (v->vm_flags & (VM_READ | VM_WRITE));
}

/*
 * hpage_collapse_scan_pmd: under the PTL, count what the range holds.  SCAN_SUCCEED
 * means "worth a collapse" (the checks are repeated by the isolate step).
 */
static enum scan_result scan_pmd(struct sim_task *t, struct mm_struct *mm, unsigned long haddr,
				 unsigned *nr_swap)
{
	struct khugepaged_mm *k = mm->khugepaged;
	struct page *pmd_table;
	unsigned none = 0, swap = 0, shared = 0, present = 0;
	bool writable = false;

	pteval_t *pmd = pt_find_pmd(t, mm, haddr, &pmd_table); /* find_pmd_or_thp_or_none */
	if (!pmd || !*pmd)
		return SCAN_PMD_NULL;
	if (pmd_trans_huge(*pmd))
		return SCAN_PMD_MAPPED;
	struct page *pt = pt_page(mm, *pmd);
	struct spinlock *ptl = pte_offset_map_lock(t, mm, pmd, pt);
	if (!ptl)
		return SCAN_PMD_CHANGED;
	enum scan_result ret = SCAN_SUCCEED;
	for (unsigned i = 0; i < HPAGE_PMD_NR; i++) {
		pteval_t e = pt->table[i];
		if (i % 8 == 0)
			hw_load(t, &pt->table[i], CACHE_LINE);
		if (!e || (e & _PAGE_SPECIAL)) {
			none++;
			continue;
		}
		if (pte_is_collapse_marker(e)) {
			ret = SCAN_PTE_BUSY;
			break;
		}
		if (!pte_present(e)) {
			swap++;
			continue;
		}
		struct page *p = pfn_to_page(mm->zone, pte_pfn(e));
		hw_load(t, p, sizeof(*p));
		present++;
		if (p->mapcount > 1)
			shared++;
		writable |= e & _PAGE_RW;
	}
	spin_unlock(t, ptl);
	if (ret != SCAN_SUCCEED)
		return ret;
	if (none > k->p.max_ptes_none)
		return SCAN_EXCEED_NONE_PTE;
	if (swap > k->p.max_ptes_swap)
		return SCAN_EXCEED_SWAP_PTE;
	if (shared > KHUGEPAGED_MAX_PTES_SHARED)
		return SCAN_EXCEED_SHARED_PTE;
	if (!writable || !present)
		return SCAN_PAGE_RO;
	*nr_swap = swap;
	return SCAN_SUCCEED;
}

/* khugepaged_scan_mm_slot: one wake-up's worth of scanning. */
static void khugepaged_do_scan(struct sim_task *t, struct mm_struct *mm)
{
	struct khugepaged_mm *k = mm->khugepaged;
	unsigned progress = 0;

	k->wakeups++;
	/* lru_add_drain_all (khugepaged_do_scan): pages still in a CPU's LRU batch hold an
	 * extra reference and are not on the LRU, so the isolate would refuse them. */
	lru_add_drain_all(t, mm->zone);
	if (!down_read_trylock(t, &mm->mmap_lock)) { /* mmap_read_trylock: skip this mm */
		k->trylock_failed++;
		return;
	}
	unsigned long addr = k->scan_address;
	while (progress < k->p.pages_to_scan) {
		struct vm_area_struct *v = find_vma(t, mm, addr);
		if (!v) {
			addr = 0; /* wrapped: the next wake-up starts over */
			break;
		}
		progress++;
		hw_load(t, v, 40);
		unsigned long hstart = (v->vm_start + PMD_SIZE - 1) & ~(PMD_SIZE - 1);
		unsigned long hend = v->vm_end & ~(PMD_SIZE - 1);
		if (!khugepaged_vma_ok(v) || hstart >= hend) {
			addr = v->vm_end;
			continue;
		}
		if (addr < hstart)
			addr = hstart;
		bool relocked = true, collapsed = false;
		while (addr < hend && progress < k->p.pages_to_scan) {
			unsigned nr_swap = 0;
			unsigned long haddr = addr;
			progress += HPAGE_PMD_NR;
			addr += PMD_SIZE;
			k->ranges_scanned++;
			enum scan_result r = scan_pmd(t, mm, haddr, &nr_swap);
			if (r != SCAN_SUCCEED) {
				k->scan_fail[r]++;
				continue;
			}
			collapse_huge_page(t, mm, haddr, nr_swap); /* drops mmap_lock */
			if (!down_read_trylock(t, &mm->mmap_lock)) {
				k->trylock_failed++;
				relocked = false;
			}
			collapsed = true;
			break; /* the VMA may have changed: look it up again */
		}
		if (!relocked) {
			k->scan_address = addr;
			return;
		}
		if (!collapsed && addr >= hend)
			addr = v->vm_end;
	}
	k->scan_address = addr;
	mmap_read_unlock(t, mm);
}

void khugepaged_main(struct sim_task *t, void *arg)
{
	struct mm_struct *mm = arg;
	struct khugepaged_mm *k = mm->khugepaged;
	sim_time_t sleep = (sim_time_t)llround(k->p.scan_sleep_ms * 1e9);

	while (!k->p.should_stop()) {
		khugepaged_do_scan(t, mm);
		/* wait_event_freezable_timeout: asleep until the next scan. */
		cpu_idle(t, sleep);
	}
}

/* ---- reports ---- */

/* Faults that overlapped a collapse window, and the others. */
static void stall_hists(const struct khugepaged_mm *k, struct latency_hist *during,
			struct latency_hist *outside)
{
	const struct span *w = (const struct span *)(void *)k->windows->data;
	unsigned nw = k->windows->len;

	for (unsigned i = 0; i < k->faults->len; i++) {
		const struct span *f = &g_array_index(k->faults, struct span, i);
		/* The last window that began before the fault ended (windows are in order). */
		unsigned lo = 0, hi = nw;
		while (lo < hi) {
			unsigned mid = (lo + hi) / 2;
			if (w[mid].from <= f->to)
				lo = mid + 1;
			else
				hi = mid;
		}
		bool overlap = lo > 0 && w[lo - 1].to >= f->from;
		hist_record(overlap ? during : outside, (uint64_t)llround(ps_to_ns(f->to - f->from)));
	}
}

bool khugepaged_summary(const struct mm_struct *mm, struct khugepaged_summary *sum)
{
	const struct khugepaged_mm *k = mm->khugepaged;
	if (!k)
		return false;
	*sum = (struct khugepaged_summary){
		.collapse = k->p.ops->name, .cpu = k->p.cpu, .wakeups = k->wakeups,
		.trylock_failed = k->trylock_failed, .ranges_scanned = k->ranges_scanned,
		.collapses = k->collapses, .failed = k->failed, .ipis = k->ipis,
		.window_total = k->window_total, .window_max = k->window_max,
		.walker_waits = k->walker_waits, .walker_wait_total = k->walker_wait_total,
		.swapins = k->swapins,
		.nr_records = k->records->len,
		.records = (const struct collapse_record *)(void *)k->records->data,
	};
	memcpy(sum->scan_fail, k->scan_fail, sizeof(sum->scan_fail));
	memcpy(sum->collapse_fail, k->collapse_fail, sizeof(sum->collapse_fail));
	memcpy(sum->held_count, k->held_count, sizeof(sum->held_count));
	memcpy(sum->held_total, k->held_total, sizeof(sum->held_total));
	memcpy(sum->held_max, k->held_max, sizeof(sum->held_max));
	stall_hists(k, &sum->during, &sum->outside);
	return true;
}

void khugepaged_report_text(const struct mm_struct *mm, GString *s)
{
	const struct khugepaged_mm *k = mm->khugepaged;
	if (!k)
		return;
	struct latency_hist during = { 0 }, outside = { 0 };
	stall_hists(k, &during, &outside);
	g_string_append_printf(s, "\nkhugepaged (collapse = %s, cpu %d): %llu collapses, %llu "
			       "failed, %llu ranges scanned, %llu IPIs\n", k->p.ops->name, k->p.cpu,
			       (unsigned long long)k->collapses, (unsigned long long)k->failed,
			       (unsigned long long)k->ranges_scanned, (unsigned long long)k->ipis);
	g_string_append_printf(s, "%20s %10s %14s %14s %14s\n", "lock held by collapse",
			       "collapses", "total-us", "mean-us", "max-us");
	for (int l = 0; l < NR_CL; l++)
		g_string_append_printf(s, "%20s %10llu %14.3f %14.3f %14.3f\n", collapse_lock_name[l],
				       (unsigned long long)k->held_count[l],
				       ps_to_ns(k->held_total[l]) / 1e3,
				       k->held_count[l] ? ps_to_ns(k->held_total[l] /
								   k->held_count[l]) / 1e3 : 0.0,
				       ps_to_ns(k->held_max[l]) / 1e3);
	g_string_append_printf(s, "faults during a collapse window: %llu (p50 %llu ns, p99 %llu "
			       "ns, max %llu ns); outside: %llu (p99 %llu ns)\n",
			       (unsigned long long)during.count,
			       (unsigned long long)hist_quantile(&during, 0.5),
			       (unsigned long long)hist_quantile(&during, 0.99),
			       (unsigned long long)during.max_ns, (unsigned long long)outside.count,
			       (unsigned long long)hist_quantile(&outside, 0.99));
	if (k->walker_waits)
		g_string_append_printf(s, "walkers that waited for a collapse: %llu, %.3f us in "
				       "all\n", (unsigned long long)k->walker_waits,
				       ps_to_ns(k->walker_wait_total) / 1e3);
}
