/*
 * mmap's merges and MAP_FIXED (models/mm/mmap.c mmap_region_locked, models/mm/vma.c
 * vma_merge_new_range), for every registered scheme, on the stub clock with the
 * invariant checker on:
 *  - a new range next to a compatible VMA: the VMA before grows (expand prev), the VMA
 *    after grows down (expand next), or both become one (merge both); map_count and the
 *    ranges say which;
 *  - no merge when flags differ, when a file's pages are not contiguous, or between a
 *    file and anonymous memory; contiguous pages of one file merge, and i_mmap follows;
 *  - MAP_FIXED over mappings: the old VMAs are split off and replaced, the old data is
 *    gone (loads read zeros or the file), the pages and tables are freed; a replaced
 *    range alike its neighbours merges back into one VMA;
 *  - MAP_FIXED_NOREPLACE over a mapping fails with EEXIST and changes nothing; a hint
 *    is taken when free and ignored when not;
 *  - MAP_FIXED between a lockless fault's walk and its lock or commit (scheme_walk_hook,
 *    for every scheme that has such a window): the fault never uses the replaced VMA.
 */
#include <string.h>
#include "tap.h"
#include "clock.h"
#include "hw/machine.h"
#include "hw/hw.h"
#include "mm/mm.h"
#include "mm/lru.h"
#include "sync/rcu.h"
#include "schemes/scheme.h"
#include "race_fixture.h"
#include "violation_log.h"

#define P PAGE_SIZE
static const struct mm_scheme_ops *scheme;

/* mmap as sim/workload_mmap.c issues it, bracketed for the checker. */
static unsigned long sys_mmap(struct mm_struct *mm, struct mmap_args a)
{
	int unmap = a.fixed == MMAP_FIXED ?
			    mm_check_op_begin(&writer, mm, MOP_MUNMAP, a.addr, a.addr + a.len, 0) :
			    -1;
	unsigned long addr = scheme->mmap(&writer, mm, &a);
	if (unmap >= 0)
		mm_check_op_end(&writer, mm, unmap, !MMAP_IS_ERR(addr));
	if (MMAP_IS_ERR(addr))
		return addr;
	if (a.file)
		mm_check_mmap_file(&writer, mm, addr, addr + a.len, a.vm_flags, a.file->id,
				   a.pgoff, a.vm_flags & VM_SHARED);
	else
		mm_check_op_end(&writer, mm, mm_check_op_begin(&writer, mm, MOP_MMAP, addr,
							       addr + a.len, a.vm_flags), true);
	return addr;
}

static unsigned long anon(struct mm_struct *mm, unsigned long addr, unsigned long len,
			  unsigned long prot, enum mmap_fixed fixed)
{
	return sys_mmap(mm, (struct mmap_args){ .addr = addr, .len = len, .vm_flags = prot,
						.fixed = fixed });
}

static void sys_munmap(struct mm_struct *mm, unsigned long a, unsigned long len)
{
	int op = mm_check_op_begin(&writer, mm, MOP_MUNMAP, a, a + len, 0);
	scheme->munmap(&writer, mm, a, len);
	mm_check_op_end(&writer, mm, op, true);
}

static void touch(struct mm_struct *mm, unsigned long a, unsigned long len, bool write)
{
	for (unsigned long off = 0; off < len; off += P)
		if (mmu_access(&writer, mm, a + off, write))
			tap_ok(0, "%s: access at 0x%lx failed", scheme->name, a + off);
}

/* Is there exactly one VMA over [start, end)? */
static bool one_vma(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *v = find_vma(NULL, mm, start);
	return v && v->vm_start == start && v->vm_end == end;
}

static uint64_t ev(enum stat_event e)
{
	return writer.stats.ev[e];
}

static void check_mm(struct mm_struct *mm, const char *when)
{
	struct mm_check_report r;
	mm_check(mm, &r);
	tap_ok(!r.error && r.map_count == mm->map_count, "%s %s: consistent%s%s", scheme->name,
	       when, r.error ? ": " : "", r.error ? r.error : "");
	g_free(r.error);
}

