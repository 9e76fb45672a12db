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

/* Let the grace periods the unmaps started end (the stub clock moves both tasks past
 * them), so that no callback of this zone runs after it is gone. */
static inline void race_drain_pt_frees(struct mm_struct *mm, struct zone *zone)
{
	for (int i = 0; i < 8 && mm->nr_pt_rcu_pending + mm_exited_pt_pending(zone); i++) {
		sim_time_t later = (reader.now > writer.now ? reader.now : writer.now) + 1000000;
		reader.now = writer.now = later;
		rcu_qs(&reader);
		rcu_qs(&writer);
	}
}

#endif
