/*
 * File mappings and the page cache (mm/filemap.c, mm/memory.c do_fault and its three
 * cases, wp_page_shared / wp_page_copy for file pages, mm/rmap.c rmap_walk_file,
 * mm/mmap.c __vma_link_file / unlink_file_vma, mm/vma.c vma_prepare / vma_complete).
 * Modelled kernel: 6.x with per-VMA locks handling file faults (≈6.7+: Matthew Wilcox,
 * "mm: handle read faults under the VMA lock", "mm: handle shared faults under the VMA
 * lock", "mm: handle COW faults under the VMA lock", lore 20231006195318.4087158-1-
 * willy@infradead.org); 6.4's lock_vma_under_rcu refused file VMAs (pervma does too).
 * Spec: kernel-algorithms.md A.6 (do_fault), B.3-B.4 (i_mmap under i_mmap_rwsem W), H.1
 * (lock order mmap_lock -> folio lock -> i_mmap_rwsem -> PTL), I.4 (rmap walk).
 *
 * A fault on a file VMA (do_fault):
 *   read          do_read_fault: filemap_fault finds or reads the page (locked, with a
 *                 reference), finish_fault maps it read-only under the PTL
 *                 (page_add_file_rmap: mapcount++), folio_unlock.
 *   private write do_cow_fault: a new anonymous page gets a copy of the cache page and is
 *                 mapped writable; the cache page's reference is dropped.
 *   shared write  do_shared_fault: page_mkwrite (the page is dirtied under its lock) and
 *                 the cache page is mapped writable and dirty.
 * A write to a present read-only PTE of a file VMA (do_wp_file): a shared cache page is
 * made writable and dirty (wp_page_shared); a private cache page is copied (wp_page_copy,
 * with the flush of the old translation).  An anonymous copy in a private file VMA made
 * read-only (mprotect, fork) is any anonymous page's business: do_wp_page in fault.c.
 *
 * filemap_fault: lookup under RCU (xa_load: one slot line per level).  A hit takes a
 * reference and the folio lock, which waits for a read in flight.  A miss allocates a
 * page, locks it, inserts it under xa_lock (a concurrent inserter wins: ours is freed and
 * we take theirs), "reads" it (the task sleeps for the device's latency with the page
 * locked), marks it uptodate.  The page cache holds one reference on each page until
 * reclaim evicts a clean, unmapped one or migration moves it (models/mm/vmscan.c,
 * migrate.c: both freeze the references under xa_lock); no truncation, no writeback:
 * PG_dirty stays set.
 *
 * Not modelled: readahead and fault-around (filemap_map_pages), VM_FAULT_RETRY on I/O
 * (the fault sleeps for the read with its mmap_lock or VMA lock held, where the kernel
 * drops it and retries: a cold file overstates lock hold times; scenarios default to a
 * cached file), writeback and dirty throttling, truncation, large folios, shmem.
 */
#include "mmsim-config.h"
#include "mm.h"
#include "fs.h"
#include "mm/rmap.h"
#include "mm/lru.h"
#include "mm/mmu_notifier.h"
#include "hw/hw.h"
#include "die.h"
#include "sync/rcu.h"

static GPtrArray *files; /* struct address_space *, in creation order */
static struct kmem_cache folio_lock_cache = { sizeof(struct mutex), 64, NULL };

GPtrArray *filemap_all(void)
{
	if (!files)
		files = g_ptr_array_new();
	return files;
}

