/*
 * Three kinds of failure (see docs/architecture.md):
 *  - an internal bug dies loudly with file:line (sim_die, exit status 70);
 *  - a scenario or user mistake is reported with the scenario's file:line (exit status 2);
 *  - a model correctness violation (invariant, deadlock, deadline) exits with status 3.
 */
#ifndef MMSIM_DIE_H
#define MMSIM_DIE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_VIOLATION 3
#define EXIT_INTERNAL 70

#define sim_die(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "mmsim: internal error at %s:%d: ", __FILE__, __LINE__);           \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		fflush(stderr);                                                                    \
		_exit(EXIT_INTERNAL);                                                              \
	} while (0)

#define sim_bug_on(cond)                                                                           \
	do {                                                                                       \
		if (__builtin_expect(!!(cond), 0))                                                 \
			sim_die("BUG_ON(%s)", #cond);                                              \
	} while (0)

#endif
