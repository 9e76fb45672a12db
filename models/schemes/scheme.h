/*
 * A locking scheme: how a page fault, mmap and munmap synchronise with each other.  Each
 * scheme is a const ops table in models/schemes/<name>.c; the fault core, VMA and
 * page-table code underneath is shared.
 */
#ifndef MMSIM_SCHEME_H
#define MMSIM_SCHEME_H

#include "mm/mm.h"

struct mm_scheme_ops {
	const char *name;
	const char *description;
	/* The per-VMA lock the mm's VMAs carry (VMA_LOCK_NONE: no per-VMA locks at all). */
	enum vma_lock_kind vma_lock;
	/* Faults look up VMAs and walk page tables with no lock at all, validated by
	 * mm->mmap_seq: the mm keeps its VMAs, tree nodes and page tables for RCU readers. */
	bool speculative;
	/* Faults may complete under rcu_read_lock alone, holding no VMA lock and no
	 * mmap_lock (rcu, rcu-drop): page tables are then freed a grace period late. */
	bool lockless_fault;
	/* The #PF handler from do_user_addr_fault on: returns VM_FAULT_* (0: retry access). */
	vm_fault_t (*fault)(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			    unsigned int flags);
	/* mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS): address or 0. */
	unsigned long (*mmap)(struct sim_task *t, struct mm_struct *mm, unsigned long len,
			      unsigned long vm_flags);
	/* mmap(NULL, len, prot, MAP_SHARED or MAP_PRIVATE, fd of m, pgoff << PAGE_SHIFT)
	 * (vm_flags: access flags, and VM_SHARED): address or 0. */
	unsigned long (*mmap_file)(struct sim_task *t, struct mm_struct *mm, unsigned long len,
				   unsigned long vm_flags, struct address_space *m,
				   unsigned long pgoff);
	void (*munmap)(struct sim_task *t, struct mm_struct *mm, unsigned long start,
		       unsigned long len);
	/* mprotect(start, len, prot as VM_READ|VM_WRITE|VM_EXEC): 0 or -ENOMEM. */
	int (*mprotect)(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			unsigned long len, unsigned long vm_flags);
	/* madvise(start, len, MADV_DONTNEED): 0 or -ENOMEM. */
	int (*madvise_dontneed)(struct sim_task *t, struct mm_struct *mm, unsigned long start,
				unsigned long len);
};

/*
 * How the scheme's readers need removed VMAs and unlinked page tables freed (the
 * defaults of the scenario fields vma_free and pt_free), and whether a requested
 * combination is unsafe for them: the reason as text, NULL if it is safe.  An spf walk
 * with interrupts disabled needs no grace period for page tables: the flush IPI waits.
 */
enum vma_free_kind scheme_vma_free(const struct mm_scheme_ops *s);
enum pt_free_kind scheme_pt_free(const struct mm_scheme_ops *s);
const char *scheme_free_unsafe(const struct mm_scheme_ops *s, enum pt_free_kind pt,
			       enum vma_free_kind vma, bool spf_walk_irqs_off);

extern const struct mm_scheme_ops classic_scheme;
extern const struct mm_scheme_ops pervma_scheme;
extern const struct mm_scheme_ops pervma_refcount_scheme;
extern const struct mm_scheme_ops spf_scheme;
extern const struct mm_scheme_ops rcu_scheme;
extern const struct mm_scheme_ops rcu_drop_scheme;

/*
 * The fault under a VMA read lock the scheme already holds (do_user_addr_fault's
 * lock_vma_under_rcu branch): access check, handle_mm_fault, then `release` drops the
 * VMA lock.  VM_FAULT_RETRY means "take the mmap_lock path" (counted as a RETRY only when
 * the fault itself asked for it).
 */
vm_fault_t vma_locked_fault(struct sim_task *t, struct vm_area_struct *vma, unsigned long addr,
			    unsigned int flags,
			    void (*release)(struct sim_task *t, struct vm_area_struct *vma));

/* classic's operations, which the other schemes fall back to or share. */
vm_fault_t classic_fault(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			 unsigned int flags);
unsigned long classic_mmap(struct sim_task *t, struct mm_struct *mm, unsigned long len,
			   unsigned long vm_flags);
unsigned long classic_mmap_file(struct sim_task *t, struct mm_struct *mm, unsigned long len,
				unsigned long vm_flags, struct address_space *m, unsigned long pgoff);
void classic_munmap(struct sim_task *t, struct mm_struct *mm, unsigned long start,
		    unsigned long len);
int classic_mprotect(struct sim_task *t, struct mm_struct *mm, unsigned long start,
		     unsigned long len, unsigned long vm_flags);
int classic_madvise_dontneed(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			     unsigned long len);

/*
 * The 6.15 per-VMA lock path of pervma-refcount, without its fallback: VM_FAULT_RETRY
 * means "take mmap_lock" (no VMA could be locked, or the handler needs mmap_lock).  The
 * rcu schemes' second tier.
 */
vm_fault_t pervma_refcount_try(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			       unsigned int flags);

/*
 * Race-test injection: when set, schemes that look a VMA up without mmap_lock call it
 * between the lookup and the lock, so a test can change the tree exactly there (the rcu
 * schemes: between Tier 0's lookup and its commit under the PTE lock).  NULL in every
 * run of the simulator.
 */
extern void (*scheme_walk_hook)(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
				struct vm_area_struct *vma);

/* All schemes, NULL-terminated, in the order `mmsim list schemes` shows them. */
extern const struct mm_scheme_ops *const mm_schemes[];
const struct mm_scheme_ops *scheme_find(const char *name);

#endif
