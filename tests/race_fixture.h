/*
 * The fixture of the deterministic race tests of the lockless fault schemes
 * (test_vma_race.c, test_spf_race.c, test_rcu_fault.c): a faulting `reader` on CPU 0 and a
 * `writer` on CPU 1 over the machine model and expedited RCU, on the stub clock, so a test
 * can run the writer inside the reader's window through scheme_walk_hook.
 */
#ifndef MMSIM_RACE_FIXTURE_H
#define MMSIM_RACE_FIXTURE_H

#include <stdio.h>
#include "tap.h"
#include "hw/machine.h"
#include "hw/hw.h"
#include "sync/rcu.h"
#include "schemes/scheme.h"

static struct sim_task reader, writer;
static struct machine *race_machine;
static struct hw_model *race_hw;

/* false (with a TAP bail-out printed) if the machine cannot be loaded. */
static inline bool race_setup(void)
{
	char *err = NULL;
	race_machine = machine_load("generic-2s", &err);
	if (!race_machine) {
		printf("Bail out! %s\n", err);
		return false;
	}
	race_hw = hw_create(race_machine, race_machine->nr_cpus);
	rcu_init(RCU_EXPEDITED, 1e6, race_machine->nr_cpus);
	reader = (struct sim_task){ .name = "reader", .cpu = 0, .machine = race_machine,
				    .hw = race_hw, .deadline = SIM_TIME_MAX };
	writer = (struct sim_task){ .name = "writer", .cpu = 1, .id = 1, .machine = race_machine,
				    .hw = race_hw, .deadline = SIM_TIME_MAX };
	rcu_register(&reader);
	rcu_register(&writer);
	return true;
}

/*
 * End of one scheme's races: once both tasks pass a quiescent state the grace periods end
 * and the callbacks free what the writer retired; none of it may have been used after.
 */
static inline void race_end_grace_periods(const struct mm_scheme_ops *s)
{
	rcu_qs(&reader);
	rcu_qs(&writer);
	tap_ok(!rcu->violation, "%s: no access to an object after its grace period%s%s", s->name,
	       rcu->violation ? ": " : "", rcu->violation ? rcu->violation : "");
	scheme_walk_hook = NULL;
}

static inline int race_teardown(void)
{
	hw_destroy(race_hw);
	machine_free(race_machine);
	return tap_done();
}

#endif
