/*
 * The simulated address space: mm_struct, VMAs, 4-level page tables whose entries hold
 * pseudo-physical frame numbers, struct page metadata and a page allocator.  Layout follows
 * the kernel's where it decides cache lines (mmap_lock on its own line, the split PTE lock
 * inside the page-table page's struct page).
 *
 * Modelled kernel: x86-64, 4-level paging, CONFIG_SPLIT_PTE_PTLOCKS, split PMD locks.
 * Locking rules are in docs/locking.md; fields say which lock serialises them.
 */
#ifndef MMSIM_MM_H
#define MMSIM_MM_H

#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <glib.h>
#include "task.h"
#include "sync/spinlock.h"
#include "sync/rwsem.h"
#include "sync/refcount.h"
#include "sync/rcuwait.h"
#include "mm/slab.h"
#include "mm/maple_tree.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PTRS_PER_TABLE 512
#define PMD_SHIFT 21
#define PUD_SHIFT 30
#define PGDIR_SHIFT 39
#define PMD_SIZE (1UL << PMD_SHIFT)
#define PUD_SIZE (1UL << PUD_SHIFT)
#define PGDIR_SIZE (1UL << PGDIR_SHIFT)
#define TASK_SIZE 0x00007ffffffff000UL  /* 47-bit user address space */
#define MMAP_MIN_ADDR 0x10000UL
#define MMAP_BASE 0x00007f0000000000UL

/* Page-table entry bits (x86). */
typedef uint64_t pteval_t;

struct page;
struct vm_area_struct;

/*
 * rmap_one: called by an rmap walk (rmap.h, fs.h) for each mapping of the page, with its
 * PTE table's lock held and the PTE (present, mapping the page) at *pte.  Return false
 * to stop the walk.
 */
typedef bool (*rmap_one_fn)(struct sim_task *t, struct page *p, struct vm_area_struct *vma,
			    unsigned long addr, pteval_t *pte, void *arg);

#include "mm/fs.h"  /* after rmap_one_fn, before struct vm_area_struct */

#define _PAGE_PRESENT 0x001ULL
#define _PAGE_RW 0x002ULL
#define _PAGE_USER 0x004ULL
#define _PAGE_ACCESSED 0x020ULL
#define _PAGE_DIRTY 0x040ULL
#define _PAGE_SPECIAL 0x200ULL  /* software bit: no struct page refcounting (zero page) */
/* PROT_NONE: the entry keeps its frame but the hardware sees it not present (x86 reuses
 * the global bit, which user entries never carry). */
#define _PAGE_PROTNONE 0x100ULL
#define PTE_PFN_MASK 0x000ffffffffff000ULL
/* In a PMD entry: a 2 MiB leaf mapping a huge page, not a pointer to a PTE table. */
#define _PAGE_PSE 0x080ULL
/*
 * The invalid-pte collapse scheme's marker (models/mm/collapse.c): a non-present, non-none
 * PTE (software bit 10) that every walker recognises and waits on, as on a migration
 * entry.  Migration and swap entries are the other non-present, non-none PTEs.
 */
#define PTE_MARKER_COLLAPSE 0x400ULL
#define HPAGE_PMD_ORDER 9
#define HPAGE_PMD_NR (1 << HPAGE_PMD_ORDER)

enum pt_level { PT_PGD = 3, PT_PUD = 2, PT_PMD = 1, PT_PTE = 0 };

static inline unsigned pt_index(unsigned long addr, int level)
{
	return (addr >> (PAGE_SHIFT + 9 * level)) & (PTRS_PER_TABLE - 1);
}

/* pte_present: mapped, even if PROT_NONE hides it from the hardware walker. */
static inline bool pte_present(pteval_t e)
{
	return e & (_PAGE_PRESENT | _PAGE_PROTNONE);
}

static inline uint64_t pte_pfn(pteval_t e)
{
	return (e & PTE_PFN_MASK) >> PAGE_SHIFT;
}

/* pmd_trans_huge: the PMD entry maps 2 MiB itself. */
static inline bool pmd_trans_huge(pteval_t pmd)
{
	return pmd & _PAGE_PSE;
}

static inline bool pte_is_collapse_marker(pteval_t e)
{
	return e == PTE_MARKER_COLLAPSE;
}

/*
 * A migration entry (swp_entry of type SWP_MIGRATION_READ/WRITE): a non-present PTE that
 * names the frame being migrated and whether the mapping was writable; a fault on it
 * waits for the migration to end (models/mm/migrate.c).  Software bits of a non-present
 * entry, never set in a swap entry (below) nor in the collapse marker.
 */
#define _PAGE_MIGRATION 0x800ULL             /* software bit 11 (0x400 is the collapse marker) */
#define _PAGE_MIGRATION_WRITE (1ULL << 58)  /* software-available high bit */
static inline bool is_migration_entry(pteval_t e)
{
	return !pte_present(e) && (e & _PAGE_MIGRATION);
}
static inline uint64_t migration_entry_to_pfn(pteval_t e)
{
	return pte_pfn(e);
}
static inline pteval_t make_migration_entry(uint64_t pfn, bool write)
{
	return (pfn << PAGE_SHIFT) | _PAGE_MIGRATION | (write ? _PAGE_MIGRATION_WRITE : 0);
}

/*
 * A swap entry (swp_entry of a swap device, models/mm/swap.c): a non-present PTE naming
 * the device slot that holds the page.  Software-available high bit 57, never set with
 * _PAGE_MIGRATION (bit 11) nor in the collapse marker, so the three kinds of non-present
 * non-zero entries stay apart.
 */
#define _PAGE_SWP_ENTRY (1ULL << 57)
static inline bool is_swap_entry(pteval_t e)
{
	return !pte_present(e) && (e & _PAGE_SWP_ENTRY) && !(e & _PAGE_MIGRATION);
}
static inline uint32_t swap_entry_to_slot(pteval_t e)
{
	return (uint32_t)pte_pfn(e);
}
static inline pteval_t make_swap_entry(uint32_t slot)
{
	return ((pteval_t)slot << PAGE_SHIFT) | _PAGE_SWP_ENTRY;
}

