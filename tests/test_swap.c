/*
 * Swap on the stub clock (models/mm/swap.c), for every scheme:
 *  - swap-out: isolated, locked anonymous pages get slots, every PTE becomes a swap entry
 *    naming its slot, the pages are freed, rss moves from rss_anon to rss_swap, and the
 *    checker (slot counts against entries, the allocator, the memcg) is clean;
 *  - fork: the child's entries are swap_duplicate'd (count 2); the child's read swaps the
 *    page in read-only and it stays in the swap cache, the parent's read finds the same
 *    page there; both read the values written before the swap-out;
 *  - a write then copies; the child's exit and the parent's munmap free every slot;
 *  - a slot count one above its entries is reported as a leak;
 *  - a write fault on the last entry maps the page writable and frees the slot;
 *  - no_writeback (inject = "swap-no-writeback"): the swapped-in page reads zeros, which
 *    the checker reports.
 */
#include <string.h>
#include "tap.h"
#include "clock.h"
#include "hw/machine.h"
#include "hw/hw.h"
#include "mm/mm.h"
#include "mm/rmap.h"
#include "mm/lru.h"
#include "mm/swap.h"
#include "mm/migrate.h"
#include "sync/mutex.h"
#include "sync/rcu.h"
#include "schemes/scheme.h"
#include "race_fixture.h"
#include "race_syscalls.h"
#include "violation_log.h"


static bool consistent(struct mm_struct *p, struct mm_struct *c, const char *when)
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

/* The reclaimer's part (vmscan.c): isolate everything on the LRU, swap each out under its
 * folio lock, free the freed ones, put the rest back.  Returns how many were freed. */
static unsigned swap_out_all(struct zone *z, struct mm_struct *mm)
{
	struct page *iso[64], *keep[64], *freed[64];
	unsigned nk = 0, nf = 0;
	lru_add_drain(&reader, z);
	unsigned n = isolate_lru_folios(&writer, z, 64, iso);
	for (unsigned i = 0; i < n; i++) {
		struct mutex *l = folio_lock_anon(iso[i]->pfn);
		mutex_lock(&writer, l);
		bool gone = swap_out_folio(&writer, z, mm, iso[i]);
		mutex_unlock(&writer, l);
		if (gone)
			freed[nf++] = iso[i];
		else
			keep[nk++] = iso[i];
	}
	if (nf)
		folios_free(&writer, z, freed, nf);
	putback_lru_folios(&writer, z, keep, nk);
	return nf;
}

