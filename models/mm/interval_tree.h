/*
 * The augmented interval tree behind both reverse maps (mm/interval_tree.c, built on
 * include/linux/interval_tree_generic.h): file pages -> VMAs (address_space->i_mmap,
 * vma_interval_tree_*) and anonymous pages -> anon_vma_chains (anon_vma->rb_root,
 * anon_vma_interval_tree_*).  The kernel instantiates one augmented red-black tree per
 * user from a template; here one augmented treap works on a node embedded in the user's
 * object (vma->shared, avc->rb), and each user finds its object from the node.
 *
 * Keys are (start, seq), unique: start is the first page offset, seq orders equal starts
 * (i_mmap: the tree's insertion number; anon_vma: the chain's creation number).  The
 * priority is splitmix64(seq) (reproducible, never a host address or host randomness),
 * which keeps the expected depth logarithmic as the rbtree's colouring does.  Every node
 * stores subtree_last, the highest `last` below it, so an overlap query skips every
 * subtree that ends before it and stops at the first node that starts after it: O(log n)
 * plus the nodes reported (each at most a root-to-leaf path away).
 *
 * Costs: each node visited is a load of the node's own bytes (its line in the object
 * that embeds it), each node rewritten (rotation, subtree_last) a store; t == NULL is
 * uncharged (the checker, unit tests).  The caller holds the tree's lock (W) to change,
 * (R) to walk.
 */
#ifndef MMSIM_INTERVAL_TREE_H
#define MMSIM_INTERVAL_TREE_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include "task.h"

struct itree_node {
	struct itree_node *left, *right;
	unsigned long start, last;   /* the interval, inclusive, page offsets */
	unsigned long subtree_last;  /* max(last) over this node and its subtrees */
	uint64_t prio;               /* splitmix64(seq): heap order, parent >= child */
	uint64_t seq;                /* tie-break between equal starts */
	bool linked;
};

/* The object embedding node ptr as member (the kernel's container_of / rb_entry). */
#define itree_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct itree_root {
	struct itree_node *root;
	unsigned long nr;            /* nodes linked */
	uint64_t seq;                /* last insertion number handed out (itree_next_seq) */
};

/* A fresh insertion number of tree (for users keyed by insertion order). */
static inline uint64_t itree_next_seq(struct itree_root *tree)
{
	return ++tree->seq;
}

/* Link n over [start, last] with tie-break seq (unique within the tree). */
void itree_insert(struct sim_task *t, struct itree_root *tree, struct itree_node *n,
		  unsigned long start, unsigned long last, uint64_t seq);
void itree_remove(struct sim_task *t, struct itree_root *tree, struct itree_node *n);
/*
 * Call fn on every node whose interval meets [first, last], in key order; stop at the
 * first fn that returns false.  Returns the number of nodes visited (each one load).
 */
unsigned itree_foreach(struct sim_task *t, const struct itree_root *tree, unsigned long first,
		       unsigned long last, bool (*fn)(struct itree_node *n, void *arg), void *arg);
/*
 * Structure check: key order, subtree_last, heap order of priorities, priorities drawn
 * from seq, linked marks and the count; check_node (may be NULL) adds the user's own
 * rule per node (e.g. the node matches its object's range).  NULL or a message to
 * g_free.
 */
char *itree_validate(const struct itree_root *tree,
		     char *(*check_node)(const struct itree_node *n, void *arg), void *arg);

#endif