/* vm_flags */
#define VM_READ 0x1UL
#define VM_WRITE 0x2UL
#define VM_EXEC 0x4UL
#define VM_SHARED 0x8UL
#define VM_HUGEPAGE 0x20000000UL  /* madvise(MADV_HUGEPAGE) */
#define VM_ACCESS_FLAGS (VM_READ | VM_WRITE | VM_EXEC)
/* Model flag: the VMA maps a file (vm_file set).  Its PTEs are installed read-only and a
 * write faults first: copy-on-write when private, page_mkwrite and dirtying when shared
 * (a filesystem with ->page_mkwrite: vma_wants_writenotify), so vm_page_prot has no RW. */
#define VM_FILEMAP 0x100UL

/* vm_get_page_prot for a private anonymous mapping: a fault maps its fresh page writable
 * at once (maybe_mkwrite); pages shared since fork are kept read-only by fork and by
 * mprotect (can_change_pte_writable), so their first write copies them. */
static inline pteval_t vm_get_page_prot(unsigned long vm_flags)
{
	if (!(vm_flags & VM_ACCESS_FLAGS))
		return _PAGE_PROTNONE | _PAGE_ACCESSED;
	return _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED |
	       ((vm_flags & VM_WRITE) && !(vm_flags & VM_FILEMAP) ? _PAGE_RW | _PAGE_DIRTY : 0);
}

/* fault flags and results, as the kernel's */
#define FAULT_FLAG_WRITE 0x1u
#define FAULT_FLAG_USER 0x2u
#define FAULT_FLAG_TRIED 0x4u
#define FAULT_FLAG_VMA_LOCK 0x8u  /* the VMA is read-locked, mmap_lock is not held */
typedef unsigned int vm_fault_t;
#define VM_FAULT_OOM 0x1u
#define VM_FAULT_SIGSEGV 0x2u
#define VM_FAULT_RETRY 0x4u
#define VM_FAULT_NOPAGE 0x8u  /* raced; the access is simply retried */
#define VM_FAULT_ERROR (VM_FAULT_OOM | VM_FAULT_SIGSEGV)

/* struct page flags */
#define PG_free 0x1UL
#define PG_table 0x2UL
#define PG_anon 0x4UL
#define PG_zero 0x8UL
#define PG_file 0x10UL      /* in a page cache: f_mapping and index say where */
#define PG_dirty 0x20UL     /* page cache page written through a shared mapping */
#define PG_uptodate 0x40UL  /* page cache page read in from the backing device */
#define PG_lru 0x80UL       /* on its node's LRU list (lru.c); lru_lock */
#define PG_head 0x100UL     /* first page of a 512-page compound (THP) folio */
#define PG_tail 0x200UL     /* other pages of it; the head is at pfn & ~511 */
#define PG_swapcache 0x400UL /* in the swap cache: `swap` names its slot (swap.c) */

struct anon_vma;
struct mem_cgroup;

/*
 * struct page: per frame metadata.  A page-table page is its own descriptor (ptdesc):
 * `table` points at its 512 entries and `ptl` is its split lock.
 */
struct page {
	unsigned long flags;
	int refcount;
	int mapcount;           /* PTEs mapping it; -1 based in the kernel, 0 based here */
	struct mm_struct *mm;   /* table: pt_mm (anon pages are found through `mapping`) */
	/* As the kernel's struct page, one layout per use (folio or ptdesc), so a user page's
	 * metadata is the one line PG.META.  index belongs to the user layout: in a
	 * page-table page its place holds the PMD sequence and the deposit list (THP,
	 * huge_memory.c), and the split lock stays where it was. */
	union {
		struct { /* a user page: anonymous or in a page cache */
			union {
				/* the anon_vma it was first mapped through (folio->mapping |
				 * PAGE_MAPPING_ANON); set under the PTE lock by
				 * page_add_new_anon_rmap, moved to the faulting VMA's own
				 * anon_vma when a COW fault reuses it (folio_move_anon_rmap).
				 * rmap.c. */
				struct anon_vma *mapping;
				/* PG_file: the file whose cache holds it (the same
				 * folio->mapping pointer, untagged).  filemap.c. */
				struct address_space *f_mapping;
			};
			/* anon: page offset in its VMAs (vm_pgoff + page in VMA); file: page
			 * offset in the file */
			unsigned long index;
			struct page *lru_prev, *lru_next; /* PG_lru: the LRU list; lru_lock */
			struct mem_cgroup *memcg; /* folio->memcg_data (memcg.c) */
			uint32_t swap; /* PG_swapcache: folio->swap, its slot; folio lock */
		};
		struct { /* a page-table page (ptdesc) */
			pteval_t *table;        /* its entries */
			/* PTE table page, collapse = "pmd-seq": the sequence count of the
			 * PMD entry pointing at it (odd while a collapse works on the
			 * table), on the line of the split PTL.  Changed under the PMD
			 * lock. */
			uint32_t pmd_seq;
			/* pgtable_trans_huge_deposit: in a PMD table page, the pfn of the
			 * first PTE table deposited for its huge entries; in a deposited
			 * table, the next one.  0: none.  pmd lock. */
			uint32_t pt_deposit;
			struct spinlock ptl;    /* split PTE/PMD lock */
		};
	};
	uint64_t pfn;
	uint32_t content_gen;   /* checker: bumped each time the frame is cleared for a user */
} __attribute__((aligned(64)));

/* Per-CPU page lists (pcp), refilled and drained in batches under zone->lock. */
#define PCP_BATCH 63
#define PCP_HIGH (4 * PCP_BATCH)
struct per_cpu_pages {
	unsigned count;
	uint64_t pfn[PCP_HIGH + PCP_BATCH];
} __attribute__((aligned(64)));

