/*
 * Swap: one swap device with its slot allocator, swap map and swap cache (mm/swapfile.c,
 * mm/swap_slots.c, mm/swap_state.c), anonymous reclaim's swap-out (mm/vmscan.c
 * shrink_folio_list, add_to_swap, pageout, __remove_mapping; mm/rmap.c
 * try_to_unmap_one's anonymous branch) and the swap-in fault (mm/memory.c do_swap_page).
 * Spec: kernel-algorithms.md G (the swap-in khugepaged does), I.4 (try_to_unmap).
 *
 * Slots.  swap_map[slot] counts the swap entries naming the slot, plus SWAP_HAS_CACHE
 * while a page for it is in the swap cache; a slot is free when it reaches 0.  Each CPU
 * keeps a cache of up to 64 slots taken from the device in one si->lock section
 * (get_swap_pages into swap_slots_cache) and of freed slots given back in one section when
 * 64 have gathered (free_swap_slot); a slot sitting in either reads SWAP_SLOT_CACHED.
 * Count changes (swap_duplicate, swap_free) take the slot's cluster lock (ci->lock),
 * nested inside the PTE lock.  Lock order: PTE lock -> ci->lock; si->lock alone.
 *
 * Swap cache.  slot -> page in an xarray (xa_lock for stores, RCU for lookups): the page
 * while it is written out and until its last swap entry is gone, so a fault on one entry
 * and a fault on a fork sibling's entry for the same slot find the same page.  The cache
 * holds a reference and sets PG_swapcache and page->swap.
 *
 * Swap-out (reclaim, folio lock held): a slot, the swap cache, then try_to_unmap through
 * the rmap walk (anon_vma read lock, MMU notifiers, each PTE under its lock: the entry
 * replaces the PTE, the translation is flushed, the mapping's rmap and reference go, the
 * slot's count rises), the device write (the reclaimer sleeps), and __remove_mapping:
 * the references frozen (only the cache's and the isolation's: a fault that mapped it
 * meanwhile keeps it), out of the swap cache, freed.  Anonymous pages are always written
 * (no clean-page shortcut: the model keeps no dirty state for anonymous pages).
 *
 * Swap-in (do_swap_page, with the fault's mmap_lock or VMA lock): the swap cache, else a
 * new page added to it under its folio lock and read (the fault sleeps for the device
 * read; faults on the same slot wait on the folio lock); then under the PTE lock the
 * entry is rechecked (pte_same), the page mapped (writable only for a write fault when
 * this was the slot's last entry: otherwise a fork sibling may still read it through
 * its own entry), rmap and rss, and the slot's count drops; the last entry gone, the
 * page leaves the swap cache and the slot is freed.
 */
#include "mm/swap.h"
#include "mm/rmap.h"
#include "mm/lru.h"
#include "mm/migrate.h"
#include "mm/mmu_notifier.h"
#include "hw/hw.h"
#include "die.h"
#include "sync/rcu.h"
#include "sync/mutex.h"

struct swap_info *swap_create(uint64_t bytes, int nr_cpus, double read_ns, double write_ns)
{
	struct swap_info *si = g_aligned_alloc0(1, sizeof(*si), 64);
	spin_lock_init(&si->lock, "swap_info->lock");
	si->nr_slots = (uint32_t)(bytes / PAGE_SIZE);
	si->swap_map = g_new0(uint16_t, si->nr_slots);
	si->slot_gen = g_new0(uint32_t, si->nr_slots);
	unsigned nr_clusters = (si->nr_slots + SWAPFILE_CLUSTER - 1) / SWAPFILE_CLUSTER;
	si->clusters = g_aligned_alloc0(nr_clusters, sizeof(struct swap_cluster), 64);
	for (unsigned i = 0; i < nr_clusters; i++)
		spin_lock_init(&si->clusters[i].lock, "swap_cluster->lock");
	si->nr_cpus = nr_cpus;
	si->pcp = g_aligned_alloc0(nr_cpus, sizeof(struct swap_slots_cache), 64);
	xa_init(&si->cache, "swap_cache xa_lock");
	si->read_ns = read_ns;
	si->write_ns = write_ns;
	return si;
}

