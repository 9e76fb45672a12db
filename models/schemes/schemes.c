/* The registry of locking schemes. */
#include <string.h>
#include "scheme.h"
#include "die.h"
#include "hw/hw.h"

const struct mm_scheme_ops *const mm_schemes[] = {
	&classic_scheme,
	&spf_scheme,
	&pervma_scheme,
	&pervma_refcount_scheme,
	&rcu_scheme,
	&rcu_drop_scheme,
	NULL,
};

void (*scheme_walk_hook)(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			 struct vm_area_struct *vma);

const struct mm_scheme_ops *scheme_find(const char *name)
{
	for (int i = 0; mm_schemes[i]; i++) {
		const struct mm_scheme_ops *s = mm_schemes[i];
		if (strcmp(s->name, name))
			continue;
		/* Every scheme implements every operation (it may share classic's). */
		if (!s->fault || !s->mmap || !s->mmap_file || !s->munmap || !s->mprotect || !s->madvise_dontneed)
			sim_die("scheme %s lacks an operation in its ops table", s->name);
		return s;
	}
	return NULL;
}

vm_fault_t vma_locked_fault(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
			    unsigned int flags,
			    void (*release)(struct sim_task *t, struct vm_area_struct *vma))
{
	hw_load(t, &vma->vm_flags, sizeof(vma->vm_flags));
	/* access_error: the mmap_lock path reports it. */
	if (access_error(vma->vm_flags, flags)) {
		release(t, vma);
		return VM_FAULT_RETRY;
	}
	vm_fault_t ret = handle_mm_fault(t, vma, addr, flags | FAULT_FLAG_VMA_LOCK);
	release(t, vma); /* no modelled fault drops the lock itself (none returns RETRY) */
	if (!(ret & VM_FAULT_RETRY)) {
		count_event(&t->stats, EV_VMA_LOCK_SUCCESS);
		return ret;
	}
	count_event(&t->stats, EV_VMA_LOCK_RETRY);
	return VM_FAULT_RETRY;
}

/*
 * Readers that find VMAs with no lock need a removed VMA to stay a VMA until they are
 * done: 6.4's lock_vma_under_rcu and SPF's copy read it after the tree walk (RCU), and
 * 6.15's vm_refcnt readers check vm_mm and the range after taking their reference, so
 * they survive immediate reuse (SLAB_TYPESAFE_BY_RCU).
 */
enum vma_free_kind scheme_vma_free(const struct mm_scheme_ops *s)
{
	if (s->vma_lock == VMA_LOCK_REFCNT)
		return VMA_FREE_TYPESAFE;
	if (s->vma_lock == VMA_LOCK_RWSEM || s->speculative)
		return VMA_FREE_RCU;
	return VMA_FREE_IMMEDIATE;
}

/* Faults that walk page tables holding neither mmap_lock nor a VMA lock (SPF, the RCU
 * tiers) may read a table that munmap unlinks: it must outlive their RCU section. */
enum pt_free_kind scheme_pt_free(const struct mm_scheme_ops *s)
{
	return s->speculative || s->lockless_fault ? PT_FREE_RCU : PT_FREE_IMMEDIATE;
}

const char *scheme_free_unsafe(const struct mm_scheme_ops *s, enum pt_free_kind pt,
			       enum vma_free_kind vma, bool spf_walk_irqs_off)
{
	bool lockless_vma = s->vma_lock != VMA_LOCK_NONE || s->speculative;
	if (pt == PT_FREE_IMMEDIATE && scheme_pt_free(s) == PT_FREE_RCU && !spf_walk_irqs_off)
		return "pt_free = \"immediate\" is unsafe with this scheme: its faults walk page "
		       "tables under RCU alone (use \"rcu\")";
	if (vma == VMA_FREE_IMMEDIATE && lockless_vma)
		return "vma_free = \"immediate\" is unsafe with this scheme: its faults read VMAs "
		       "found without mmap_lock (use \"rcu\" or, with pervma-refcount, \"typesafe\")";
	/* 6.4 takes the separately allocated vma_lock of what it found and never rechecks
	 * vm_mm: a reused VMA (or its freed vma_lock) would be locked as if it were ours. */
	if (vma == VMA_FREE_TYPESAFE && s->vma_lock == VMA_LOCK_RWSEM)
		return "vma_free = \"typesafe\" is unsafe with this scheme: 6.4's per-VMA lock does "
		       "not revalidate a reused VMA (use \"rcu\")";
	return NULL;
}
