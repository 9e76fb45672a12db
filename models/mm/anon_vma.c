/*
 * anon_vma and anon_vma_chain (mm/rmap.c: anon_vma_prepare, anon_vma_clone,
 * anon_vma_fork, unlink_anon_vmas; mm/interval_tree.c).  Spec: kernel-algorithms.md §I,
 * A.7 step 4.  Kernel commits: 5beb49305251 ("mm: change anon_vma linking to fix
 * multi-process server scalability issue", the chains, 2010), 012f18004da3 (always lock
 * the root), d9d332e0874f (anon_vma_prepare locks newly allocated entries), 5a505085f043
 * (the lock becomes an rwsem, 2012).
 *
 * A VMA's first anon_vma may be a neighbour's (find_mergeable_anon_vma, since 2.6.7's
 * anon_vma), so that adjacent VMAs faulted apart can merge later.
 * Not modelled: the reuse of an anon_vma with no VMAs left in anon_vma_clone
 * (7a3ef208e662), and SLAB_TYPESAFE_BY_RCU reuse of anon_vmas.
 * Costs: the slab allocation of an anon_vma or a chain is charged as a VMA's
 * (path.vma_alloc, a small-object slab alloc); every field write loads or stores its line.
 */
#include "mmsim-config.h"
#include "mm/anon_vma.h"
#include "hw/hw.h"
#include "die.h"

static struct kmem_cache anon_vma_cache = { sizeof(struct anon_vma), 64, NULL };
static struct kmem_cache avc_cache = { sizeof(struct anon_vma_chain), 64, NULL };
static uint64_t avc_seq; /* creation numbers: deterministic, never an address */

/* ---- the root's lock ---- */

void anon_vma_lock_write(struct sim_task *t, struct anon_vma *av)
{
	struct anon_vma *root = av->root;
	hw_load(t, &av->root, sizeof(av->root));
	if (root->lock_kind == ANON_VMA_LOCK_SPINLOCK)
		spin_lock(t, &root->lock);
	else
		down_write(t, &root->rwsem);
}

void anon_vma_unlock_write(struct sim_task *t, struct anon_vma *av)
{
	if (av->root->lock_kind == ANON_VMA_LOCK_SPINLOCK)
		spin_unlock(t, &av->root->lock);
	else
		up_write(t, &av->root->rwsem);
}

/* Readers of the spinlock form are exclusive: rmap walks serialised with everything. */
void anon_vma_lock_read(struct sim_task *t, struct anon_vma *av)
{
	struct anon_vma *root = av->root;
	hw_load(t, &av->root, sizeof(av->root));
	if (root->lock_kind == ANON_VMA_LOCK_SPINLOCK)
		spin_lock(t, &root->lock);
	else
		down_read(t, &root->rwsem);
}

bool anon_vma_trylock_read(struct sim_task *t, struct anon_vma *av)
{
	struct anon_vma *root = av->root;
	hw_load(t, &av->root, sizeof(av->root));
	if (root->lock_kind == ANON_VMA_LOCK_SPINLOCK)
		return spin_trylock(t, &root->lock);
	return down_read_trylock(t, &root->rwsem);
}

void anon_vma_unlock_read(struct sim_task *t, struct anon_vma *av)
{
	if (av->root->lock_kind == ANON_VMA_LOCK_SPINLOCK)
		spin_unlock(t, &av->root->lock);
	else
		up_read(t, &av->root->rwsem);
}

bool anon_vma_is_locked_by(const struct anon_vma *av, const struct sim_task *t)
{
	const struct anon_vma *root = av->root;
	if (root->lock_kind == ANON_VMA_LOCK_SPINLOCK)
		return spin_is_held_by(&root->lock, t);
	return rwsem_is_write_locked_by(&root->rwsem, t);
}

/* ---- the interval tree (anon_vma_interval_tree_*, on interval_tree.c) ---- */

