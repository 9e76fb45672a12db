/*
 * Task programs: the Lua functions a scenario gives its tasks, each run in its own Lua
 * thread inside its task's actor, calling simulated operations (mmap, munmap, touch,
 * sleep, now, alive, rand).
 */
#ifndef MMSIM_WORKLOAD_H
#define MMSIM_WORKLOAD_H

#include <lua.h>
#include "task.h"

struct run_config;
struct task_group;

#define WORKLOAD_ENV "mmsim.env"

/* Add the operations to the sandbox table at env. */
void workload_register(lua_State *L, int env);
/* Make the Lua thread that will run group g's program as task t (index within g). */
void workload_prepare(struct run_config *cfg, struct task_group *g, int index,
		      struct sim_task *t);
/* Actor body: run the program; a Lua error ends the process with status 2. */
void workload_task_main(struct sim_task *t, void *arg);

#endif
