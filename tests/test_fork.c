/*
 * The anonymous rmap, fork, copy-on-write and exit on the stub clock.
 *  - tree: the anon_vma interval tree against a brute-force reference under random
 *    links, range updates and unlinks; with hundreds of chains, the structure validated
 *    after every change, key order, early stop and the nodes a query visits;
 *  - fork: after dup_mm parent and child share every page (mapcount 2, both PTEs read-only)
 *    and the checker, counting over both mms, is clean; a child write copies, the
 *    parent's write then reuses; each side reads its own values (the checker's shadow);
 *    exit_mmap frees everything only the child held;
 *  - rmap: folio_referenced counts and clears accessed bits over both mms, gives up when
 *    the anon_vma lock is contended and asked to; try_to_unmap clears every mapping;
 *  - inject: a COW that reuses a shared page leaves a writable shared PTE, which the
 *    checker reports;
 *  - reuse: a VMA's first fault takes its neighbour's anon_vma (find_mergeable_anon_vma)
 *    unless the neighbour is a fork child's, and mprotect then merges the two.
 * Run for every scheme (the fault path differs; fork and rmap do not).
 */
#include <string.h>
#include "tap.h"
#include "clock.h"
#include "hw/machine.h"
#include "hw/hw.h"
#include "mm/mm.h"
#include "mm/anon_vma.h"
#include "mm/rmap.h"
#include "mm/lru.h"
#include "sync/rcu.h"
#include "schemes/scheme.h"
#include "race_fixture.h"
#include "race_syscalls.h"
#include "violation_log.h"


/* ---- the interval tree against a reference ---- */

struct hits {
	struct vm_area_struct *vma[64];
	unsigned n;
};

static bool collect(struct anon_vma_chain *avc, void *arg)
{
	struct hits *h = arg;
	h->vma[h->n++] = avc->vma;
	return true;
}

static bool contains(const struct hits *h, const struct vm_area_struct *v)
{
	for (unsigned i = 0; i < h->n; i++)
		if (h->vma[i] == v)
			return true;
	return false;
}

static void test_tree(void)
{
	struct zone *zone = zone_create(1ULL << 28, race_machine->nr_cpus);
	struct mm_struct *mm = mm_create(zone, &classic_scheme);
	enum { NV = 40 };
	struct vm_area_struct *v[NV];
	bool linked[NV];
	struct sim_rng rng;
	rng_seed(&rng, 7, 0);

	/* v[0] prepares the anon_vma; the others are linked to it as splits would be, with
	 * random page-offset ranges. */
	for (int i = 0; i < NV; i++) {
		unsigned long start = 0x10000000UL + (unsigned long)i * 0x100000UL;
		unsigned long pages = 1 + rng_next(&rng) % 64;
		v[i] = vma_alloc(&writer, mm, start, start + pages * PAGE_SIZE, VM_READ | VM_WRITE);
		v[i]->vm_pgoff = rng_next(&rng) % 256;
		if (i == 0) {
			anon_vma_prepare(&writer, v[0]);
		} else {
			v[i]->anon_vma = v[0]->anon_vma;
			anon_vma_clone(&writer, v[i], v[0]);
		}
		linked[i] = true;
	}
	struct anon_vma *av = v[0]->anon_vma;
	tap_ok((unsigned)av->rb_root.nr == NV && av->num_active_vmas == NV,
	       "tree: %u chains for %d VMAs", (unsigned)av->rb_root.nr, NV);
	int bad = 0, queries = 0;
	for (int round = 0; round < 400; round++) {
		unsigned long first = rng_next(&rng) % 330, last = first + rng_next(&rng) % 40;
		struct hits h = { .n = 0 };
		avc_tree_foreach(NULL, av, first, last, collect, &h);
		for (int i = 0; i < NV; i++) {
			bool want = linked[i] && v[i]->vm_pgoff <= last && vma_pgoff_last(v[i]) >= first;
			if (want != contains(&h, v[i]))
				bad++;
		}
		queries++;
		/* Change something: move a VMA's range, or unlink one (never v[0], whose
		 * anon_vma it is). */
		int i = 1 + (int)(rng_next(&rng) % (NV - 1));
		if (!linked[i])
			continue;
		if (rng_next(&rng) % 4) {
			anon_vma_lock_write(&writer, av);
			anon_vma_interval_tree_pre_update_vma(&writer, v[i]);
			v[i]->vm_pgoff = rng_next(&rng) % 256;
			anon_vma_interval_tree_post_update_vma(&writer, v[i]);
			anon_vma_unlock_write(&writer, av);
		} else {
			unlink_anon_vmas(&writer, v[i]);
			linked[i] = false;
		}
	}
	tap_ok(bad == 0, "tree: %d interval queries agree with the reference (%d wrong)",
	       queries, bad);
	/* A query charges the chains it visits (one line each): one that starts below every
	 * chain stops at the first. */
	sim_time_t t0 = writer.now;
	unsigned visited = avc_tree_foreach(&writer, av, 0, 0, collect,
					    &(struct hits){ .n = 0 });
	tap_ok(writer.now > t0 && visited <= (unsigned)av->rb_root.nr,
	       "tree: a query is charged (%u chains visited)", visited);
	unsigned left = 0;
	for (int i = NV - 1; i >= 0; i--)
		if (linked[i]) {
			unlink_anon_vmas(&writer, v[i]);
			left++;
		}
	tap_ok(left > 0 && !v[0]->anon_vma && !v[0]->anon_vma_chain,
	       "tree: the last unlink frees the anon_vma (%u VMAs were still linked)", left);
	for (int i = 0; i < NV; i++)
		vma_free(&writer, v[i]);
	mm_destroy(mm);
	zone_destroy(zone);
}

