/*
 * A machine preset: topology and the inputs of the hardware model (models/hw/hw.h).
 * Presets are Lua data files (models/hw/presets/<name>.lua, format in docs/model-hw.md)
 * so users add machines without recompiling; each number in them cites its source.
 *
 * Units are the ones the sources publish: cycles at freq_ghz for core-local latencies,
 * ns for cross-core transfers and DRAM, GB/s for bulk bandwidth.  hw_create() converts
 * them to picoseconds once.
 */
#ifndef MMSIM_MACHINE_H
#define MMSIM_MACHINE_H

#include <stdint.h>
#include <stdbool.h>
#include "simtime.h"

/*
 * Derived costs kept for code that wants a figure without going through the line model
 * (hw_handoff of a line nobody tracks, wake-ups).  Filled by the loader from the tables
 * below; not set in preset files.
 */
struct hw_costs {
	sim_time_t transfer;     /* ps, line transfer between two cores of one LLC domain */
	double zero_bytes_per_ps;   /* clear_page bandwidth */
	double copy_bytes_per_ps;   /* copy_page bandwidth */
	sim_time_t wakeup;       /* ps, from wake-up of a sleeping task to it running */
};

/* Per-core private caches and the LLC of one domain (socket or CCX/die). */
struct cache_geometry {
	double l1d_kib, l2_kib, llc_kib;   /* llc_kib: per LLC domain */
	int l1d_ways, l2_ways, llc_ways;
	double l1d_cycles, l2_cycles, llc_cycles; /* load-to-use latency of a hit */
	double dram_local_ns, dram_remote_ns;
};

/* One-way cache-line transfer by the relation of the two CPUs (CAS ping-pong / 2). */
struct coherence_costs {
	double smt_ns;           /* SMT siblings of one core */
	double llc_ns;           /* two cores of one LLC domain (die / CCX) */
	double socket_ns;        /* other LLC domain of the same socket */
	double remote_ns;        /* other socket */
	double rmw_cycles;       /* uncontended LOCK CMPXCHG */
};

struct tlb_geometry {
	int l1_4k_entries, l1_4k_ways;
	int l1_2m_entries, l1_2m_ways;
	int stlb_entries, stlb_ways;     /* shared by 4 KiB and 2 MiB entries */
	double stlb_hit_cycles;          /* extra latency of an L1 dTLB miss that hits the STLB */
	bool pcid;                       /* entries tagged by address space: switch_mm keeps them */
	double invlpg_cycles;            /* one INVLPG */
	double flush_base_cycles;        /* flush_tlb_mm_range overhead around the INVLPGs */
	double cr3_flush_cycles;         /* full flush by CR3 write (refill is modelled by misses) */
	int flush_ceiling;               /* tlb_single_page_flush_ceiling: above it, full flush */
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
	double wakeup;           /* wake-up of a sleeping task until it runs (IPI + switch) */
	double file_read;        /* one 4 KiB page read from the backing device (latency) */
	double swap_read;        /* one 4 KiB page read from the swap device (latency) */
	double swap_write;       /* one 4 KiB page written to the swap device (latency) */
};

struct machine {
	char *name;
	char *description;
	char *file;              /* where the preset came from */
	int sockets;
	int cores_per_socket;
	int threads_per_core;
	int llc_per_socket;      /* LLC domains (CCX, die) per socket; cores split evenly */
	int nodes_per_socket;    /* NUMA nodes per socket (SNC/NPS); cores split evenly */
	int nr_cpus;             /* sockets * cores_per_socket * threads_per_core */
	uint64_t mem_bytes;      /* simulated physical memory */
	double freq_ghz;
	struct cache_geometry cache;
	struct coherence_costs coh;
	struct tlb_geometry tlb;
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

/*
 * Linux CPU numbering: socket-major, SMT siblings after all cores.  CPU c is hardware
 * thread c / nr_cores of core c % nr_cores; cores are numbered socket by socket.
 */
static inline int machine_nr_cores(const struct machine *m)
{
	return m->sockets * m->cores_per_socket;
}

static inline int machine_cpu_core(const struct machine *m, int cpu)
{
	return cpu % machine_nr_cores(m);
}

static inline int machine_cpu_socket(const struct machine *m, int cpu)
{
	return machine_cpu_core(m, cpu) / m->cores_per_socket;
}

/* LLC domain (CCX or die), numbered machine-wide. */
static inline int machine_cpu_llc(const struct machine *m, int cpu)
{
	int core = machine_cpu_core(m, cpu);
	int per = m->cores_per_socket / m->llc_per_socket;
	return (core / m->cores_per_socket) * m->llc_per_socket + (core % m->cores_per_socket) / per;
}

static inline int machine_cpu_node(const struct machine *m, int cpu)
{
	int core = machine_cpu_core(m, cpu);
	int per = m->cores_per_socket / m->nodes_per_socket;
	return (core / m->cores_per_socket) * m->nodes_per_socket +
	       (core % m->cores_per_socket) / per;
}

static inline double machine_cycles_to_ns(const struct machine *m, double cycles)
{
	return cycles / m->freq_ghz;
}

#endif
