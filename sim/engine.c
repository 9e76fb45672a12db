/*
 * SimGrid glue.  The platform is generated as XML in pure C (SimGrid 3.32 has no C API
 * to create hosts) and loaded once.  Hosts carry no speed model that we use: time is
 * charged by sim/clock.c with sleeps, so a host is only an anchor for its actor.
 */
#include <simgrid/actor.h>
#include <simgrid/engine.h>
#include <simgrid/host.h>
#include <simgrid/semaphore.h>
#include <xbt/config.h>
#include <xbt/log.h>
#include <glib/gstdio.h>
#include <string.h>
#include "engine.h"
#include "clock.h"
#include "die.h"
#include "hw/machine.h"
#include "hw/hw.h"

static GPtrArray *tasks;
static const struct machine *engine_machine;
static struct hw_model *engine_hw_model;
static int nr_user, nr_done;
static sim_time_t user_end;

void engine_init(void)
{
	static char arg0[] = "mmsim";
#if defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer cannot follow SimGrid's stack switching in this build of SimGrid
	 * (no fiber annotations): a Lua error that a task program catches with pcall
	 * unwinds by longjmp and leaves stale redzones on the actor's stack, reported later
	 * as overflows that are not there.  Actors as threads instead: still one runs at a
	 * time, in the same order, and ASan knows every stack. */
	static char ctx[] = "--cfg=contexts/factory:thread";
	static char *argv[] = { arg0, ctx, NULL };
	int argc = 2;
#else
	static char *argv[] = { arg0, NULL };
	int argc = 1;
#endif

	/* Our own reports replace SimGrid's log lines (its deadlock listing included). */
	xbt_log_control_set("root.thresh:critical");
	simgrid_init(&argc, argv);
	/* 0.1 ps: every picosecond charge is exact (see ../shared/reference/simgrid-notes.md §5). */
	sg_cfg_set_double("surf/precision", 1e-13);
	tasks = g_ptr_array_new();
}

void engine_platform(const struct machine *m, int ncpus)
{
	GString *xml = g_string_new("<?xml version='1.0'?>\n"
				    "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
				    "<platform version=\"4.1\">\n"
				    "  <zone id=\"machine\" routing=\"None\">\n");
	int cores = m->sockets * m->cores_per_socket;
	for (int cpu = 0; cpu < ncpus; cpu++) {
		g_string_append_printf(xml,
				       "    <host id=\"cpu%d\" speed=\"1Gf\">\n"
				       "      <prop id=\"socket\" value=\"%d\"/>\n"
				       "      <prop id=\"core\" value=\"%d\"/>\n"
				       "      <prop id=\"thread\" value=\"%d\"/>\n"
				       "    </host>\n",
				       cpu, machine_cpu_socket(m, cpu), cpu % cores, cpu / cores);
	}
	g_string_append(xml, "  </zone>\n</platform>\n");
	char *path = NULL;
	GError *gerr = NULL;
	int fd = g_file_open_tmp("mmsim-platform-XXXXXX.xml", &path, &gerr);
	if (fd < 0)
		sim_die("cannot create the platform file: %s", gerr->message);
	if (write(fd, xml->str, xml->len) != (ssize_t)xml->len)
		sim_die("cannot write the platform file %s", path);
	close(fd);
	simgrid_load_platform(path);
	g_unlink(path);
	g_free(path);
	g_string_free(xml, TRUE);
	engine_machine = m;
	/* One hardware model per run, covering every CPU of the machine (tasks may be
	 * placed on any of them); unused CPUs cost no memory. */
	engine_hw_model = hw_create(m, m->nr_cpus);
}

struct hw_model *engine_hw(void)
{
	return engine_hw_model;
}

static void actor_main(int argc, char **argv)
{
	struct engine_task *et = sg_actor_self_get_data();
	struct sim_task *t = &et->task;

	horizon_set(t->id, SIM_TIME_MAX);
	sim_sync(t);
	et->fn(t, et->arg);
	t->state = TASK_DEAD;
	horizon_set(t->id, SIM_TIME_MAX);
	if (!t->daemon) {
		nr_done++;
		if (t->now > user_end)
			user_end = t->now;
	}
}

