/*
 * MMU notifiers (include/linux/mmu_notifier.h, mm/mmu_notifier.c): how a secondary MMU
 * (KVM's shadow/EPT tables, an IOMMU, a device) learns that the primary page tables of an
 * mm are about to change.  Every path that takes a present PTE away or changes what it
 * maps or permits brackets the change:
 *
 *	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, mm, start, end, "munmap");
 *	mmu_notifier_invalidate_range_start(t, &range);   before the PTEs change
 *	... clear / rewrite the PTEs under the PTL, flush the TLB ...
 *	mmu_notifier_invalidate_range_end(t, &range);     after; pages not yet freed
 *
 * Between start and end the subscriber must not establish new translations in the range
 * (KVM: mmu_invalidate_in_progress and mmu_invalidate_seq).  Start and end must balance on
 * every path, error paths included (the 2008 review found a path that missed end on
 * -ENOMEM); mmu_notifier_assert_balanced checks it at the end of every syscall and fault.
 *
 * Callers: munmap (unmap_region), MADV_DONTNEED (zap_page_range_single), mprotect
 * (change_protection), the write fault that replaces the zero page (wp_page_copy); fork's
 * COW and khugepaged's collapse call the same API.  The subscription list is walked under
 * SRCU (mmu_notifier_subscriptions->srcu): callbacks may sleep, so the walk cannot be an
 * RCU read-side section.  Docs: docs/model-mm.md "MMU notifiers", docs/locking.md.
 */
#ifndef MMSIM_MMU_NOTIFIER_H
#define MMSIM_MMU_NOTIFIER_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "task.h"
#include "sync/spinlock.h"

struct mm_struct;

/* Why the range is invalidated (enum mmu_notifier_event). */
enum mmu_notifier_event {
	MMU_NOTIFY_UNMAP,          /* munmap: the VMA goes away */
	MMU_NOTIFY_CLEAR,          /* pages unmapped, VMA stays (MADV_DONTNEED, COW, collapse) */
	MMU_NOTIFY_PROTECTION_VMA, /* mprotect: permissions change */
};

struct mmu_notifier_range {
	struct mm_struct *mm;
	unsigned long start, end;  /* [start, end), page aligned */
	enum mmu_notifier_event event;
	const char *path;          /* caller, for the checker's reports */
};

struct mmu_notifier;

/*
 * A subscriber's callbacks.  invalidate_range_start returns 0 (or -EAGAIN for a
 * non-blockable range, which no modelled caller issues); it and invalidate_range_end may
 * sleep.  arch_invalidate_secondary_tlbs is called from the CPU TLB flush for subscribers
 * that share the CPU page tables (IOMMU SVA); NULL for those with their own tables.
 * check is the checker's hook (no cost): after invalidate_range_end has returned, the
 * subscriber must hold no translation in the range to a page the mm no longer maps there.
 */
struct mmu_notifier_ops {
	const char *name;
	int (*invalidate_range_start)(struct sim_task *t, struct mmu_notifier *sub,
				      const struct mmu_notifier_range *range);
	void (*invalidate_range_end)(struct sim_task *t, struct mmu_notifier *sub,
				     const struct mmu_notifier_range *range);
	void (*arch_invalidate_secondary_tlbs)(struct sim_task *t, struct mmu_notifier *sub,
					       unsigned long start, unsigned long end);
	void (*check)(struct sim_task *t, struct mmu_notifier *sub,
		      const struct mmu_notifier_range *range);
};

struct mmu_notifier {
	const struct mmu_notifier_ops *ops;
	struct mm_struct *mm;
	struct mmu_notifier *next;  /* the mm's subscription list (hlist) */
};

/* Per-CPU SRCU read-side counters, one line each (srcu_data of srcutree). */
struct srcu_ctr {
	unsigned long lock_count;
	unsigned long unlock_count;
} __attribute__((aligned(64)));

/*
 * mm->notifier_subscriptions: allocated by the first registration, never freed before
 * the mm (as the kernel's).
 */
struct mmu_notifier_subscriptions {
	struct spinlock lock;        /* list changes; the list is read under SRCU */
	struct mmu_notifier *list;
	struct srcu_ctr *srcu;       /* [nr_cpus] */
	int nr_cpus;
	/* Checker bookkeeping (no simulated memory): invalidations open per task. */
	GHashTable *open;            /* task id -> struct mn_open * */
	long nr_open;
};

static inline void mmu_notifier_range_init(struct mmu_notifier_range *r,
					   enum mmu_notifier_event event, struct mm_struct *mm,
					   unsigned long start, unsigned long end,
					   const char *path)
{
	*r = (struct mmu_notifier_range){ mm, start, end, event, path };
}

/* mmu_notifier_register: under mmap_lock (W), add sub to mm's list. */
void mmu_notifier_register(struct sim_task *t, struct mmu_notifier *sub, struct mm_struct *mm);
/* The notifier calls; nothing at all when the mm has no subscriber (mm_has_notifiers). */
int mmu_notifier_invalidate_range_start(struct sim_task *t, struct mmu_notifier_range *range);
void mmu_notifier_invalidate_range_end(struct sim_task *t, struct mmu_notifier_range *range);
void mmu_notifier_arch_invalidate_secondary_tlbs(struct sim_task *t, struct mm_struct *mm,
						 unsigned long start, unsigned long end);
/* Checker: t leaves a syscall or fault (`path`) with no invalidation of its open. */
void mmu_notifier_assert_balanced(struct sim_task *t, struct mm_struct *mm, const char *path);
/* End of the run: no invalidation is open; NULL or a report (g_free it). */
char *mmu_notifier_check_quiescent(struct mm_struct *mm);
/* Host memory of the subscriptions (end of run). */
void mmu_notifier_subscriptions_destroy(struct mm_struct *mm);

/*
 * The KVM-like secondary MMU (models/mm/secondary_mmu.c): vCPU actors that map guest
 * pages into a shadow table by walking the mm's page tables, with invalidation callbacks
 * that take its mmu_lock, cost callback_ns and may sleep.
 */
struct secondary_mmu_params {
	int cpus;              /* vCPU actors, one per CPU after the scenario's */
	double rate_per_ms;    /* guest accesses per simulated ms, per vCPU */
	double callback_ns;    /* secondary TLB flush in each invalidate_range_start */
	bool sleeps;           /* mmu_lock is a mutex and the flush waits asleep */
};
struct secondary_mmu;
struct secondary_mmu *secondary_mmu_create(struct mm_struct *mm,
					   const struct secondary_mmu_params *p);
void secondary_mmu_destroy(struct secondary_mmu *s);
/* The vCPU actor's body: registers the notifier (first vCPU), then runs guest accesses. */
void secondary_mmu_vcpu_main(struct sim_task *t, void *arg);

#endif