struct address_space *filemap_create(struct zone *z, const char *name, unsigned long pages,
				     bool cached, double read_ns, enum i_mmap_lock_kind kind)
{
	struct address_space *m = g_aligned_alloc0(1, sizeof(*m), 64);
	GPtrArray *all = filemap_all();

	m->id = all->len + 1;
	m->name = g_strdup(name);
	m->size_pages = pages;
	xa_init(&m->i_pages, "&xa->xa_lock");
	init_rwsem(&m->i_mmap_rwsem, "&mapping->i_mmap_rwsem");
	spin_lock_init(&m->i_mmap_spin, "&mapping->i_mmap_lock");
	m->i_mmap_kind = kind;
	m->read_ns = read_ns;
	m->folio_locks = g_hash_table_new(NULL, NULL);
	/* rmap.c's order: i_mmap lock -> anon_vma -> PTL; the folio lock comes before both. */
	lockdep_declare_order("&mm->mmap_lock", "folio_lock");
	lockdep_declare_order("&mm->mmap_lock", "&mapping->i_mmap_rwsem");
	lockdep_declare_order("&mm->mmap_lock", "&mapping->i_mmap_lock");
	lockdep_declare_order("folio_lock", "&xa->xa_lock");
	lockdep_declare_order("folio_lock", "&mapping->i_mmap_rwsem");
	lockdep_declare_order("folio_lock", "ptlock_ptr(ptdesc)");
	lockdep_declare_order("&mapping->i_mmap_rwsem", "ptlock_ptr(ptdesc)");
	lockdep_declare_order("&mapping->i_mmap_lock", "ptlock_ptr(ptdesc)");
	if (cached) {
		/* A warm page cache: every page read before the run (no simulated work). */
		for (unsigned long i = 0; i < pages; i++) {
			struct page *p = zone_alloc_boot(z);
			p->flags = PG_file | PG_uptodate;
			p->f_mapping = m;
			p->index = i;
			p->refcount = 1; /* the page cache's reference */
			p->content_gen++;
			xa_store_locked(NULL, &m->i_pages, i, p);
			m->nrpages++;
			if (z->lru_file)
				lru_add_boot(z, p);
		}
	}
	g_ptr_array_add(all, m);
	return m;
}

static void folio_lock_free(gpointer p)
{
	g_aligned_free(p);
}

void filemap_destroy(struct zone *z, struct address_space *m)
{
	(void)z; /* the zone is destroyed with its frames */
	xa_destroy(&m->i_pages);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, m->folio_locks);
	while (g_hash_table_iter_next(&it, &k, &v))
		folio_lock_free(v);
	g_hash_table_destroy(m->folio_locks);
	g_ptr_array_remove(filemap_all(), m);
	g_free(m->name);
	g_aligned_free(m);
}

/* ---- i_mmap lock: i_mmap_rwsem, or the spinlock before 2.6.38 ---- */

void i_mmap_lock_write(struct sim_task *t, struct address_space *m)
{
	if (m->i_mmap_kind == I_MMAP_SPINLOCK)
		spin_lock(t, &m->i_mmap_spin);
	else
		down_write(t, &m->i_mmap_rwsem);
}

void i_mmap_unlock_write(struct sim_task *t, struct address_space *m)
{
	if (m->i_mmap_kind == I_MMAP_SPINLOCK)
		spin_unlock(t, &m->i_mmap_spin);
	else
		up_write(t, &m->i_mmap_rwsem);
}

void i_mmap_lock_read(struct sim_task *t, struct address_space *m)
{
	if (m->i_mmap_kind == I_MMAP_SPINLOCK)
		spin_lock(t, &m->i_mmap_spin);
	else
		down_read(t, &m->i_mmap_rwsem);
}

void i_mmap_unlock_read(struct sim_task *t, struct address_space *m)
{
	if (m->i_mmap_kind == I_MMAP_SPINLOCK)
		spin_unlock(t, &m->i_mmap_spin);
	else
		up_read(t, &m->i_mmap_rwsem);
}

bool i_mmap_is_write_locked_by(const struct address_space *m, const struct sim_task *t)
{
	return m->i_mmap_kind == I_MMAP_SPINLOCK ? spin_is_held_by(&m->i_mmap_spin, t) :
						   rwsem_is_write_locked_by(&m->i_mmap_rwsem, t);
}

/* ---- VMA lifecycle: i_mmap membership ---- */

void vma_link_file(struct sim_task *t, struct vm_area_struct *vma)
{
	struct address_space *m = vma->vm_file;
	i_mmap_lock_write(t, m);
	vma_interval_tree_insert(t, vma, &m->i_mmap);
	i_mmap_unlock_write(t, m);
}

void unlink_file_vma(struct sim_task *t, struct vm_area_struct *vma)
{
	struct address_space *m = vma->vm_file;
	if (!m)
		return;
	i_mmap_lock_write(t, m);
	vma_interval_tree_remove(t, vma, &m->i_mmap);
	i_mmap_unlock_write(t, m);
}

