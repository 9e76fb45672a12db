/*
 * The one place a scenario is read (sim/config.c): a Lua file run in a sandbox, strict
 * about every key and value, with --set/--over overrides, and a fully resolved
 * configuration (defaults included) that is written next to the results.
 */
#ifndef MMSIM_CONFIG_H
#define MMSIM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <lua.h>

struct machine;
struct mm_scheme_ops;

#define CONFIG_MAX_CPUS 4096

struct task_group {
	char *name;
	int count;
	int program_ref;     /* Lua registry reference of the program function */
	int *cpus;           /* [count] CPUs the tasks are placed on (task{cpu=...}), or NULL */
	char *where;         /* "file:line:" of its task{} entry */
};

/* A file of the scenario (field `files`; sim/config_files.c). */
struct file_config {
	char *name;
	unsigned long pages;
	bool cached;         /* in the page cache from the start */
	double read_ns;      /* a page read from the device */
};

struct scenario_param {
	char *name;
	char *description;
	char *value;         /* resolved value, as text */
	int lua_type;        /* LUA_TNUMBER, LUA_TSTRING or LUA_TBOOLEAN */
	bool is_integer;
	bool overridden;
};

struct run_config {
	char *file;
	char *where;         /* "file:line:" of scenario{} */
	char *name;
	char *description;
	char *machine_name;
	char *scheme_name;
	int cpus;
	uint64_t seed;
	double duration_ms;  /* 0: the programs decide when to stop */
	double deadline_ms;  /* hard bound on simulated time; beyond it the run fails */
	bool check;          /* the invariant checker during the run and the check at its end */
	int ptl;             /* enum ptl_mode: page-table lock granularity */
	int pt_free;         /* enum pt_free_kind: unlinked page tables freed at once or by RCU */
	int vma_free;        /* enum vma_free_kind: removed VMAs freed at once, by RCU, reused */
	int spf_walk_irqs_off; /* spf: page walks with interrupts disabled instead of RCU */
	int inject;          /* enum mm_inject: a deliberate bug for the checker to catch */
	int anon_vma_lock;   /* enum anon_vma_lock_kind: rwsem or spinlock */
	double gfp_nowait_fail; /* probability in [0, 1] that a GFP_NOWAIT allocation fails */
	int thp;             /* enum thp_mode */
	int collapse;        /* index in config_collapse_names (0: no khugepaged) */
	int khugepaged_pages_to_scan;
	double khugepaged_scan_sleep_ms;
	int khugepaged_max_ptes_none;
	int khugepaged_max_ptes_swap; /* swap entries a range may have (default 64) */
	int swap_mb;         /* swap device size in MiB (models/mm/swap.c); 0: no swap */
	int khugepaged_cpu;  /* the CPU khugepaged runs on (-1: none) */
	int i_mmap_lock;     /* enum i_mmap_lock_kind: "rwsem" or "spinlock" (pre-2.6.38) */
	GPtrArray *files;    /* struct file_config *, sorted by name */
	int tree_lock;       /* enum mm_tree_lock: mm_mt writers' lock */
	bool prefetchw;      /* #PF entry prefetchw of the mmap_lock line */
	bool seq_shares_lock_line; /* mm sequence count on the mmap_lock's line */
	/* secondary_mmu = {...}: a KVM-like secondary MMU (models/mm/mmu_notifier.h);
	 * smmu_cpus == 0: none.  Its vCPUs run on the CPUs after the scenario's. */
	int smmu_cpus;
	double smmu_rate_per_ms;
	double smmu_callback_ns;
	bool smmu_sleeps;
	/* rmap_walker = {...}: rmap walker threads (models/mm/vmscan.h; sim/config_walker.c);
	 * walker_cpus == 0: none.  They run on the CPUs after the secondary MMU's. */
	int walker_cpus;
	int walker_kind;     /* enum rmap_walker_kind */
	int walker_batch;
	double walker_interval_us;
	GPtrArray *groups;   /* struct task_group * */
	GPtrArray *params;   /* struct scenario_param *, in declaration order */
	int nr_tasks;
	int max_cpu;         /* highest CPU a task is placed on */
	const struct machine *machine;
	const struct mm_scheme_ops *scheme;
	lua_State *L;        /* kept for the task programs */
};

/* Names of the ptl and inject values, indexed by enum ptl_mode / enum mm_inject. */
extern const char *const config_ptl_names[];
extern const char *const config_pt_free_names[];
extern const char *const config_vma_free_names[];
extern const char *const config_spf_walk_names[];
extern const char *const config_inject_names[];
extern const char *const config_thp_names[];
extern const char *const config_collapse_names[];
extern const char *const config_anon_vma_lock_names[];

extern const char *const config_i_mmap_lock_names[];
/* sim/config_files.c: read `files` of the scenario table at sc (luaL_error on mistakes);
 * write them and i_mmap_lock into the resolved config. */
void config_read_files(lua_State *L, int sc, struct run_config *cfg);
void config_files_json(JsonBuilder *b, const struct run_config *cfg);
extern const char *const config_tree_lock_names[];
extern const char *const config_rmap_walker_kind_names[];
/* sim/config_walker.c: read `rmap_walker` (luaL_error on mistakes); write it back. */
void config_read_rmap_walker(lua_State *L, int sc, struct run_config *cfg, int max_cpus);
void config_rmap_walker_json(JsonBuilder *b, const struct run_config *cfg);

/* KEY=VALUE strings from --set; NULL-terminated or NULL. */
struct run_config *config_load(const char *file, char **sets, char **err);
void config_free(struct run_config *cfg);
JsonNode *config_to_json(const struct run_config *cfg);

/* lua_pcall message handler: the error with a traceback. */
int config_msgh(lua_State *L);

/* Inside a Lua hook: the chunk name of the running function (ar->currentline is set). */
const char *hook_src(lua_State *L, lua_Debug *ar);

/* Split "KEY=VALUE"; false if malformed. */
bool config_split_set(const char *kv, char **key, char **value);

#endif