struct zone {
	struct spinlock lock;
	uint64_t max_pfn;       /* frames [1, max_pfn] exist */
	uint64_t next_fresh;    /* frames never handed out start here */
	GArray *free;           /* uint64_t pfns given back (LIFO) */
	GArray *free_huge;      /* uint64_t head pfns of free 512-frame blocks (LIFO) */
	uint64_t nr_free;       /* free frames in the zone (not counting pcp lists) */
	struct page **chunk;    /* mem_map in chunks of PAGES_PER_CHUNK, allocated on demand */
	unsigned nr_chunks;
	struct per_cpu_pages *pcp; /* [nr_cpus] */
	int nr_cpus;
	uint64_t zero_pfn;      /* the shared zero page */
	struct lruvec *lruvec;  /* the node's LRU (lru.c) */
	struct folio_batch *lru_add; /* [nr_cpus] per-CPU folio_add_lru batches */
	struct mem_cgroup *memcg; /* the run's memory cgroup (memcg.c) */
	struct memcg_stock_pcp *memcg_stock; /* [nr_cpus] per-CPU pre-charged pages */
	/* Probability in [0, 1] that a GFP_NOWAIT allocation fails (scenario field
	 * gfp_nowait_fail): the free pages are below the min watermark and the caller may not
	 * reclaim.  Drawn from the allocating task's own stream. */
	double nowait_fail;
	/* Page cache pages join the LRU (filemap_add_folio's folio_add_lru), so reclaim can
	 * find them: set when the scenario has an rmap walker (models/mm/vmscan.c); off, they
	 * stay off the list as before it existed. */
	bool lru_file;
	/* The swap device (models/mm/swap.c; scenario field swap_mb); NULL: none. */
	struct swap_info *swap;
};
#define PAGES_PER_CHUNK 32768u

/*
 * Which per-VMA lock the mm's scheme uses (CONFIG_PER_VMA_LOCK and its generations); see
 * models/mm/mmap_lock.c.  VMA_LOCK_NONE is a kernel built without per-VMA locks: no
 * vm_lock_seq stamps, no mm_lock_seq increments, VMAs and tree nodes freed at once.
 */
enum vma_lock_kind {
	VMA_LOCK_NONE,
	VMA_LOCK_RWSEM,    /* 6.4: separately allocated struct vma_lock; VMAs freed by RCU */
	VMA_LOCK_REFCNT,   /* 6.15: vm_refcnt + rcuwait; VMA slab SLAB_TYPESAFE_BY_RCU */
};

/*
 * How removed VMAs go back to the slab (scenario field vma_free; the default is what the
 * scheme's readers need, models/schemes/schemes.c).  IMMEDIATE is the kernel before
 * per-VMA locks: every reader holds mmap_lock.  RCU is vm_area_free's call_rcu (6.4 to
 * 6.14, and SPF).  TYPESAFE is SLAB_TYPESAFE_BY_RCU (6.15): the object is reused at once
 * and a lockless reader must revalidate what it locked (vm_refcnt, vm_mm, the range).
 */
enum vma_free_kind { VMA_FREE_IMMEDIATE, VMA_FREE_RCU, VMA_FREE_TYPESAFE };
/* Unlinked page tables: freed after the TLB flush, or a grace period after it
 * (MMU_GATHER_RCU_TABLE_FREE; scenario field pt_free). */
enum pt_free_kind { PT_FREE_IMMEDIATE, PT_FREE_RCU };

/* 6.4's vma->vm_lock: its own slab object so that readers' atomics on it do not
 * false-share with the VMA fields the fault reads (line VMA.LOCK). */
struct vma_lock {
	struct rw_semaphore lock;
};

/* vm_refcnt values (6.15, D.6): 0 detached; 1 attached; 1 + n with n readers;
 * VMA_LOCK_OFFSET added while a writer excludes readers. */
#define VMA_LOCK_OFFSET (1 << 30)
#define VMA_REF_LIMIT (VMA_LOCK_OFFSET - 1)

struct vm_area_struct {
	/* Line VMA.HOT: read by the lookup, the access check and the fault. */
	unsigned long vm_start;   /* first byte; page aligned.  mmap_lock (W) + VMA write lock */
	unsigned long vm_end;     /* one past the last byte.  mmap_lock (W) + VMA write lock */
	struct mm_struct *vm_mm;  /* 6.15: rechecked by lockless readers (object reuse) */
	unsigned long vm_flags;   /* mmap_lock (W) */
	pteval_t vm_page_prot;    /* PTE bits for pages mapped here.  mmap_lock (W) */
	/* Per-VMA lock (models/mm/mmap_lock.c).  vm_lock_seq == mm->mm_lock_seq: the VMA is
	 * write-locked for the rest of the mmap write section.  mmap_lock (W). */
	int vm_lock_seq;
	bool detached;            /* 6.4: not in mm_mt any more.  mmap_lock (W) + VMA write lock */
	struct vma_lock *vm_lock; /* 6.4 only */
	/* Line VMA.REST. */
	/* Page offset of vm_start: vm_start >> PAGE_SHIFT at creation, kept by a split for
	 * the upper part's start (vma_address/linear_page_index).  mmap_lock (W) + VMA write
	 * lock + anon_vma lock (W) (the interval tree is keyed by it). */
	unsigned long vm_pgoff;
	/* Set once by anon_vma_prepare under mm->page_table_lock and the anon_vma lock (W)
	 * (read locklessly by faults); cleared only when the VMA is freed. */
	struct anon_vma *anon_vma;
	/* This VMA's anon_vma_chains (same_vma list): mmap_lock (W), or mmap_lock (R) +
	 * page_table_lock for anon_vma_prepare. */
	struct anon_vma_chain *anon_vma_chain;
	/* 6.15: line VMA.LOCK, the only line a per-VMA fault writes in the VMA. */
	struct refcount vm_refcnt __attribute__((aligned(64)));
	/* Line VMA.FILE: the file mapping (NULL: anonymous).  Set at mmap; its vm_pgoff
	 * changes with vm_start (split) under mmap_lock (W) + VMA write lock + i_mmap lock
	 * (W) as well. */
	struct address_space *vm_file __attribute__((aligned(64)));
	struct itree_node shared;  /* node in vm_file->i_mmap.  i_mmap lock (W) */
} __attribute__((aligned(64)));

/*
 * Page-table lock granularity (scenario field `ptl`), as the kernel's Kconfig choices:
 * one mm->page_table_lock for everything (!SPLIT_PTE_PTLOCKS), split PTE locks only
 * (SPLIT_PTE_PTLOCKS without PMD splitting), or split PTE and PMD locks (x86-64 default).
 */