void vma_file_prepare(struct sim_task *t, struct vm_area_struct *vma, struct vm_area_struct *new,
		      struct vm_area_struct *gone)
{
	struct address_space *m = vma->vm_file;
	if (!m)
		return;
	if (new) { /* __split_vma: new is vma's upper part, starting at new->vm_start */
		hw_store(t, &new->vm_file, 2 * sizeof(unsigned long));
		new->vm_file = m;
		new->vm_pgoff = vma->vm_pgoff + ((new->vm_start - vma->vm_start) >> PAGE_SHIFT);
	}
	/* vma_prepare: i_mmap_lock_write, then the VMAs whose range changes leave the tree
	 * until vma_complete puts them back with their new keys. */
	i_mmap_lock_write(t, m);
	vma_interval_tree_remove(t, vma, &m->i_mmap);
	if (gone)
		vma_interval_tree_remove(t, gone, &m->i_mmap);
}

void vma_file_complete(struct sim_task *t, struct vm_area_struct *vma, struct vm_area_struct *new)
{
	struct address_space *m = vma->vm_file;
	if (!m)
		return;
	mm_assert_locked(t, vma->vm_mm, vma->vm_start, i_mmap_is_write_locked_by(m, t),
			 "i_mmap", "i_mmap lock (W)");
	if (new)
		vma_interval_tree_insert(t, new, &m->i_mmap);
	vma_interval_tree_insert(t, vma, &m->i_mmap);
#if MMSIM_DEBUG
	/* -Dsim_debug=true: the whole tree after every range change (validate_mm). */
	char *err = vma_interval_tree_validate(&m->i_mmap);
	if (err)
		sim_die("i_mmap of '%s' invalid after [0x%lx, 0x%lx) changed: %s", m->name,
			vma->vm_start, vma->vm_end, err);
#endif
	i_mmap_unlock_write(t, m);
}

/* ---- the page cache ---- */

struct page *filemap_lookup(struct sim_task *t, struct address_space *m, unsigned long pgoff)
{
	rcu_read_lock(t);
	struct page *p = xa_load(t, &m->i_pages, pgoff);
	rcu_read_unlock(t);
	return p;
}

/* PG_locked with its waitqueue: a sleeping lock per page cache page. */
static struct mutex *folio_lock_of(struct address_space *m, struct page *p)
{
	struct mutex *l = g_hash_table_lookup(m->folio_locks, GSIZE_TO_POINTER(p->pfn));
	if (!l) {
		l = kmem_cache_alloc(&folio_lock_cache);
		mutex_init(l, "folio_lock");
		g_hash_table_insert(m->folio_locks, GSIZE_TO_POINTER(p->pfn), l);
	}
	return l;
}

static void folio_lock(struct sim_task *t, struct address_space *m, struct page *p)
{
	mutex_lock(t, folio_lock_of(m, p));
}

static void folio_unlock(struct sim_task *t, struct address_space *m, struct page *p)
{
	mutex_unlock(t, folio_lock_of(m, p));
}

/* folio_get / folio_put of a page cache page (never the last reference here). */
static void page_ref_add(struct sim_task *t, struct page *p, int d)
{
	hw_rmw(t, &p->refcount, sizeof(p->refcount));
	p->refcount += d;
	sim_bug_on(p->refcount < 1);
}

/*
 * filemap_fault: the page cache page of pgoff, locked, with a reference for the caller;
 * NULL on OOM.  *major: it had to be read from the device.
 */