/* Empty the address space between cases. */
static void unmap_all(struct mm_struct *mm)
{
	sys_munmap(mm, MMAP_MIN_ADDR, TASK_SIZE - MMAP_MIN_ADDR);
}

static void merges(struct mm_struct *mm, struct address_space *f)
{
	const char *s = scheme->name;
	unsigned long X = MMAP_BASE - 64 * P, rw = VM_READ | VM_WRITE;

	/* Expand prev: B starts where A ends. */
	memset(&writer.stats, 0, sizeof(writer.stats));
	unsigned long a = anon(mm, X, 4 * P, rw, MMAP_FIXED_NOREPLACE);
	unsigned long b = anon(mm, X + 4 * P, 2 * P, rw, MMAP_FIXED_NOREPLACE);
	tap_ok(a == X && b == X + 4 * P && mm->map_count == 1 && one_vma(mm, X, X + 6 * P) &&
		       ev(EV_VMA_MERGE_PREV) == 1,
	       "%s: a range right after an alike VMA: the VMA grows over it (map_count %d)", s,
	       mm->map_count);
	/* Expand next: a hint just below. */
	unsigned long c = anon(mm, X - 3 * P, 3 * P, rw, MMAP_HINT);
	tap_ok(c == X - 3 * P && mm->map_count == 1 && one_vma(mm, X - 3 * P, X + 6 * P) &&
		       ev(EV_VMA_MERGE_NEXT) == 1,
	       "%s: a free hint right below an alike VMA is taken and the VMA grows down (%d)", s,
	       mm->map_count);
	/* Both: fill a one-page gap between two alike VMAs. */
	unsigned long d = anon(mm, X + 7 * P, 2 * P, rw, MMAP_FIXED);
	tap_ok(d == X + 7 * P && mm->map_count == 2, "%s: a VMA one page above: two VMAs (%d)", s,
	       mm->map_count);
	anon(mm, X + 6 * P, P, rw, MMAP_FIXED);
	tap_ok(mm->map_count == 1 && one_vma(mm, X - 3 * P, X + 9 * P) &&
		       ev(EV_VMA_MERGE_BOTH) == 1,
	       "%s: filling the gap joins all three into one VMA (%d)", s, mm->map_count);
	touch(mm, X - 3 * P, 12 * P, true);
	check_mm(mm, "after the three merges");
	unmap_all(mm);

	/* Incompatible flags: read-only next to read-write. */
	anon(mm, X, 4 * P, rw, MMAP_FIXED);
	anon(mm, X + 4 * P, 4 * P, VM_READ, MMAP_FIXED);
	anon(mm, X - 4 * P, 4 * P, VM_READ | VM_WRITE | VM_EXEC, MMAP_FIXED);
	tap_ok(mm->map_count == 3 && one_vma(mm, X, X + 4 * P),
	       "%s: neighbours with other protections stay apart (%d VMAs)", s, mm->map_count);
	unmap_all(mm);

	/* Files: contiguous pages of one file merge; a gap in pgoff, another file or
	 * anonymous memory do not. */
	struct mmap_args fa = { .addr = X, .len = 4 * P, .vm_flags = VM_READ, .file = f,
				.pgoff = 0, .fixed = MMAP_FIXED };
	sys_mmap(mm, fa);
	fa.addr = X + 4 * P;
	fa.pgoff = 8; /* pages 8..11 after pages 0..3 */
	sys_mmap(mm, fa);
	tap_ok(mm->map_count == 2 && f->i_mmap.nr == 2,
	       "%s: file pages 8.. after pages ..3: not merged (%d VMAs, %lu in i_mmap)", s,
	       mm->map_count, f->i_mmap.nr);
	fa.addr = X - 4 * P;
	fa.pgoff = 0; /* pages 0..3 below pages 0..3: not contiguous either */
	sys_mmap(mm, fa);
	anon(mm, X + 8 * P, 4 * P, VM_READ, MMAP_FIXED);
	tap_ok(mm->map_count == 4, "%s: nor file below the same pages, nor anonymous after a "
	       "file (%d VMAs)", s, mm->map_count);
	unmap_all(mm);
	fa.addr = X;
	fa.pgoff = 4;
	sys_mmap(mm, fa);
	fa.addr = X + 4 * P;
	fa.pgoff = 8;
	sys_mmap(mm, fa);
	fa.addr = X - 4 * P;
	fa.pgoff = 0;
	sys_mmap(mm, fa);
	struct vm_area_struct *v = find_vma(NULL, mm, X - 4 * P);
	tap_ok(mm->map_count == 1 && one_vma(mm, X - 4 * P, X + 8 * P) && v->vm_pgoff == 0 &&
		       f->i_mmap.nr == 1,
	       "%s: file pages 0..3, 4..7, 8..11 in order: one VMA from page 0, once in i_mmap "
	       "(%d VMAs, pgoff %lu, %lu in i_mmap)", s, mm->map_count, v ? v->vm_pgoff : 0,
	       f->i_mmap.nr);
	touch(mm, X - 4 * P, 12 * P, false);
	check_mm(mm, "after the file merges");
	unmap_all(mm);
}

