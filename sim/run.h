/*
 * One simulation point, in this process: build the machine and the address space, spawn
 * the tasks, run, check, report.  SimGrid allows one engine per process, so a sweep runs
 * each point in a child (sim/sweep.c).
 */
#ifndef MMSIM_RUN_H
#define MMSIM_RUN_H

#include <stdbool.h>

struct run_config;

/* Returns the process exit status: 0, EXIT_USAGE or EXIT_VIOLATION. */
int run_point(struct run_config *cfg, const char *out_dir, bool quiet);

#endif
