/* Fixed-size object caches for model structures (the slab allocator's role). */
#ifndef MMSIM_SLAB_H
#define MMSIM_SLAB_H

#include <string.h>
#include <glib.h>

/*
 * A cache of fixed-size, line-aligned objects: the slab allocator's LIFO freelist reduced
 * to one list.  A freed object is the next one handed out, so which cache lines a new
 * object reuses is decided by the simulation, never by the host's malloc (results must
 * not depend on the heap layout).
 */
struct kmem_cache {
	size_t size, align;
	void *free;             /* freed objects, linked through their first word */
};

static inline void *kmem_cache_alloc(struct kmem_cache *c)
{
	void *p = c->free;
	if (!p)
		return g_aligned_alloc0(1, c->size, c->align);
	c->free = *(void **)p;
	memset(p, 0, c->size);
	return p;
}

static inline void kmem_cache_free(struct kmem_cache *c, void *p)
{
	*(void **)p = c->free;
	c->free = p;
}

#endif
