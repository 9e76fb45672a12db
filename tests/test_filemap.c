/*
 * File mappings on a stub clock (no SimGrid), by part:
 *   xarray  the page cache's radix tree against a hash table, random stores, overwrites,
 *           erases and lookups, with its height and node count checked;
 *   itree   i_mmap's interval tree against a brute-force list, random inserts, removals
 *           and overlap queries, validated after every change;
 *   rmap    rmap_walk_file finds exactly the PTEs that map a page cache page, across
 *           shared and private mappings, after COW, split and munmap;
 *   fault   the fault paths with the checker on: a shared store seen through another
 *           mapping and after munmap, private COW, DONTNEED of a private mapping reading
 *           the file again, mprotect then a write (wp_page_shared), split and merge
 *           keeping i_mmap right, a cold file read once, page cache accounting.
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

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

static void part_xarray(void)
{
	struct xarray xa;
	GHashTable *ref = g_hash_table_new(NULL, NULL); /* index -> entry */
	int bad = 0;

	xa_init(&xa, "test xa_lock");
	for (int i = 0; i < 20000; i++) {
		/* Indices from three scales: dense low, sparse mid, and very high ones. */
		uint64_t idx = rnd(3) == 0 ? rnd(200) : rnd(2) ? rnd(100000) : rnd(1UL << 40);
		gpointer key = GSIZE_TO_POINTER(idx);
		int op = (int)rnd(10);
		if (op < 5) {
			void *val = GSIZE_TO_POINTER((gsize)i + 1);
			void *old = xa_store_locked(NULL, &xa, idx, val);
			bad += old != g_hash_table_lookup(ref, key);
			g_hash_table_insert(ref, key, val);
		} else if (op < 7) {
			void *old = xa_erase(&xa, idx);
			bad += old != g_hash_table_lookup(ref, key);
			g_hash_table_remove(ref, key);
		} else {
			bad += xa_load(NULL, &xa, idx) != g_hash_table_lookup(ref, key);
		}
		if (g_hash_table_size(ref) == 0)
			bad += xa.xa_head != NULL || xa.nr_nodes != 0;
	}
	tap_ok(!bad, "xarray: 20000 random stores, erases and loads agree with a hash table "
	       "(%d mismatches)", bad);
	GHashTableIter it;
	gpointer k, v;
	int missing = 0;
	g_hash_table_iter_init(&it, ref);
	while (g_hash_table_iter_next(&it, &k, &v))
		missing += xa_load(NULL, &xa, (unsigned long)GPOINTER_TO_SIZE(k)) != v;
	tap_ok(!missing, "xarray: every entry of the reference is found at the end");
	xa_destroy(&xa);

	/* Shape: 64 slots per level, the root grows as the highest index does. */
	xa_init(&xa, "test xa_lock");
	xa_store_locked(NULL, &xa, 63, &xa);
	tap_ok(xa_height(&xa) == 1 && xa.nr_nodes == 1, "xarray: index 63 fits one node");
	xa_store_locked(NULL, &xa, 64, &xa);
	tap_ok(xa_height(&xa) == 2 && xa.nr_nodes == 3, "xarray: index 64 adds a level (%d, %lu)",
	       xa_height(&xa), xa.nr_nodes);
	xa_store_locked(NULL, &xa, 1UL << 30, &xa);
	tap_ok(xa_height(&xa) == 6, "xarray: index 2^30 needs 6 levels (%d)", xa_height(&xa));
	xa_erase(&xa, 1UL << 30);
	tap_ok(xa_height(&xa) == 2 && xa.nr_nodes == 3,
	       "xarray: erasing it shrinks the tree back (%d levels, %lu nodes)", xa_height(&xa),
	       xa.nr_nodes);
	/* Charged lookups: a load touches the head and one slot line per level. */
	task.now = 0;
	xa_load(&task, &xa, 64);
	tap_ok(task.now > 0, "xarray: a charged lookup costs simulated time");
	xa_destroy(&xa);
	g_hash_table_destroy(ref);
}

struct collect {
	GPtrArray *out;
};

static bool collect_fn(struct vm_area_struct *vma, void *arg)
{
	g_ptr_array_add(((struct collect *)arg)->out, vma);
	return true;
}

static gint by_ptr(gconstpointer a, gconstpointer b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
	return x < y ? -1 : x > y;
}

