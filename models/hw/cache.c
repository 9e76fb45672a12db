/*
 * Set-associative tag arrays with true LRU (see cache.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "cache.h"
#include "die.h"

void cache_init(struct cache *c, double kib, int ways)
{
	uint64_t lines = (uint64_t)(kib * 1024.0) / 64;
	c->tag = NULL;
	c->external = false;
	c->ways = (uint16_t)ways;
	c->nsets = (uint32_t)(lines / (uint64_t)ways);
	c->set_mask = (c->nsets & (c->nsets - 1)) == 0 ? c->nsets - 1 : 0;
	if (c->nsets == 1)
		c->set_mask = 0; /* fully associative: modulo 1 */
	sim_bug_on(c->nsets == 0);
}

/* calloc: the kernel maps the zero pages lazily, so sets never used cost no memory. */
void cache_alloc(struct cache *c)
{
	c->tag = calloc(1, cache_bytes(c) + CACHE_TAG_SLACK);
	if (!c->tag)
		sim_die("out of host memory for a cache model");
}

void cache_free(struct cache *c)
{
	if (!c->external)
		free(c->tag);
	c->tag = NULL;
}

size_t cache_bytes(const struct cache *c)
{
	return (size_t)c->nsets * c->ways * sizeof(uint32_t);
}

void cache_set_storage(struct cache *c, uint32_t *tags)
{
	c->tag = tags;
	c->external = true;
}

#define BIG_MIN (2u << 20)

void *hw_big_alloc(size_t bytes)
{
	if (bytes < BIG_MIN) {
		void *p = calloc(1, bytes);
		if (!p)
			sim_die("out of host memory");
		return p;
	}
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		sim_die("out of host memory (%zu bytes for the hardware model)", bytes);
	madvise(p, bytes, MADV_HUGEPAGE); /* advice only: failure is harmless */
	return p;
}

void hw_big_free(void *p, size_t bytes)
{
	if (!p)
		return;
	if (bytes < BIG_MIN)
		free(p);
	else
		munmap(p, bytes);
}

