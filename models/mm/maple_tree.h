/*
 * The maple tree: an RCU-safe B-tree of ranges, used as mm->mm_mt, the VMA index.
 *
 * Modelled on lib/maple_tree.c and include/linux/maple_tree.h (Linux 6.4-6.15, 64-bit):
 * 256-byte nodes aligned to 256 bytes; leaves hold 16 slots and 15 inclusive upper-bound
 * pivots; internal nodes of an allocation-range tree hold 10 slots, 9 pivots and the
 * largest gap (run of NULL indices) below each child.  The tree covers [0, ULONG_MAX];
 * gaps are stored as NULL ranges.  Spec: ../shared/reference/kernel-algorithms.md §F;
 * layout, store kinds and simplifications: docs/model-mm.md "Maple tree".
 *
 * Readers walk without any lock in RCU mode: a published node is never changed except by
 * an in-place slot store whose every intermediate state is either the old or the new
 * mapping for each index.  Every other write builds replacement nodes, publishes them by
 * one pointer store, marks each replaced node dead (parent := itself) and hands it to the
 * embedder's free callback.  A reader that finds the node it just read from dead
 * restarts from the root.
 *
 * Writers are serialised either by an external lock (mm: mmap_lock held for write) or by
 * the tree's own spinlock (MT_FLAGS_LOCK_EXTERN clear), and preallocate the nodes a store
 * may need (mas_preallocate) so the store itself cannot fail.
 */
#ifndef MMSIM_MAPLE_TREE_H
#define MMSIM_MAPLE_TREE_H

#include <stdint.h>
#include <stdbool.h>
#include "task.h"
#include "sync/spinlock.h"

#define MAPLE_NODE_SIZE 256
#define MAPLE_RANGE64_SLOTS 16
#define MAPLE_ARANGE64_SLOTS 10
#define MAPLE_HEIGHT_MAX 16
/* A store replaces at most 3 nodes per level plus a new root (see mas_preallocate). */
#define MAPLE_ALLOC_MAX (3 * MAPLE_HEIGHT_MAX + 1)

/* ma_flags */
#define MT_FLAGS_ALLOC_RANGE 0x01u /* internal nodes keep gaps (the only kind built here) */
#define MT_FLAGS_USE_RCU 0x02u	   /* lockless readers exist: each reader step syncs */
#define MT_FLAGS_LOCK_EXTERN 0x04u /* writers hold an external lock, not ma_lock */

enum maple_type {
	maple_leaf_64 = 1,   /* 16 slots, 15 pivots, metadata in the last slot if not full */
	maple_arange_64 = 2, /* 10 slots, 9 pivots, 10 gaps, metadata */
};

struct maple_metadata {
	unsigned char end; /* offset of the last used slot */
	unsigned char gap; /* arange: offset of the largest gap */
};

/*
 * Leaf.  Lines: L0 parent + pivot[0..6], L1 pivot[7..14], L2 slot[0..7], L3 slot[8..15].
 * Slot i covers (pivot[i-1], pivot[i]]; slot 0 starts at the node's min.  If the node is
 * not full, pivot[end] holds the node's max (so a reader's pivot scan always stops at or
 * before `end` without reading the metadata), later pivots are 0 and the metadata lives
 * in slot 15.
 */
struct maple_range_64 {
	uintptr_t parent;
	unsigned long pivot[MAPLE_RANGE64_SLOTS - 1];
	union {
		void *slot[MAPLE_RANGE64_SLOTS];
		struct {
			void *pad[MAPLE_RANGE64_SLOTS - 1];
			struct maple_metadata meta;
		};
	};
};

/*
 * Internal node of an allocation-range tree.  Lines: L0 parent + pivot[0..6], L1
 * pivot[7..8] + slot[0..5], L2 slot[6..9] + gap[0..3], L3 gap[4..9] + metadata.
 */