#define node_avc(n) itree_entry(n, struct anon_vma_chain, rb)

#if MMSIM_DEBUG
/* -Dsim_debug=true: the whole tree after every change (as validate_mm). */
static void anon_vma_assert_valid(const struct anon_vma *av)
{
	char *err = anon_vma_interval_tree_validate(av);
	if (err)
		sim_die("anon_vma interval tree invalid: %s", err);
}
#endif

static void avc_tree_insert(struct sim_task *t, struct anon_vma_chain *avc)
{
	struct anon_vma *av = avc->anon_vma;
	sim_bug_on(!anon_vma_is_locked_by(av, t));
	itree_insert(t, &av->rb_root, &avc->rb, avc->vma->vm_pgoff, vma_pgoff_last(avc->vma),
		     avc->seq);
	hw_store(t, &av->rb_root, sizeof(av->rb_root));
#if MMSIM_DEBUG
	anon_vma_assert_valid(av);
#endif
}

static void avc_tree_remove(struct sim_task *t, struct anon_vma_chain *avc)
{
	struct anon_vma *av = avc->anon_vma;
	sim_bug_on(!anon_vma_is_locked_by(av, t));
	itree_remove(t, &av->rb_root, &avc->rb);
	hw_store(t, &av->rb_root, sizeof(av->rb_root));
#if MMSIM_DEBUG
	anon_vma_assert_valid(av);
#endif
}

struct avc_query {
	struct sim_task *t;
	bool (*fn)(struct anon_vma_chain *, void *);
	void *arg;
};

/* A reported chain: its VMA pointer is on the chain's second line. */
static bool avc_query_one(struct itree_node *n, void *arg)
{
	struct avc_query *q = arg;
	struct anon_vma_chain *avc = node_avc(n);
	if (q->t)
		hw_load(q->t, &avc->vma, sizeof(avc->vma));
	return q->fn(avc, q->arg);
}

unsigned avc_tree_foreach(struct sim_task *t, struct anon_vma *av, unsigned long first,
			  unsigned long last,
			  bool (*fn)(struct anon_vma_chain *avc, void *arg), void *arg)
{
	if (t)
		hw_load(t, &av->rb_root, sizeof(av->rb_root));
	return itree_foreach(t, &av->rb_root, first, last, avc_query_one,
			     &(struct avc_query){ t, fn, arg });
}

static char *avc_node_matches(const struct itree_node *n, void *arg)
{
	const struct anon_vma *av = arg;
	const struct anon_vma_chain *avc = itree_entry(n, const struct anon_vma_chain, rb);
	if (avc->anon_vma != av)
		return g_strdup_printf("chain [%lu, %lu] is in another anon_vma's tree", n->start,
				       n->last);
	if (n->seq != avc->seq)
		return g_strdup_printf("chain [%lu, %lu] keyed by seq %llu, created %llu",
				       n->start, n->last, (unsigned long long)n->seq,
				       (unsigned long long)avc->seq);
	if (n->start != avc->vma->vm_pgoff || n->last != vma_pgoff_last(avc->vma))
		return g_strdup_printf("chain [%lu, %lu] does not match its VMA's pages [%lu, %lu]",
				       n->start, n->last, avc->vma->vm_pgoff,
				       vma_pgoff_last(avc->vma));
	return NULL;
}

char *anon_vma_interval_tree_validate(const struct anon_vma *av)
{
	return itree_validate(&av->rb_root, avc_node_matches, (void *)av);
}

/* ---- lifetime ---- */

static struct anon_vma *anon_vma_alloc(struct sim_task *t, enum anon_vma_lock_kind kind)
{
	struct anon_vma *av = kmem_cache_alloc(&anon_vma_cache);
	cpu_work(t, t->machine->path.vma_alloc);
	hw_store(t, av, sizeof(*av));
	init_rwsem(&av->rwsem, "&anon_vma->rwsem");
	spin_lock_init(&av->lock, "&anon_vma->lock");
	av->lock_kind = kind;
	av->root = av->parent = av;
	av->refcount = 1;
		return av;
}