static struct page *filemap_fault(struct sim_task *t, struct zone *z, struct address_space *m,
				  unsigned long pgoff, bool *major)
{
	*major = false;
	for (;;) {
		struct page *p = filemap_lookup(t, m, pgoff);
		if (p) {
			/* folio_try_get: reclaim freezes the count at 0 to remove the page
			 * (filemap_remove_folio), and the page found under RCU may have been
			 * removed and reused since: recheck its slot with the reference held. */
			hw_rmw(t, &p->refcount, sizeof(p->refcount));
			if (p->refcount <= 0)
				continue;
			p->refcount++;
			rcu_read_lock(t);
			struct page *again = xa_load(t, &m->i_pages, pgoff);
			rcu_read_unlock(t);
			if (again != p) {
				folio_put(t, z, p);
				continue;
			}
			count_event(&t->stats, EV_PGCACHE_HIT);
			folio_lock(t, m, p);            /* waits for a read in flight */
			sim_bug_on(!(p->flags & PG_uptodate) || p->f_mapping != m);
			return p;
		}
		/* Miss: page_cache_ra_unbounded's order: allocate, lock, insert, read. */
		struct page *np = alloc_page(t, z);
		if (!np)
			return NULL;
		count_event(&t->stats, EV_PGALLOC);
		np->content_gen++; /* the checker: the frame's old contents are void */
		np->flags = PG_file;
		np->f_mapping = m;
		np->index = pgoff;
		np->refcount = 2;  /* the page cache's and ours */
		folio_lock(t, m, np);
		spin_lock(t, &m->i_pages.xa_lock);
		if (xa_load(t, &m->i_pages, pgoff)) {
			/* filemap_add_folio lost to another inserter: -EEXIST, look up again. */
			spin_unlock(t, &m->i_pages.xa_lock);
			folio_unlock(t, m, np);
			np->flags = 0;
			np->f_mapping = NULL;
			np->refcount = 0;
			count_event(&t->stats, EV_PGFREE);
			free_page(t, z, np);
			continue;
		}
		mm_assert_locked(t, NULL, 0, spin_is_held_by(&m->i_pages.xa_lock, t), "i_pages",
				 "xa_lock");
		xa_store_locked(t, &m->i_pages, pgoff, np);
		hw_rmw(t, &m->nrpages, sizeof(m->nrpages));
		m->nrpages++;
		spin_unlock(t, &m->i_pages.xa_lock);
		if (z->lru_file)
			folio_add_lru(t, z, np); /* filemap_add_folio */
		/* filemap_read_folio: submit, sleep until the device completes, uptodate.
		 * Waiters on the folio lock wait with us. */
		count_event(&t->stats, EV_PGCACHE_READ);
		/* The task is switched out: its CPU idles (an RCU quiescent state). */
		sim_bug_on(rcu_read_lock_held(t));
		rcu_idle_enter(t);
		cpu_idle(t, ns_to_ps(m->read_ns));
		rcu_idle_exit(t);
		hw_store(t, np, sizeof(np->flags));
		np->flags |= PG_uptodate;
		*major = true;
		return np;
	}
}

/* ---- mapping a page: finish_fault and its copies ---- */

static void fault_flush_old(struct sim_task *t, struct mm_struct *mm, unsigned long addr)
{
	/* ptep_clear_flush: present -> other page; no CPU may keep the old translation. */
	flush_tlb_mm_range(t, mm, addr & PAGE_MASK, (addr & PAGE_MASK) + PAGE_SIZE, false);
}

/*
 * Under the PTL of pt, with the PTE checked to be `expect`: map p at addr with PTE bits
 * `prot`.  A page cache page gains a mapping (page_add_file_rmap) and the caller's
 * reference becomes the PTE's; an anonymous page is new (folio_add_new_anon_rmap).
 */
static void file_set_pte(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
			 struct page *pt, struct page *p, pteval_t prot)
{
	struct mm_struct *mm = vma->vm_mm;
	pteval_t *pte = &pt->table[pt_index(addr, PT_PTE)];
	struct spinlock *ptl = pte_lockptr(mm, pt);

	mm_assert_locked(t, mm, addr, spin_is_held_by(ptl, t), "PTE, mapcount and rss",
			 ptl->dep.class->name);
	cpu_work(t, t->machine->path.pte_op);
	hw_rmw(t, &p->mapcount, sizeof(p->mapcount));
	if (p->flags & PG_file) {
		p->mapcount++;
		mm->rss_file++;
	} else {
		/* a private copy: an anonymous page of the VMA's anon_vma */
		page_add_new_anon_rmap(t, p, vma, addr);
		mm->rss_anon++;
		folio_add_lru(t, mm->zone, p);
	}
	hw_store(t, pte, sizeof(*pte));
	*pte = (p->pfn << PAGE_SHIFT) | prot;
	if (mm->checker)
		mm_check_event(t, mm, addr, MEV_FAULT_MAP, p->pfn);
}

/* The PTE bits of a page mapped writable (maybe_mkwrite + pte_mkdirty). */
static pteval_t prot_write(const struct vm_area_struct *vma)
{
	return vma->vm_page_prot | _PAGE_RW | _PAGE_DIRTY;
}

static unsigned long vma_pgoff_of(const struct vm_area_struct *vma, unsigned long addr)
{
	return vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
}

/* A fresh anonymous page holding a copy of src (copy_user_highpage; not zeroed first). */
static struct page *cow_copy(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			     struct page *src)
{
	struct page *np = alloc_page(t, mm->zone);
	if (!np)
		return NULL;
	count_event(&t->stats, EV_PGALLOC);
	mem_cgroup_charge(t, mm->zone, np);
	np->content_gen++;
	hw_bulk_copy(t, hw_page_paddr(np->pfn), hw_page_paddr(src->pfn), PAGE_SIZE);
	if (mm->checker)
		mm_check_copy(t, mm, addr, src->pfn, np->pfn);
	return np;
}

