/*
 * The page cache index: a radix tree of 64-slot nodes, the shape of lib/xarray.c (each
 * level consumes 6 bits of the index; the root's shift says how many levels there are).
 * A lookup (xas_load under rcu_read_lock) reads the head, then one slot per level, each on
 * the real node's line; a store (xas_store under xa_lock) grows the tree by adding roots
 * above the old one until the index fits, allocates the missing nodes on the way down and
 * writes the slot.  Node slab alloc cost: path.maple_node_alloc (the same SLUB per-CPU
 * fast path; the writer's stores into the node are charged by the cache model).
 */
#include "mm.h"
#include "fs.h"
#include "hw/hw.h"
#include "die.h"

/* radix_tree_node_cachep */
static struct kmem_cache xa_node_cache = { sizeof(struct xa_node), 64, NULL };

void xa_init(struct xarray *xa, const char *lock_name)
{
	*xa = (struct xarray){ 0 };
	spin_lock_init(&xa->xa_lock, lock_name);
}

static void xa_free_subtree(struct xa_node *n)
{
	for (unsigned i = 0; n->shift && i < XA_CHUNK_SIZE; i++)
		if (n->slots[i])
			xa_free_subtree(n->slots[i]);
	g_aligned_free(n);
}

void xa_destroy(struct xarray *xa)
{
	if (xa->xa_head)
		xa_free_subtree(xa->xa_head);
	xa->xa_head = NULL;
	xa->nr_nodes = 0;
}

/* Highest index a tree whose root has `shift` can hold. */
static unsigned long xa_max_index(unsigned shift)
{
	unsigned bits = shift + XA_CHUNK_SHIFT;
	return bits >= 64 ? ~0UL : (1UL << bits) - 1;
}

int xa_height(const struct xarray *xa)
{
	const struct xa_node *n = xa->xa_head;
	return n ? n->shift / XA_CHUNK_SHIFT + 1 : 0;
}

void *xa_load(struct sim_task *t, struct xarray *xa, unsigned long index)
{
	if (t)
		hw_load(t, &xa->xa_head, sizeof(xa->xa_head));
	struct xa_node *n = xa->xa_head;
	if (!n || index > xa_max_index(n->shift))
		return NULL;
	for (;;) {
		unsigned off = (index >> n->shift) & XA_CHUNK_MASK;
		void *e = n->slots[off];
		if (t)
			hw_load(t, &n->slots[off], sizeof(void *)); /* that slot's line */
		if (!n->shift || !e)
			return e;
		n = e;
	}
}

static struct xa_node *xa_node_alloc(struct sim_task *t, struct xarray *xa, unsigned shift,
				     struct xa_node *parent, unsigned offset)
{
	struct xa_node *n = kmem_cache_alloc(&xa_node_cache);
	if (t) {
		cpu_work(t, t->machine->path.maple_node_alloc);
		hw_store(t, n, 64); /* the header line; slots start zeroed */
	}
	n->shift = (unsigned char)shift;
	n->parent = parent;
	n->offset = (unsigned char)offset;
	xa->nr_nodes++;
	return n;
}

void *xa_store_locked(struct sim_task *t, struct xarray *xa, unsigned long index, void *entry)
{
	if (t)
		spin_assert_held(t, &xa->xa_lock);
	if (!entry) /* a removal: only by callers with no readers (struct xarray) */
		return xa_erase(xa, index);
	struct xa_node *n = xa->xa_head;
	if (!n) {
		unsigned shift = 0;
		while (index > xa_max_index(shift))
			shift += XA_CHUNK_SHIFT;
		n = xa_node_alloc(t, xa, shift, NULL, 0);
		if (t)
			hw_store(t, &xa->xa_head, sizeof(xa->xa_head));
		xa->xa_head = n;
	}
	/* xas_expand: a new root above the old one, which becomes its slot 0. */
	while (index > xa_max_index(n->shift)) {
		struct xa_node *root = xa_node_alloc(t, xa, n->shift + XA_CHUNK_SHIFT, NULL, 0);
		root->slots[0] = n;
		root->count = 1;
		if (t) {
			hw_store(t, &n->parent, sizeof(n->parent));
			hw_store(t, &xa->xa_head, sizeof(xa->xa_head)); /* rcu_assign_pointer */
		}
		n->parent = root;
		xa->xa_head = root;
		n = root;
	}
	/* xas_create: walk down, allocating the missing nodes. */
	for (;;) {
		unsigned off = (index >> n->shift) & XA_CHUNK_MASK;
		void **slot = &n->slots[off];
		if (t)
			hw_load(t, slot, sizeof(*slot));
		if (!n->shift) {
			void *old = *slot;
			if (t)
				hw_store(t, slot, sizeof(*slot));
			*slot = entry;
			if (!old)
				n->count++;
			return old;
		}
		if (!*slot) {
			struct xa_node *child = xa_node_alloc(t, xa, n->shift - XA_CHUNK_SHIFT, n,
							      off);
			if (t)
				hw_store(t, slot, sizeof(*slot)); /* publish the initialised node */
			*slot = child;
			n->count++;
		}
		n = *slot;
	}
}

/*
 * xas_store(NULL) for a tree with RCU readers (reclaim's __remove_mapping): the slot is
 * cleared with a store a lockless reader sees whole, and the node stays, even when it
 * becomes empty (the kernel frees empty nodes after a grace period; here they live until
 * the tree is destroyed, so a reader never walks a freed node).  xa_lock held.
 */
void *xa_clear_locked(struct sim_task *t, struct xarray *xa, unsigned long index)
{
	spin_assert_held(t, &xa->xa_lock);
	struct xa_node *n = xa->xa_head;
	hw_load(t, &xa->xa_head, sizeof(xa->xa_head));
	if (!n || index > xa_max_index(n->shift))
		return NULL;
	for (;;) {
		void **slot = &n->slots[(index >> n->shift) & XA_CHUNK_MASK];
		hw_load(t, slot, sizeof(*slot));
		if (!n->shift) {
			void *old = *slot;
			if (old) {
				hw_store(t, slot, sizeof(*slot));
				*slot = NULL;
				n->count--;
			}
			return old;
		}
		if (!*slot)
			return NULL;
		n = *slot;
	}
}

void *xa_erase(struct xarray *xa, unsigned long index)
{
	struct xa_node *n = xa->xa_head;
	if (!n || index > xa_max_index(n->shift))
		return NULL;
	while (n->shift) {
		struct xa_node *c = n->slots[(index >> n->shift) & XA_CHUNK_MASK];
		if (!c)
			return NULL;
		n = c;
	}
	unsigned off = index & XA_CHUNK_MASK;
	void *old = n->slots[off];
	if (old) {
		n->slots[off] = NULL;
		n->count--;
	}
	/* Free the nodes left empty, bottom up (xas_delete_node). */
	while (n && !n->count) {
		struct xa_node *parent = n->parent;
		if (parent) {
			parent->slots[n->offset] = NULL;
			parent->count--;
		} else {
			xa->xa_head = NULL;
		}
		g_aligned_free(n);
		xa->nr_nodes--;
		n = parent;
	}
	/* xas_shrink: a root with only slot 0 used gives way to that child. */
	for (n = xa->xa_head; n && n->shift && n->count == 1 && n->slots[0];
	     n = xa->xa_head) {
		struct xa_node *child = n->slots[0];
		child->parent = NULL;
		xa->xa_head = child;
		g_aligned_free(n);
		xa->nr_nodes--;
	}
	return old;
}