struct maple_arange_64 {
	uintptr_t parent;
	unsigned long pivot[MAPLE_ARANGE64_SLOTS - 1];
	void *slot[MAPLE_ARANGE64_SLOTS];
	unsigned long gap[MAPLE_ARANGE64_SLOTS];
	struct maple_metadata meta;
};

/*
 * parent: for the root, the tree's address | 1; otherwise the parent node's address |
 * (offset in the parent << 2).  A dead node's parent is its own address.
 */
struct maple_node {
	union {
		uintptr_t parent;
		struct maple_range_64 mr64;
		struct maple_arange_64 ma64;
	};
} __attribute__((aligned(MAPLE_NODE_SIZE)));

_Static_assert(sizeof(struct maple_node) == MAPLE_NODE_SIZE, "maple node is 256 bytes");

struct maple_tree;
/* Called once for each node a store replaced, after it is unreachable and marked dead. */
typedef void (*mt_free_fn)(void *arg, struct sim_task *t, struct maple_node *node);
/* External-lock check: does t hold the writers' lock? */
typedef bool (*mt_lock_held_fn)(const void *lock, const struct sim_task *t);

/* What a store did (bits of maple_tree.last_store; counted in maple_tree.stores[]). */
enum mt_store_kind {
	MT_WR_EXACT,	 /* in place: one slot of an exactly matching range overwritten */
	MT_WR_SLOT,	 /* in place: one boundary moved between two ranges of a leaf */
	MT_WR_NODE,	 /* one leaf rebuilt in a new node */
	MT_WR_SPLIT,	 /* a leaf overflowed into two or three new leaves */
	MT_WR_REBALANCE, /* a node underflowed and was merged with a neighbour */
	MT_WR_SPANNING,	 /* the range crossed leaves; the covered subtrees were dropped */
	MT_WR_GROW,	 /* the height increased */
	MT_WR_SHRINK,	 /* the height decreased */
	MT_WR_NR
};

struct maple_tree {
	void *ma_root; /* encoded root node or NULL (all of [0, ULONG_MAX] NULL) */
	unsigned ma_flags;
	unsigned char height;	  /* 0: empty; 1: the root is a leaf */
	struct spinlock ma_lock;  /* writers' lock unless MT_FLAGS_LOCK_EXTERN */
	struct spinlock *lockp;   /* the writers' lock in use: &ma_lock, or mt_set_lock's */
	mt_lock_held_fn ext_held; /* MT_FLAGS_LOCK_EXTERN: asserted by every write */
	const void *ext_lock;
	mt_free_fn free_node; /* default: free at once (see mt_init) */
	void *free_arg;
	/* Statistics, host-side only (no simulated cost). */
	unsigned last_store; /* bitmask of 1 << enum mt_store_kind */
	uint64_t stores[MT_WR_NR];
	uint64_t nodes_allocated; /* preallocated */
	uint64_t nodes_unused;	  /* preallocated, never used, returned by mas_destroy */
	uint64_t nodes_dead;	  /* handed to free_node */
	uint64_t wr_seq;	  /* bumped by every store (validates a cached plan) */
};

enum maple_status { ma_start, ma_active, ma_done };

/*
 * The walk/write state.  t is charged for every access; t == NULL walks uncharged (the
 * checker and test setup) and never syncs.
 */
struct ma_state {
	struct maple_tree *tree;
	struct sim_task *t;
	unsigned long index, last; /* query, then the range of the entry found */
	enum maple_status status;
	void *node;		/* encoded node the next step reads */
	unsigned long min, max; /* its range */
	unsigned char depth;	/* its depth (0: root) */
	unsigned char offset;	/* slot taken in the last node read */
	void *entry;		/* result when status == ma_done */
	unsigned restarts;	/* dead nodes met (reader restarts from the root) */
	/* preallocation */
	struct maple_node *alloc[MAPLE_ALLOC_MAX];
	unsigned nr_alloc;
	/* store plan cached by mas_preallocate for mas_store_prealloc */
	bool planned;
	uint64_t plan_seq;
	unsigned long plan_first, plan_last;
	void *plan_entry;
	int plan_kind;
};