static void anon_vma_free(struct sim_task *t, struct anon_vma *av)
{
	sim_bug_on(av->rb_root.nr || av->refcount);
	sim_bug_on(spin_is_busy(&av->lock) || rwsem_is_locked(&av->rwsem));
	cpu_work(t, t->machine->path.vma_alloc);
	kmem_cache_free(&anon_vma_cache, av);
}

void put_anon_vma(struct sim_task *t, struct anon_vma *av)
{
	hw_rmw(t, &av->refcount, sizeof(av->refcount));
	sim_bug_on(av->refcount <= 0);
	if (--av->refcount)
		return;
	/* __put_anon_vma: a child pins its root; the root goes with its last child. */
	struct anon_vma *root = av->root;
	if (root != av) {
		hw_store(t, &av->parent->num_children, sizeof(unsigned));
		if (av->parent != av)
			av->parent->num_children--;
	}
	anon_vma_free(t, av);
	if (root != av)
		put_anon_vma(t, root);
}

static struct anon_vma_chain *avc_alloc(struct sim_task *t)
{
	struct anon_vma_chain *avc = kmem_cache_alloc(&avc_cache);
	cpu_work(t, t->machine->path.vma_alloc);
	avc->seq = ++avc_seq;
	return avc;
}

/* anon_vma_chain_link: the caller holds the anon_vma lock (W). */
static void avc_link(struct sim_task *t, struct vm_area_struct *vma, struct anon_vma_chain *avc,
		     struct anon_vma *av)
{
	hw_store(t, &avc->vma, 3 * sizeof(void *));
	avc->vma = vma;
	avc->anon_vma = av;
	/* list_add to the VMA's same_vma list, kept in link order (tail) here. */
	struct anon_vma_chain **tail = &vma->anon_vma_chain;
	while (*tail)
		tail = &(*tail)->same_vma;
	hw_store(t, tail, sizeof(*tail));
	*tail = avc;
	avc->same_vma = NULL;
	avc_tree_insert(t, avc);
}

/*
 * anon_vma_compatible (mm/vma.c): a's pages and b's, with b right after a, could be one
 * VMA's some day: adjacent, the same file (or none) at contiguous offsets, and flags
 * that differ at most in the access bits (an mprotect can make those equal).  The model
 * has no mempolicy and no soft-dirty bit.
 */
static bool anon_vma_compatible(const struct vm_area_struct *a, const struct vm_area_struct *b)
{
	return a->vm_end == b->vm_start && a->vm_file == b->vm_file &&
	       !((a->vm_flags ^ b->vm_flags) & ~VM_ACCESS_FLAGS) &&
	       b->vm_pgoff == a->vm_pgoff + ((b->vm_start - a->vm_start) >> PAGE_SHIFT);
}

/*
 * reusable_anon_vma: old's anon_vma, if a and b (one of them old) are compatible and old
 * is linked to its own anon_vma only (list_is_singular: a forked VMA, also linked to its
 * parent's, is not; its anon_vma's pages may be its parent's too).  Read under mmap_lock
 * (R) without the anon_vma lock: old->anon_vma is set once (READ_ONCE) and old cannot go
 * away while mmap_lock is held.
 */
static struct anon_vma *reusable_anon_vma(struct sim_task *t, struct vm_area_struct *old,
					  struct vm_area_struct *a, struct vm_area_struct *b)
{
	hw_load(t, old, 40);                                /* VMA.HOT: flags */
	hw_load(t, &old->vm_pgoff, 3 * sizeof(void *));     /* VMA.REST: pgoff, anon_vma */
	if (old->vm_file)
		hw_load(t, &old->vm_file, sizeof(old->vm_file)); /* VMA.FILE */
	if (!anon_vma_compatible(a, b))
		return NULL;
	struct anon_vma_chain *avc = old->anon_vma_chain;
	if (!old->anon_vma || !avc)
		return NULL;
	hw_load(t, &avc->same_vma, sizeof(avc->same_vma)); /* AVC.LINK */
	return avc->same_vma ? NULL : old->anon_vma;
}

