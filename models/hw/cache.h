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
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/*
 * Tags are 32-bit: the tag arrays are the bulk of the model's memory (tens of MB for a
 * 64-core machine) and a page clear streams through thousands of tags, so halving them
 * halves the host memory traffic of the model.  A tag is a whole simulated line number,
 * compacted: kernel lines are numbered from 1 in first-touch order (< 2^31), user lines
 * are bit 56 plus pfn << 6 | line-in-page, kept as bit 31 plus the low 31 bits, which holds
 * pfns below 2^25 (128 GiB of user memory; hw_line_of checks).  Sets are still indexed by
 * the full line number.
 */
#define CACHE_USER_LINE (1ULL << 56)       /* the user (pseudo-physical) line space */
#define CACHE_TAG_USER 0x80000000u
#define CACHE_TAG_MAX_KERNEL_LINE 0x7fffffffULL

static inline uint32_t cache_tag_of(uint64_t line)
{
	return line & CACHE_USER_LINE ? CACHE_TAG_USER | (uint32_t)(line & 0x7fffffff)
				      : (uint32_t)line;
}

static inline uint64_t cache_line_of_tag(uint32_t tag)
{
	return tag & CACHE_TAG_USER ? CACHE_USER_LINE | (tag & 0x7fffffff) : tag;
}

struct cache {
	uint32_t *tag;      /* nsets * ways compact line numbers; 0 = invalid (line 0 unused) */
	uint32_t nsets;
	uint32_t set_mask;  /* nsets - 1 when nsets is a power of two, else 0 */
	uint16_t ways;
	bool external;      /* tag storage belongs to someone else */
};

/* Geometry only: the tag array is allocated on first use (cache_ensure). */
void cache_init(struct cache *c, double kib, int ways);
void cache_free(struct cache *c);

static inline void cache_ensure(struct cache *c);

static inline uint32_t *cache_set(struct cache *c, uint64_t line)
{
	uint32_t s = c->set_mask ? (uint32_t)(line & c->set_mask) : (uint32_t)(line % c->nsets);
	return c->tag + (uint64_t)s * c->ways;
}


/* Ask the host to bring the set of line into its caches (no effect on the model). */
static inline void cache_prefetch(const struct cache *c, uint64_t line)
{
	if (!c->tag)
		return;
	const uint32_t *set = cache_set((struct cache *)c, line);
	__builtin_prefetch(set, 1);
	__builtin_prefetch(set + c->ways - 1, 1);
}

/* The least recently used line of line's set: the next victim there (0: none). */
static inline uint64_t cache_lru(const struct cache *c, uint64_t line)
{
	return c->tag ? cache_line_of_tag(cache_set((struct cache *)c, line)[c->ways - 1]) : 0;
}

void cache_alloc(struct cache *c);
/* Bytes of tag storage the cache needs (for cache_set_storage). */
size_t cache_bytes(const struct cache *c);
/* Use caller-provided zeroed storage (cache_free then leaves it alone). */
void cache_set_storage(struct cache *c, uint32_t *tags);
/* Extra zeroed bytes after the last tag array: set scans read whole vectors. */
#define CACHE_TAG_SLACK 64

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

/* The set operations are inline: they are the model's innermost loop. */

/*
 * The way of set holding tag t, or -1.  Ways are compared four at a time; reading past the
 * set's last way (into the next set, or CACHE_TAG_SLACK) is harmless: those lanes are
 * masked off.
 */
static inline int cache_way_of(const uint32_t *set, unsigned ways, uint32_t t)
{
#ifdef __SSE2__
	const __m128i key = _mm_set1_epi32((int)t);
	for (unsigned i = 0; i < ways; i += 4) {
		__m128i v = _mm_loadu_si128((const __m128i *)(set + i));
		unsigned m = (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, key)));
		if (m) {
			unsigned w = i + (unsigned)__builtin_ctz(m);
			return w < ways ? (int)w : -1;
		}
	}
	return -1;
#else
	for (unsigned i = 0; i < ways; i++)
		if (set[i] == t)
			return (int)i;
	return -1;
#endif
}

/* Hit: make line most recently used and return true.  Miss: no change. */
static inline bool cache_touch(struct cache *c, uint64_t line)
{
	cache_ensure(c);
	uint32_t *set = cache_set(c, line);
	uint32_t t = cache_tag_of(line);
	int i = cache_way_of(set, c->ways, t);
	if (i < 0)
		return false;
	if (i) {
		memmove(set + 1, set, (size_t)i * sizeof(uint32_t));
		set[0] = t;
	}
	return true;
}

/* Insert a line known to be absent as most recently used; returns the evicted line or 0. */
static inline uint64_t cache_fill(struct cache *c, uint64_t line)
{
	cache_ensure(c);
	uint32_t *set = cache_set(c, line);
	uint32_t victim = set[c->ways - 1];
	memmove(set + 1, set, (size_t)(c->ways - 1) * sizeof(uint32_t));
	set[0] = cache_tag_of(line);
	return cache_line_of_tag(victim);
}

/* Touch, or fill on a miss; *evicted gets the victim (0 if none).  Returns hit. */
static inline bool cache_access(struct cache *c, uint64_t line, uint64_t *evicted)
{
	cache_ensure(c);
	uint32_t *set = cache_set(c, line);
	uint32_t t = cache_tag_of(line);
	int i = cache_way_of(set, c->ways, t);
	if (i >= 0) {
		if (i) {
			memmove(set + 1, set, (size_t)i * sizeof(uint32_t));
			set[0] = t;
		}
		*evicted = 0;
		return true;
	}
	uint32_t victim = set[c->ways - 1];
	memmove(set + 1, set, (size_t)(c->ways - 1) * sizeof(uint32_t));
	set[0] = t;
	*evicted = cache_line_of_tag(victim);
	return false;
}

/* Present?  No LRU update. */
static inline bool cache_probe(struct cache *c, uint64_t line)
{
	if (!c->tag)
		return false;
	return cache_way_of(cache_set(c, line), c->ways, cache_tag_of(line)) >= 0;
}

/* Remove a line if present. */
static inline void cache_drop(struct cache *c, uint64_t line)
{
	if (!c->tag)
		return;
	uint32_t *set = cache_set(c, line);
	int i = cache_way_of(set, c->ways, cache_tag_of(line));
	if (i >= 0) {
		/* Close the gap; the freed way becomes the LRU victim. */
		size_t after = (size_t)(c->ways - 1 - (unsigned)i);
		memmove(set + i, set + i + 1, after * sizeof(uint32_t));
		set[c->ways - 1] = 0;
	}
}

#endif