static vm_fault_t do_read_fault(struct sim_task *t, struct vm_area_struct *vma,
				unsigned long addr, struct page *pt, struct page *p)
{
	struct spinlock *ptl = pte_lockptr(vma->vm_mm, pt);
	pteval_t *pte = &pt->table[pt_index(addr, PT_PTE)];
	bool done = false;

	spin_lock(t, ptl);
	hw_load(t, pte, sizeof(*pte));
	if (!*pte) {
		file_set_pte(t, vma, addr, pt, p, vma->vm_page_prot);
		done = true;
	}
	spin_unlock(t, ptl);
	folio_unlock(t, vma->vm_file, p);
	if (!done) {
		count_event(&t->stats, EV_FAULT_RACE);
		page_ref_add(t, p, -1);
	} else {
		count_event(&t->stats, EV_FAULT_FILE_READ);
	}
	return 0;
}

static vm_fault_t do_cow_fault(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
			       struct page *pt, struct page *p)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *np = cow_copy(t, mm, addr, p);
	folio_unlock(t, vma->vm_file, p);
	page_ref_add(t, p, -1);
	if (!np)
		return VM_FAULT_OOM;
	struct spinlock *ptl = pte_lockptr(mm, pt);
	pteval_t *pte = &pt->table[pt_index(addr, PT_PTE)];
	spin_lock(t, ptl);
	hw_load(t, pte, sizeof(*pte));
	bool done = !*pte;
	if (done)
		file_set_pte(t, vma, addr, pt, np, prot_write(vma));
	spin_unlock(t, ptl);
	if (!done) {
		count_event(&t->stats, EV_FAULT_RACE);
		drop_unmapped_page(t, mm, np);
	} else {
		count_event(&t->stats, EV_FAULT_FILE_COW);
	}
	return 0;
}

/* page_mkwrite + folio_mark_dirty, with the folio locked. */
static void page_mkwrite(struct sim_task *t, struct page *p)
{
	hw_rmw(t, &p->flags, sizeof(p->flags));
	p->flags |= PG_dirty;
}

static vm_fault_t do_shared_fault(struct sim_task *t, struct vm_area_struct *vma,
				  unsigned long addr, struct page *pt, struct page *p)
{
	struct spinlock *ptl = pte_lockptr(vma->vm_mm, pt);
	pteval_t *pte = &pt->table[pt_index(addr, PT_PTE)];
	bool done = false;

	page_mkwrite(t, p);
	spin_lock(t, ptl);
	hw_load(t, pte, sizeof(*pte));
	if (!*pte) {
		file_set_pte(t, vma, addr, pt, p, prot_write(vma));
		done = true;
	}
	spin_unlock(t, ptl);
	folio_unlock(t, vma->vm_file, p);
	if (!done) {
		count_event(&t->stats, EV_FAULT_RACE);
		page_ref_add(t, p, -1);
	} else {
		count_event(&t->stats, EV_FAULT_FILE_SHARED);
	}
	return 0;
}

vm_fault_t do_fault(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
		    unsigned int flags, struct page *pt)
{
	struct address_space *m = vma->vm_file;
	hw_load(t, &vma->vm_file, 2 * sizeof(unsigned long)); /* VMA.REST: vm_file, vm_pgoff */
	unsigned long pgoff = vma_pgoff_of(vma, addr);
	if (pgoff >= m->size_pages)
		return VM_FAULT_SIGSEGV; /* SIGBUS beyond EOF (mmap refuses such ranges) */
	bool major;
	struct page *p = filemap_fault(t, vma->vm_mm->zone, m, pgoff, &major);
	if (!p)
		return VM_FAULT_OOM;
	if (major)
		count_event(&t->stats, EV_FAULT_MAJOR);
	if (!(flags & FAULT_FLAG_WRITE))
		return do_read_fault(t, vma, addr, pt, p);
	if (!(vma->vm_flags & VM_SHARED)) {
		vm_fault_t ret = vmf_anon_prepare(t, vma, flags);
		if (ret) {
			folio_unlock(t, m, p);
			page_ref_add(t, p, -1);
			return ret;
		}
		return do_cow_fault(t, vma, addr, pt, p);
	}
	return do_shared_fault(t, vma, addr, pt, p);
}

