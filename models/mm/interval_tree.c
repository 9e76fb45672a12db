/*
 * The augmented interval tree of both reverse maps (mm/interval_tree.c: the
 * vma_interval_tree of i_mmap and the anon_vma_interval_tree of anon_vma->rb_root, both
 * instances of include/linux/interval_tree_generic.h, an augmented rbtree).  Here: one
 * augmented treap over struct itree_node, embedded in the VMA (vma->shared) and in the
 * anon_vma_chain (avc->rb); design, key order and costs in interval_tree.h.  The
 * vma_interval_tree_* wrappers for i_mmap are at the end; the anon_vma ones are in
 * anon_vma.c.
 */
#include "mm.h"
#include "fs.h"
#include "mm/interval_tree.h"
#include "hw/hw.h"
#include "die.h"

/* Each node visited or rewritten is charged on its own bytes: the line of the object
 * embedding it (a VMA's VMA.FILE line, an anon_vma_chain's first line). */
static void touch(struct sim_task *t, struct itree_node *n, bool write)
{
	if (!t)
		return;
	if (write)
		hw_store(t, n, sizeof(*n));
	else
		hw_load(t, n, sizeof(*n));
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

/* a precedes b in key order */
static bool key_less(const struct itree_node *a, const struct itree_node *b)
{
	return a->start < b->start || (a->start == b->start && a->seq < b->seq);
}

/* The augmentation (the template's ITSUBTREE compute callback). */
static void fix(struct itree_node *n)
{
	unsigned long m = n->last;
	if (n->left && n->left->subtree_last > m)
		m = n->left->subtree_last;
	if (n->right && n->right->subtree_last > m)
		m = n->right->subtree_last;
	n->subtree_last = m;
}

/* Split the treap at root into keys < k (*l) and keys >= k (*r). */
static void split(struct sim_task *t, struct itree_node *root, const struct itree_node *k,
		  struct itree_node **l, struct itree_node **r)
{
	if (!root) {
		*l = *r = NULL;
		return;
	}
	touch(t, root, false);
	if (key_less(root, k)) {
		split(t, root->right, k, &root->right, r);
		*l = root;
	} else {
		split(t, root->left, k, l, &root->left);
		*r = root;
	}
	touch(t, root, true);
	fix(root);
}

/* Join two treaps, every key of a before every key of b. */
static struct itree_node *merge(struct sim_task *t, struct itree_node *a, struct itree_node *b)
{
	if (!a || !b)
		return a ? a : b;
	touch(t, a, false);
	touch(t, b, false);
	if (a->prio > b->prio) {
		a->right = merge(t, a->right, b);
		touch(t, a, true);
		fix(a);
		return a;
	}
	b->left = merge(t, a, b->left);
	touch(t, b, true);
	fix(b);
	return b;
}

/* Insert by priority: descend while the nodes outrank us, then split there. */
static struct itree_node *insert(struct sim_task *t, struct itree_node *root,
				 struct itree_node *n)
{
	if (!root)
		return n;
	touch(t, root, false);
	if (n->prio > root->prio) {
		split(t, root, n, &n->left, &n->right);
		fix(n);
		return n;
	}
	if (key_less(n, root))
		root->left = insert(t, root->left, n);
	else
		root->right = insert(t, root->right, n);
	touch(t, root, true);
	fix(root);
	return root;
}

static struct itree_node *remove_node(struct sim_task *t, struct itree_node *root,
				      struct itree_node *n)
{
	sim_bug_on(!root); /* n is linked, so it is on the search path */
	touch(t, root, false);
	if (root == n)
		return merge(t, n->left, n->right);
	if (key_less(n, root))
		root->left = remove_node(t, root->left, n);
	else
		root->right = remove_node(t, root->right, n);
	touch(t, root, true);
	fix(root);
	return root;
}

void itree_insert(struct sim_task *t, struct itree_root *tree, struct itree_node *n,
		  unsigned long start, unsigned long last, uint64_t seq)
{
	sim_bug_on(n->linked || last < start);
	n->start = start;
	n->last = last;
	n->subtree_last = last;
	n->left = n->right = NULL;
	n->seq = seq;
	n->prio = splitmix64(seq);
	n->linked = true;
	touch(t, n, true);
	tree->root = insert(t, tree->root, n);
	tree->nr++;
}

void itree_remove(struct sim_task *t, struct itree_root *tree, struct itree_node *n)
{
	sim_bug_on(!n->linked);
	tree->root = remove_node(t, tree->root, n);
	n->linked = false;
	n->left = n->right = NULL;
	tree->nr--;
}

struct query {
	struct sim_task *t;
	unsigned long first, last;
	bool (*fn)(struct itree_node *, void *);
	void *arg;
	unsigned visited;
};

/* In key order; false once fn asked to stop. */
static bool foreach(struct query *q, struct itree_node *n)
{
	if (!n)
		return true;
	touch(q->t, n, false);
	q->visited++;
	if (n->subtree_last < q->first)
		return true; /* everything below ends before the query */
	if (!foreach(q, n->left))
		return false;
	if (n->start > q->last)
		return true; /* this node and its right subtree start after it */
	if (n->last >= q->first && !q->fn(n, q->arg))
		return false;
	return foreach(q, n->right);
}

unsigned itree_foreach(struct sim_task *t, const struct itree_root *tree, unsigned long first,
		       unsigned long last, bool (*fn)(struct itree_node *n, void *arg), void *arg)
{
	struct query q = { t, first, last, fn, arg, 0 };
	foreach(&q, tree->root);
	return q.visited;
}

struct check {
	char *(*check_node)(const struct itree_node *, void *);
	void *arg;
	unsigned long count;
};

static char *validate(struct check *c, const struct itree_node *n, const struct itree_node *lo,
		      const struct itree_node *hi)
{
	if (!n)
		return NULL;
	c->count++;
	if (!n->linked)
		return g_strdup_printf("node [%lu, %lu] in the tree is not marked linked", n->start,
				       n->last);
	if (n->last < n->start)
		return g_strdup_printf("node [%lu, %lu] ends before it starts", n->start, n->last);
	if ((lo && !key_less(lo, n)) || (hi && !key_less(n, hi)))
		return g_strdup_printf("node [%lu, %lu] out of key order", n->start, n->last);
	if (n->prio != splitmix64(n->seq))
		return g_strdup_printf("node [%lu, %lu]: priority not drawn from its seq",
				       n->start, n->last);
	unsigned long m = n->last;
	for (int i = 0; i < 2; i++) {
		const struct itree_node *ch = i ? n->right : n->left;
		if (!ch)
			continue;
		if (ch->prio > n->prio)
			return g_strdup_printf("child of [%lu, %lu] outranks it", n->start, n->last);
		if (ch->subtree_last > m)
			m = ch->subtree_last;
	}
	if (m != n->subtree_last)
		return g_strdup_printf("node [%lu, %lu]: subtree_last %lu, want %lu", n->start,
				       n->last, n->subtree_last, m);
	if (c->check_node) {
		char *e = c->check_node(n, c->arg);
		if (e)
			return e;
	}
	char *e = validate(c, n->left, lo, n);
	return e ? e : validate(c, n->right, n, hi);
}

char *itree_validate(const struct itree_root *tree,
		     char *(*check_node)(const struct itree_node *n, void *arg), void *arg)
{
	struct check c = { check_node, arg, 0 };
	char *e = validate(&c, tree->root, NULL, NULL);
	if (!e && c.count != tree->nr)
		e = g_strdup_printf("%lu nodes reachable but nr = %lu", c.count, tree->nr);
	return e;
}

/* ---- i_mmap: VMAs by file page range (vma_interval_tree_*) ---- */

#define node_vma(n) itree_entry(n, struct vm_area_struct, shared)

void vma_interval_tree_insert(struct sim_task *t, struct vm_area_struct *vma,
			      struct itree_root *tree)
{
	unsigned long last = vma->vm_pgoff + ((vma->vm_end - vma->vm_start) >> PAGE_SHIFT) - 1;
	itree_insert(t, tree, &vma->shared, vma->vm_pgoff, last, itree_next_seq(tree));
}

void vma_interval_tree_remove(struct sim_task *t, struct vm_area_struct *vma,
			      struct itree_root *tree)
{
	itree_remove(t, tree, &vma->shared);
}

struct vma_query {
	bool (*fn)(struct vm_area_struct *, void *);
	void *arg;
};

static bool vma_query_one(struct itree_node *n, void *arg)
{
	struct vma_query *q = arg;
	return q->fn(node_vma(n), q->arg);
}

void vma_interval_tree_foreach(struct sim_task *t, struct itree_root *tree, unsigned long first,
			       unsigned long last,
			       bool (*fn)(struct vm_area_struct *vma, void *arg), void *arg)
{
	itree_foreach(t, tree, first, last, vma_query_one, &(struct vma_query){ fn, arg });
}

static char *vma_node_matches(const struct itree_node *n, void *arg)
{
	(void)arg;
	const struct vm_area_struct *v = itree_entry(n, const struct vm_area_struct, shared);
	if (n->last != v->vm_pgoff + ((v->vm_end - v->vm_start) >> PAGE_SHIFT) - 1 ||
	    n->start != v->vm_pgoff)
		return g_strdup_printf("node [%lu, %lu] does not match its VMA's pages", n->start,
				       n->last);
	return NULL;
}

char *vma_interval_tree_validate(const struct itree_root *tree)
{
	return itree_validate(tree, vma_node_matches, NULL);
}