enum ptl_mode { PTL_SPLIT_PMD = 0, PTL_SPLIT_PTE, PTL_MM };

/* Fault injection (scenario field `inject`): deliberate bugs the checker must catch. */
enum mm_inject {
	INJECT_NONE = 0,
	INJECT_SKIP_TLB_FLUSH,     /* mmu_gather users and mprotect never flush */
	INJECT_FREE_BEFORE_FLUSH,  /* tlb_finish_mmu frees pages, then flushes */
	INJECT_DONTNEED_NO_ZAP,    /* MADV_DONTNEED leaves the PTEs in place */
	INJECT_SKIP_WP_FLUSH,      /* the write fault on a zero-page PTE does not flush */
	INJECT_FILE_COW_NO_FLUSH,  /* the COW of a page cache page in a private mapping does
				    * not flush the old read-only translation */
	INJECT_COW_NO_COPY,        /* a COW write fault reuses a page others still map */
	INJECT_NOTIFIER_MISSING_END, /* mprotect's -ENOMEM return skips invalidate_range_end */
	INJECT_SMMU_NO_RETRY,      /* the secondary MMU installs without its invalidation check */
	INJECT_MMAP_FIXED_NO_ZAP,  /* MAP_FIXED frees the replaced VMAs but leaves their PTEs */
	INJECT_MIGRATION_SKIP_CHILD, /* remove_migration_ptes restores only the first mapping */
	INJECT_SWAP_NO_WRITEBACK,  /* swap-out frees the page without writing it to its slot */
};

/* Which lock anon_vma_lock_* take (scenario field `anon_vma_lock`): the root anon_vma's
 * rw_semaphore (since 2012) or its spinlock (before 2.6.38's mutex). */
enum anon_vma_lock_kind { ANON_VMA_LOCK_RWSEM = 0, ANON_VMA_LOCK_SPINLOCK };

struct mm_checker;
struct khugepaged_mm;

/* Transparent huge pages for anonymous memory (scenario field `thp`), as
 * /sys/kernel/mm/transparent_hugepage/enabled. */
enum thp_mode { THP_NEVER = 0, THP_ALWAYS, THP_MADVISE };
struct mmu_notifier_subscriptions;

/*
 * Who serialises the writers of mm->mm_mt (scenario field `tree_lock`): mmap_lock held for
 * write (the kernel since 6.1: MT_FLAGS_LOCK_EXTERN), or the tree's own spinlock, taken
 * around every store (the long-term goal of the maple-tree work).  With the spinlock a
 * reader that does not hold it is lockless as far as the tree knows, so the tree is in RCU
 * mode and its retired nodes are freed after a grace period, whatever the scheme.
 */
enum mm_tree_lock { TREE_LOCK_MMAP = 0, TREE_LOCK_SPINLOCK };

struct mm_struct {
	struct rw_semaphore mmap_lock;  /* own cache line */
	/* Line MM.SEQ: incremented (mmap_lock W) at mmap_write_unlock and downgrade, which
	 * releases every VMA write lock of the section; read locklessly by per-VMA faults. */
	int mm_lock_seq __attribute__((aligned(64)));
	/* SPF's mmap sequence count, same line: odd while mmap_lock is write-held (bumped by
	 * mmap_write_lock, mmap_write_unlock and mmap_write_downgrade).  mmap_lock (W). */
	unsigned long mmap_seq;
	enum vma_lock_kind vma_lock_kind;  /* from the scheme, fixed at mm_create */
	/* Faults walk VMAs and page tables with no lock (scheme->speculative): the tree is in
	 * RCU mode, and VMAs, tree nodes and page tables are freed after a grace period. */
	bool speculative;
	struct rcuwait vma_writer_wait;    /* 6.15: a writer waiting for a VMA's readers */
	/* The VMAs, indexed by address: each stored over [vm_start, vm_end - 1].
	 * mmap_lock (R to read, W to change; the tree asserts W on every store). */
	struct maple_tree mm_mt;
	int map_count;                  /* VMAs in mm_mt.  mmap_lock (W) */
	unsigned long mmap_base;
	struct spinlock page_table_lock __attribute__((aligned(64))); /* PGD/PUD level installs */
	struct page *pgd;
	long nr_ptes;                   /* page-table pages; page_table_lock or pmd lock */
	long rss_anon;                  /* anon pages mapped; PTE lock of the mapping table */
	long rss_file;                  /* page cache pages mapped; PTE lock, as rss_anon */
	struct zone *zone;
	const struct mm_scheme_ops *scheme;
	/* mm_cpumask: CPUs that have run a task of this mm (bits are only set, as on x86
	 * with lazy TLB).  zone->nr_cpus bits.  Read by TLB shootdowns. */
	uint64_t *cpumask;
	unsigned asid;                  /* PCID of this address space in the TLB model */
	enum ptl_mode ptl_mode;         /* set before the first fault, never changed */
	/* Faults may walk the page tables under RCU alone (no VMA lock, no mmap_lock): freed
	 * page tables wait for a grace period after the flush (MMU_GATHER_RCU_TABLE_FREE).
	 * Fixed at mm_create from the scheme.  nr_pt_rcu_pending: tables unlinked and
	 * flushed whose grace period has not ended yet (page_table_lock-free: the count is
	 * only changed by the unmapping task and the RCU callback, in simulated-time order). */
	bool pt_free_rcu;
	long nr_pt_rcu_pending;
	enum vma_free_kind vma_free;    /* fixed at mm_create from the scheme, or the scenario */
	bool spf_walk_irqs_off;         /* spf: page walks with interrupts off, not under RCU */
	enum mm_inject inject;
	enum anon_vma_lock_kind anon_vma_lock; /* set before the first fault */
	struct mm_checker *checker;     /* check.c; NULL when the checker is off */
	/* THP (models/mm/huge_memory.c): which VMAs may get huge PMDs; set before the first
	 * fault.  pmd_recheck: huge PMDs or collapses can change a PMD under a walker, so
	 * pte_offset_map_lock re-reads the PMD after taking the PTL (6.5+); off when neither
	 * can happen, so runs without THP cost what they did. */
	enum thp_mode thp;
	bool pmd_recheck;
	struct khugepaged_mm *khugepaged; /* khugepaged.c; NULL: no khugepaged */
	bool exited;                    /* exit_mmap done; kept until the end of the run */
	/* Knobs (scenario fields), fixed before the first task runs; appended so that they
	 * move no line of the layout above. */
	enum mm_tree_lock tree_lock;    /* mm_set_tree_lock */
	bool fault_prefetchw;           /* #PF entry prefetchw(&mm->mmap_lock) (mmu.c) */
	/* The cost model reads and writes mm_lock_seq and mmap_seq on the mmap_lock line
	 * (mm_seq_line): the layout where the sequence count shares the rwsem's line. */
	bool seq_shares_lock_line;
	/* MMU notifier subscribers (mmu_notifier.h); NULL: none, the calls cost nothing.
	 * Set under mmap_lock (W), read by every invalidation. */
	struct mmu_notifier_subscriptions *notifier_subscriptions;
	long rss_swap;                  /* swap entries (MM_SWAPENTS); PTE lock, as rss_anon */
	/* tree_lock = spinlock: the maple tree's writers' lock (ma_lock), on a line of its
	 * own (the tree's header shares line MM.SEQ in this layout). */
	struct spinlock mm_mt_lock __attribute__((aligned(64)));
};