/* ---- write to a present read-only PTE of a file VMA ---- */

vm_fault_t do_wp_file(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
		      unsigned int flags, struct page *pt, pteval_t orig)
{
	struct mm_struct *mm = vma->vm_mm;
	struct spinlock *ptl = pte_lockptr(mm, pt);
	pteval_t *pte = &pt->table[pt_index(addr, PT_PTE)];
	struct page *p = pfn_to_page(mm->zone, pte_pfn(orig));
	struct page *np = NULL;

	bool shared = vma->vm_flags & VM_SHARED;

	hw_load(t, p, sizeof(p->flags));
	/* handle_mm_fault sends anonymous copies to do_wp_page; file VMAs never map the zero
	 * page. */
	sim_bug_on(!(p->flags & PG_file) || (orig & _PAGE_SPECIAL));
	if (shared) {
		/* wp_page_shared: reference, page_mkwrite under the folio lock. */
		page_ref_add(t, p, 1);
		folio_lock(t, vma->vm_file, p);
		page_mkwrite(t, p);
	} else {
		/* wp_page_copy: the copy is made before the PTL is taken. */
		vm_fault_t ret = vmf_anon_prepare(t, vma, flags);
		if (ret)
			return ret;
		np = cow_copy(t, mm, addr, p);
		if (!np)
			return VM_FAULT_OOM;
	}
	/* wp_page_copy: secondary MMUs drop the cache page before the copy replaces it. */
	struct mmu_notifier_range range;
	unsigned long page_addr = addr & PAGE_MASK;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, mm, page_addr, page_addr + PAGE_SIZE,
				"do_wp_file (wp_page_copy)");
	if (np)
		mmu_notifier_invalidate_range_start(t, &range);
	spin_lock(t, ptl);
	hw_load(t, pte, sizeof(*pte));
	bool same = *pte == orig;
	if (same && np) {
		/* Replace the cache page by the copy: clear and flush, then map the copy. */
		mm_assert_locked(t, mm, addr, spin_is_held_by(ptl, t), "PTE", ptl->dep.class->name);
		hw_rmw(t, pte, sizeof(*pte));
		*pte = 0;
		if (mm->inject != INJECT_FILE_COW_NO_FLUSH)
			fault_flush_old(t, mm, addr);
		page_remove_rmap(t, mm, p, addr, "wp_page_copy");
		p->refcount--;
		mm->rss_file--;
		file_set_pte(t, vma, addr, pt, np, prot_write(vma));
		count_event(&t->stats, EV_FAULT_FILE_COW);
	} else if (same) {
		/* wp_page_shared's reuse: the same page, now writable and dirty; an upgrade of
		 * the permission needs no flush (a stale read-only entry just faults again). */
		mm_assert_locked(t, mm, addr, spin_is_held_by(ptl, t), "PTE", ptl->dep.class->name);
		cpu_work(t, t->machine->path.pte_op);
		hw_store(t, pte, sizeof(*pte));
		*pte = orig | _PAGE_RW | _PAGE_DIRTY;
		if (mm->checker)
			mm_check_event(t, mm, addr, MEV_CHANGE_PROT, *pte & ~PTE_PFN_MASK);
		count_event(&t->stats, EV_FAULT_FILE_WP);
	} else {
		count_event(&t->stats, EV_FAULT_RACE);
	}
	spin_unlock(t, ptl);
	if (np)
		mmu_notifier_invalidate_range_end(t, &range);
	if (shared) {
		folio_unlock(t, vma->vm_file, p);
		page_ref_add(t, p, -1);
	}
	if (np && !same)
		drop_unmapped_page(t, mm, np);
	return 0;
}

/* ---- zap ---- */

void zap_file_pte(struct sim_task *t, struct mm_struct *mm, struct page *p, pteval_t old)
{
	/* The caller did page_remove_rmap's mapcount and the PTE's reference; the page
	 * cache's own reference keeps the page.  The PTE's dirty bit goes to the folio. */
	mm->rss_file--;
	if ((old & _PAGE_DIRTY) && !(p->flags & PG_dirty)) {
		hw_rmw(t, &p->flags, sizeof(p->flags));
		p->flags |= PG_dirty;
	}
}

/* ---- rmap walk ---- */

/* i_mmap_trylock_read */
static bool i_mmap_trylock_read(struct sim_task *t, struct address_space *m)
{
	return m->i_mmap_kind == I_MMAP_SPINLOCK ? spin_trylock(t, &m->i_mmap_spin) :
						   down_read_trylock(t, &m->i_mmap_rwsem);
}