void swap_destroy(struct swap_info *si)
{
	if (!si)
		return;
	xa_destroy(&si->cache);
	g_free(si->swap_map);
	g_free(si->slot_gen);
	g_aligned_free(si->clusters);
	g_aligned_free(si->pcp);
	g_aligned_free(si);
}

static struct spinlock *cluster_lock(struct swap_info *si, uint32_t slot)
{
	return &si->clusters[slot / SWAPFILE_CLUSTER].lock;
}

/* ---- the slot allocator ---- */

/* get_swap_pages: up to a batch of free slots into this CPU's cache, one si->lock
 * section, scanning the map from where the last scan stopped. */
static void swap_slots_refill(struct sim_task *t, struct swap_info *si,
			      struct swap_slots_cache *c)
{
	spin_lock(t, &si->lock);
	hw_rmw(t, &si->scan_next, sizeof(si->scan_next));
	for (uint32_t scanned = 0; c->nr < SWAP_SLOTS_CACHE_SIZE && scanned < si->nr_slots;
	     scanned++) {
		uint32_t s = si->scan_next;
		si->scan_next = (s + 1) % si->nr_slots;
		if (scanned == 0 || s % 32 == 0) /* 32 two-byte counts per line */
			hw_load(t, &si->swap_map[s], 64);
		if (si->swap_map[s])
			continue;
		hw_store(t, &si->swap_map[s], sizeof(si->swap_map[s]));
		si->swap_map[s] = SWAP_SLOT_CACHED;
		hw_store(t, &c->slots[c->nr], sizeof(c->slots[0]));
		c->slots[c->nr++] = s;
		si->inuse_pages++;
	}
	spin_unlock(t, &si->lock);
}

/* folio_alloc_swap: a slot from this CPU's cache (refilled when empty), its count
 * SWAP_HAS_CACHE.  False: the device is full. */
static bool get_swap_page(struct sim_task *t, struct swap_info *si, uint32_t *slot)
{
	struct swap_slots_cache *c = &si->pcp[t->cpu];
	hw_load(t, c, 64);
	if (!c->nr)
		swap_slots_refill(t, si, c);
	if (!c->nr)
		return false;
	hw_load(t, &c->slots[c->nr - 1], sizeof(c->slots[0]));
	*slot = c->slots[--c->nr];
	hw_store(t, c, sizeof(c->nr));
	struct spinlock *cl = cluster_lock(si, *slot);
	spin_lock(t, cl);
	hw_rmw(t, &si->swap_map[*slot], sizeof(si->swap_map[*slot]));
	si->swap_map[*slot] = SWAP_HAS_CACHE;
	spin_unlock(t, cl);
	return true;
}

/* free_swap_slot: a slot whose count reached 0 goes to this CPU's return cache; a full
 * one goes back to the device in one si->lock section (swapcache_free_entries).  The
 * caller set the slot's map to SWAP_SLOT_CACHED under its cluster lock. */
static void free_swap_slot(struct sim_task *t, struct swap_info *si, uint32_t slot)
{
	struct swap_slots_cache *c = &si->pcp[t->cpu];
	hw_load(t, c, 64);
	if (c->nr_ret == SWAP_SLOTS_CACHE_SIZE) {
		spin_lock(t, &si->lock);
		for (unsigned i = 0; i < c->nr_ret; i++) {
			uint32_t s = c->slots_ret[i];
			hw_store(t, &si->swap_map[s], sizeof(si->swap_map[s]));
			si->swap_map[s] = 0;
		}
		hw_rmw(t, &si->inuse_pages, sizeof(si->inuse_pages));
		si->inuse_pages -= c->nr_ret;
		spin_unlock(t, &si->lock);
		c->nr_ret = 0;
	}
	hw_store(t, &c->slots_ret[c->nr_ret], sizeof(c->slots_ret[0]));
	c->slots_ret[c->nr_ret++] = slot;
	hw_store(t, &c->nr_ret, sizeof(c->nr_ret));
}

/*
 * Drop `nr` entry references and/or the cache bit of slot under its cluster lock
 * (__swap_entry_free_locked); the slot is freed when nothing is left.  Returns the
 * map value left.
 */