/*
 * The address the cost model charges for an access to the mm sequence count `seq`
 * (&mm->mm_lock_seq or &mm->mmap_seq): the count's own line (MM.SEQ), or the mmap_lock
 * count word's line when the scenario lays the count out beside the rwsem.
 */
static inline const void *mm_seq_line(const struct mm_struct *mm, const void *seq)
{
	return mm->seq_shares_lock_line ? (const void *)&mm->mmap_lock : seq;
}

/*
 * pte_lockptr / pmd_lockptr: the lock that serialises the entries of a PTE table (pt) or
 * of a PMD table (pmd_table), per the mm's ptl_mode.  Every PTE or PMD entry write goes
 * through one of these.
 */
static inline struct spinlock *pte_lockptr(struct mm_struct *mm, struct page *pt)
{
	return mm->ptl_mode == PTL_MM ? &mm->page_table_lock : &pt->ptl;
}

static inline struct spinlock *pmd_lockptr(struct mm_struct *mm, struct page *pmd_table)
{
	return mm->ptl_mode == PTL_SPLIT_PMD ? &pmd_table->ptl : &mm->page_table_lock;
}

/*
 * mmu_gather (mm/mmu_gather.c): what an unmap collects so that the TLB is flushed after
 * the PTEs are cleared and BEFORE the pages and page tables they pointed to are freed.
 */
struct mmu_gather {
	struct mm_struct *mm;
	unsigned long start, end;       /* range whose translations must go */
	bool freed_tables;              /* page tables were unlinked: IPI lazy CPUs too */
	GPtrArray *pages;               /* struct page * to free after the flush */
	GPtrArray *tables;              /* page-table pages to free after the flush */
	bool dontneed;                  /* zap for MADV_DONTNEED: the VMAs stay */
};

/*
 * mmap_lock.c: mmap_lock with the per-VMA lock bookkeeping (one implementation for every
 * scheme), and the writer side of the per-VMA locks.
 */
void mmap_read_lock(struct sim_task *t, struct mm_struct *mm);
void mmap_read_unlock(struct sim_task *t, struct mm_struct *mm);
void mmap_write_lock(struct sim_task *t, struct mm_struct *mm);
/* Both end the write section: mm_lock_seq++ releases every VMA write lock taken in it. */
void mmap_write_unlock(struct sim_task *t, struct mm_struct *mm);
void mmap_write_downgrade(struct sim_task *t, struct mm_struct *mm);
/* Write-lock vma until the end of the write section; waits for its readers. */
void vma_start_write(struct sim_task *t, struct vm_area_struct *vma);
void vma_assert_write_locked(const struct sim_task *t, const struct vm_area_struct *vma);
/* The VMA is (no longer) reachable through mm_mt; detaching needs the VMA write lock. */
void vma_mark_attached(struct sim_task *t, struct vm_area_struct *vma);
void vma_mark_detached(struct sim_task *t, struct vm_area_struct *vma);
/* vma_end_read of 6.15 (vma_refcount_put): drop a reader reference, wake the writer. */
void vma_refcount_put(struct sim_task *t, struct vm_area_struct *vma);

/* page_alloc.c */
struct zone *zone_create(uint64_t mem_bytes, int nr_cpus);
void zone_destroy(struct zone *z);
static inline struct page *pfn_to_page(const struct zone *z, uint64_t pfn)
{
	return &z->chunk[pfn / PAGES_PER_CHUNK][pfn % PAGES_PER_CHUNK];
}
struct page *alloc_page(struct sim_task *t, struct zone *z);       /* NULL: OOM */
/* GFP_NOWAIT: as alloc_page, but fails with probability z->nowait_fail (no reclaim). */
struct page *alloc_page_nowait(struct sim_task *t, struct zone *z);
void free_page(struct sim_task *t, struct zone *z, struct page *p);
uint64_t zone_pages_in_use(const struct zone *z);                   /* not free, not on a pcp */

/* pgtable.c */
struct page *pt_alloc_table(struct sim_task *t, struct mm_struct *mm);
void pt_free_table(struct sim_task *t, struct mm_struct *mm, struct page *table);
/* Free an unlinked table after a grace period (MMU_GATHER_RCU_TABLE_FREE), for mms whose
 * faults walk page tables under RCU only. */
static inline pteval_t *pt_entries(const struct mm_struct *mm, pteval_t e)
{
	return pfn_to_page(mm->zone, pte_pfn(e))->table;
}
static inline struct page *pt_page(const struct mm_struct *mm, pteval_t e)
{
	return pfn_to_page(mm->zone, pte_pfn(e));
}
/*
 * Walk to the PMD entry for addr, allocating PUD and PMD tables as needed (NULL on OOM).
 * *pmd_table is the PMD table page, whose ptl is the split PMD lock.
 */