static void part_itree(void)
{
	struct itree_root tree = { 0 };
	enum { NV = 300 };
	struct vm_area_struct *v = g_aligned_alloc0(NV, sizeof(*v), 64);
	bool in[NV] = { 0 };
	int bad = 0, invalid = 0, queries = 0;
	char *err = NULL;

	for (int i = 0; i < NV; i++) {
		v[i].vm_pgoff = rnd(1000);
		v[i].vm_start = 0x100000UL * (unsigned long)(i + 1);
		v[i].vm_end = v[i].vm_start + (rnd(40) + 1) * PAGE_SIZE;
	}
	for (int step = 0; step < 6000; step++) {
		int i = (int)rnd(NV);
		if (!in[i])
			vma_interval_tree_insert(NULL, &v[i], &tree);
		else
			vma_interval_tree_remove(NULL, &v[i], &tree);
		in[i] = !in[i];
		char *e = vma_interval_tree_validate(&tree);
		if (e) {
			invalid++;
			g_free(err);
			err = e;
		}
		unsigned long first = rnd(1100), last = first + rnd(60);
		GPtrArray *got = g_ptr_array_new(), *want = g_ptr_array_new();
		struct collect c = { got };
		vma_interval_tree_foreach(NULL, &tree, first, last, collect_fn, &c);
		/* Visited in key order: starts never decrease. */
		for (unsigned k = 1; k < got->len; k++)
			bad += ((struct vm_area_struct *)got->pdata[k - 1])->vm_pgoff >
			       ((struct vm_area_struct *)got->pdata[k])->vm_pgoff;
		for (int j = 0; j < NV; j++) {
			unsigned long s = v[j].vm_pgoff,
				      l = s + ((v[j].vm_end - v[j].vm_start) >> PAGE_SHIFT) - 1;
			if (in[j] && s <= last && l >= first)
				g_ptr_array_add(want, &v[j]);
		}
		g_ptr_array_sort(got, by_ptr);
		g_ptr_array_sort(want, by_ptr);
		bad += got->len != want->len ||
		       (got->len && memcmp(got->pdata, want->pdata, got->len * sizeof(void *)));
		queries++;
		g_ptr_array_free(got, TRUE);
		g_ptr_array_free(want, TRUE);
	}
	tap_ok(!invalid, "itree: valid after each of 6000 inserts and removals%s%s",
	       err ? ": " : "", err ? err : "");
	tap_ok(!bad, "itree: %d overlap queries agree with a brute-force scan (%d wrong)",
	       queries, bad);
	unsigned long n = 0;
	for (int i = 0; i < NV; i++)
		n += in[i];
	tap_ok(tree.nr == n, "itree: nr counts the linked VMAs (%lu, want %lu)", tree.nr, n);
	g_free(err);
	g_aligned_free(v);
}

/* ---- an mm with files ---- */