static unsigned swap_put(struct sim_task *t, struct swap_info *si, uint32_t slot, unsigned nr,
			 bool cache)
{
	struct spinlock *cl = cluster_lock(si, slot);
	spin_lock(t, cl);
	uint16_t *m = &si->swap_map[slot];
	hw_rmw(t, m, sizeof(*m));
	sim_bug_on((*m & SWAP_COUNT_MASK) < nr || (cache && !(*m & SWAP_HAS_CACHE)) ||
		   (*m & SWAP_SLOT_CACHED));
	*m = (uint16_t)(*m - nr - (cache ? SWAP_HAS_CACHE : 0));
	unsigned left = *m;
	if (!left)
		*m = SWAP_SLOT_CACHED;
	spin_unlock(t, cl);
	if (!left)
		free_swap_slot(t, si, slot);
	return left;
}

/* swap_duplicate: one more entry names slot (its cluster lock nests in the PTE lock). */
static void swap_duplicate(struct sim_task *t, struct swap_info *si, uint32_t slot)
{
	struct spinlock *cl = cluster_lock(si, slot);
	spin_lock(t, cl);
	uint16_t *m = &si->swap_map[slot];
	hw_rmw(t, m, sizeof(*m));
	sim_bug_on(!*m || (*m & SWAP_SLOT_CACHED) || (*m & SWAP_COUNT_MASK) == SWAP_COUNT_MASK);
	(*m)++;
	spin_unlock(t, cl);
}

/* ---- the swap cache ---- */

static void swap_cache_add(struct sim_task *t, struct swap_info *si, struct page *p,
			   uint32_t slot)
{
	spin_lock(t, &si->cache.xa_lock);
	mm_assert_locked(t, NULL, 0, spin_is_held_by(&si->cache.xa_lock, t), "swap cache",
			 "xa_lock");
	xa_store_locked(t, &si->cache, slot, p);
	spin_unlock(t, &si->cache.xa_lock);
	hw_rmw(t, p, 64);
	p->flags |= PG_swapcache;
	p->swap = slot;
	p->refcount++; /* the cache's reference */
}

/* __delete_from_swap_cache: the folio (locked) leaves the cache; the caller drops the
 * cache's reference and the slot's SWAP_HAS_CACHE. */
static void swap_cache_del(struct sim_task *t, struct swap_info *si, struct page *p)
{
	spin_lock(t, &si->cache.xa_lock);
	struct page *was = xa_clear_locked(t, &si->cache, p->swap);
	sim_bug_on(was != p);
	spin_unlock(t, &si->cache.xa_lock);
	hw_store(t, &p->flags, sizeof(p->flags));
	p->flags &= ~PG_swapcache;
}

/* swap_cache_get_folio: the page of slot with a reference (folio_try_get), or NULL. */
static struct page *swap_cache_get(struct sim_task *t, struct swap_info *si, uint32_t slot)
{
	rcu_read_lock(t);
	struct page *p = xa_load(t, &si->cache, slot);
	if (p) {
		hw_rmw(t, &p->refcount, sizeof(p->refcount));
		if (p->refcount > 0)
			p->refcount++;
		else
			p = NULL; /* being freed by __remove_mapping */
	}
	rcu_read_unlock(t);
	return p;
}

/* The task waits for the device: switched out, its CPU idles (a quiescent state). */
static void swap_io_wait(struct sim_task *t, double ns)
{
	sim_bug_on(rcu_read_lock_held(t));
	rcu_idle_enter(t);
	cpu_idle(t, ns_to_ps(ns));
	rcu_idle_exit(t);
}

/* ---- swap-out ---- */

/* try_to_unmap_one's anonymous branch: the PTE becomes the swap entry. */
static bool swap_unmap_one(struct sim_task *t, struct page *p, struct vm_area_struct *vma,
			   unsigned long addr, pteval_t *pte, void *arg)
{
	struct swap_info *si = arg;
	struct mm_struct *mm = vma->vm_mm;
	cpu_work(t, t->machine->path.pte_op);
	swap_duplicate(t, si, p->swap);
	hw_rmw(t, pte, sizeof(*pte)); /* ptep_clear_flush, then set_pte_at(swp_pte) */
	*pte = make_swap_entry(p->swap);
	flush_tlb_mm_range(t, mm, addr, addr + PAGE_SIZE, false);
	if (mm->checker)
		mm_check_event(t, mm, addr, MEV_SWAP_ENTRY, p->swap);
	page_remove_rmap(t, mm, p, addr, "try_to_unmap_one (swap)");
	mm->rss_anon--;
	mm->rss_swap++;
	hw_rmw(t, &p->refcount, sizeof(p->refcount));
	sim_bug_on(p->refcount <= 2); /* the cache's and the isolation's remain */
	p->refcount--;
	return true;
}