pteval_t *pt_pmd_alloc(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		       struct page **pmd_table);
/* Make sure *pmd points at a PTE table (pte_alloc); false on OOM. */
bool pt_pte_alloc(struct sim_task *t, struct mm_struct *mm, struct page *pmd_table, pteval_t *pmd);
/* Lockless walk (hardware walker or fault entry); NULL if a level is missing.  A huge
 * PMD leaf is returned itself (pmd_trans_huge of the entry tells). */
pteval_t *pt_lookup_pte(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			struct page **pte_table);
/* The next PTE table mapping part of [*addr, end), skipping ranges with no table; on
 * return [*addr, *next) is the part it maps and *pmdp its PMD entry.  NULL once the
 * range is done.  A huge PMD on the way is zapped whole into `zap` when given and the
 * range covers it, else split (fork, mprotect, partial zaps). */
struct page *pt_next_pte_table(struct sim_task *t, struct mm_struct *mm, unsigned long *addr,
			       unsigned long end, unsigned long *next, pteval_t **pmdp,
			       struct mmu_gather *zap);
/* Zap [start, end): clear the PTEs, gather the data pages; caller holds the VMAs out of
 * reach. */
void pt_zap_range(struct sim_task *t, struct mmu_gather *tlb, unsigned long start,
		  unsigned long end);
/* change_protection: rewrite the present PTEs of [start, end) with newprot (the zero
 * page stays read-only), growing tlb's flush range; no page is freed. */
void pt_change_prot_range(struct sim_task *t, struct mmu_gather *tlb, unsigned long start,
			  unsigned long end, pteval_t newprot);
/* Unlink page tables that map only [start, end) within [floor, ceiling); gather them. */
void pt_free_range(struct sim_task *t, struct mmu_gather *tlb, unsigned long start,
		   unsigned long end, unsigned long floor, unsigned long ceiling);

/* tlb.c: the mm side of TLB management. */
void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm);
/* Flush the gathered range, then free the gathered pages and tables. */
void tlb_finish_mmu(struct sim_task *t, struct mmu_gather *tlb);
/* flush_tlb_mm_range; returns the caller's latency (ps). */
sim_time_t flush_tlb_mm_range(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			      unsigned long end, bool freed_tables);
/* switch_mm: t's CPU runs mm (joins its cpumask). */
void switch_mm(struct sim_task *t, struct mm_struct *mm);
/* Boot-time frame for the PGD (no task to charge). */
struct page *zone_alloc_boot(struct zone *z);

/* vma.c */
/* Before the first VMA: switch mm_mt's writers' lock to the tree spinlock (or back). */
void mm_set_tree_lock(struct mm_struct *mm, enum mm_tree_lock kind);
struct vm_area_struct *vma_alloc(struct sim_task *t, struct mm_struct *mm, unsigned long start,
				 unsigned long end, unsigned long flags);
void vma_free(struct sim_task *t, struct vm_area_struct *vma);
void mm_mt_init(struct mm_struct *mm);
/* Lookups: t == NULL looks without charging (the checker). */
struct vm_area_struct *find_vma(struct sim_task *t, struct mm_struct *mm, unsigned long addr);
struct vm_area_struct *find_vma_prev(struct sim_task *t, struct mm_struct *mm,
				     unsigned long addr);
struct vm_area_struct *vma_next(struct sim_task *t, struct mm_struct *mm,
				struct vm_area_struct *vma);
void vma_insert(struct sim_task *t, struct mm_struct *mm, struct vm_area_struct *vma);
unsigned long get_unmapped_area(struct sim_task *t, struct mm_struct *mm, unsigned long len);
/* Split so no VMA straddles addr; false on OOM-free failure is impossible here. */
void vma_split_at(struct sim_task *t, struct mm_struct *mm, unsigned long addr);
/* Merge vma with the next VMA if they are adjacent and alike; true if merged. */
bool vma_merge_next(struct sim_task *t, struct mm_struct *mm, struct vm_area_struct *vma);
/* vma_merge_new_range: the free range of `proposed` (a VMA not in any tree, describing
 * the mapping to be made) joins a compatible prev and/or next; the VMA now covering it,
 * or NULL if neither neighbour could take it. */
struct vm_area_struct *vma_merge_new_range(struct sim_task *t, struct mm_struct *mm,
					   const struct vm_area_struct *proposed);
/* Whether a and b may share one anon_vma (the anon_vma rule of is_mergeable_anon_vma). */
bool vma_anon_compatible(const struct vm_area_struct *a, const struct vm_area_struct *b);
/* Remove VMAs inside [start, end) (after splitting) into `detached`. */
void vma_detach_range(struct sim_task *t, struct mm_struct *mm, unsigned long start,
		      unsigned long end, GPtrArray *detached);

/* mm lifetime (mmap.c) */
struct mm_struct *mm_create(struct zone *zone, const struct mm_scheme_ops *scheme);
/* Release the host memory of every structure (end of run; not simulated work). */
void mm_destroy(struct mm_struct *mm);

/*
 * mmap(2)'s arguments once the program's were checked (do_mmap): len page aligned,
 * vm_flags the access flags and VM_SHARED, file NULL for MAP_ANONYMOUS.  addr: without
 * MAP_FIXED a hint (0: none), taken when the range is free; with MAP_FIXED the range
 * [addr, addr + len) itself, page aligned and inside [MMAP_MIN_ADDR, TASK_SIZE).
 */
enum mmap_fixed {
	MMAP_HINT = 0,          /* no MAP_FIXED */
	MMAP_FIXED,             /* MAP_FIXED: unmap whatever overlaps first */
	MMAP_FIXED_NOREPLACE,   /* MAP_FIXED_NOREPLACE: -EEXIST if anything overlaps */
};
struct mmap_args {
	unsigned long addr, len, vm_flags;
	struct address_space *file;
	unsigned long pgoff;    /* file page mapped at addr */
	enum mmap_fixed fixed;
};
/* do_mmap's return: an address, or -errno in the top page (IS_ERR_VALUE). */
#define MMAP_IS_ERR(x) ((unsigned long)(x) >= (unsigned long)-4095)
#define MMAP_ENOMEM (-12UL)
#define MMAP_EEXIST (-17UL)

/* Scheme-independent bodies of the syscalls; the scheme takes the locks around them. */
/* mmap_region under mmap_lock (W), held throughout: a MAP_FIXED overlap is split off,
 * detached, zapped and freed before the return, with no downgrade. */
