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
