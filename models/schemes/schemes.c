/* The registry of locking schemes. */
#include <string.h>
#include "scheme.h"
#include "die.h"

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
		if (!s->fault || !s->mmap || !s->munmap || !s->mprotect || !s->madvise_dontneed)
			sim_die("scheme %s lacks an operation in its ops table", s->name);
		return s;
	}
	return NULL;
}