/*
 * find_mergeable_anon_vma: the anon_vma of the next VMA, else of the previous one, when
 * reusable: then vma's pages share it, and vma can merge with that neighbour once their
 * protections agree (vma_merge's is_mergeable_anon_vma needs one anon_vma).  mmap_lock
 * (R or W).
 */
static struct anon_vma *find_mergeable_anon_vma(struct sim_task *t, struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *next = find_vma(t, mm, vma->vm_end);
	if (next && next->vm_start == vma->vm_end) {
		struct anon_vma *av = reusable_anon_vma(t, next, vma, next);
		if (av)
			return av;
	}
	struct vm_area_struct *prev = find_vma_prev(t, mm, vma->vm_start);
	if (prev && prev->vm_end == vma->vm_start)
		return reusable_anon_vma(t, prev, prev, vma);
	return NULL;
}

int anon_vma_prepare(struct sim_task *t, struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;

	hw_load(t, &vma->anon_vma, sizeof(vma->anon_vma));
	if (vma->anon_vma)
		return 0;
	/* __anon_vma_prepare: a neighbour's anon_vma (the caller's mmap_lock keeps the
	 * neighbours still), else a new one allocated outside every lock; then publish under
	 * the anon_vma lock and page_table_lock, rechecking that no other fault of this VMA
	 * beat us. */
	struct anon_vma_chain *avc = avc_alloc(t);
	struct anon_vma *av = find_mergeable_anon_vma(t, vma), *allocated = NULL;
	if (!av)
		av = allocated = anon_vma_alloc(t, mm->anon_vma_lock);
	anon_vma_lock_write(t, av);
	spin_lock(t, &mm->page_table_lock);
	hw_load(t, &vma->anon_vma, sizeof(vma->anon_vma));
	if (!vma->anon_vma) {
		mm_assert_locked(t, mm, vma->vm_start, spin_is_held_by(&mm->page_table_lock, t),
				 "vma->anon_vma", "mm->page_table_lock");
		hw_store(t, &vma->anon_vma, 2 * sizeof(void *));
		vma->anon_vma = av;
		avc_link(t, vma, avc, av);
		hw_store(t, &av->num_active_vmas, sizeof(av->num_active_vmas));
		av->num_active_vmas++;
		avc = NULL;
		count_event(&t->stats, allocated ? EV_ANON_VMA_PREPARE : EV_ANON_VMA_REUSE);
		allocated = NULL;
	}
	spin_unlock(t, &mm->page_table_lock);
	anon_vma_unlock_write(t, av);
	if (avc) {
		/* Lost the race: ours were never visible; free them. */
		count_event(&t->stats, EV_ANON_VMA_PREPARE_LOST);
		if (allocated) {
			allocated->refcount = 0;
			anon_vma_free(t, allocated);
		}
		cpu_work(t, t->machine->path.vma_alloc);
		kmem_cache_free(&avc_cache, avc);
	}
	return 0;
}

int anon_vma_clone(struct sim_task *t, struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct anon_vma *root = NULL;

	dst->anon_vma_chain = NULL;
	for (struct anon_vma_chain *pavc = src->anon_vma_chain; pavc; pavc = pavc->same_vma) {
		hw_load(t, &pavc->vma, 3 * sizeof(void *)); /* line AVC.LINK */
		struct anon_vma_chain *avc = avc_alloc(t);
		/* lock_anon_vma_root: every anon_vma of the fork tree has the same root. */
		if (!root) {
			root = pavc->anon_vma->root;
			anon_vma_lock_write(t, root);
		}
		sim_bug_on(pavc->anon_vma->root != root);
		avc_link(t, dst, avc, pavc->anon_vma);
	}
	if (dst->anon_vma) {
		hw_store(t, &dst->anon_vma->num_active_vmas, sizeof(unsigned));
		dst->anon_vma->num_active_vmas++;
	}
	if (root)
		anon_vma_unlock_write(t, root);
	return 0;
}

