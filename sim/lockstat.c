/*
 * Lock classes, lock_stat counters and lockdep-lite (see lockstat.h).
 * Layout of the text output: Documentation/locking/lockstat.rst (lock_stat version 0.4);
 * times in microseconds with two decimals, as the kernel prints them.
 */
#include <string.h>
#include <glib.h>
#include "lockstat.h"
#include "task.h"
#include "die.h"

static GHashTable *classes_by_name;  /* name -> struct lock_class *; lookup only */
static GPtrArray *classes;           /* in registration order */

/* First observed instance of each order A -> B: who took them, where; or its declaration. */
struct lock_order_edge {
	const char *outer_site, *inner_site;
	const char *task;            /* NULL: declared with lockdep_declare_order */
	int cpu;
	sim_time_t when;
};
static struct lock_order_edge *edges[LOCKDEP_MAX_CLASSES][LOCKDEP_MAX_CLASSES];
static char *first_report;

struct lock_class *lock_class_get(const char *name, bool rw)
{
	if (!classes_by_name) {
		classes_by_name = g_hash_table_new(g_str_hash, g_str_equal);
		classes = g_ptr_array_new();
	}
	struct lock_class *c = g_hash_table_lookup(classes_by_name, name);
	if (!c) {
		if (classes->len >= LOCKDEP_MAX_CLASSES)
			sim_die("more than %d lock classes", LOCKDEP_MAX_CLASSES);
		c = g_new0(struct lock_class, 1);
		c->id = (int)classes->len;
		c->name = g_strdup(name);
		for (int s = 0; s < LS_NR; s++) {
			c->side[s].wait.min = SIM_TIME_MAX;
			c->side[s].hold.min = SIM_TIME_MAX;
		}
		g_hash_table_insert(classes_by_name, c->name, c);
		g_ptr_array_add(classes, c);
	}
	c->rw |= rw;
	return c;
}

void lockdep_init_map(struct lockdep_map *map, const char *name, bool rw)
{
	map->class = lock_class_get(name, rw);
	map->cpu = -1;
	map->owner_sleeps = NULL;
}

void lockdep_task_sleeps(struct sim_task *t)
{
	for (int i = 0; i < t->lockdep.depth; i++) {
		struct lockdep_map *map = (struct lockdep_map *)t->lockdep.held[i].map;
		if (map->owner_sleeps)
			map->owner_sleeps(t, map);
	}
}

void lockdep_declare_order(const char *outer, const char *inner)
{
	struct lock_class *o = lock_class_get(outer, false), *i = lock_class_get(inner, false);
	if (edges[o->id][i->id])
		return;
	struct lock_order_edge *e = g_new0(struct lock_order_edge, 1);
	edges[o->id][i->id] = e;
}

void lock_time_add(struct lock_time *lt, sim_time_t v)
{
	lt->nr++;
	lt->total += v;
	if (v < lt->min)
		lt->min = v;
	if (v > lt->max)
		lt->max = v;
}

static void site_count(struct lock_site_count *pts, const char *site)
{
	if (!site)
		return;
	for (int i = 0; i < LOCKSTAT_SITES; i++) {
		if (!pts[i].site)
			pts[i].site = site;
		if (pts[i].site == site || !strcmp(pts[i].site, site)) {
			pts[i].count++;
			return;
		}
	}
	/* Full: like the kernel, later new sites go uncounted. */
}

static struct held_lock *find_held(const struct sim_task *t, const struct lockdep_map *map)
{
	const struct lockdep_task *ld = &t->lockdep;
	for (int i = ld->depth - 1; i >= 0; i--)
		if (ld->held[i].map == map)
			return (struct held_lock *)&ld->held[i];
	return NULL;
}

bool lockdep_is_held(const struct sim_task *t, const struct lockdep_map *map)
{
	return find_held(t, map) != NULL;
}

static const char *lockdep_held_site(const struct sim_task *holder,
				     const struct lockdep_map *map)
{
	const struct held_lock *h = holder ? find_held(holder, map) : NULL;
	return h ? h->site : NULL;
}

void lock_contended(struct sim_task *t, struct lockdep_map *map, enum lock_side side,
		    const char *site, const struct sim_task *holder)
{
	struct lock_class *c = map->class;
	struct lock_class_side *s = &c->side[side];

	s->contentions++;
	if (map->cpu != t->cpu)
		s->con_bounces++;
	site_count(c->contention_point, site);
	site_count(c->contending_point, lockdep_held_site(holder, map));
}