/* ---- the interval tree under many chains: rebalancing, structure, early stop ---- */

struct ordered {
	struct anon_vma_chain **avc;
	unsigned n, stop_after;         /* stop_after 0: never stop */
};

static bool collect_ordered(struct anon_vma_chain *avc, void *arg)
{
	struct ordered *o = arg;
	o->avc[o->n++] = avc;
	return !o->stop_after || o->n < o->stop_after;
}

static gint by_key(gconstpointer a, gconstpointer b)
{
	const struct anon_vma_chain *x = *(struct anon_vma_chain *const *)a,
				    *y = *(struct anon_vma_chain *const *)b;
	if (x->rb.start != y->rb.start)
		return x->rb.start < y->rb.start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static unsigned tree_height(const struct itree_node *n)
{
	if (!n)
		return 0;
	unsigned l = tree_height(n->left), r = tree_height(n->right);
	return 1 + (l > r ? l : r);
}

static void test_tree_stress(void)
{
	struct zone *zone = zone_create(1ULL << 28, race_machine->nr_cpus);
	struct mm_struct *mm = mm_create(zone, &classic_scheme);
	enum { NV = 600, SLOT = 0x100000UL, OPS = 6000 };
	struct vm_area_struct **v = g_new0(struct vm_area_struct *, NV);
	bool *linked = g_new0(bool, NV);
	struct anon_vma_chain **want = g_new(struct anon_vma_chain *, NV);
	struct anon_vma_chain **got = g_new(struct anon_vma_chain *, NV);
	struct sim_rng rng;
	rng_seed(&rng, 11, 0);

	for (int i = 0; i < NV; i++) {
		unsigned long start = 0x10000000UL + (unsigned long)i * SLOT;
		unsigned long pages = 1 + rng_next(&rng) % 64;
		v[i] = vma_alloc(&writer, mm, start, start + pages * PAGE_SIZE, VM_READ | VM_WRITE);
		v[i]->vm_pgoff = rng_next(&rng) % 4000;
	}
	anon_vma_prepare(&writer, v[0]);
	linked[0] = true;
	struct anon_vma *av = v[0]->anon_vma;
	unsigned nr = 1, max_nr = 1, invalid = 0, wrong = 0, disordered = 0, stops_wrong = 0;
	unsigned over_bound = 0, inserts = 0, removes = 0, updates = 0, queries = 0;
	unsigned long sparse_visits = 0, sparse_queries = 0, sparse_scan = 0;
	char *err = NULL;

	for (int op = 0; op < OPS; op++) {
		/* Link, unlink or move a VMA (never v[0], whose anon_vma it is); early on,
		 * links win so the tree grows to hundreds of chains. */
		int i = 1 + (int)(rng_next(&rng) % (NV - 1));
		unsigned r = (unsigned)(rng_next(&rng) % 10);
		if (!linked[i] && (op < OPS / 3 || r < 5)) {
			v[i]->anon_vma = av;
			anon_vma_clone(&writer, v[i], v[0]);
			linked[i] = true;
			nr++;
			inserts++;
		} else if (linked[i] && r < 3) {
			unlink_anon_vmas(&writer, v[i]);
			linked[i] = false;
			nr--;
			removes++;
		} else if (linked[i]) {
			/* A split, merge or mremap: new pgoff and length under the lock (W). */
			anon_vma_lock_write(&writer, av);
			anon_vma_interval_tree_pre_update_vma(&writer, v[i]);
			v[i]->vm_pgoff = rng_next(&rng) % 4000;
			v[i]->vm_end = v[i]->vm_start + (1 + rng_next(&rng) % 64) * PAGE_SIZE;
			anon_vma_interval_tree_post_update_vma(&writer, v[i]);
			anon_vma_unlock_write(&writer, av);
			updates++;
		}
		if (nr > max_nr)
			max_nr = nr;
		char *e = anon_vma_interval_tree_validate(av);
		if (!e && av->rb_root.nr != nr)
			e = g_strdup_printf("%lu chains in the tree, %u linked", av->rb_root.nr, nr);
		if (e) {
			invalid++;
			g_free(err);
			err = e;
		}

		/* A query against the reference: the same chains, in (start, creation) order. */
		unsigned long first = rng_next(&rng) % 4100, last = first;
		if (rng_next(&rng) % 2)
			last += rng_next(&rng) % 200;
		unsigned nw = 0;
		for (int j = 0; j < NV; j++)
			if (linked[j] && v[j]->vm_pgoff <= last && vma_pgoff_last(v[j]) >= first)
				want[nw++] = v[j]->anon_vma_chain;
		qsort(want, nw, sizeof(*want), (int (*)(const void *, const void *))by_key);
		struct ordered o = { got, 0, 0 };
		unsigned visited = avc_tree_foreach(op % 2 ? &writer : NULL, av, first, last,
						    collect_ordered, &o);
		wrong += o.n != nw || (nw && memcmp(got, want, nw * sizeof(*got)));
		for (unsigned k = 1; k < o.n; k++)
			disordered += by_key(&got[k - 1], &got[k]) >= 0;
		/* The augmented search's bound: every visited node is on the path to a hit
		 * or to one of the two ends of the query's range. */
		unsigned h = tree_height(av->rb_root.root);
		over_bound += visited > (nw + 2) * h;
		if (nw <= 1) {
			sparse_visits += visited;
			sparse_queries++;
			/* What a scan of the chains sorted by start would have visited: every
			 * one starting at or before last, and the first after it. */
			for (int j = 0; j < NV; j++)
				sparse_scan += linked[j] && v[j]->vm_pgoff <= last;
			sparse_scan += 1;
		}
		/* Early stop: asking to stop after k chains reports exactly the first k. */
		if (nw > 1) {
			struct ordered s = { got, 0, 1 + (unsigned)(rng_next(&rng) % (nw - 1)) };
			avc_tree_foreach(NULL, av, first, last, collect_ordered, &s);
			stops_wrong += s.n != s.stop_after ||
				       memcmp(got, want, s.n * sizeof(*got));
		}
		queries++;
	}
	tap_ok(!invalid, "tree stress: valid after each of %d operations (%u links, %u unlinks, "
	       "%u range updates; up to %u chains)%s%s", OPS, inserts, removes, updates, max_nr,
	       err ? ": " : "", err ? err : "");
	tap_ok(max_nr >= 300 && inserts && removes && updates,
	       "tree stress: hundreds of chains (%u) under every kind of change", max_nr);
	tap_ok(!wrong && !disordered, "tree stress: %u queries report the reference's chains in "
	       "key order (%u wrong, %u out of order)", queries, wrong, disordered);
	tap_ok(!stops_wrong, "tree stress: an early stop reports a prefix of the order "
	       "(%u wrong)", stops_wrong);
	double nq = (double)(sparse_queries ? sparse_queries : 1);
	tap_ok(!over_bound && sparse_queries && sparse_visits < sparse_queries * (max_nr / 8),
	       "tree stress: a query visits at most (hits + 2) x height nodes (%u over); with "
	       "at most one hit %.1f nodes on average of up to %u (a sorted scan: %.1f)",
	       over_bound, (double)sparse_visits / nq, max_nr, (double)sparse_scan / nq);
	g_free(err);
	for (int i = NV - 1; i >= 0; i--)
		if (linked[i])
			unlink_anon_vmas(&writer, v[i]);
	for (int i = 0; i < NV; i++)
		vma_free(&writer, v[i]);
	g_free(v);
	g_free(linked);
	g_free(want);
	g_free(got);
	mm_destroy(mm);
	zone_destroy(zone);
}

/* ---- fork, COW, rmap, exit ---- */

static struct page *page_at(struct mm_struct *mm, unsigned long a)
{
	return pfn_to_page(mm->zone, pte_pfn(pte_of(mm, a)));
}

static bool check_both(struct mm_struct *p, struct mm_struct *c, const char *when)
{
	struct mm_struct *mms[] = { p, c };
	struct mm_check_report r;
	mm_check_mms(mms, c ? 2 : 1, &r);
	tap_ok(!r.error, "%s %s: consistent%s%s", scheme->name, when, r.error ? ": " : "",
	       r.error ? r.error : "");
	bool ok = !r.error;
	g_free(r.error);
	return ok;
}

static void test_fork(void)
{
	enum { NP = 8 };
	struct zone *zone = zone_create(1ULL << 30, race_machine->nr_cpus);
	struct mm_struct *mm = mm_create(zone, scheme);
	mm->checker = mm_checker_create();
	reader.mm = writer.mm = mm;
	violations = 0;
	g_free(last_violation);
	last_violation = NULL;

	unsigned long a = sys_mmap(mm, NP * PAGE_SIZE);
	tap_ok(touch(mm, a, NP * PAGE_SIZE, true), "%s: parent writes %d pages", scheme->name, NP);
	struct page *p0 = page_at(mm, a);
	tap_ok(p0->mapping == find_vma(NULL, mm, a)->anon_vma && p0->index == a >> PAGE_SHIFT,
	       "%s: a new page's rmap is its VMA's anon_vma and its page offset", scheme->name);

	struct mm_struct *child = dup_mm(&reader, mm);
	struct vm_area_struct *pv = find_vma(NULL, mm, a), *cv = find_vma(NULL, child, a);
	tap_ok(cv && cv->vm_start == pv->vm_start && cv->anon_vma &&
		       cv->anon_vma != pv->anon_vma && cv->anon_vma->root == pv->anon_vma &&
		       pv->anon_vma->num_children == 1,
	       "%s fork: the child's VMA has its own anon_vma under the parent's root",
	       scheme->name);
	bool shared = true;
	for (int i = 0; i < NP; i++) {
		unsigned long x = a + (unsigned long)i * PAGE_SIZE;
		pteval_t pe = pte_of(mm, x), ce = pte_of(child, x);
		struct page *pg = page_at(mm, x);
		shared &= pte_pfn(pe) == pte_pfn(ce) && !(pe & _PAGE_RW) && !(ce & _PAGE_RW) &&
			  pg->mapcount == 2;
	}
	tap_ok(shared, "%s fork: every page shared, read-only on both sides, mapcount 2",
	       scheme->name);
	check_both(mm, child, "after fork");

	/* rmap: the parent's PTEs are young, the child's were made old at fork. */
	int ref = folio_referenced(&reader, p0, false);
	tap_ok(ref == 1, "%s rmap: folio_referenced finds 1 young mapping of 2 (%d)",
	       scheme->name, ref);
	touch(child, a, PAGE_SIZE, false); /* the child's walk sets its accessed bit */
	int ref2 = folio_referenced(&reader, p0, false);
	int ref3 = folio_referenced(&reader, p0, false);
	tap_ok(ref2 == 1 && ref3 == 0,
	       "%s rmap: the child's access is seen, then the bits are clear (%d, %d)",
	       scheme->name, ref2, ref3);
	/* Contended: a writer holds the fork tree's lock. */
	anon_vma_lock_write(&writer, pv->anon_vma);
	int refc = folio_referenced(&reader, p0, true);
	anon_vma_unlock_write(&writer, pv->anon_vma);
	tap_ok(refc == -1, "%s rmap: with try_lock, a held anon_vma lock makes the walk give up",
	       scheme->name);

	/* COW: the child writes page 1 (copy), then the parent writes page 1 (reuse). */
	struct page *old = page_at(mm, a + PAGE_SIZE);
	uint64_t copies = reader.stats.ev[EV_FAULT_COW], reuses = reader.stats.ev[EV_FAULT_COW_REUSE];
	touch(child, a + PAGE_SIZE, PAGE_SIZE, true);
	struct page *copy = page_at(child, a + PAGE_SIZE);
	tap_ok(copy != old && old->mapcount == 1 && copy->mapcount == 1 &&
		       copy->mapping == cv->anon_vma && (pte_of(child, a + PAGE_SIZE) & _PAGE_RW) &&
		       reader.stats.ev[EV_FAULT_COW] == copies + 1,
	       "%s COW: the child's write copies into a page of its own anon_vma", scheme->name);
	touch(mm, a + PAGE_SIZE, PAGE_SIZE, true);
	tap_ok(page_at(mm, a + PAGE_SIZE) == old && (pte_of(mm, a + PAGE_SIZE) & _PAGE_RW) &&
		       reader.stats.ev[EV_FAULT_COW_REUSE] == reuses + 1,
	       "%s COW: the parent's write then reuses the page it alone maps", scheme->name);
	/* Each side reads its own values (verified by the shadow), the others the pre-fork
	 * ones. */
	touch(mm, a, NP * PAGE_SIZE, false);
	touch(child, a, NP * PAGE_SIZE, false);
	tap_ok(violations == 0, "%s COW: parent and child each read their own values%s%s",
	       scheme->name, last_violation ? ": " : "", last_violation ? last_violation : "");
	check_both(mm, child, "after COW");

	/* mprotect(r) then (rw) of the parent: a page still shared stays read-only (its next
	 * write copies), one the parent alone maps becomes writable again. */
	int op = mm_check_op_begin(&reader, mm, MOP_MPROTECT, a, a + NP * PAGE_SIZE, VM_READ);
	scheme->mprotect(&reader, mm, a, NP * PAGE_SIZE, VM_READ);
	mm_check_op_end(&reader, mm, op, true);
	op = mm_check_op_begin(&reader, mm, MOP_MPROTECT, a, a + NP * PAGE_SIZE,
			       VM_READ | VM_WRITE);
	scheme->mprotect(&reader, mm, a, NP * PAGE_SIZE, VM_READ | VM_WRITE);
	mm_check_op_end(&reader, mm, op, true);
	tap_ok(!(pte_of(mm, a + 4 * PAGE_SIZE) & _PAGE_RW) && (pte_of(mm, a + PAGE_SIZE) & _PAGE_RW),
	       "%s mprotect(rw): a shared page stays read-only, an exclusive one is writable",
	       scheme->name);
	check_both(mm, child, "after mprotect r, rw");

	/* try_to_unmap of a page both map: both PTEs go; our pin keeps it. */
	struct page *victim = page_at(mm, a + 2 * PAGE_SIZE);
	victim->refcount++; /* folio_get */
	long rss_p = mm->rss_anon, rss_c = child->rss_anon;
	bool gone = try_to_unmap(&reader, victim);
	tap_ok(gone && victim->mapcount == 0 && !pte_of(mm, a + 2 * PAGE_SIZE) &&
		       !pte_of(child, a + 2 * PAGE_SIZE) && mm->rss_anon == rss_p - 1 &&
		       child->rss_anon == rss_c - 1,
	       "%s rmap: try_to_unmap clears the page's PTE in both mms", scheme->name);
	folio_put(&reader, zone, victim);
	tap_ok(victim->flags & PG_free, "%s rmap: the last reference frees the unmapped page",
	       scheme->name);
	check_both(mm, child, "after try_to_unmap");

	/* exit: the child's copies go, the parent's pages stay. */
	exit_mmap(&reader, child);
	tap_ok(copy->refcount == 0 || (copy->flags & PG_free) ||
		       folio_in_lru_batch(zone, reader.cpu, copy),
	       "%s exit: the child's private copy is released", scheme->name);
	lru_add_drain(&reader, zone);
	tap_ok(copy->flags & PG_free, "%s exit: ... and freed once no batch holds it",
	       scheme->name);
	bool single = true;
	for (int i = 0; i < NP; i++)
		if (i != 2)
			single &= page_at(mm, a + (unsigned long)i * PAGE_SIZE)->mapcount == 1;
	tap_ok(single && !pv->anon_vma->num_children,
	       "%s exit: the parent's pages are its alone again, its anon_vma childless",
	       scheme->name);
	check_both(mm, NULL, "after the child's exit");

	/* The injected bug: a COW write reuses a page the other side still maps. */
	struct mm_struct *c2 = dup_mm(&reader, mm);
	c2->inject = INJECT_COW_NO_COPY;
	touch(c2, a + 3 * PAGE_SIZE, PAGE_SIZE, true);
	struct mm_struct *mms[] = { mm, c2 };
	struct mm_check_report r;
	mm_check_mms(mms, 2, &r);
	/* The page both map is writable in the child and, moved to the child's anon_vma, no
	 * longer reachable from the parent's mapping: either is reported. */
	tap_ok(r.error && (strstr(r.error, "a COW that did not copy") ||
			   strstr(r.error, "the rmap does not lead back here")),
	       "%s inject cow-no-copy: the checker reports the shared page: %s",
	       scheme->name, r.error ? r.error : "(nothing)");
	g_free(r.error);
	violations = 0;
	touch(mm, a + 3 * PAGE_SIZE, PAGE_SIZE, false);
	tap_ok(violations > 0 && strstr(last_violation, "load-returns-last-store"),
	       "%s inject cow-no-copy: the parent reads the child's write", scheme->name);
	exit_mmap(&reader, c2);

	scheme->munmap(&reader, mm, a, NP * PAGE_SIZE);
	lru_add_drain(&reader, zone);
	race_end_grace_periods(scheme);
	race_drain_pt_frees(mm, zone);
	tap_ok(!mm->nr_pt_rcu_pending && !mm_exited_pt_pending(zone),
	       "%s: every page table freed after its grace period", scheme->name);
	struct mm_check_report end;
	mm_check(mm, &end);
	tap_ok(!end.error && end.pages_in_use == 1 && zone->memcg->memory.usage ==
						   memcg_stocked_pages(zone),
	       "%s: at the end only the PGD is in use (%llu) and memcg holds only its stock%s%s",
	       scheme->name, (unsigned long long)end.pages_in_use, end.error ? ": " : "",
	       end.error ? end.error : "");
	g_free(end.error);
	mm_checker_destroy(mm->checker);
	mm_destroy(mm);
	mm_reap_exited(zone);
	zone_destroy(zone);
}

/* ---- find_mergeable_anon_vma: a neighbour's anon_vma, and the merge it allows ---- */

static void test_reuse(void)
{
	enum { NP = 4 };
	const unsigned long rw = VM_READ | VM_WRITE, rwx = rw | VM_EXEC, pg = PAGE_SIZE;
	struct zone *zone = zone_create(1ULL << 30, race_machine->nr_cpus);
	struct mm_struct *mm = mm_create(zone, scheme);
	mm->checker = mm_checker_create();
	reader.mm = writer.mm = mm;

	/* A = [a, a+NP) rw, B = [a+NP, a+2NP) rwx, C = [a+2NP, a+4NP) rw, Y = [a+4NP, a+5NP)
	 * rwx: four VMAs before any fault. */
	unsigned long a = sys_mmap(mm, 5 * NP * pg);
	scheme->mprotect(&reader, mm, a + NP * pg, NP * pg, rwx);
	scheme->mprotect(&reader, mm, a + 4 * NP * pg, NP * pg, rwx);
	int maps = mm->map_count;
	uint64_t reused0 = reader.stats.ev[EV_ANON_VMA_REUSE];
	touch(mm, a, NP * pg, true);
	touch(mm, a + NP * pg, NP * pg, true);
	struct vm_area_struct *va = find_vma(NULL, mm, a), *vb = find_vma(NULL, mm, a + NP * pg);
	tap_ok(maps == 4 && va != vb && va->anon_vma && vb->anon_vma == va->anon_vma &&
		       reader.stats.ev[EV_ANON_VMA_REUSE] == reused0 + 1 &&
		       va->anon_vma->num_active_vmas == 2,
	       "%s reuse: B's first fault takes its neighbour A's anon_vma (protections differ "
	       "only in access bits)", scheme->name);
	check_both(mm, NULL, "reuse: after faulting A and B");
	/* mprotect(B, rw): A, B and C are alike now, and share one anon_vma (C has none). */
	scheme->mprotect(&reader, mm, a + NP * pg, NP * pg, rw);
	struct vm_area_struct *x = find_vma(NULL, mm, a);
	tap_ok(mm->map_count == maps - 2 && x->vm_start == a && x->vm_end == a + 4 * NP * pg &&
		       x->anon_vma && !x->anon_vma_chain->same_vma,
	       "%s reuse: mprotect merges A, B and C into one VMA with one anon_vma (%d -> %d "
	       "VMAs)", scheme->name, maps, mm->map_count);
	check_both(mm, NULL, "reuse: after the merge");

	/* A fork child's VMA is linked to its parent's anon_vma too: not reusable. */
	struct mm_struct *child = dup_mm(&reader, mm);
	uint64_t reused1 = reader.stats.ev[EV_ANON_VMA_REUSE];
	touch(child, a + 4 * NP * pg, NP * pg, true);
	struct vm_area_struct *cx = find_vma(NULL, child, a),
			      *cy = find_vma(NULL, child, a + 4 * NP * pg);
	tap_ok(cx->anon_vma_chain->same_vma && cy != cx && cy->anon_vma &&
		       cy->anon_vma != cx->anon_vma &&
		       reader.stats.ev[EV_ANON_VMA_REUSE] == reused1,
	       "%s reuse: the child's Y does not take its forked neighbour's anon_vma",
	       scheme->name);
	/* The parent's X is still linked to its own only: its Y reuses it. */
	touch(mm, a + 4 * NP * pg, NP * pg, true);
	struct vm_area_struct *y = find_vma(NULL, mm, a + 4 * NP * pg);
	tap_ok(y != x && y->anon_vma == x->anon_vma &&
		       reader.stats.ev[EV_ANON_VMA_REUSE] == reused1 + 1,
	       "%s reuse: the parent's Y takes X's anon_vma", scheme->name);
	check_both(mm, child, "reuse: after faulting Y in both");
	/* Now the parent's whole range can be one VMA again. */
	scheme->mprotect(&reader, mm, a + 4 * NP * pg, NP * pg, rw);
	tap_ok(find_vma(NULL, mm, a)->vm_end == a + 5 * NP * pg,
	       "%s reuse: the parent's Y merges into X", scheme->name);
	check_both(mm, child, "reuse: after the second merge");

	exit_mmap(&reader, child);
	scheme->munmap(&reader, mm, a, 5 * NP * pg);
	lru_add_drain(&reader, zone);
	race_end_grace_periods(scheme);
	for (int i = 0; i < 8 && mm->nr_pt_rcu_pending + mm_exited_pt_pending(zone); i++) {
		sim_time_t later = (reader.now > writer.now ? reader.now : writer.now) + 1000000;
		reader.now = writer.now = later;
		rcu_qs(&reader);
		rcu_qs(&writer);
	}
	mm_checker_destroy(mm->checker);
	mm_destroy(mm);
	mm_reap_exited(zone);
	zone_destroy(zone);
}

int main(void)
{
	if (!race_setup())
		return 1;
	mm_set_violation_handler(record_violation, NULL);
	test_tree();
	test_tree_stress();
	for (int i = 0; mm_schemes[i]; i++) {
		scheme = mm_schemes[i];
		test_fork();
		test_reuse();
	}
	return race_teardown();
}
