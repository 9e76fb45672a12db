/*
 * For stub-clock unit tests of the mm models: the invariant checker's violations are
 * counted and the last report kept (mm_set_violation_handler(record_violation, NULL)),
 * instead of ending the process as a run does.
 */
#ifndef MMSIM_TESTS_VIOLATION_LOG_H
#define MMSIM_TESTS_VIOLATION_LOG_H

#include <glib.h>

static int violations;
static char *last_violation;

static inline void record_violation(const char *report, void *arg)
{
	(void)arg;
	violations++;
	g_free(last_violation);
	last_violation = g_strdup(report);
}

#endif
