/*
 * Task programs: the Lua functions a scenario gives its tasks, each run in its own Lua
 * thread inside its task's actor, calling simulated operations (mmap, munmap, mprotect,
 * madvise_dontneed, touch, sleep, now, alive, rand), operations on shared simulated
 * memory words (shm_*), and report(), which records a scenario-defined metric.
 */
#ifndef MMSIM_WORKLOAD_H
#define MMSIM_WORKLOAD_H

#include <lua.h>
#include <glib.h>
#include "task.h"

struct run_config;
struct task_group;

#define WORKLOAD_ENV "mmsim.env"

/* mmap(len, {file = ...}) of sim/workload_file.c: the options table at index 2. */
int workload_mmap_file(lua_State *L, struct sim_task *t, unsigned long len);

/* Add the operations to the sandbox table at env. */
void workload_register(lua_State *L, int env);
/* Make the Lua thread that will run group g's program as task t (index within g). */
void workload_prepare(struct run_config *cfg, struct task_group *g, int index,
		      struct sim_task *t);
/* Actor body: run the program; a Lua error ends the process with status 2. */
void workload_task_main(struct sim_task *t, void *arg);

/*
 * A metric reported by task programs with report(name, value): every sample is kept as
 * count/sum/min/max; summary.csv shows the mean in a column named after it.
 */
struct metric {
	char *name;
	uint64_t count;
	double sum, min, max;
};
/* The run's metrics, sorted by name (struct metric *). */
GPtrArray *workload_metrics(void);

#endif
