/*
 * MMU notifiers: the subscription list of an mm and the invalidate_range_start/end calls
 * (mm/mmu_notifier.c, Linux 6.x).  The interface was merged in 2.6.27 after the 2008
 * threads: Christoph Lameter's "[patch 2/6] mmu_notifier: Callbacks to invalidate address
 * ranges" (lkml, Feb 2008; Nick Piggin: callbacks that sleep cannot run under
 * rcu_read_lock, hence SRCU) and Andrea Arcangeli's "[PATCH 0 of 9] mmu notifier #v12"
 * (http://lkml.org/lkml/2008/4/8/190).  arch_invalidate_secondary_tlbs is the 6.6 name of
 * invalidate_range (Alistair Popple, "mm_notifiers: Rename invalidate_range notifier",
 * Jul 2023).
 *
 * Costs, each at the point the kernel pays it:
 *  - mm_has_notifiers: a load of mm->notifier_subscriptions, a read-mostly mm line that
 *    every caller has in cache; not charged, so an mm with no subscriber costs nothing
 *    (the kernel's static branch on the same pointer).
 *  - the list walk under SRCU: __srcu_read_lock is this_cpu_inc of the CPU's lock count
 *    followed by smp_mb(), __srcu_read_unlock smp_mb() then this_cpu_inc
 *    (kernel/rcu/srcutree.c): each an atomic-cost access to the CPU's own srcu_data line
 *    (on x86 smp_mb() is a LOCK-prefixed instruction, the rmw cost of the preset).
 *  - one load per subscriber (its ops pointer) and whatever its callback charges.
 * The checker's ledger of open invalidations is host bookkeeping, not simulated memory.
 */
#include "mm.h"
#include "mmu_notifier.h"
#include "hw/hw.h"
#include "sync/rcu.h"
#include "die.h"

struct mn_open {
	int depth;
	struct mmu_notifier_range first;  /* the outermost open range, for the report */
};

static struct mmu_notifier_subscriptions *subscriptions_alloc(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *s = g_new0(struct mmu_notifier_subscriptions, 1);
	spin_lock_init(&s->lock, "&mm->notifier_subscriptions->lock");
	s->nr_cpus = mm->zone->nr_cpus;
	s->srcu = g_aligned_alloc0((gsize)s->nr_cpus, sizeof(struct srcu_ctr), 64);
	s->open = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	return s;
}

void mmu_notifier_register(struct sim_task *t, struct mmu_notifier *sub, struct mm_struct *mm)
{
	/* __mmu_notifier_register: mmap_lock (W) so that no invalidation is half way while
	 * the list changes (the kernel also takes mm_take_all_locks on the first
	 * registration; the model has no other locks that matter here). */
	mmap_write_lock(t, mm);
	if (!mm->notifier_subscriptions) {
		cpu_work(t, t->machine->path.vma_alloc); /* kzalloc of the subscriptions */
		mm->notifier_subscriptions = subscriptions_alloc(mm);
	}
	struct mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	sub->mm = mm;
	spin_lock(t, &s->lock);
	hw_store(t, &s->list, sizeof(s->list)); /* hlist_add_head_rcu */
	sub->next = s->list;
	s->list = sub;
	spin_unlock(t, &s->lock);
	mmap_write_unlock(t, mm);
}

static void srcu_read_lock_charged(struct sim_task *t, struct mmu_notifier_subscriptions *s)
{
	hw_rmw(t, &s->srcu[t->cpu].lock_count, sizeof(unsigned long));
	s->srcu[t->cpu].lock_count++;
}

static void srcu_read_unlock_charged(struct sim_task *t, struct mmu_notifier_subscriptions *s)
{
	hw_rmw(t, &s->srcu[t->cpu].unlock_count, sizeof(unsigned long));
	s->srcu[t->cpu].unlock_count++;
}

static struct mmu_notifier *first_sub(struct sim_task *t, struct mmu_notifier_subscriptions *s)
{
	hw_load(t, &s->list, sizeof(s->list));
	return s->list;
}

static struct mmu_notifier *next_sub(struct sim_task *t, struct mmu_notifier *sub)
{
	hw_load(t, sub, sizeof(*sub));
	return sub->next;
}

