/*
 * A machine preset: topology and the costs the hardware model charges.  Presets are Lua
 * data files (models/hw/presets/<name>.lua) so users add machines without recompiling;
 * each number in them cites its source.
 */
#ifndef MMSIM_MACHINE_H
#define MMSIM_MACHINE_H

#include <stdint.h>
#include <stdbool.h>
#include "simtime.h"

struct hw_costs {
	sim_time_t load;         /* ps, plain load (constant model: no cache state) */
	sim_time_t store;        /* ps, plain store */
	sim_time_t rmw;          /* ps, uncontended LOCK-prefixed read-modify-write */
	sim_time_t transfer;     /* ps, cache-line transfer between two cores of a socket */
	sim_time_t transfer_remote; /* ps, same between sockets */
	double zero_bytes_per_ps;   /* clear_page bandwidth */
	double copy_bytes_per_ps;   /* copy_page bandwidth */
	sim_time_t wakeup;       /* ps, from wake-up of a sleeping task to it running */
};

/* Instruction path lengths of kernel code that is not memory traffic (ns, per preset). */
struct path_costs {
	double exception;        /* #PF entry + exit (irqentry, CR2, error code decode, iret) */
	double syscall;          /* syscall entry + exit */
	double fault_core;       /* handle_mm_fault bookkeeping outside the modelled accesses */
	double vma_alloc;        /* slab alloc or free of a vm_area_struct */
	double maple_node_alloc; /* slab alloc or free of one 256-byte maple node */
	double page_alloc;       /* pcp list pop/push and struct page init */
	double zone_refill;      /* rmqueue_bulk: moving one pcp batch under zone->lock */
	double pte_op;           /* building or clearing one PTE, rmap and counters */
};

struct machine {
	char *name;
	char *description;
	char *file;              /* where the preset came from */
	int sockets;
	int cores_per_socket;
	int threads_per_core;
	int nr_cpus;             /* sockets * cores_per_socket * threads_per_core */
	uint64_t mem_bytes;      /* simulated physical memory */
	double freq_ghz;
	struct hw_costs hw;
	struct path_costs path;
};

/*
 * Look a preset up by name (in MMSIM_MACHINE_PATH, then the presets shipped with mmsim) or
 * by path (a name ending in ".lua").  Returns NULL and sets *err on failure.
 */
struct machine *machine_load(const char *name_or_path, char **err);
void machine_free(struct machine *m);
/* Names and descriptions of the shipped presets, sorted; caller frees with g_strfreev. */
char **machine_list(char ***descriptions);

/* Linux CPU numbering: socket-major, SMT siblings after all cores. */
static inline int machine_cpu_socket(const struct machine *m, int cpu)
{
	int cores = m->sockets * m->cores_per_socket;
	return (cpu % cores) / m->cores_per_socket;
}

#endif
