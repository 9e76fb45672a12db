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
	c->tag = calloc((size_t)c->nsets * c->ways, sizeof(uint64_t));
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
	return (size_t)c->nsets * c->ways * sizeof(uint64_t);
}

void cache_set_storage(struct cache *c, uint64_t *tags)
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

bool cache_touch(struct cache *c, uint64_t line)
{
	cache_ensure(c);
	uint64_t *set = cache_set(c, line);
	for (unsigned i = 0; i < c->ways; i++) {
		if (set[i] == line) {
			if (i) {
				memmove(set + 1, set, i * sizeof(uint64_t));
				set[0] = line;
			}
			return true;
		}
	}
	return false;
}

uint64_t cache_fill(struct cache *c, uint64_t line)
{
	cache_ensure(c);
	uint64_t *set = cache_set(c, line);
	uint64_t victim = set[c->ways - 1];
	memmove(set + 1, set, (size_t)(c->ways - 1) * sizeof(uint64_t));
	set[0] = line;
	return victim;
}

bool cache_access(struct cache *c, uint64_t line, uint64_t *evicted)
{
	if (cache_touch(c, line)) {
		*evicted = 0;
		return true;
	}
	*evicted = cache_fill(c, line);
	return false;
}

bool cache_probe(struct cache *c, uint64_t line)
{
	if (!c->tag)
		return false;
	uint64_t *set = cache_set(c, line);
	for (unsigned i = 0; i < c->ways; i++)
		if (set[i] == line)
			return true;
	return false;
}

void cache_drop(struct cache *c, uint64_t line)
{
	if (!c->tag)
		return;
	uint64_t *set = cache_set(c, line);
	for (unsigned i = 0; i < c->ways; i++) {
		if (set[i] == line) {
			/* Close the gap; the freed way becomes the LRU victim. */
			memmove(set + i, set + i + 1, (size_t)(c->ways - 1 - i) * sizeof(uint64_t));
			set[c->ways - 1] = 0;
			return;
		}
	}
}