bool swap_out_folio(struct sim_task *t, struct zone *z, struct mm_struct *check_mm,
		    struct page *p)
{
	struct swap_info *si = z->swap;

	hw_load(t, &p->flags, sizeof(p->flags));
	if (!folio_test_swapcache(p)) {
		uint32_t slot;
		if (!get_swap_page(t, si, &slot)) { /* add_to_swap failed: activate */
			count_event(&t->stats, EV_SWAP_FULL);
			return false;
		}
		swap_cache_add(t, si, p, slot);
	}
	hw_load(t, &p->mapcount, sizeof(p->mapcount));
	if (p->mapcount > 0)
		rmap_walk(t, p, RMAP_WALK_NOTIFY, swap_unmap_one, si);
	hw_load(t, &p->mapcount, sizeof(p->mapcount));
	if (p->mapcount > 0) { /* a mapping the walk could not reach: keep it */
		count_event(&t->stats, EV_SWAP_OUT_KEPT);
		return false;
	}
	/* pageout -> swap_writepage: the device write; the reclaimer sleeps for it with the
	 * folio locked (a fault on one of the entries waits on the lock). */
	uint32_t slot = p->swap;
	swap_io_wait(t, si->write_ns);
	hw_rmw(t, &si->slot_gen[slot], sizeof(si->slot_gen[slot]));
	si->slot_gen[slot]++;
	if (!si->no_writeback && check_mm && check_mm->checker)
		mm_check_copy_frame(check_mm, p->pfn, p->content_gen, SWAP_PSEUDO_PFN + slot,
				    si->slot_gen[slot]);
	count_event(&t->stats, EV_SWAP_OUT);
	/* __remove_mapping: freeze the references that must be the only ones left (the
	 * cache's and the isolation's) under the cache's xa_lock. */
	spin_lock(t, &si->cache.xa_lock);
	hw_rmw(t, &p->refcount, sizeof(p->refcount));
	if (p->refcount != 2 || p->mapcount) {
		/* A fault found it in the cache and took a reference: it stays. */
		spin_unlock(t, &si->cache.xa_lock);
		count_event(&t->stats, EV_SWAP_OUT_KEPT);
		return false;
	}
	p->refcount = 0;
	spin_unlock(t, &si->cache.xa_lock);
	swap_cache_del(t, si, p);
	swap_put(t, si, slot, 0, true); /* put_swap_folio */
	return true;
}

/* ---- swap-in ---- */

/*
 * __read_swap_cache_async: a new page for slot, locked, in the swap cache, read from the
 * device; NULL if the slot is no longer in use (the entry went meanwhile) or another
 * fault is adding one (*raced: look it up again).
 */
static struct page *swap_read_page(struct sim_task *t, struct mm_struct *mm,
				   struct swap_info *si, uint32_t slot, bool *raced)
{
	*raced = false;
	struct page *np = alloc_page(t, mm->zone);
	if (!np)
		return NULL;
	count_event(&t->stats, EV_PGALLOC);
	mem_cgroup_charge(t, mm->zone, np);
	np->content_gen++; /* the checker: the frame's old contents are void */
	/* swapcache_prepare: claim SWAP_HAS_CACHE, unless the slot has no entry left or
	 * another fault holds it (then it is about to appear in the cache). */
	struct spinlock *cl = cluster_lock(si, slot);
	spin_lock(t, cl);
	uint16_t *m = &si->swap_map[slot];
	hw_rmw(t, m, sizeof(*m));
	bool ok = !(*m & SWAP_SLOT_CACHED) && (*m & SWAP_COUNT_MASK) && !(*m & SWAP_HAS_CACHE);
	*raced = !ok && !(*m & SWAP_SLOT_CACHED) && (*m & SWAP_HAS_CACHE);
	if (ok)
		*m |= SWAP_HAS_CACHE;
	spin_unlock(t, cl);
	if (!ok) {
		np->refcount = 1;
		folio_put(t, mm->zone, np);
		return NULL;
	}
	hw_store(t, np, 64);
	np->flags = PG_anon;
	np->mapping = NULL;
	np->mapcount = 0;
	np->refcount = 1; /* ours; swap_cache_add adds the cache's */
	mutex_lock(t, folio_lock_anon(np->pfn)); /* uncontended: nobody can see it yet */
	swap_cache_add(t, si, np, slot);
	folio_add_lru(t, mm->zone, np);
	/* swap_read_folio: the device read, the fault asleep. */
	swap_io_wait(t, si->read_ns);
	if (mm->checker)
		mm_check_copy_frame(mm, SWAP_PSEUDO_PFN + slot, si->slot_gen[slot], np->pfn,
				    np->content_gen);
	count_event(&t->stats, EV_SWAP_IN);
	return np;
}