static void test_swap(void)
{
	enum { NP = 8 };
	struct zone *zone = zone_create(1ULL << 30, race_machine->nr_cpus);
	zone->swap = swap_create(1ULL << 20, race_machine->nr_cpus, 1000, 500);
	struct swap_info *si = zone->swap;
	struct mm_struct *mm = mm_create(zone, scheme);
	mm->checker = mm_checker_create();
	reader.mm = writer.mm = mm;
	violations = 0;
	g_free(last_violation);
	last_violation = NULL;

	unsigned long a = sys_mmap(mm, NP * PAGE_SIZE);
	tap_ok(touch(mm, a, NP * PAGE_SIZE, true), "%s: %d pages written", scheme->name, NP);
	unsigned nf = swap_out_all(zone, mm);
	bool entries = true;
	for (int i = 0; i < NP; i++) {
		pteval_t e = pte_of(mm, a + (unsigned long)i * PAGE_SIZE);
		entries &= is_swap_entry(e) && !is_migration_entry(e) &&
			   si->swap_map[swap_entry_to_slot(e)] == 1;
	}
	tap_ok(nf == NP && entries && mm->rss_swap == NP && mm->rss_anon == 0,
	       "%s swap-out: %u of %d pages freed, each PTE a swap entry with count 1 "
	       "(rss_swap %ld, rss_anon %ld)", scheme->name, nf, NP, mm->rss_swap, mm->rss_anon);
	consistent(mm, NULL, "after the swap-out");

	/* fork: the entries are duplicated. */
	struct mm_struct *child = dup_mm(&reader, mm);
	uint32_t s0 = swap_entry_to_slot(pte_of(mm, a));
	tap_ok(pte_of(child, a) == pte_of(mm, a) && si->swap_map[s0] == 2 && child->rss_swap == NP,
	       "%s fork: the child has the entries, each slot's count is 2", scheme->name);
	consistent(mm, child, "after fork");

	/* The child reads page 0 back: read-only (the parent's entry remains), in the swap
	 * cache; the parent's read finds the same page. */
	violations = 0;
	tap_ok(touch(child, a, PAGE_SIZE, false), "%s: the child reads page 0", scheme->name);
	pteval_t ce = pte_of(child, a);
	struct page *p = pfn_to_page(zone, pte_pfn(ce));
	tap_ok(pte_present(ce) && !(ce & _PAGE_RW) && (p->flags & PG_swapcache) &&
		       si->swap_map[s0] == (1 | SWAP_HAS_CACHE),
	       "%s swap-in: read-only, still in the swap cache, one entry left (map 0x%x)",
	       scheme->name, si->swap_map[s0]);
	tap_ok(touch(mm, a, PAGE_SIZE, false) && pte_pfn(pte_of(mm, a)) == p->pfn &&
		       p->mapcount == 2 && !(p->flags & PG_swapcache) && si->swap_map[s0] == SWAP_SLOT_CACHED,
	       "%s swap-in: the parent maps the same page from the swap cache, the slot is freed",
	       scheme->name);
	tap_ok(violations == 0, "%s: both read the values written before the swap-out (%d "
	       "violations%s%s)", scheme->name, violations, violations ? ": " : "",
	       violations ? last_violation : "");
	consistent(mm, child, "after both swapped page 0 in");

	/* A leaked reference: one more count than entries. */
	uint32_t s1 = swap_entry_to_slot(pte_of(mm, a + PAGE_SIZE));
	si->swap_map[s1]++;
	struct mm_struct *mms[] = { mm, child };
	struct mm_check_report r;
	mm_check_mms(mms, 2, &r);
	tap_ok(r.error && strstr(r.error, "a slot leaked"), "%s: a count above the entries is "
	       "reported: %s", scheme->name, r.error ? r.error : "(nothing)");
	g_free(r.error);
	si->swap_map[s1]--;

	/* A write copies the shared page; the child's exit drops its entries. */
	tap_ok(touch(mm, a, PAGE_SIZE, true) && pte_pfn(pte_of(mm, a)) != p->pfn,
	       "%s: the parent's write copies the page it shares with the child", scheme->name);
	exit_mmap(&reader, child);
	tap_ok(si->swap_map[s1] == 1, "%s exit: the child's entries are gone (count %u)",
	       scheme->name, si->swap_map[s1]);
	consistent(mm, NULL, "after the child's exit");

	/* A write fault on the last entry: mapped writable, the slot freed. */
	tap_ok(touch(mm, a + PAGE_SIZE, PAGE_SIZE, true), "%s: write to page 1", scheme->name);
	pteval_t e1 = pte_of(mm, a + PAGE_SIZE);
	tap_ok((e1 & _PAGE_RW) && si->swap_map[s1] == SWAP_SLOT_CACHED &&
		       !(pfn_to_page(zone, pte_pfn(e1))->flags & PG_swapcache),
	       "%s swap-in on a write: exclusive, mapped writable, slot freed", scheme->name);
	tap_ok(violations == 0 && touch(mm, a, NP * PAGE_SIZE, false) && violations == 0,
	       "%s: every page reads back what was stored", scheme->name);
	consistent(mm, NULL, "after every page came back");

	/* The injected bug: freed without the write. */
	si->no_writeback = true;
	swap_out_all(zone, mm);
	si->no_writeback = false;
	touch(mm, a + 2 * PAGE_SIZE, PAGE_SIZE, false);
	tap_ok(violations > 0 && strstr(last_violation, "load-returns-last-store") &&
		       strstr(last_violation, "do_swap_page"),
	       "%s no_writeback: the swapped-in page's load is reported", scheme->name);
	violations = 0;

	scheme->munmap(&reader, mm, a, NP * PAGE_SIZE);
	lru_add_drain(&reader, zone);
	race_end_grace_periods(scheme);
	race_drain_pt_frees(mm, zone);
	unsigned used = 0;
	for (uint32_t s = 0; s < si->nr_slots; s++)
		used += si->swap_map[s] && si->swap_map[s] != SWAP_SLOT_CACHED;
	tap_ok(used == 0 && mm->rss_swap == 0, "%s munmap: every slot is free again (%u used)",
	       scheme->name, used);
	consistent(mm, NULL, "at the end");
	mm_checker_destroy(mm->checker);
	mm_destroy(mm);
	mm_reap_exited(zone);
	swap_destroy(zone->swap);
	zone->swap = NULL;
	zone_destroy(zone);
}

int main(void)
{
	if (!race_setup())
		return 1;
	mm_set_violation_handler(record_violation, NULL);
	for (int i = 0; mm_schemes[i]; i++) {
		scheme = mm_schemes[i];
		test_swap();
	}
	return race_teardown();
}