static void fixed(struct mm_struct *mm, struct address_space *f)
{
	const char *s = scheme->name;
	unsigned long X = MMAP_BASE - 64 * P, rw = VM_READ | VM_WRITE;

	memset(&writer.stats, 0, sizeof(writer.stats));
	anon(mm, X, 16 * P, rw, MMAP_FIXED);
	touch(mm, X, 16 * P, true);
	uint64_t freed = ev(EV_PGFREE);
	/* The middle, alike: split off, replaced, and merged back into one VMA. */
	unsigned long r = anon(mm, X + 4 * P, 4 * P, rw, MMAP_FIXED);
	tap_ok(r == X + 4 * P && mm->map_count == 1 && one_vma(mm, X, X + 16 * P) &&
		       ev(EV_VMA_MERGE_BOTH) == 1 && ev(EV_MMAP_FIXED_REPLACED) == 4,
	       "%s: MAP_FIXED over the middle of an alike VMA: one VMA again, 4 pages replaced "
	       "(%d VMAs, %llu)", s, mm->map_count,
	       (unsigned long long)ev(EV_MMAP_FIXED_REPLACED));
	/* The CPU's LRU batch may still hold some of them: its drain frees them. */
	lru_add_drain(&writer, mm->zone);
	tap_ok(ev(EV_PGFREE) == freed + 4, "%s: the 4 old pages are freed (%llu)", s,
	       (unsigned long long)(ev(EV_PGFREE) - freed));
	/* Loads of the replaced range read zeros (the checker verifies each). */
	uint64_t faults = ev(EV_FAULT_ZERO);
	touch(mm, X + 4 * P, 4 * P, false);
	tap_ok(ev(EV_FAULT_ZERO) == faults + 4,
	       "%s: the replaced pages fault in the zero page, not the old data", s);
	/* Another protection over two VMAs and a hole: three VMAs. */
	anon(mm, X + 16 * P, 4 * P, VM_READ, MMAP_FIXED);
	anon(mm, X + 12 * P, 12 * P, VM_READ, MMAP_FIXED);
	tap_ok(mm->map_count == 2 && one_vma(mm, X + 12 * P, X + 24 * P),
	       "%s: MAP_FIXED across a VMA's tail, another VMA and a hole: one read-only VMA "
	       "(%d VMAs)", s, mm->map_count);
	/* A file over anonymous memory: the file shows, not the old data. */
	struct mmap_args fa = { .addr = X, .len = 4 * P, .vm_flags = VM_READ, .file = f,
				.pgoff = 0, .fixed = MMAP_FIXED };
	sys_mmap(mm, fa);
	touch(mm, X, 4 * P, false);
	tap_ok(mm->map_count == 3 && f->i_mmap.nr == 1,
	       "%s: a file MAP_FIXED over anonymous pages: 3 VMAs, 1 in i_mmap (%d)", s,
	       mm->map_count);
	check_mm(mm, "after MAP_FIXED");

	/* MAP_FIXED_NOREPLACE over a mapping: EEXIST, nothing changed. */
	int before = mm->map_count;
	unsigned long e = anon(mm, X + 2 * P, P, rw, MMAP_FIXED_NOREPLACE);
	tap_ok(e == MMAP_EEXIST && mm->map_count == before && one_vma(mm, X, X + 4 * P),
	       "%s: MAP_FIXED_NOREPLACE over a mapping fails with EEXIST, nothing changes", s);
	/* A hint over a mapping is not taken. */
	unsigned long h = anon(mm, X + 2 * P, P, rw, MMAP_HINT);
	tap_ok(!MMAP_IS_ERR(h) && (h + P <= X || h >= X + 24 * P),
	       "%s: a hint that is not free is ignored (0x%lx)", s, h);
	unmap_all(mm);
	check_mm(mm, "after unmapping everything");
	tap_ok(violations == 0, "%s: the checker saw no violation (%d)%s%s", s, violations,
	       last_violation ? ": " : "", last_violation ? last_violation : "");
}