vm_fault_t do_swap_page(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
			unsigned int flags, pteval_t *pmd, struct page *pt, pteval_t orig)
{
	struct mm_struct *mm = vma->vm_mm;
	struct swap_info *si = mm->zone->swap;
	uint32_t slot = swap_entry_to_slot(orig);
	pteval_t *pte = &pt->table[pt_index(addr, PT_PTE)];

	sim_bug_on(!si || slot >= si->nr_slots);
	vm_fault_t ret = vmf_anon_prepare(t, vma, flags);
	if (ret)
		return ret;
	struct page *p;
	struct mutex *lock;
	for (;;) {
		p = swap_cache_get(t, si, slot);
		if (p) {
			count_event(&t->stats, EV_SWAP_CACHE_HIT);
			lock = folio_lock_anon(p->pfn);
			mutex_lock(t, lock); /* waits for the read or the write in flight */
			hw_load(t, p, 64);
			if (!folio_test_swapcache(p) || p->swap != slot) {
				/* Left the cache meanwhile (swapped out and freed, or the
				 * last entry went): the PTE has changed; refault. */
				mutex_unlock(t, lock);
				folio_put(t, mm->zone, p);
				return 0;
			}
			break;
		}
		bool raced;
		p = swap_read_page(t, mm, si, slot, &raced);
		if (p) {
			lock = folio_lock_anon(p->pfn);
			break;
		}
		if (!raced) {
			/* The slot is free: our entry is gone too (refault), or no memory. */
			hw_load(t, pte, sizeof(*pte));
			return *pte == orig ? VM_FAULT_OOM : 0;
		}
		/* Another fault is adding the page: schedule_timeout_uninterruptible(1),
		 * here one page read's worth, and look again. */
		count_event(&t->stats, EV_SWAP_CACHE_RACE);
		swap_io_wait(t, si->read_ns);
	}
	/* pte_offset_map_lock + pte_same: the entry may have been zapped, or another fault
	 * may have mapped the page already. */
	struct spinlock *ptl = pte_offset_map_lock(t, mm, pmd, pt);
	if (ptl)
		hw_load(t, pte, sizeof(*pte));
	if (!ptl || *pte != orig) {
		if (ptl)
			spin_unlock(t, ptl);
		count_event(&t->stats, EV_FAULT_RACE);
		mutex_unlock(t, lock);
		folio_put(t, mm->zone, p);
		return 0;
	}
	mm_assert_locked(t, mm, addr, spin_is_held_by(ptl, t), "PTE and rss_swap",
			 ptl->dep.class->name);
	cpu_work(t, t->machine->path.pte_op);
	/* Exclusive: our entry is the slot's last one, so no fork sibling can map the page
	 * through the swap cache after us; only then may it be mapped writable. */
	hw_load(t, &si->swap_map[slot], sizeof(si->swap_map[slot]));
	bool exclusive = (si->swap_map[slot] & SWAP_COUNT_MASK) == 1;
	hw_rmw(t, p, 64);
	if (p->mapcount == 0) {
		/* folio_add_new_anon_rmap / __folio_set_anon: a page not exclusive to this
		 * VMA takes the oldest anon_vma of the fork tree, whose walk reaches every
		 * VMA that may map it through another entry. */
		p->flags |= PG_anon;
		p->mapping = exclusive ? vma->anon_vma : vma->anon_vma->root;
		p->index = linear_page_index(vma, addr);
		p->mapcount = 1;
	} else {
		p->mapcount++; /* folio_add_anon_rmap_pte: already in the fork tree's anon_vma */
	}
	/* our lookup reference becomes the mapping's */
	mm->rss_swap--;
	mm->rss_anon++;
	pteval_t prot = vma->vm_page_prot & ~(_PAGE_RW | _PAGE_DIRTY);
	if ((flags & FAULT_FLAG_WRITE) && exclusive)
		prot = vma->vm_page_prot | _PAGE_RW | _PAGE_DIRTY; /* maybe_mkwrite(pte_mkdirty()):
								     * a private file VMA's
								     * vm_page_prot is read-only */
	hw_store(t, pte, sizeof(*pte));
	*pte = (p->pfn << PAGE_SHIFT) | prot;
	if (mm->checker)
		mm_check_event(t, mm, addr, MEV_SWAP_IN, p->pfn);
	/* swap_free; the last entry gone, folio_free_swap takes the page out of the cache
	 * (we hold its lock) and frees the slot. */
	unsigned left = swap_put(t, si, slot, 1, false);
	if (left == SWAP_HAS_CACHE) {
		swap_cache_del(t, si, p);
		hw_rmw(t, &p->refcount, sizeof(p->refcount));
		p->refcount--; /* the cache's; the mapping's remains */
		swap_put(t, si, slot, 0, true);
	}
	spin_unlock(t, ptl);
	mutex_unlock(t, lock);
	count_event(&t->stats, EV_FAULT_SWAP);
	return 0;
}