int mmu_notifier_invalidate_range_start(struct sim_task *t, struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *s = range->mm->notifier_subscriptions;
	if (!s)
		return 0;
	/* Blockable: callbacks may sleep, so never from an RCU read-side section. */
	sim_bug_on(rcu_read_lock_held(t));
	struct mn_open *o = g_hash_table_lookup(s->open, GINT_TO_POINTER(t->id));
	if (!o) {
		o = g_new0(struct mn_open, 1);
		g_hash_table_insert(s->open, GINT_TO_POINTER(t->id), o);
	}
	if (!o->depth++)
		o->first = *range;
	s->nr_open++;
	count_event(&t->stats, EV_MN_INVALIDATE);
	srcu_read_lock_charged(t, s);
	for (struct mmu_notifier *sub = first_sub(t, s); sub; sub = next_sub(t, sub))
		if (sub->ops->invalidate_range_start)
			sub->ops->invalidate_range_start(t, sub, range);
	srcu_read_unlock_charged(t, s);
	return 0;
}

void mmu_notifier_invalidate_range_end(struct sim_task *t, struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *s = range->mm->notifier_subscriptions;
	if (!s)
		return;
	sim_bug_on(rcu_read_lock_held(t));
	struct mn_open *o = g_hash_table_lookup(s->open, GINT_TO_POINTER(t->id));
	if (!o || !o->depth) {
		mm_violation(t, range->mm, range->start, "mmu-notifier-start-end-balance",
			     range->path, "invalidate_range_end of [0x%lx, 0x%lx) without a "
			     "matching invalidate_range_start", range->start, range->end);
		return;
	}
	o->depth--;
	s->nr_open--;
	srcu_read_lock_charged(t, s);
	for (struct mmu_notifier *sub = first_sub(t, s); sub; sub = next_sub(t, sub))
		if (sub->ops->invalidate_range_end)
			sub->ops->invalidate_range_end(t, sub, range);
	srcu_read_unlock_charged(t, s);
	/* The checker: nothing stale may be left in any secondary MMU now. */
	for (struct mmu_notifier *sub = s->list; sub; sub = sub->next)
		if (sub->ops->check)
			sub->ops->check(t, sub, range);
}

void mmu_notifier_arch_invalidate_secondary_tlbs(struct sim_task *t, struct mm_struct *mm,
						 unsigned long start, unsigned long end)
{
	struct mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	if (!s)
		return;
	/* Called from the CPU TLB flush, possibly under a PTL: the callbacks may not sleep
	 * (SRCU still protects the walk). */
	srcu_read_lock_charged(t, s);
	for (struct mmu_notifier *sub = first_sub(t, s); sub; sub = next_sub(t, sub))
		if (sub->ops->arch_invalidate_secondary_tlbs)
			sub->ops->arch_invalidate_secondary_tlbs(t, sub, start, end);
	srcu_read_unlock_charged(t, s);
}

static const char *const event_names[] = {
	[MMU_NOTIFY_UNMAP] = "MMU_NOTIFY_UNMAP",
	[MMU_NOTIFY_CLEAR] = "MMU_NOTIFY_CLEAR",
	[MMU_NOTIFY_PROTECTION_VMA] = "MMU_NOTIFY_PROTECTION_VMA",
};

void mmu_notifier_assert_balanced(struct sim_task *t, struct mm_struct *mm, const char *path)
{
	struct mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	if (!s || !s->nr_open)
		return;
	struct mn_open *o = g_hash_table_lookup(s->open, GINT_TO_POINTER(t->id));
	if (!o || !o->depth)
		return;
	mm_violation(t, mm, o->first.start, "mmu-notifier-start-end-balance", path,
		     "%s returns with %d invalidation(s) open: invalidate_range_start of "
		     "[0x%lx, 0x%lx) (%s) by %s had no invalidate_range_end; the secondary "
		     "MMU stays blocked (KVM: mmu_invalidate_in_progress never drops)", path,
		     o->depth, o->first.start, o->first.end, event_names[o->first.event],
		     o->first.path);
}

char *mmu_notifier_check_quiescent(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	if (!s || !s->nr_open)
		return NULL;
	return g_strdup_printf("%ld MMU notifier invalidation(s) still open at the end of the "
			       "run (invalidate_range_start without invalidate_range_end)",
			       s->nr_open);
}

void mmu_notifier_subscriptions_destroy(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	if (!s)
		return;
	g_hash_table_destroy(s->open);
	g_aligned_free(s->srcu);
	g_free(s);
	mm->notifier_subscriptions = NULL;
}