int rmap_walk_file(struct sim_task *t, struct page *p, unsigned flags, rmap_one_fn fn, void *arg)
{
	struct address_space *m = p->f_mapping;
	struct rmap_walk_ctx c = { .t = t, .p = p, .fn = fn, .arg = arg,
				   .notify = flags & RMAP_WALK_NOTIFY };

	sim_bug_on(!(p->flags & PG_file) || !m);
	if (flags & RMAP_WALK_TRYLOCK) {
		if (!i_mmap_trylock_read(t, m)) {
			count_event(&t->stats, EV_RMAP_CONTENDED);
			return RMAP_WALK_CONTENDED;
		}
	} else {
		i_mmap_lock_read(t, m);
	}
	vma_interval_tree_foreach(t, &m->i_mmap, p->index, p->index, rmap_walk_vma, &c);
	i_mmap_unlock_read(t, m);
	return c.visited;
}

/* ---- reclaim (models/mm/vmscan.c) ---- */

bool filemap_folio_trylock(struct sim_task *t, struct page *p)
{
	return mutex_trylock(t, folio_lock_of(p->f_mapping, p));
}

void filemap_folio_unlock(struct sim_task *t, struct page *p)
{
	folio_unlock(t, p->f_mapping, p);
}

bool filemap_remove_folio(struct sim_task *t, struct page *p)
{
	struct address_space *m = p->f_mapping;

	spin_lock(t, &m->i_pages.xa_lock);
	hw_rmw(t, &p->refcount, sizeof(p->refcount)); /* folio_ref_freeze(folio, 2) */
	hw_load(t, p, 64);
	if (p->refcount != 2 || p->mapcount || (p->flags & PG_dirty)) {
		spin_unlock(t, &m->i_pages.xa_lock);
		return false;
	}
	p->refcount = 0;
	struct page *old = xa_clear_locked(t, &m->i_pages, p->index);
	sim_bug_on(old != p);
	hw_rmw(t, &m->nrpages, sizeof(m->nrpages));
	m->nrpages--;
	spin_unlock(t, &m->i_pages.xa_lock);
	return true;
}

void filemap_folio_wait(struct sim_task *t, struct address_space *m, uint64_t pfn)
{
	struct mutex *l = g_hash_table_lookup(m->folio_locks, GSIZE_TO_POINTER(pfn));
	sim_bug_on(!l); /* the migration that made the entry locked it */
	mutex_lock(t, l);
	mutex_unlock(t, l);
}

bool filemap_migrate_mapping(struct sim_task *t, struct page *old, struct page *new)
{
	struct address_space *m = old->f_mapping;

	spin_lock(t, &m->i_pages.xa_lock);
	hw_rmw(t, &old->refcount, sizeof(old->refcount)); /* folio_ref_freeze(src, 2) */
	hw_load(t, old, 64);
	if (old->refcount != 2 || old->mapcount) {
		spin_unlock(t, &m->i_pages.xa_lock);
		return false;
	}
	old->refcount = 0;
	hw_store(t, new, 64);
	new->flags = PG_file | PG_uptodate | (old->flags & PG_dirty);
	new->f_mapping = m;
	new->index = old->index;
	new->refcount = 2;
	struct page *was = xa_store_locked(t, &m->i_pages, old->index, new);
	sim_bug_on(was != old);
	spin_unlock(t, &m->i_pages.xa_lock);
	return true;
}

/* ---- end-of-run checks (check.c) ---- */

char *filemap_check_pte(const struct vm_area_struct *vma, unsigned long va, pteval_t pte,
			const struct page *p)
{
	if (p->flags & PG_free)
		return g_strdup_printf("PTE at 0x%lx maps page cache pfn %llu, which is free", va,
				       (unsigned long long)p->pfn);
	if (!vma->vm_file || p->f_mapping != vma->vm_file ||
	    p->index != vma_pgoff_of(vma, va))
		return g_strdup_printf("PTE at 0x%lx maps page %lu of file '%s', but the VMA maps "
				       "%s page %lu there", va, p->index,
				       p->f_mapping ? p->f_mapping->name : "?",
				       vma->vm_file ? vma->vm_file->name : "no file",
				       vma->vm_file ? vma_pgoff_of(vma, va) : 0);
	if ((pte & _PAGE_RW) && !(vma->vm_flags & VM_SHARED))
		return g_strdup_printf("PTE at 0x%lx of a private mapping makes page cache pfn %llu "
				       "writable", va, (unsigned long long)p->pfn);
	return NULL;
}