/* ---- the other PTE walkers ---- */

void copy_swap_pte(struct sim_task *t, struct mm_struct *dst_mm, pteval_t *src, pteval_t *dst)
{
	pteval_t e = *src;
	cpu_work(t, t->machine->path.pte_op);
	swap_duplicate(t, dst_mm->zone->swap, swap_entry_to_slot(e));
	dst_mm->rss_swap++;
	hw_store(t, dst, sizeof(*dst));
	*dst = e;
}

struct page *zap_swap_pte(struct sim_task *t, struct mm_struct *mm, pteval_t *pte,
			  unsigned long addr)
{
	struct swap_info *si = mm->zone->swap;
	uint32_t slot = swap_entry_to_slot(*pte);
	cpu_work(t, t->machine->path.pte_op);
	hw_rmw(t, pte, sizeof(*pte));
	*pte = 0;
	mm->rss_swap--;
	if (mm->checker)
		mm_check_event(t, mm, addr, MEV_ZAP, slot);
	/*
	 * free_swap_and_cache: the entry's count; if only the cache is left, the cached page
	 * is taken out of the cache now (__try_to_reclaim_swap) unless its lock is held (a
	 * swap-out or swap-in in flight, which deals with it).  A page in the swap cache
	 * and still mapped by another entry's fault (mapcount > 0) just leaves the cache.
	 */
	unsigned left = swap_put(t, si, slot, 1, false);
	if (left != SWAP_HAS_CACHE)
		return NULL;
	struct page *p = swap_cache_get(t, si, slot);
	if (!p)
		return NULL;
	struct mutex *lock = folio_lock_anon(p->pfn);
	if (mutex_trylock(t, lock)) {
		hw_load(t, &si->swap_map[slot], sizeof(si->swap_map[slot]));
		if (folio_test_swapcache(p) && p->swap == slot &&
		    si->swap_map[slot] == SWAP_HAS_CACHE) {
			swap_cache_del(t, si, p);
			hw_rmw(t, &p->refcount, sizeof(p->refcount));
			p->refcount--; /* the cache's; ours keeps it until folio_put */
			swap_put(t, si, slot, 0, true);
		}
		mutex_unlock(t, lock);
	}
	/* Our lookup's reference: the last one leaves the page to the caller, which frees
	 * it once the PTE lock is dropped (the allocator's lock nests in no PTE lock). */
	hw_rmw(t, &p->refcount, sizeof(p->refcount));
	if (--p->refcount == 0)
		return p;
	return NULL;
}

