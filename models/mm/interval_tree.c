/*
 * i_mmap's interval tree of VMAs (the role of mm/interval_tree.c's vma_interval_tree, an
 * augmented rbtree keyed by vm_pgoff).  Here: an augmented treap.  Keys are (start, seq),
 * unique, so a VMA is found again for removal by its key; priorities come from a
 * splitmix64 of the tree's insertion sequence (reproducible, no host randomness), which
 * keeps the expected depth logarithmic as the rbtree's is.  Every node stores
 * subtree_last, the highest `last` below it, maintained on every path that changes.
 * Costs: each node visited is a load of its line in the VMA (the kernel reads vma->shared
 * on its own VMA line), each node rewritten a store; the caller holds the i_mmap lock.
 */
#include "mm.h"
#include "fs.h"
#include "hw/hw.h"
#include "die.h"

#define N(v) (&(v)->shared)

static void touch(struct sim_task *t, struct vm_area_struct *v, bool write)
{
	if (!t)
		return;
	if (write)
		hw_store(t, N(v), sizeof(struct i_mmap_node));
	else
		hw_load(t, N(v), sizeof(struct i_mmap_node));
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

/* a precedes b in key order */
static bool key_less(const struct i_mmap_node *a, const struct i_mmap_node *b)
{
	return a->start < b->start || (a->start == b->start && a->seq < b->seq);
}

static void fix(struct vm_area_struct *v)
{
	struct i_mmap_node *n = N(v);
	unsigned long m = n->last;
	if (n->left && N(n->left)->subtree_last > m)
		m = N(n->left)->subtree_last;
	if (n->right && N(n->right)->subtree_last > m)
		m = N(n->right)->subtree_last;
	n->subtree_last = m;
}

/* Split the treap at root into keys < k (*l) and keys >= k (*r). */
static void split(struct sim_task *t, struct vm_area_struct *root, const struct i_mmap_node *k,
		  struct vm_area_struct **l, struct vm_area_struct **r)
{
	if (!root) {
		*l = *r = NULL;
		return;
	}
	touch(t, root, false);
	if (key_less(N(root), k)) {
		split(t, N(root)->right, k, &N(root)->right, r);
		*l = root;
	} else {
		split(t, N(root)->left, k, l, &N(root)->left);
		*r = root;
	}
	touch(t, root, true);
	fix(root);
}

/* Join two treaps, every key of a before every key of b. */
static struct vm_area_struct *merge(struct sim_task *t, struct vm_area_struct *a,
				    struct vm_area_struct *b)
{
	if (!a || !b)
		return a ? a : b;
	touch(t, a, false);
	touch(t, b, false);
	if (N(a)->prio > N(b)->prio) {
		N(a)->right = merge(t, N(a)->right, b);
		touch(t, a, true);
		fix(a);
		return a;
	}
	N(b)->left = merge(t, a, N(b)->left);
	touch(t, b, true);
	fix(b);
	return b;
}

/* Insert by priority: descend while the nodes outrank us, then split there. */
static struct vm_area_struct *insert(struct sim_task *t, struct vm_area_struct *root,
				     struct vm_area_struct *v)
{
	if (!root)
		return v;
	touch(t, root, false);
	if (N(v)->prio > N(root)->prio) {
		split(t, root, N(v), &N(v)->left, &N(v)->right);
		fix(v);
		return v;
	}
	if (key_less(N(v), N(root)))
		N(root)->left = insert(t, N(root)->left, v);
	else
		N(root)->right = insert(t, N(root)->right, v);
	touch(t, root, true);
	fix(root);
	return root;
}

static struct vm_area_struct *remove_node(struct sim_task *t, struct vm_area_struct *root,
					  struct vm_area_struct *v)
{
	sim_bug_on(!root); /* v is linked, so it is on the search path */
	touch(t, root, false);
	if (root == v)
		return merge(t, N(v)->left, N(v)->right);
	if (key_less(N(v), N(root)))
		N(root)->left = remove_node(t, N(root)->left, v);
	else
		N(root)->right = remove_node(t, N(root)->right, v);
	touch(t, root, true);
	fix(root);
	return root;
}

void vma_interval_tree_insert(struct sim_task *t, struct vm_area_struct *vma,
			      struct i_mmap_tree *tree)
{
	struct i_mmap_node *n = N(vma);
	sim_bug_on(n->linked);
	n->start = vma->vm_pgoff;
	n->last = vma->vm_pgoff + ((vma->vm_end - vma->vm_start) >> PAGE_SHIFT) - 1;
	n->subtree_last = n->last;
	n->left = n->right = NULL;
	n->seq = ++tree->seq;
	n->prio = splitmix64(n->seq);
	n->linked = true;
	touch(t, vma, true);
	tree->root = insert(t, tree->root, vma);
	tree->nr++;
}

void vma_interval_tree_remove(struct sim_task *t, struct vm_area_struct *vma,
			      struct i_mmap_tree *tree)
{
	sim_bug_on(!N(vma)->linked);
	tree->root = remove_node(t, tree->root, vma);
	N(vma)->linked = false;
	N(vma)->left = N(vma)->right = NULL;
	tree->nr--;
}

static bool foreach(struct sim_task *t, struct vm_area_struct *v, unsigned long first,
		    unsigned long last, bool (*fn)(struct vm_area_struct *, void *), void *arg)
{
	if (!v)
		return true;
	touch(t, v, false);
	const struct i_mmap_node *n = N(v);
	if (n->subtree_last < first)
		return true; /* everything below ends before the query */
	if (!foreach(t, n->left, first, last, fn, arg))
		return false;
	if (n->start > last)
		return true; /* this node and its right subtree start after it */
	if (n->last >= first && !fn(v, arg))
		return false;
	return foreach(t, n->right, first, last, fn, arg);
}

void vma_interval_tree_foreach(struct sim_task *t, struct i_mmap_tree *tree, unsigned long first,
			       unsigned long last,
			       bool (*fn)(struct vm_area_struct *vma, void *arg), void *arg)
{
	foreach(t, tree->root, first, last, fn, arg);
}

static char *validate(const struct vm_area_struct *v, const struct i_mmap_node *lo,
		      const struct i_mmap_node *hi, unsigned long *count)
{
	if (!v)
		return NULL;
	const struct i_mmap_node *n = &v->shared;
	(*count)++;
	if (!n->linked)
		return g_strdup_printf("node [%lu, %lu] in the tree is not marked linked", n->start,
				       n->last);
	if ((lo && !key_less(lo, n)) || (hi && !key_less(n, hi)))
		return g_strdup_printf("node [%lu, %lu] out of key order", n->start, n->last);
	unsigned long m = n->last;
	for (int i = 0; i < 2; i++) {
		const struct vm_area_struct *c = i ? n->right : n->left;
		if (!c)
			continue;
		if (c->shared.prio > n->prio)
			return g_strdup_printf("child of [%lu, %lu] outranks it", n->start, n->last);
		if (c->shared.subtree_last > m)
			m = c->shared.subtree_last;
	}
	if (m != n->subtree_last)
		return g_strdup_printf("node [%lu, %lu]: subtree_last %lu, want %lu", n->start,
				       n->last, n->subtree_last, m);
	if (n->last != v->vm_pgoff + ((v->vm_end - v->vm_start) >> PAGE_SHIFT) - 1 ||
	    n->start != v->vm_pgoff)
		return g_strdup_printf("node [%lu, %lu] does not match its VMA's pages", n->start,
				       n->last);
	char *e = validate(n->left, lo, n, count);
	return e ? e : validate(n->right, n, hi, count);
}

char *vma_interval_tree_validate(const struct i_mmap_tree *tree)
{
	unsigned long count = 0;
	char *e = validate(tree->root, NULL, NULL, &count);
	if (!e && count != tree->nr)
		e = g_strdup_printf("%lu nodes reachable but nr = %lu", count, tree->nr);
	return e;
}