struct i_mmap_count {
	struct mm_struct *mm;
	unsigned long nr;
	char *err;
};

static bool check_i_mmap_vma(struct vm_area_struct *vma, void *arg)
{
	struct i_mmap_count *c = arg;
	if (vma->vm_mm != c->mm)
		return true;
	c->nr++;
	struct vm_area_struct *v = find_vma(NULL, c->mm, vma->vm_start);
	if (v != vma && !c->err)
		c->err = g_strdup_printf("i_mmap holds [0x%lx, 0x%lx), which is not in the mm",
					 vma->vm_start, vma->vm_end);
	return true;
}

char *filemap_check(struct mm_struct *const *mms, unsigned nr_mms, GHashTable *file_maps,
		    uint64_t *cache_pages)
{
	GPtrArray *all = filemap_all();
	*cache_pages = 0;
	for (unsigned i = 0; i < all->len; i++) {
		struct address_space *m = g_ptr_array_index(all, i);
		const struct zone *z = nr_mms ? mms[0]->zone : NULL;
		unsigned long n = 0;
		for (unsigned long idx = 0; idx < m->size_pages; idx++) {
			struct page *p = xa_load(NULL, &m->i_pages, idx);
			if (!p)
				continue;
			n++;
			long ptes = (long)GPOINTER_TO_SIZE(g_hash_table_lookup(file_maps,
									GSIZE_TO_POINTER(p->pfn)));
			struct mutex *l = g_hash_table_lookup(m->folio_locks, GSIZE_TO_POINTER(p->pfn));
			if ((p->flags & (PG_free | PG_file | PG_uptodate)) != (PG_file | PG_uptodate) ||
			    p->f_mapping != m || p->index != idx)
				return g_strdup_printf("page %lu of '%s' (pfn %llu) is not an uptodate "
						       "page cache page of it", idx, m->name,
						       (unsigned long long)p->pfn);
			/* LRU batches still holding it (filemap_add_folio's folio_add_lru) */
			long batched = 0;
			for (int cpu = 0; cpu < (int)(z ? z->nr_cpus : 0); cpu++)
				batched += folio_in_lru_batch(z, cpu, p);
			if (p->mapcount != ptes || p->refcount != 1 + ptes + batched)
				return g_strdup_printf("page %lu of '%s' (pfn %llu): mapcount %d, "
						       "refcount %d, but %ld PTEs map it", idx,
						       m->name, (unsigned long long)p->pfn,
						       p->mapcount, p->refcount, ptes);
			if (l && (mutex_is_locked(l) || l->wait_list.len))
				return g_strdup_printf("page %lu of '%s' still locked at the end", idx,
						       m->name);
		}
		if (n != m->nrpages)
			return g_strdup_printf("'%s': nrpages %lu but %lu pages in i_pages", m->name,
					       m->nrpages, n);
		*cache_pages += n;
		char *e = vma_interval_tree_validate(&m->i_mmap);
		if (e) {
			char *r = g_strdup_printf("i_mmap of '%s': %s", m->name, e);
			g_free(e);
			return r;
		}
		if (rwsem_is_locked(&m->i_mmap_rwsem) || spin_is_busy(&m->i_mmap_spin) ||
		    spin_is_busy(&m->i_pages.xa_lock))
			return g_strdup_printf("'%s': i_mmap lock or xa_lock held at the end",
					       m->name);
		/* Every file VMA of each mm is in its file's i_mmap, and only those. */
		for (unsigned k = 0; k < nr_mms; k++) {
			struct mm_struct *mm = mms[k];
			struct i_mmap_count ic = { .mm = mm };
			vma_interval_tree_foreach(NULL, &m->i_mmap, 0, ~0UL, check_i_mmap_vma, &ic);
			if (ic.err)
				return ic.err;
			unsigned long want = 0;
			for (struct vm_area_struct *v = find_vma(NULL, mm, 0); v;
			     v = vma_next(NULL, mm, v))
				want += v->vm_file == m;
			if (want != ic.nr)
				return g_strdup_printf("'%s': %lu VMAs of an mm map it but i_mmap "
						       "holds %lu of them", m->name, want, ic.nr);
		}
	}
	return NULL;
}