/*
 * MAP_FIXED inside a fault's window: a write fault's lockless walk has just found the
 * read-write VMA when the writer replaces it by a read-only mapping (scheme_walk_hook,
 * between the walk and the VMA lock or the commit).  The fault must not go on with the
 * old VMA: it sees the new one and fails (SIGSEGV), and no writable PTE is left.
 */
static unsigned long race_region;
static bool race_armed, race_fired;

static void fixed_hook(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		       struct vm_area_struct *vma)
{
	(void)t;
	(void)addr;
	(void)vma;
	if (!race_armed)
		return;
	race_armed = false;
	race_fired = true;
	anon(mm, race_region, 4 * P, VM_READ, MMAP_FIXED);
}

static void fixed_in_fault_window(struct mm_struct *mm)
{
	const char *s = scheme->name;
	race_region = MMAP_BASE - 256 * P;
	anon(mm, race_region, 4 * P, VM_READ | VM_WRITE, MMAP_FIXED);
	touch(mm, race_region, P, true); /* page 0 mapped: the PTE table exists */
	race_armed = true;
	race_fired = false;
	scheme_walk_hook = fixed_hook;
	int err = mmu_access(&reader, mm, race_region + P, true);
	scheme_walk_hook = NULL;
	race_armed = false;
	pteval_t *pte = pt_lookup_pte(&writer, mm, race_region + P, NULL);
	if (!race_fired) {
		tap_ok(!err, "%s: no lockless walk before the fault's lock: no window to race in",
		       s);
	} else {
		struct vm_area_struct *v = find_vma(NULL, mm, race_region);
		tap_ok(err == -14 && (!pte || !(*pte & _PAGE_RW)) && mm->map_count == 1 &&
			       v && v->vm_flags == VM_READ,
		       "%s: MAP_FIXED read-only between a write fault's walk and its lock: the "
		       "fault sees the new VMA and fails, no writable PTE (err %d)", s, err);
	}
	tap_ok(violations == 0, "%s: the checker saw no violation (%d)%s%s", s, violations,
	       last_violation ? ": " : "", last_violation ? last_violation : "");
	check_mm(mm, "after MAP_FIXED in a fault's window");
	sys_munmap(mm, race_region, 4 * P);
}

int main(void)
{
	if (!race_setup())
		return 1;
	mm_set_violation_handler(record_violation, NULL);
	for (const struct mm_scheme_ops *const *sp = mm_schemes; *sp; sp++) {
		scheme = *sp;
		struct zone *zone = zone_create(1ULL << 30, race_machine->nr_cpus);
		struct mm_struct *mm = mm_create(zone, scheme);
		mm->checker = mm_checker_create();
		reader.mm = writer.mm = mm;
		struct address_space *f = filemap_create(zone, "data", 64, true, 0, I_MMAP_RWSEM);
		merges(mm, f);
		fixed(mm, f);
		fixed_in_fault_window(mm);
		/* Grace periods end and their callbacks run before the zone goes: a callback
		 * queued during one may need the next. */
		for (int i = 0; i < 3; i++) {
			reader.now = writer.now = MAX(reader.now, writer.now) + PS_PER_MS;
			rcu_qs(&reader);
			rcu_qs(&writer);
		}
		race_end_grace_periods(scheme);
		mm_checker_destroy(mm->checker);
		filemap_destroy(zone, f);
		mm_destroy(mm);
		zone_destroy(zone);
	}
	return race_teardown();
}