int anon_vma_fork(struct sim_task *t, struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	if (!pvma->anon_vma)
		return 0;
	/* The child's VMA first links to every anon_vma of the parent's (so the parent's
	 * pages, which it now shares, are found through it)... */
	vma->anon_vma = NULL;
	anon_vma_clone(t, vma, pvma);
	/* ...then gets its own, for the pages it will COW, in the parent's tree. */
	struct anon_vma *av = anon_vma_alloc(t, pvma->anon_vma->root->lock_kind);
	struct anon_vma_chain *avc = avc_alloc(t);
	av->root = pvma->anon_vma->root;
	av->parent = pvma->anon_vma;
	hw_rmw(t, &av->root->refcount, sizeof(int)); /* get_anon_vma(root) */
	av->root->refcount++;
	av->num_active_vmas++;
	hw_store(t, &vma->anon_vma, sizeof(vma->anon_vma));
	vma->anon_vma = av;
	anon_vma_lock_write(t, av);
	avc_link(t, vma, avc, av);
	hw_store(t, &av->parent->num_children, sizeof(unsigned));
	av->parent->num_children++;
	anon_vma_unlock_write(t, av);
	return 0;
}

void unlink_anon_vmas(struct sim_task *t, struct vm_area_struct *vma)
{
	struct anon_vma *root = NULL;
	GPtrArray *emptied = NULL;

	if (!vma->anon_vma_chain)
		return;
	for (struct anon_vma_chain *avc = vma->anon_vma_chain; avc; avc = avc->same_vma) {
		hw_load(t, &avc->vma, 3 * sizeof(void *));
		if (!root) {
			root = avc->anon_vma->root;
			anon_vma_lock_write(t, root);
		}
		avc_tree_remove(t, avc);
		/* An anon_vma whose tree emptied has no VMA left to map its pages: its own
		 * pin goes after the unlock (the root stays while children pin it). */
		if (!avc->anon_vma->rb_root.nr) {
			if (!emptied)
				emptied = g_ptr_array_new();
			g_ptr_array_add(emptied, avc->anon_vma);
		}
	}
	if (vma->anon_vma) {
		hw_store(t, &vma->anon_vma->num_active_vmas, sizeof(unsigned));
		sim_bug_on(!vma->anon_vma->num_active_vmas);
		vma->anon_vma->num_active_vmas--;
		vma->anon_vma = NULL;
	}
	anon_vma_unlock_write(t, root);
	/* Children before ancestors: the chains were linked ancestor-first. */
	for (int i = emptied ? (int)emptied->len - 1 : -1; i >= 0; i--)
		put_anon_vma(t, g_ptr_array_index(emptied, i));
	if (emptied)
		g_ptr_array_free(emptied, TRUE);
	for (struct anon_vma_chain *avc = vma->anon_vma_chain, *next; avc; avc = next) {
		next = avc->same_vma;
		cpu_work(t, t->machine->path.vma_alloc);
		kmem_cache_free(&avc_cache, avc);
	}
	vma->anon_vma_chain = NULL;
}

void anon_vma_interval_tree_pre_update_vma(struct sim_task *t, struct vm_area_struct *vma)
{
	for (struct anon_vma_chain *avc = vma->anon_vma_chain; avc; avc = avc->same_vma)
		avc_tree_remove(t, avc);
}

void anon_vma_interval_tree_post_update_vma(struct sim_task *t, struct vm_area_struct *vma)
{
	for (struct anon_vma_chain *avc = vma->anon_vma_chain; avc; avc = avc->same_vma)
		avc_tree_insert(t, avc);
}
