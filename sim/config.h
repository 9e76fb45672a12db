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
	int inject;          /* enum mm_inject: a deliberate bug for the checker to catch */
	double gfp_nowait_fail; /* probability in [0, 1] that a GFP_NOWAIT allocation fails */
	int thp;             /* enum thp_mode */
	int collapse;        /* index in config_collapse_names (0: no khugepaged) */
	int khugepaged_pages_to_scan;
	double khugepaged_scan_sleep_ms;
	int khugepaged_max_ptes_none;
	int khugepaged_cpu;  /* the CPU khugepaged runs on (-1: none) */
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
extern const char *const config_inject_names[];
extern const char *const config_thp_names[];
extern const char *const config_collapse_names[];

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
