/*
 * A set-associative array of 64-byte line tags with true LRU replacement, used for every
 * cache level (per-core L1D and L2, the LLC of a socket or CCX).  It models capacity and
 * conflict only: which lines a cache holds.  Coherence state lives in the directory
 * (coherence.c); a tag whose line the directory no longer gives to this core is stale and
 * counts as a miss there.
 *
 * LRU order is kept by position: way 0 of a set is the most recently used.  With the 4-20
 * ways of real caches, moving a tag to the front is a short memmove, cheaper than stamps.
 * Set index: line number modulo the number of sets (low address bits, as L1/L2 index;
 * LLC slice hashing is not modelled).
 */
#ifndef MMSIM_HW_CACHE_H
#define MMSIM_HW_CACHE_H

#include <stdbool.h>
#include <stdint.h>

struct cache {
	uint64_t *tag;      /* nsets * ways line numbers; 0 = invalid (line 0 is never used) */
	uint32_t nsets;
	uint32_t set_mask;  /* nsets - 1 when nsets is a power of two, else 0 */
	uint16_t ways;
	bool external;      /* tag storage belongs to someone else */
};

/* Geometry only: the tag array is allocated on first use (cache_ensure). */
void cache_init(struct cache *c, double kib, int ways);
void cache_free(struct cache *c);

static inline void cache_ensure(struct cache *c);

static inline uint64_t *cache_set(struct cache *c, uint64_t line)
{
	uint32_t s = c->set_mask ? (uint32_t)(line & c->set_mask) : (uint32_t)(line % c->nsets);
	return c->tag + (uint64_t)s * c->ways;
}

/* Hit: make line most recently used and return true.  Miss: no change. */
bool cache_touch(struct cache *c, uint64_t line);
/* Insert a line known to be absent as most recently used; returns the evicted line or 0. */
uint64_t cache_fill(struct cache *c, uint64_t line);
/* Touch, or fill on a miss; *evicted gets the victim (0 if none).  Returns hit. */
bool cache_access(struct cache *c, uint64_t line, uint64_t *evicted);
/* Present?  No LRU update. */
bool cache_probe(struct cache *c, uint64_t line);
/* Remove a line if present. */
void cache_drop(struct cache *c, uint64_t line);

void cache_alloc(struct cache *c);
/* Bytes of tag storage the cache needs (for cache_set_storage). */
size_t cache_bytes(const struct cache *c);
/* Use caller-provided zeroed storage (cache_free then leaves it alone). */
void cache_set_storage(struct cache *c, uint64_t *tags);

/*
 * Zeroed memory for the model's big arrays (directory, tag arrays), mapped lazily and
 * backed by transparent huge pages where the host allows: these arrays are accessed at
 * random, and with 4 KiB pages nearly every access would also miss the host's TLB.
 */
void *hw_big_alloc(size_t bytes);
void hw_big_free(void *p, size_t bytes);
static inline void cache_ensure(struct cache *c)
{
	if (__builtin_expect(!c->tag, 0))
		cache_alloc(c);
}

#endif