struct sim_task *engine_spawn(const char *name, int cpu, bool daemon,
			      void (*fn)(struct sim_task *t, void *arg), void *arg)
{
	/* Line-aligned: its fields model per-task kernel state (wake_q). */
	struct engine_task *et = g_aligned_alloc0(1, sizeof(struct engine_task), 64);
	struct sim_task *t = &et->task;
	char host[32];

	t->id = (int)tasks->len;
	t->cpu = cpu;
	t->daemon = daemon;
	t->name = name;
	t->machine = engine_machine;
	t->hw = engine_hw_model;
	t->deadline = SIM_TIME_MAX;
	t->engine_private = et;
	et->fn = fn;
	et->arg = arg;
	et->park = sg_sem_init(0);
	snprintf(host, sizeof host, "cpu%d", cpu);
	sg_host_t h = sg_host_by_name(host);
	if (!h)
		sim_die("no host %s", host);
	et->actor = sg_actor_init(name, h);
	sg_actor_set_data(et->actor, et);
	g_ptr_array_add(tasks, et);
	if (!daemon)
		nr_user++;
	return t;
}

bool engine_users_done(void)
{
	return nr_done == nr_user;
}

GPtrArray *engine_tasks(void)
{
	return tasks;
}

void engine_run(sim_time_t deadline, struct engine_outcome *out)
{
	clock_deadline = deadline;
	horizon_init((int)tasks->len);
	/* Everyone starts at time 0. */
	for (unsigned i = 0; i < tasks->len; i++)
		horizon_set((int)i, 0);
	for (unsigned i = 0; i < tasks->len; i++) {
		struct engine_task *et = g_ptr_array_index(tasks, i);
		sg_actor_start(et->actor, actor_main, 0, NULL);
		if (et->task.daemon && !et->task.drain)
			sg_actor_daemonize(et->actor);
	}
	simgrid_run_until((double)deadline * 1e-12);

	*out = (struct engine_outcome){ .expected = nr_user, .finished = nr_done, .end = user_end };
	if (nr_done == nr_user)
		return;
	/* SimGrid stopped with user tasks alive.  If each of them is parked on a modelled
	 * lock, nothing can ever wake them: a deadlock (SimGrid itself returns normally then,
	 * and run_until moves its clock to the deadline, so we judge by task states).
	 * Otherwise the deadline cut off tasks that were still running. */
	GString *r = g_string_new("");
	sim_time_t latest = 0;
	out->deadline_hit = false;
	for (unsigned i = 0; i < tasks->len; i++) {
		struct sim_task *t = &((struct engine_task *)g_ptr_array_index(tasks, i))->task;
		if (t->state == TASK_DEAD || t->daemon)
			continue;
		if (t->state != TASK_PARKED)
			out->deadline_hit = true;
		if (t->now > latest)
			latest = t->now;
	}
	g_string_append_printf(r, "%s at %.3f us: %d of %d tasks did not finish\n",
			       out->deadline_hit ? "deadline reached" : "deadlock",
			       ps_to_ns(out->deadline_hit ? deadline : latest) / 1000.0,
			       nr_user - nr_done, nr_user);
	for (unsigned i = 0; i < tasks->len; i++) {
		struct sim_task *t = &((struct engine_task *)g_ptr_array_index(tasks, i))->task;
		if (t->state == TASK_DEAD || t->daemon)
			continue;
		g_string_append_printf(r, "  %s (cpu %d): %s%s since %.3f us\n", t->name, t->cpu,
				       t->state == TASK_PARKED ? "waiting for " : "running",
				       t->blocked_on ? t->blocked_on : "", ps_to_ns(t->now) / 1000.0);
	}
	out->report = g_string_free(r, FALSE);
}