unsigned long mmap_region_locked(struct sim_task *t, struct mm_struct *mm,
				 const struct mmap_args *a);
/* Phase 1 under the write lock: split and detach [start, end).  Returns floor/ceiling. */
void munmap_detach_locked(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			  unsigned long end, GPtrArray *detached, unsigned long *floor,
			  unsigned long *ceiling);
/* Phase 2 (read lock suffices): zap, free tables, free the VMAs. */
void munmap_teardown(struct sim_task *t, struct mm_struct *mm, GPtrArray *detached,
		     unsigned long floor, unsigned long ceiling);

/* mprotect.c: the bodies of mprotect(2) and madvise(MADV_DONTNEED); the scheme locks. */
/* Under mmap_lock (W): split/merge, new flags, change_protection, one flush.  -ENOMEM if
 * [start, end) is not fully mapped (nothing changed then). */
int mprotect_locked(struct sim_task *t, struct mm_struct *mm, unsigned long start,
		    unsigned long end, unsigned long vm_flags);
/* Under mmap_lock (R): zap [start, end) of every VMA in it; -ENOMEM if a hole is met. */
int madvise_dontneed_locked(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			    unsigned long end);

/* access_error (arch/x86/mm/fault.c): the fault may not proceed on a VMA with these flags. */
static inline bool access_error(unsigned long vm_flags, unsigned int fault_flags)
{
	if ((fault_flags & FAULT_FLAG_WRITE) && !(vm_flags & VM_WRITE))
		return true;
	return !(vm_flags & (VM_READ | VM_WRITE));
}

/* fault.c: handle_mm_fault for a VMA found and stabilised by the scheme. */
/* vmf_anon_prepare: give vma its anon_vma before its first anonymous page (under a VMA
 * lock, by an mmap_lock trylock); VM_FAULT_RETRY or VM_FAULT_OOM on failure. */
vm_fault_t vmf_anon_prepare(struct sim_task *t, struct vm_area_struct *vma, unsigned int flags);
vm_fault_t handle_mm_fault(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
			   unsigned int flags);
/*
 * The pieces of the fault core a scheme that commits by itself uses (models/schemes/rcu.c):
 * a zeroed user page (nowait: GFP_NOWAIT, may fail), giving back one that lost its race,
 * and do_set_pte: map p (NULL: the zero page) at addr of table pt, whose lock the caller
 * holds after checking the entry is still `expect`.
 */
struct page *alloc_zeroed_user_page(struct sim_task *t, struct mm_struct *mm, bool nowait);
void drop_unmapped_page(struct sim_task *t, struct mm_struct *mm, struct page *p);
void do_set_pte(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
		struct page *pt, pteval_t expect, struct page *p);
/* The PTE commit with the PTE table's lock already held: false (nothing changed) if the
 * PTE is no longer `expect` (models/schemes/spf.c). */
bool set_pte_ptl_held(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
		      struct page *pt, pteval_t expect, struct page *p);

/*
 * huge_memory.c: THP for anonymous memory (kernel-algorithms.md A.6 step 4, G).  The
 * order-9 allocator path is in page_alloc.c.
 */
struct page *alloc_pages_huge(struct sim_task *t, struct zone *z);   /* NULL: none free */
void free_pages_huge(struct sim_task *t, struct zone *z, struct page *head);
/* May addr's 2 MiB range get a huge PMD in vma (aligned, inside it, thp allows it)? */
bool thp_vma_suitable(const struct vm_area_struct *vma, unsigned long addr);
/*
 * handle_mm_fault's PMD level (create_huge_pmd, the huge-PMD paths and the ≤6.4
 * pmd_trans_unstable check): true if the fault is finished there with *ret; false: go on
 * to the PTE level (the PMD now points at a PTE table).
 */
bool huge_pmd_fault(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
		    unsigned int flags, struct page *pmd_table, pteval_t *pmd, vm_fault_t *ret);
/*
 * pte_offset_map_lock after the table `pt` was found through *pmd: take its PTL, then
 * (mm->pmd_recheck) re-read the PMD and, under collapse = "pmd-seq", recheck the PMD
 * sequence.  NULL (nothing held; the caller refaults or rewalks) if the table is no
 * longer there or a collapse is in progress (waited for first).
 */
struct spinlock *pte_offset_map_lock(struct sim_task *t, struct mm_struct *mm, pteval_t *pmd,
				     struct page *pt);
/* The PMD entry on addr's path, or NULL if an upper level is missing (no allocation). */
pteval_t *pt_find_pmd(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		      struct page **pmd_table);
/* zap_huge_pmd: unmap the whole 2 MiB at *pmd, gathering the folio and its deposit. */
void zap_huge_pmd(struct sim_task *t, struct mmu_gather *tlb, struct page *pmd_table,
		  pteval_t *pmd, unsigned long haddr);
/* __split_huge_pmd: replace the huge PMD by its deposited PTE table, 512 PTEs. */
void split_huge_pmd(struct sim_task *t, struct mm_struct *mm, struct page *pmd_table,
		    pteval_t *pmd, unsigned long haddr);
/* change_huge_pmd: the whole 2 MiB gets newprot. */
void change_huge_pmd(struct sim_task *t, struct mmu_gather *tlb, struct page *pmd_table,
		     pteval_t *pmd, unsigned long haddr, pteval_t newprot);
/* Deposit / withdraw the PTE table kept with a huge PMD (pmd lock held). */
void pgtable_trans_huge_deposit(struct sim_task *t, struct mm_struct *mm,
				struct page *pmd_table, struct page *pt);
struct page *pgtable_trans_huge_withdraw(struct sim_task *t, struct mm_struct *mm,
					 struct page *pmd_table);
/* madvise(MADV_HUGEPAGE) body under mmap_lock (W): -ENOMEM if [start, end) has a hole. */
int madvise_hugepage_locked(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			    unsigned long end);
/* khugepaged.c: a walker met a collapse in progress (a marker PTE, an odd PMD sequence)
 * and sleeps until it ends, as migration_entry_wait does on the folio lock. */
