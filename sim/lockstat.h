/*
 * Lock statistics and lockdep-lite, the simulator's /proc/lock_stat and lockdep.
 *
 * Every modelled lock embeds a struct lockdep_map naming its lock class; classes are named
 * as the kernel names them ("&mm->mmap_lock", "ptlock_ptr(ptdesc)") and all instances of a
 * class share one set of counters, as in kernel/locking/lockdep.c with CONFIG_LOCK_STAT.
 * Per class and per side (write / read) we keep the lock_stat 0.4 columns (contentions,
 * con-bounces, acquisitions, acq-bounces, wait and hold min/max/total) plus what the kernel
 * cannot measure: the split of waiting into spinning (busy, preemption off) and sleeping.
 * A bounce is a contention or acquisition whose previous one on the same lock instance was
 * made by another CPU.  Contention points are the call sites (__func__ of the caller of
 * spin_lock, down_read, ...) where tasks waited; contending points are where the holder
 * they waited for had taken the lock.
 *
 * lockdep-lite: each task keeps the stack of locks it holds.  Acquiring class B while
 * holding class A records the order A -> B with the two call sites the first time it is
 * seen.  The first acquisition that inverts a declared order (lockdep_declare_order) or an
 * order already observed is reported with both paths; the run then fails its checks.
 *
 * All times here are simulated; output order is by class name, never by address, so the
 * tables are deterministic.
 */
#ifndef MMSIM_LOCKSTAT_H
#define MMSIM_LOCKSTAT_H

#include <stdbool.h>
#include <stdint.h>
#include "simtime.h"

struct sim_task;
typedef struct _GString GString;

enum lock_side { LS_WRITE, LS_READ, LS_NR };
enum lock_wait_kind { LW_SPIN, LW_SLEEP };

#define LOCKSTAT_POINTS 4     /* contention points printed per class, as the kernel */
#define LOCKSTAT_SITES 16     /* distinct sites remembered per class */
#define LOCKDEP_MAX_HELD 24   /* the kernel's MAX_LOCK_DEPTH is 48 */
#define LOCKDEP_MAX_CLASSES 128

struct lock_time {
	uint64_t nr;
	sim_time_t min, max, total;   /* ps */
};

struct lock_site_count {
	const char *site;
	uint64_t count;
};

struct lock_class_side {
	uint64_t contentions, con_bounces;
	uint64_t acquisitions, acq_bounces;
	struct lock_time wait, hold;
	sim_time_t spin_wait, sleep_wait;  /* ps; their sum is wait.total */
};

struct lock_class {
	int id;                            /* registration order */
	char *name;
	bool rw;                           /* has a read side: printed as -W and -R lines */
	struct lock_class_side side[LS_NR];
	struct lock_site_count contention_point[LOCKSTAT_SITES];
	struct lock_site_count contending_point[LOCKSTAT_SITES];
	uint64_t transfers;                /* cache-line transfers the lock's protocol caused */
	uint64_t handoffs;                 /* contended releases that passed the lock on */
};

/* Embedded in every modelled lock. */
struct lockdep_map {
	struct lock_class *class;
	int cpu;                           /* CPU of the last contention or acquisition; -1 */
	/* Locks with optimistic spinners: called when a task holding it goes off CPU. */
	void (*owner_sleeps)(struct sim_task *t, struct lockdep_map *map);
};

/* One entry of a task's held-lock stack. */
struct held_lock {
	const struct lockdep_map *map;
	const char *site;                  /* where it was taken */
	sim_time_t since;                  /* ps, when it was acquired */
	unsigned char side;
};

struct lockdep_task {
	int depth;
	struct held_lock held[LOCKDEP_MAX_HELD];
};

/* Add one sample to a min/max/total record. */
void lock_time_add(struct lock_time *lt, sim_time_t v);

/* Find or create the class called name (the string is copied). */
struct lock_class *lock_class_get(const char *name, bool rw);
void lockdep_init_map(struct lockdep_map *map, const char *name, bool rw);

/*
 * Declare that locks of class `outer` are taken before locks of class `inner` whenever
 * both are held (one pair; declare each pair that matters).
 */
void lockdep_declare_order(const char *outer, const char *inner);

/*
 * lockdep: called at the start of every blocking acquisition attempt (so an order that
 * deadlocks is still reported), with the locks the task already holds.
 */
void lockdep_acquire(struct sim_task *t, struct lockdep_map *map, const char *site);

/*
 * Called by the primitives.  lock_contended at the start of a wait; lock_acquired when
 * the lock is ours (wait_start = the time the attempt began, spin/sleep = how the waiting
 * was spent, 0 for an uncontended acquisition); lock_released at release.
 */
void lock_contended(struct sim_task *t, struct lockdep_map *map, enum lock_side side,
		    const char *site, const struct sim_task *holder);
void lock_acquired(struct sim_task *t, struct lockdep_map *map, enum lock_side side,
		   const char *site, sim_time_t spin, sim_time_t sleep);
void lock_released(struct sim_task *t, struct lockdep_map *map);
/* A cache-line transfer caused by the lock protocol (counted per class for tests/output). */
static inline void lock_count_transfer(struct lockdep_map *map, unsigned n)
{
	map->class->transfers += n;
}

/* t goes off CPU: tell every lock it holds (their spinners stop). */
void lockdep_task_sleeps(struct sim_task *t);

/* Does t hold the lock (on any side)? */
bool lockdep_is_held(const struct sim_task *t, const struct lockdep_map *map);

/* The first lock-order inversion seen (NULL if none); a multi-line report. */
const char *lockdep_report(void);

/* All classes, sorted by name. */
unsigned lock_class_count(void);
struct lock_class *lock_class_sorted(unsigned i);
/* The top LOCKSTAT_POINTS of pts, most frequent first, ties by site name. */
unsigned lockstat_top_points(const struct lock_site_count *pts, struct lock_site_count *out);
/* /proc/lock_stat version 0.4 text for every class that was ever acquired, most
 * contended first as the kernel sorts it (ties by name). */
void lockstat_format(GString *out);

#endif
