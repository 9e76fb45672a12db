/*
 * The SimGrid engine: one host per simulated CPU, one actor per task pinned to its CPU,
 * daemon actors for kernel threads, a bounded run, and our own check that every task
 * finished (SimGrid returns normally on deadlock; we must not).  One engine per process.
 */
#ifndef MMSIM_ENGINE_H
#define MMSIM_ENGINE_H

#include <simgrid/forward.h>
#include <glib.h>
#include "task.h"

struct machine;

struct engine_task {
	struct sim_task task;
	sg_actor_t actor;
	sg_sem_t park;              /* per-task semaphore: sim_park / sim_unpark */
	void (*fn)(struct sim_task *t, void *arg);
	void *arg;
};

struct engine_outcome {
	int expected;               /* user (non-daemon) tasks */
	int finished;
	sim_time_t end;             /* latest end time of a user task */
	bool deadline_hit;
	char *report;               /* why the run failed, or NULL */
};

/* Once per process, before anything else SimGrid. */
void engine_init(void);
/* Generate the platform for the first ncpus CPUs of machine m and load it, and create the
 * run's hardware model. */
void engine_platform(const struct machine *m, int ncpus);
struct sim_task *engine_spawn(const char *name, int cpu, bool daemon,
			      void (*fn)(struct sim_task *t, void *arg), void *arg);
/* Run until every user task has ended or simulated time reaches deadline. */
void engine_run(sim_time_t deadline, struct engine_outcome *out);
GPtrArray *engine_tasks(void);  /* struct engine_task *, in spawn order */
/* Have all user (non-daemon) tasks ended?  For draining daemons (sim_task.drain). */
bool engine_users_done(void);
/* The run's hardware model (made by engine_platform). */
struct hw_model *engine_hw(void);

/* sim/clock.c */
extern uint64_t sim_simcalls;
extern sim_time_t clock_deadline;
void horizon_init(int ntasks);
void horizon_set(int slot, sim_time_t when);

#endif