void khugepaged_wait_collapse(struct sim_task *t, struct mm_struct *mm);
/* A user-visible fault that ran from t0 to t1 (ps), for the collapse-stall statistics. */
void khugepaged_note_fault(struct mm_struct *mm, sim_time_t t0, sim_time_t t1);
/* fork.c: fork's and exit's address-space halves. */
/* dup_mmap: a new mm with oldmm's VMAs, anon_vmas and (write-protected) page tables. */
struct mm_struct *dup_mm(struct sim_task *t, struct mm_struct *oldmm);
/* exit_mmap: zap and free everything of mm; the struct stays (RCU callbacks may still
 * name it) until mm_reap_exited at the end of the run. */
void exit_mmap(struct sim_task *t, struct mm_struct *mm);
/* Page tables of exited mms still waiting for a grace period (the checker counts them). */
long mm_exited_pt_pending(const struct zone *z);
void mm_reap_exited(struct zone *z);

/* mmu.c: a user load or store; faults through the scheme until it succeeds. */
int mmu_access(struct sim_task *t, struct mm_struct *mm, unsigned long addr, bool write);

/* check.c: whole-state consistency (tests and `check = true` runs). */

struct mm_check_report {
	uint64_t mapped_pages;   /* present PTEs to real pages */
	uint64_t zero_ptes;      /* present PTEs to the zero page */
	uint64_t table_pages;
	uint64_t pages_in_use;   /* per the allocator */
	uint64_t loads_verified; /* user loads checked against the shadow during the run */
	uint64_t stores_verified;
	int map_count;           /* VMAs in the tree at the end */
	char *error;             /* NULL if consistent */
};
void mm_check(struct mm_struct *mm, struct mm_check_report *r);
/* The same over several mms sharing pages (a process and its fork children, all of the
 * zone's live mms): mapcounts are counted across all of them. */
void mm_check_mms(struct mm_struct *const *mms, unsigned n, struct mm_check_report *r);

/*
 * check.c: the invariant checker that runs during the run (see docs/model-mm.md).  It
 * keeps a shadow of user memory, the syscalls in flight, and a ring of recent events per
 * virtual page; every user access is verified against it.  A violation is reported
 * through the handler (sim/run.c: print and exit with status 3).
 */
enum mm_event_kind {
	MEV_LOAD, MEV_STORE, MEV_FAULT_MAP, MEV_ZAP, MEV_CHANGE_PROT, MEV_PAGE_FREE,
	MEV_MMAP, MEV_MUNMAP, MEV_DONTNEED, MEV_MPROTECT, MEV_FORK_WP, MEV_COW, MEV_COLLAPSE,
	MEV_COLLAPSE_RELEASE, MEV_MIGRATE_ENTRY, MEV_MIGRATE_RESTORE, MEV_SWAP_ENTRY,
	MEV_SWAP_IN,
};
/* The user-visible operations whose effect on memory the shadow follows. */
enum mm_op_kind { MOP_MMAP, MOP_MUNMAP, MOP_DONTNEED, MOP_MPROTECT };

struct mm_checker *mm_checker_create(void);
/* fork: the child's shadow starts as a copy of the parent's virtual memory; physical
 * frames are one shadow shared by both.  The parent's checker must outlive the child's
 * (whose verified-access counts it receives). */
struct mm_checker *mm_checker_fork(const struct mm_checker *parent);
/* copy_user_highpage from src_pfn into dst_pfn (whose content_gen was just bumped): a
 * COW copy, or khugepaged copying a small page into its huge page. */
void mm_check_copy_page(struct mm_struct *mm, uint64_t src_pfn, uint64_t dst_pfn);
/* The same between any two frames named by number and content generation: a swap slot's
 * pseudo-frame (swap.h SWAP_PSEUDO_PFN + slot) and a page, written or read back. */
void mm_check_copy_frame(struct mm_struct *mm, uint64_t src_pfn, uint32_t src_gen,
			 uint64_t dst_pfn, uint32_t dst_gen);
void mm_checker_destroy(struct mm_checker *c);
/* Accesses verified so far (loads, stores), for results.json. */
void mm_checker_counts(const struct mm_checker *c, uint64_t *loads, uint64_t *stores);
typedef void (*mm_violation_fn)(const char *report, void *arg);
/* Where reports go (process-wide; default: stderr and exit status 3). */
void mm_set_violation_handler(mm_violation_fn fn, void *arg);
/* Report a broken invariant at addr (0: none) seen by t on the named code path. */
void mm_violation(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		  const char *invariant, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* A user access translated addr to pfn and is now performed: update and verify. */
void mm_check_access(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		     uint64_t pfn, bool write);
/* A page-table event on addr's page, for the page's event ring. */
void mm_check_event(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
		    enum mm_event_kind kind, uint64_t aux);
/* copy_user_highpage of frame src into dst, the private copy for addr's page of a file
 * mapping (its contents become the page's once the copy is mapped). */
void mm_check_copy(struct sim_task *t, struct mm_struct *mm, unsigned long addr, uint64_t src,
		   uint64_t dst);
/* A syscall on [start, end) begins / has returned (vm_flags: the new protection of mmap
 * and mprotect); `done`: whether it took effect (a failed mprotect changes nothing). */
int mm_check_op_begin(struct sim_task *t, struct mm_struct *mm, enum mm_op_kind kind,
		      unsigned long start, unsigned long end, unsigned long vm_flags);
void mm_check_op_end(struct sim_task *t, struct mm_struct *mm, int op, bool done);
/* mmap of a file returned: [start, end) maps file_id from page pgoff. */
void mm_check_mmap_file(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			unsigned long end, unsigned long vm_flags, uint32_t file_id,
			uint64_t pgoff, bool shared);

/*
 * Assert at a write that the lock protecting the field is held (vma_assert_write_locked,
 * lockdep_assert_held): a violation otherwise, always on.
 */
#define mm_assert_locked(t, mm, addr, held, field, lock)                                          \
	do {                                                                                       \
		if (__builtin_expect(!(held), 0))                                                  \
			mm_violation(t, mm, addr, "field-written-under-its-lock", __func__,        \
				     "%s written without %s held", field, lock);                   \
	} while (0)

#endif
