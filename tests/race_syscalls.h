/*
 * With race_fixture.h: the syscalls and accesses the fork and swap tests make as the
 * fixture's `reader` task, under the scheme the test is running (`scheme`), bracketed
 * for the checker as sim/workload.c brackets them.
 */
#ifndef MMSIM_RACE_SYSCALLS_H
#define MMSIM_RACE_SYSCALLS_H

#include "race_fixture.h"
#include "mm/mm.h"
#include "schemes/scheme.h"

static const struct mm_scheme_ops *scheme;

static inline unsigned long sys_mmap(struct mm_struct *mm, unsigned long len)
{
	unsigned long a = scheme_mmap_anon(scheme, &reader, mm, len, VM_READ | VM_WRITE);
	mm_check_op_end(&reader, mm, mm_check_op_begin(&reader, mm, MOP_MMAP, a, a + len,
						       VM_READ | VM_WRITE), true);
	return a;
}

/* One access per page of [a, a + len); false at the first that fails. */
static inline bool touch(struct mm_struct *mm, unsigned long a, unsigned long len, bool write)
{
	for (unsigned long off = 0; off < len; off += PAGE_SIZE)
		if (mmu_access(&reader, mm, a + off, write))
			return false;
	return true;
}

static inline pteval_t pte_of(struct mm_struct *mm, unsigned long a)
{
	pteval_t *pte = pt_lookup_pte(&reader, mm, a, NULL);
	return pte ? *pte : 0;
}

#endif