static unsigned long sys_mmap_file(struct mm_struct *mm, unsigned long len, struct address_space *m,
				   unsigned long pgoff, bool shared, unsigned long prot)
{
	unsigned long flags = prot | (shared ? VM_SHARED : 0);
	struct mmap_args args = { .len = len, .vm_flags = flags, .file = m, .pgoff = pgoff };
	unsigned long a = classic_scheme.mmap(&task, mm, &args);
	if (MMAP_IS_ERR(a))
		return 0;
	if (mm->checker)
		mm_check_mmap_file(&task, mm, a, a + len, flags, m->id, pgoff, shared);
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

static int touch(struct mm_struct *mm, unsigned long a, unsigned long len, bool write)
{
	for (unsigned long off = 0; off < len; off += PAGE_SIZE) {
		int err = mmu_access(&task, mm, a + off, write);
		if (err)
			return err;
	}
	return 0;
}

static pteval_t pte_of(struct mm_struct *mm, unsigned long a)
{
	pteval_t *pte = pt_lookup_pte(&task, mm, a, NULL);
	return pte ? *pte : 0;
}

static void check(struct mm_struct *mm, const char *when)
{
	struct mm_check_report r;
	mm_check(mm, &r);
	tap_ok(!r.error, "%s: consistent%s%s", when, r.error ? ": " : "", r.error ? r.error : "");
	g_free(r.error);
	tap_ok(!violations, "%s: no violation during the run%s%s", when,
	       last_violation ? ": " : "", last_violation ? last_violation : "");
}

struct rmap_seen {
	GArray *addrs;
};

static bool rmap_seen_fn(struct sim_task *t, struct page *p, struct vm_area_struct *vma,
			 unsigned long addr, uint64_t *pte, void *arg)
{
	(void)t;
	(void)p;
	(void)pte;
	(void)vma;
	struct rmap_seen *s = arg;
	g_array_append_val(s->addrs, addr);
	return true;
}

/* The addresses rmap_walk_file reports for page pgoff of m, sorted. */
static GArray *rmap_addrs(struct address_space *m, unsigned long pgoff)
{
	struct rmap_seen s = { g_array_new(FALSE, FALSE, sizeof(unsigned long)) };
	struct page *p = xa_load(NULL, &m->i_pages, pgoff);
	int n = p ? rmap_walk_file(&task, p, false, rmap_seen_fn, &s) : 0;
	if (n < 0 || (unsigned)n != s.addrs->len)
		g_array_set_size(s.addrs, 0);
	return s.addrs;
}

static bool addrs_are(GArray *got, unsigned long a0, unsigned long a1, unsigned long a2)
{
	unsigned long want[3] = { a0, a1, a2 };
	unsigned n = 0;
	for (int i = 0; i < 3; i++)
		n += want[i] != 0;
	bool ok = got->len == n;
	for (unsigned i = 0; ok && i < got->len; i++) {
		bool found = false;
		for (int j = 0; j < 3; j++)
			found |= want[j] && g_array_index(got, unsigned long, i) == want[j];
		ok = found;
	}
	g_array_free(got, TRUE);
	return ok;
}

static struct mm_struct *mm_setup(struct zone *zone)
{
	struct mm_struct *mm = mm_create(zone, &classic_scheme);
	task.mm = mm;
	mm->checker = mm_checker_create();
	mm_set_violation_handler(record_violation, NULL);
	return mm;
}

static void part_rmap(struct zone *zone)
{
	struct mm_struct *mm = mm_setup(zone);
	struct address_space *f = filemap_create(zone, "f", 64, true, 0, I_MMAP_RWSEM);
	unsigned long len = 16 * PAGE_SIZE;
	unsigned long s1 = sys_mmap_file(mm, len, f, 8, true, VM_READ | VM_WRITE);
	unsigned long s2 = sys_mmap_file(mm, len, f, 0, true, VM_READ | VM_WRITE);
	unsigned long pv = sys_mmap_file(mm, len, f, 8, false, VM_READ | VM_WRITE);

	touch(mm, s1, len, false);
	touch(mm, s2, len, false);
	touch(mm, pv, len, false);
	/* Page 10: at s1 + 2, s2 + 10, pv + 2.  Page 3: only at s2 + 3. */
	tap_ok(addrs_are(rmap_addrs(f, 10), s1 + 2 * PAGE_SIZE, s2 + 10 * PAGE_SIZE,
			 pv + 2 * PAGE_SIZE), "rmap: page 10 found in all three mappings");
	tap_ok(addrs_are(rmap_addrs(f, 3), s2 + 3 * PAGE_SIZE, 0, 0),
	       "rmap: page 3 found only where it is mapped");
	tap_ok(addrs_are(rmap_addrs(f, 40), 0, 0, 0), "rmap: an unmapped page has no PTE");
	/* A private write replaces the cache page by a copy at pv + 2. */
	touch(mm, pv + 2 * PAGE_SIZE, PAGE_SIZE, true);
	tap_ok(addrs_are(rmap_addrs(f, 10), s1 + 2 * PAGE_SIZE, s2 + 10 * PAGE_SIZE, 0),
	       "rmap: after the private COW the copy is not the cache page's");
	struct page *p10 = xa_load(NULL, &f->i_pages, 10);
	tap_ok(p10->mapcount == 2 && p10->refcount == 3,
	       "rmap: page 10 mapcount 2, refcount 3 (%d, %d)", p10->mapcount, p10->refcount);
	/* Split s2 by unmapping a page in its middle: both halves still found. */
	sys_munmap(mm, s2 + 5 * PAGE_SIZE, PAGE_SIZE);
	tap_ok(addrs_are(rmap_addrs(f, 10), s1 + 2 * PAGE_SIZE, s2 + 10 * PAGE_SIZE, 0),
	       "rmap: after a split of s2 its upper part still maps page 10");
	tap_ok(addrs_are(rmap_addrs(f, 5), 0, 0, 0), "rmap: the punched page 5 is gone");
	tap_ok(f->i_mmap.nr == 4, "rmap: i_mmap holds 4 VMAs after the split (%lu)",
	       f->i_mmap.nr);
	sys_munmap(mm, s1, len);
	tap_ok(addrs_are(rmap_addrs(f, 10), s2 + 10 * PAGE_SIZE, 0, 0),
	       "rmap: munmap of s1 removes it from the walk");
	check(mm, "rmap");
	mm_checker_destroy(mm->checker);
	mm_destroy(mm);
	filemap_destroy(zone, f);
}

static void part_fault(struct zone *zone)
{
	struct mm_struct *mm = mm_setup(zone);
	struct address_space *f = filemap_create(zone, "f", 32, true, 0, I_MMAP_RWSEM);
	struct address_space *cold = filemap_create(zone, "cold", 8, false, 50000, I_MMAP_SPINLOCK);
	unsigned long len = 8 * PAGE_SIZE;
	unsigned long a = sys_mmap_file(mm, len, f, 0, true, VM_READ | VM_WRITE);
	unsigned long b = sys_mmap_file(mm, len, f, 0, true, VM_READ | VM_WRITE);
	unsigned long p = sys_mmap_file(mm, len, f, 0, false, VM_READ | VM_WRITE);

	/* Shared: stores through a are what b and p read (p has not copied yet). */
	touch(mm, a, len, true);
	tap_ok(task.stats.ev[EV_FAULT_FILE_SHARED] == 8, "shared writes: do_shared_fault x8 (%llu)",
	       (unsigned long long)task.stats.ev[EV_FAULT_FILE_SHARED]);
	tap_ok((pte_of(mm, a) & _PAGE_RW) && (pte_of(mm, a) & _PAGE_DIRTY),
	       "shared write maps the cache page writable and dirty");
	touch(mm, b, len, false);
	touch(mm, p, len, false);
	tap_ok(pte_of(mm, a) >> PAGE_SHIFT == pte_of(mm, b) >> PAGE_SHIFT &&
	       pte_of(mm, b) >> PAGE_SHIFT == pte_of(mm, p) >> PAGE_SHIFT,
	       "the three mappings map the same page cache page");
	tap_ok(!(pte_of(mm, b) & _PAGE_RW) && !(pte_of(mm, p) & _PAGE_RW),
	       "read faults map it read-only");
	/* A write through b (read-only PTE): wp_page_shared. */
	touch(mm, b, PAGE_SIZE, true);
	tap_ok(task.stats.ev[EV_FAULT_FILE_WP] == 1 && (pte_of(mm, b) & _PAGE_RW),
	       "a write to the read-only shared PTE makes it writable (wp_page_shared)");
	/* p writes: COW; a and b still see the file, p its own. */
	touch(mm, p, 2 * PAGE_SIZE, true);
	tap_ok(task.stats.ev[EV_FAULT_FILE_COW] == 2 &&
	       pte_of(mm, p) >> PAGE_SHIFT != pte_of(mm, a) >> PAGE_SHIFT,
	       "private writes copy the page (wp_page_copy x2)");
	touch(mm, a, len, false);
	touch(mm, p, len, false);
	check(mm, "after shared stores and private copies");
	/* munmap a and b: the data stays in the page cache, a new mapping reads it. */
	sys_munmap(mm, a, len);
	sys_munmap(mm, b, len);
	unsigned long c = sys_mmap_file(mm, len, f, 0, true, VM_READ);
	touch(mm, c, len, false);
	check(mm, "a new shared mapping reads what the old ones stored");
	struct page *pg0 = xa_load(NULL, &f->i_pages, 0);
	tap_ok(pg0->flags & PG_dirty, "the written page cache page is dirty");
	/* DONTNEED on the private mapping drops its copies: it reads the file again. */
	sys_dontneed(mm, p, len);
	touch(mm, p, len, false);
	tap_ok(pte_of(mm, p) >> PAGE_SHIFT == pte_of(mm, c) >> PAGE_SHIFT,
	       "after DONTNEED the private mapping maps the cache page again");
	check(mm, "after DONTNEED of the private mapping");
	/* mprotect to r then rw: PTEs read-only, then a write goes through wp again. */
	unsigned long d = sys_mmap_file(mm, len, f, 8, true, VM_READ | VM_WRITE);
	touch(mm, d, len, true);
	sys_mprotect(mm, d + 2 * PAGE_SIZE, 2 * PAGE_SIZE, VM_READ);
	tap_ok(!(pte_of(mm, d + 2 * PAGE_SIZE) & _PAGE_RW), "mprotect(r) write-protects");
	tap_ok(f->i_mmap.nr == 5, "the split by mprotect keeps i_mmap in step (%lu VMAs)",
	       f->i_mmap.nr);
	sys_mprotect(mm, d + 2 * PAGE_SIZE, 2 * PAGE_SIZE, VM_READ | VM_WRITE);
	tap_ok(f->i_mmap.nr == 3 && mm->map_count == 3,
	       "mprotect(rw) merges them back (%lu in i_mmap, %d VMAs)", f->i_mmap.nr,
	       mm->map_count);
	uint64_t wp0 = task.stats.ev[EV_FAULT_FILE_WP];
	touch(mm, d + 2 * PAGE_SIZE, 2 * PAGE_SIZE, true);
	tap_ok(task.stats.ev[EV_FAULT_FILE_WP] == wp0 + 2, "writes after mprotect(rw) take wp");
	check(mm, "after mprotect on a shared mapping");
	/* A cold file: the first fault of each page reads it, later ones hit. */
	unsigned long e = sys_mmap_file(mm, 8 * PAGE_SIZE, cold, 0, false, VM_READ);
	sim_time_t t0 = task.now;
	touch(mm, e, 8 * PAGE_SIZE, false);
	tap_ok(task.stats.ev[EV_PGCACHE_READ] == 8 && task.now - t0 >= 8 * ns_to_ps(50000),
	       "a cold file: 8 pages read, each for its read_ns");
	sys_munmap(mm, e, 8 * PAGE_SIZE);
	e = sys_mmap_file(mm, 8 * PAGE_SIZE, cold, 0, false, VM_READ);
	touch(mm, e, 8 * PAGE_SIZE, false);
	tap_ok(task.stats.ev[EV_PGCACHE_READ] == 8, "... and hit in the page cache afterwards");
	tap_ok(touch(mm, e, PAGE_SIZE, true) == -14, "a write to a read-only mapping is refused");
	check(mm, "after the cold file");
	/* The CPU's LRU batch still holds the last copies queued: its drain frees them. */
	lru_add_drain(&task, mm->zone);
	struct mm_check_report r;
	mm_check(mm, &r);
	tap_ok(r.pages_in_use == r.table_pages + 32 + 8,
	       "pages in use: tables + 40 page cache pages, the copies went with DONTNEED "
	       "(%llu, %llu tables)",
	       (unsigned long long)r.pages_in_use, (unsigned long long)r.table_pages);
	g_free(r.error);

	/* The checker sees a page cache page written through a private mapping. */
	pteval_t *pte = pt_lookup_pte(&task, mm, p + 5 * PAGE_SIZE, NULL);
	*pte |= _PAGE_RW; /* planted bug: the private PTE of a cache page made writable */
	hw_tlb_flush_range(&task, mm->cpumask, mm->zone->nr_cpus, mm->asid, 0, ~0UL, false);
	touch(mm, p + 5 * PAGE_SIZE, PAGE_SIZE, true);
	tap_ok(violations == 1 && strstr(last_violation, "private-store-stays-private"),
	       "a store through a writable private PTE of a cache page is a violation");
	mm_check(mm, &r);
	tap_ok(r.error && strstr(r.error, "private mapping makes page cache"),
	       "... and the end-of-run check names it (%s)", r.error ? r.error : "none");
	g_free(r.error);
	mm_checker_destroy(mm->checker);
	mm_destroy(mm);
	filemap_destroy(zone, f);
	filemap_destroy(zone, cold);
}

int main(int argc, char **argv)
{
	const char *part = argc > 1 ? argv[1] : "all";
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
	bool all = !strcmp(part, "all");
	if (all || !strcmp(part, "xarray"))
		part_xarray();
	if (all || !strcmp(part, "itree"))
		part_itree();
	if (all || !strcmp(part, "rmap"))
		part_rmap(zone);
	if (all || !strcmp(part, "fault"))
		part_fault(zone);
	char *herr = hw_check(task.hw);
	tap_ok(!herr, "hardware model state consistent%s%s", herr ? ": " : "", herr ? herr : "");
	g_free(herr);
	g_free(last_violation);
	zone_destroy(zone);
	hw_destroy(task.hw);
	machine_free(m);
	return tap_done();
}
