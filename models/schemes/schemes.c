/* The registry of locking schemes. */
#include <string.h>
#include "scheme.h"

const struct mm_scheme_ops *const mm_schemes[] = {
	&classic_scheme,
	NULL,
};

const struct mm_scheme_ops *scheme_find(const char *name)
{
	for (int i = 0; mm_schemes[i]; i++)
		if (!strcmp(mm_schemes[i]->name, name))
			return mm_schemes[i];
	return NULL;
}
