/*
 * Constant-latency hardware model: bulk work by bandwidth, line hand-offs by whether the
 * two CPUs share a socket.  Costs come from the machine preset (models/hw/presets/).
 */
#include "hw/hw.h"

void hw_bulk_zero(struct sim_task *t, uint64_t paddr, size_t bytes)
{
	cpu_charge(t, (sim_time_t)((double)bytes / t->machine->hw.zero_bytes_per_ps));
}

void hw_bulk_copy(struct sim_task *t, uint64_t dst, uint64_t src, size_t bytes)
{
	cpu_charge(t, (sim_time_t)((double)bytes / t->machine->hw.copy_bytes_per_ps));
}

sim_time_t hw_handoff(const struct sim_task *owner, const struct sim_task *waiter,
		      const void *addr)
{
	const struct machine *m = waiter->machine;

	if (owner == waiter)
		return m->hw.load;
	if (machine_cpu_socket(m, owner->cpu) != machine_cpu_socket(m, waiter->cpu))
		return m->hw.transfer_remote;
	return m->hw.transfer;
}
