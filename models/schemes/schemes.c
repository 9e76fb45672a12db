/* The registry of locking schemes. */
#include <string.h>
#include "scheme.h"

const struct mm_scheme_ops *const mm_schemes[] = {
	&classic_scheme,
	&pervma_scheme,
	&pervma_refcount_scheme,
	NULL,
};

void (*scheme_walk_hook)(struct sim_task *t, struct mm_struct *mm, unsigned long addr,
			 struct vm_area_struct *vma);

const struct mm_scheme_ops *scheme_find(const char *name)
{
	for (int i = 0; mm_schemes[i]; i++)
		if (!strcmp(mm_schemes[i]->name, name))
			return mm_schemes[i];
	return NULL;
}