static void report_inversion(struct sim_task *t, const struct lock_class *held_class,
			     const struct held_lock *h, const struct lock_class *new_class,
			     const char *site, const struct lock_order_edge *e)
{
	GString *r = g_string_new("");
	g_string_append_printf(r, "possible circular locking dependency: %s takes %s while "
			       "holding %s\n", t->name, new_class->name, held_class->name);
	if (e->task)
		g_string_append_printf(r, "  existing order %s -> %s, first seen in %s (cpu %d) "
				       "at %.3f us:\n    %s at %s\n    then %s at %s\n",
				       new_class->name, held_class->name, e->task, e->cpu,
				       ps_to_ns(e->when) / 1e3, new_class->name, e->outer_site,
				       held_class->name, e->inner_site);
	else
		g_string_append_printf(r, "  declared order %s -> %s (lockdep_declare_order)\n",
				       new_class->name, held_class->name);
	g_string_append_printf(r, "  new order %s -> %s in %s (cpu %d) at %.3f us:\n"
			       "    %s at %s\n    then %s at %s\n",
			       held_class->name, new_class->name, t->name, t->cpu,
			       ps_to_ns(t->now) / 1e3, held_class->name, h->site, new_class->name,
			       site);
	first_report = g_string_free(r, FALSE);
}

/* Check and record the orders "every held lock -> map", before a blocking attempt. */
void lockdep_acquire(struct sim_task *t, struct lockdep_map *map, const char *site)
{
	struct lock_class *nc = map->class;
	struct lockdep_task *ld = &t->lockdep;

	if (!ld->depth)
		return;
	for (int i = 0; i < ld->depth; i++) {
		struct held_lock *h = &ld->held[i];
		struct lock_class *hc = h->map->class;
		if (hc == nc)
			continue; /* nesting within one class (ptlocks): needs a subclass */
		if (!edges[hc->id][nc->id]) {
			struct lock_order_edge *e = g_new(struct lock_order_edge, 1);
			*e = (struct lock_order_edge){ h->site, site, t->name, t->cpu, t->now };
			edges[hc->id][nc->id] = e;
		}
		if (first_report)
			continue;
		if (edges[nc->id][hc->id])
			report_inversion(t, hc, h, nc, site, edges[nc->id][hc->id]);
	}
}

void lock_acquired(struct sim_task *t, struct lockdep_map *map, enum lock_side side,
		   const char *site, sim_time_t spin, sim_time_t sleep)
{
	struct lock_class_side *s = &map->class->side[side];
	struct lockdep_task *ld = &t->lockdep;

	s->acquisitions++;
	if (map->cpu != t->cpu)
		s->acq_bounces++;
	map->cpu = t->cpu;
	if (spin || sleep) {
		lock_time_add(&s->wait, spin + sleep);
		s->spin_wait += spin;
		s->sleep_wait += sleep;
	}
	if (ld->depth >= LOCKDEP_MAX_HELD)
		sim_die("%s holds more than %d locks", t->name, LOCKDEP_MAX_HELD);
	ld->held[ld->depth++] = (struct held_lock){ map, site, t->now, (unsigned char)side };
}

void lock_released(struct sim_task *t, struct lockdep_map *map)
{
	struct lockdep_task *ld = &t->lockdep;
	struct held_lock *h = find_held(t, map);

	if (!h)
		sim_die("%s releases %s which it does not hold", t->name, map->class->name);
	lock_time_add(&map->class->side[h->side].hold, t->now - h->since);
	int i = (int)(h - ld->held);
	memmove(&ld->held[i], &ld->held[i + 1], (size_t)(ld->depth - i - 1) * sizeof(*h));
	ld->depth--;
}

const char *lockdep_report(void)
{
	return first_report;
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	const struct lock_class *x = *(struct lock_class *const *)a;
	const struct lock_class *y = *(struct lock_class *const *)b;
	return strcmp(x->name, y->name);
}

unsigned lock_class_count(void)
{
	return classes ? classes->len : 0;
}

struct lock_class *lock_class_sorted(unsigned i)
{
	static unsigned sorted_len;
	static GPtrArray *sorted;
	if (!sorted || sorted_len != classes->len) {
		if (sorted)
			g_ptr_array_free(sorted, TRUE);
		sorted = g_ptr_array_sized_new(classes->len);
		for (unsigned k = 0; k < classes->len; k++)
			g_ptr_array_add(sorted, g_ptr_array_index(classes, k));
		g_ptr_array_sort(sorted, by_name);
		sorted_len = classes->len;
	}
	return g_ptr_array_index(sorted, i);
}

/* ---- /proc/lock_stat text ---- */

#define LS_WIDTH (40 + 1 + 12 * (14 + 1))

static void put_line(GString *o, char ch, int offset, int len)
{
	g_string_append_printf(o, "%*s", offset, "");
	for (int i = 0; i < len; i++)
		g_string_append_c(o, ch);
	g_string_append_c(o, '\n');
}