/* ---- the checker ---- */

char *swap_check(const struct zone *z, GHashTable *entries, GHashTable *seen,
		 GHashTable *batched, uint64_t *cache_only)
{
	const struct swap_info *si = z->swap;
	*cache_only = 0;
	if (!si) {
		return g_hash_table_size(entries) ?
			       g_strdup("swap entries in the page tables, but no swap device") :
			       NULL;
	}
	/* Slots in the per-CPU caches: exactly those marked SWAP_SLOT_CACHED. */
	GHashTable *cached = g_hash_table_new(NULL, NULL);
	for (int cpu = 0; cpu < si->nr_cpus; cpu++) {
		const struct swap_slots_cache *c = &si->pcp[cpu];
		for (unsigned i = 0; i < c->nr; i++)
			g_hash_table_add(cached, GSIZE_TO_POINTER(c->slots[i]));
		for (unsigned i = 0; i < c->nr_ret; i++)
			g_hash_table_add(cached, GSIZE_TO_POINTER(c->slots_ret[i]));
	}
	char *err = NULL;
	uint32_t inuse = 0;
	for (uint32_t s = 0; s < si->nr_slots && !err; s++) {
		uint16_t m = si->swap_map[s];
		gpointer k = GSIZE_TO_POINTER(s);
		unsigned refs = GPOINTER_TO_UINT(g_hash_table_lookup(entries, k));
		struct page *p = xa_load(NULL, (struct xarray *)&si->cache, s);
		if (m)
			inuse++;
		if (m == SWAP_SLOT_CACHED) {
			if (!g_hash_table_contains(cached, k) || refs || p)
				err = g_strdup_printf("slot %u marked cached but %s", s,
						      refs ? "swap entries name it" :
						      p ? "a page is in the swap cache for it" :
							  "in no slot cache (leaked)");
			continue;
		}
		if (g_hash_table_contains(cached, k)) {
			err = g_strdup_printf("slot %u in a slot cache but its count is 0x%x", s, m);
			break;
		}
		if ((m & SWAP_COUNT_MASK) != refs) {
			err = g_strdup_printf("slot %u: swap count %u, but %u swap entries name it "
					      "in the page tables (%s)", s, m & SWAP_COUNT_MASK, refs,
					      (m & SWAP_COUNT_MASK) > refs ? "a slot leaked" :
					      "an entry names a freed slot");
			break;
		}
		if (!(m & SWAP_HAS_CACHE) != !p) {
			err = g_strdup_printf("slot %u: SWAP_HAS_CACHE %s but the swap cache %s", s,
					      (m & SWAP_HAS_CACHE) ? "set" : "clear",
					      p ? "holds a page" : "is empty there");
			break;
		}
		if (p && (!folio_test_swapcache(p) || p->swap != s || (p->flags & PG_free))) {
			err = g_strdup_printf("slot %u: the swap cache holds pfn %llu, which is not "
					      "its page (flags 0x%lx, swap %u)", s,
					      (unsigned long long)p->pfn, p->flags, p->swap);
			break;
		}
		if (p && !g_hash_table_contains(seen, GSIZE_TO_POINTER(p->pfn)) &&
		    !g_hash_table_contains(batched, GSIZE_TO_POINTER(p->pfn))) {
			(*cache_only)++;
			if (p->mapcount || p->refcount != 1 || !p->memcg)
				err = g_strdup_printf("pfn %llu held by the swap cache only: mapcount "
						      "%d refcount %d%s", (unsigned long long)p->pfn,
						      p->mapcount, p->refcount,
						      p->memcg ? "" : " (not charged)");
		}
	}
	if (!err && inuse != si->inuse_pages)
		err = g_strdup_printf("swap device: %u slots in use but inuse_pages %u", inuse,
				      si->inuse_pages);
	/* Entries naming a slot beyond the device. */
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, entries);
	while (!err && g_hash_table_iter_next(&it, &k, &v))
		if (GPOINTER_TO_UINT(k) >= si->nr_slots)
			err = g_strdup_printf("swap entry for slot %u beyond the device",
					      GPOINTER_TO_UINT(k));
	g_hash_table_destroy(cached);
	return err;
}
