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
	/* The #PF handler from do_user_addr_fault on: returns VM_FAULT_* (0: retry access). */
	vm_fault_t (*fault)(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			    unsigned int flags);
	/* mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS): address or 0. */
	unsigned long (*mmap)(struct sim_task *t, struct mm_struct *mm, unsigned long len,
			      unsigned long vm_flags);
	void (*munmap)(struct sim_task *t, struct mm_struct *mm, unsigned long start,
		       unsigned long len);
	/* mprotect(start, len, prot as VM_READ|VM_WRITE|VM_EXEC): 0 or -ENOMEM. */
	int (*mprotect)(struct sim_task *t, struct mm_struct *mm, unsigned long start,
			unsigned long len, unsigned long vm_flags);
	/* madvise(start, len, MADV_DONTNEED): 0 or -ENOMEM. */
	int (*madvise_dontneed)(struct sim_task *t, struct mm_struct *mm, unsigned long start,
				unsigned long len);
};

extern const struct mm_scheme_ops classic_scheme;

/* All schemes, NULL-terminated, in the order `mmsim list schemes` shows them. */
extern const struct mm_scheme_ops *const mm_schemes[];
const struct mm_scheme_ops *scheme_find(const char *name);

#endif