/* ps -> "us.xx", rounded to the nearest 10 ns like the kernel's snprint_time. */
static void put_time(GString *o, sim_time_t ps)
{
	long long ns10 = (long long)((ps + 5000) / 10000); /* units of 10 ns */
	char buf[32];
	snprintf(buf, sizeof buf, "%lld.%02lld", ns10 / 100, ns10 % 100);
	g_string_append_printf(o, " %14s", buf);
}

static void put_side(GString *o, const struct lock_class *c, enum lock_side side)
{
	const struct lock_class_side *s = &c->side[side];
	char name[160];
	snprintf(name, sizeof name, "%s%s:", c->name, !c->rw ? "" : side == LS_WRITE ? "-W" : "-R");
	g_string_append_printf(o, "%40s %14llu %14llu", name, (unsigned long long)s->con_bounces,
			       (unsigned long long)s->contentions);
	put_time(o, s->wait.nr ? s->wait.min : 0);
	put_time(o, s->wait.max);
	put_time(o, s->wait.total);
	put_time(o, s->wait.nr ? s->wait.total / (sim_time_t)s->wait.nr : 0);
	g_string_append_printf(o, " %14llu %14llu", (unsigned long long)s->acq_bounces,
			       (unsigned long long)s->acquisitions);
	put_time(o, s->hold.nr ? s->hold.min : 0);
	put_time(o, s->hold.max);
	put_time(o, s->hold.total);
	put_time(o, s->hold.nr ? s->hold.total / (sim_time_t)s->hold.nr : 0);
	g_string_append_c(o, '\n');
}

static int by_count_then_site(const void *a, const void *b)
{
	const struct lock_site_count *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->site, y->site);
}

unsigned lockstat_top_points(const struct lock_site_count *pts, struct lock_site_count *out)
{
	struct lock_site_count tmp[LOCKSTAT_SITES];
	unsigned n = 0;
	for (unsigned i = 0; i < LOCKSTAT_SITES && pts[i].site; i++)
		tmp[n++] = pts[i];
	qsort(tmp, n, sizeof(tmp[0]), by_count_then_site);
	if (n > LOCKSTAT_POINTS)
		n = LOCKSTAT_POINTS;
	memcpy(out, tmp, n * sizeof(*out));
	return n;
}

static void put_points(GString *o, const struct lock_class *c, const struct lock_site_count *pts)
{
	struct lock_site_count top[LOCKSTAT_POINTS];
	unsigned n = lockstat_top_points(pts, top);
	if (!n)
		return;
	int namelen = (int)strlen(c->name);
	put_line(o, '-', 40 - namelen, namelen);
	for (unsigned i = 0; i < n; i++)
		g_string_append_printf(o, "%40s %14llu %29s %s\n", c->name,
				       (unsigned long long)top[i].count, "[<sim>]", top[i].site);
}

static uint64_t class_contentions(const struct lock_class *c)
{
	return c->side[LS_WRITE].contentions + c->side[LS_READ].contentions;
}

/* As /proc/lock_stat: most contended first; then by name, for determinism. */
static int by_contention(const void *a, const void *b)
{
	const struct lock_class *x = *(struct lock_class *const *)a;
	const struct lock_class *y = *(struct lock_class *const *)b;
	if (class_contentions(x) != class_contentions(y))
		return class_contentions(x) < class_contentions(y) ? 1 : -1;
	return strcmp(x->name, y->name);
}

void lockstat_format(GString *o)
{
	unsigned n = lock_class_count();
	struct lock_class **order = g_new(struct lock_class *, n ? n : 1);
	for (unsigned i = 0; i < n; i++)
		order[i] = lock_class_sorted(i);
	qsort(order, n, sizeof(*order), by_contention);

	g_string_append(o, "lock_stat version 0.4\n");
	put_line(o, '-', 0, LS_WIDTH);
	g_string_append_printf(o, "%40s %14s %14s %14s %14s %14s %14s %14s %14s %14s %14s %14s %14s\n",
			       "class name", "con-bounces", "contentions", "waittime-min",
			       "waittime-max", "waittime-total", "waittime-avg", "acq-bounces",
			       "acquisitions", "holdtime-min", "holdtime-max", "holdtime-total",
			       "holdtime-avg");
	put_line(o, '-', 0, LS_WIDTH);
	for (unsigned i = 0; i < n; i++) {
		const struct lock_class *c = order[i];
		if (!c->side[LS_WRITE].acquisitions && !c->side[LS_READ].acquisitions)
			continue;
		g_string_append_c(o, '\n');
		put_side(o, c, LS_WRITE);
		if (c->rw)
			put_side(o, c, LS_READ);
		put_points(o, c, c->contention_point);
		put_points(o, c, c->contending_point);
		put_line(o, '.', 0, LS_WIDTH);
	}
	g_free(order);
}