#define MA_STATE(name, mt, task, first, end)                                                       \
	struct ma_state name = {                                                                   \
	    .tree = (mt), .t = (task), .index = (first), .last = (end), .status = ma_start}

/* Set up an empty tree.  The default free callback frees at once: correct only when every
 * reader holds the writers' lock, so no reader can be inside a replaced node (mm today:
 * find_vma under mmap_lock).  Lockless readers need mt_set_free with a deferred free. */
void mt_init(struct maple_tree *mt, unsigned flags);
void mt_set_external_lock(struct maple_tree *mt, mt_lock_held_fn held, const void *lock);
void mt_set_free(struct maple_tree *mt, mt_free_fn fn, void *arg);
/* Writers take the tree's own spinlock, placed at `lock` by the tree's owner (so that it
 * can sit on a line of its own): clears MT_FLAGS_LOCK_EXTERN.  Empty tree only. */
void mt_set_lock(struct maple_tree *mt, struct spinlock *lock);
/* Release every node (host memory; no simulated cost, no callback). */
void mtree_destroy(struct maple_tree *mt);

static inline bool mt_in_rcu(const struct maple_tree *mt)
{
	return mt->ma_flags & MT_FLAGS_USE_RCU;
}

/* mt_set_in_rcu: lockless readers may exist from now on.  Install a deferred free
 * (mt_set_free) first: the default one frees replaced nodes at once. */
static inline void mt_set_in_rcu(struct maple_tree *mt)
{
	mt->ma_flags |= MT_FLAGS_USE_RCU;
}

/* Writers' lock of a tree without an external one. */
void mtree_lock(struct sim_task *t, struct maple_tree *mt);
void mtree_unlock(struct sim_task *t, struct maple_tree *mt);

/* Readers */
void mas_reset(struct ma_state *mas); /* back to ma_start, same index */
/* One level of the walk to mas->index: the first step loads the root, each later step
 * reads one node.  Returns true once the entry is found (mas->entry, range in
 * mas->index..mas->last).  A dead node sends the state back to ma_start. */
bool mas_walk_step(struct ma_state *mas);
void *mas_walk(struct ma_state *mas);
/* First non-NULL entry whose range ends at or after mas->index and starts at or before
 * max; its range in mas->index..last.  NULL if none. */
void *mas_find(struct ma_state *mas, unsigned long max);
/* After a walk or find: the next non-NULL entry starting at or before max (the next
 * slot of the same leaf if it has one), its range in mas->index..last.  NULL if none. */
void *mas_next(struct ma_state *mas, unsigned long max);
/* Last non-NULL entry whose range starts at or before mas->index and ends at or after
 * min.  NULL if none. */
void *mas_find_rev(struct ma_state *mas, unsigned long min);
/* Highest gap of `size` indices within [min, max]: 0 and the area in mas->index..last
 * (last as high as possible), or -EBUSY.  Needs the writers' lock (gaps are not RCU). */
int mas_empty_area_rev(struct ma_state *mas, unsigned long min, unsigned long max,
		       unsigned long size);

/* Writers (hold the writers' lock). */
/* Allocate every node the store of entry over mas->index..last can need. */
void mas_preallocate(struct ma_state *mas, void *entry);
void mas_store_prealloc(struct ma_state *mas, void *entry);
void mas_destroy(struct ma_state *mas); /* return unused preallocated nodes */
/* Lock (own lock only), preallocate, store, destroy. */
void mtree_store_range(struct sim_task *t, struct maple_tree *mt, unsigned long first,
		       unsigned long last, void *entry);

/* Whole-tree structural check: NULL if valid, else a description (g_free it). */
char *mt_validate(const struct maple_tree *mt);
/* Nodes reachable from the root. */
uint64_t mt_nr_nodes(const struct maple_tree *mt);

#endif
