/*
 * Scenario loading.  The scenario file runs once, in a sandboxed _ENV that has the safe
 * parts of the standard library, the scenario API (scenario, task, param) and the task
 * operations (which only work inside a task program).  Every key is checked, every
 * value range-checked, and every error names the scenario file and line.
 */
#include <errno.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "config.h"
#include "jsonout.h"
#include "workload.h"
#include "hw/machine.h"
#include "schemes/scheme.h"

#define REG_STATE "mmsim.config"      /* light userdata: struct load_state */
#define REG_SCENARIO "mmsim.scenario" /* the table scenario{} built */
#define MARK_TASK "mmsim.task"        /* key set in tables built by task{} */

struct load_state {
	struct run_config *cfg;
	GHashTable *sets;      /* key -> value (--set) */
	GHashTable *consumed;  /* keys used by param() */
};

static const char *const scenario_keys[] = {
	"name", "description", "machine", "cpus", "scheme", "seed", "duration_ms",
	"deadline_ms", "check", "ptl", "inject", "gfp_nowait_fail", "pt_free", "vma_free",
	"spf_walk", "i_mmap_lock", "files", "anon_vma_lock", "tree_lock", "prefetchw",
	"seq_shares_lock_line", "secondary_mmu", "thp", "collapse", "khugepaged_pages_to_scan",
	"khugepaged_scan_sleep_ms", "khugepaged_max_ptes_none", "rmap_walker", "tasks", "swap_mb",
	"khugepaged_max_ptes_swap", NULL,
};
/* Scenario fields that --set may override when no param() of that name exists. */
static const char *const overridable[] = {
	"name", "machine", "cpus", "scheme", "seed", "duration_ms", "deadline_ms", "check", "ptl",
	"inject", "gfp_nowait_fail", "pt_free", "vma_free", "spf_walk", "i_mmap_lock",
	"anon_vma_lock", "tree_lock", "prefetchw", "seq_shares_lock_line", "thp", "collapse",
	"khugepaged_pages_to_scan", "khugepaged_scan_sleep_ms", "khugepaged_max_ptes_none",
	"swap_mb", "khugepaged_max_ptes_swap", NULL,
};

/* The values of the string-enum fields, in the order of their enums (models/mm/mm.h). */
const char *const config_ptl_names[] = { "split-pmd", "split-pte", "mm", NULL };
const char *const config_pt_free_names[] = { "immediate", "rcu", NULL };
const char *const config_vma_free_names[] = { "immediate", "rcu", "typesafe", NULL };
const char *const config_spf_walk_names[] = { "rcu", "irqs-off", NULL };
const char *const config_tree_lock_names[] = { "mmap_lock", "spinlock", NULL };
const char *const config_thp_names[] = { "never", "always", "madvise", NULL };
/* "none" (no khugepaged), then the collapse schemes of models/mm/collapse.c. */
const char *const config_collapse_names[] = {
	"none", "write-lock", "read-swapin", "pmd-seq", "pmd-lock", "pmd-none-unsafe",
	"invalid-pte", NULL,
};
const char *const config_inject_names[] = {
	"none", "skip-tlb-flush", "free-before-flush", "dontneed-no-zap", "skip-wp-flush",
	"file-cow-no-flush", "cow-no-copy", "notifier-missing-end", "secondary-mmu-no-retry",
	"mmap-fixed-no-zap", "migration-skip-child", "swap-no-writeback", NULL,
};
const char *const config_anon_vma_lock_names[] = { "rwsem", "spinlock", NULL };

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

static struct load_state *state_of(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, REG_STATE);
	struct load_state *st = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return st;
}

/* Reject keys of the table at idx that are not in `keys`. */
static void check_keys(lua_State *L, int idx, const char *const *keys, const char *what)
{
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			luaL_error(L, "%s: keys must be names, got a %s key", what,
				   luaL_typename(L, -1));
		}
		const char *k = lua_tostring(L, -1);
		if (!in_list(keys, k) && strcmp(k, MARK_TASK))
			luaL_error(L, "%s: unknown field '%s'", what, k);
	}
}

/* scenario { ... }: checks the keys and the shape; values are checked after overrides. */
static int l_scenario(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	if (lua_gettop(L) != 1)
		return luaL_error(L, "scenario: takes one table");
	check_keys(L, 1, scenario_keys, "scenario");
	lua_getfield(L, LUA_REGISTRYINDEX, REG_SCENARIO);
	if (!lua_isnil(L, -1))
		return luaL_error(L, "scenario: called twice; a file describes one scenario");
	lua_pop(L, 1);
	luaL_where(L, 1);
	lua_setfield(L, 1, "__where");
	lua_pushvalue(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_SCENARIO);
	lua_settop(L, 1);
	return 1;
}

static const char *const task_keys[] = { "name", "count", "program", "cpu", NULL };

static lua_Integer check_integer_field(lua_State *L, int idx, const char *key, const char *what,
				       lua_Integer min, lua_Integer max, bool *present)
{
	lua_getfield(L, idx, key);
	*present = !lua_isnil(L, -1);
	lua_Integer v = 0;
	if (*present) {
		int ok;
		v = lua_tointegerx(L, -1, &ok);
		if (!ok)
			luaL_error(L, "%s: '%s' must be an integer, got %s", what, key,
				   lua_type(L, -1) == LUA_TNUMBER ? "a fraction" : luaL_typename(L, -1));
		if (v < min || v > max)
			luaL_error(L, "%s: '%s' = %I must be in [%I, %I]", what, key, v, min, max);
	}
	lua_pop(L, 1);
	return v;
}

/* task { name = ..., count = N, program = function(task) ... end } */
static int l_task(lua_State *L)
{
	bool present;

	luaL_checktype(L, 1, LUA_TTABLE);
	check_keys(L, 1, task_keys, "task");
	check_integer_field(L, 1, "count", "task", 1, CONFIG_MAX_CPUS, &present);
	if (!present)
		return luaL_error(L, "task: 'count' is required (how many tasks run this program)");
	lua_getfield(L, 1, "program");
	if (!lua_isfunction(L, -1))
		return luaL_error(L, "task: 'program' must be a function, got %s",
				  luaL_typename(L, -1));
	lua_pop(L, 1);
	lua_getfield(L, 1, "name");
	if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
		return luaL_error(L, "task: 'name' must be a string");
	lua_pop(L, 1);
	luaL_where(L, 1);
	lua_setfield(L, 1, MARK_TASK);
	lua_settop(L, 1);
	return 1;
}

static bool valid_name(const char *s)
{
	if (!g_ascii_isalpha(*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && *s != '_')
			return false;
	return true;
}

/* Convert --set text to the type of `def` (at stack index 2); push it. */
static void push_override(lua_State *L, const char *name, const char *text)
{
	char *end;
	switch (lua_type(L, 2)) {
	case LUA_TBOOLEAN:
		if (!strcmp(text, "true") || !strcmp(text, "1"))
			lua_pushboolean(L, 1);
		else if (!strcmp(text, "false") || !strcmp(text, "0"))
			lua_pushboolean(L, 0);
		else
			luaL_error(L, "--set %s=%s: expected true or false", name, text);
		break;
	case LUA_TNUMBER:
		errno = 0;
		/* Integral text stays an integer; anything else numeric is a float, and the
		 * field that uses it decides whether a fraction is allowed. */
		long long iv = strtoll(text, &end, 0);
		if (*text && !*end && !errno) {
			lua_pushinteger(L, iv);
			break;
		}
		errno = 0;
		double d = g_ascii_strtod(text, &end);
		if (!*text || *end || errno || !isfinite(d))
			luaL_error(L, "--set %s=%s: expected a number", name, text);
		lua_pushnumber(L, d);
		break;
	default:
		lua_pushstring(L, text);
	}
}

static char *value_text(lua_State *L, int idx)
{
	if (lua_type(L, idx) == LUA_TBOOLEAN)
		return g_strdup(lua_toboolean(L, idx) ? "true" : "false");
	if (lua_isinteger(L, idx))
		return g_strdup_printf("%lld", (long long)lua_tointeger(L, idx));
	if (lua_type(L, idx) == LUA_TNUMBER) {
		char buf[G_ASCII_DTOSTR_BUF_SIZE];
		return g_strdup(g_ascii_dtostr(buf, sizeof buf, lua_tonumber(L, idx)));
	}
	return g_strdup(lua_tostring(L, idx));
}

/* param(name, default [, description]): a value the command line may override. */
static int l_param(lua_State *L)
{
	struct load_state *st = state_of(L);
	const char *name = luaL_checkstring(L, 1);
	const char *desc = luaL_optstring(L, 3, "");

	if (!valid_name(name))
		return luaL_error(L, "param: '%s' is not a valid name", name);
	int ty = lua_type(L, 2);
	if (ty != LUA_TNUMBER && ty != LUA_TSTRING && ty != LUA_TBOOLEAN)
		return luaL_error(L, "param '%s': default must be a number, string or boolean, got %s",
				  name, luaL_typename(L, 2));
	for (unsigned i = 0; i < st->cfg->params->len; i++) {
		struct scenario_param *p = g_ptr_array_index(st->cfg->params, i);
		if (!strcmp(p->name, name))
			return luaL_error(L, "param '%s' declared twice", name);
	}
	const char *text = g_hash_table_lookup(st->sets, name);
	if (text) {
		push_override(L, name, text);
		g_hash_table_add(st->consumed, g_strdup(name));
	} else {
		lua_pushvalue(L, 2);
	}
	struct scenario_param *p = g_new0(struct scenario_param, 1);
	p->name = g_strdup(name);
	p->description = g_strdup(desc);
	p->value = value_text(L, -1);
	p->lua_type = ty;
	p->is_integer = lua_isinteger(L, -1);
	p->overridden = text != NULL;
	g_ptr_array_add(st->cfg->params, p);
	return 1;
}

static int l_print(lua_State *L)
{
	int n = lua_gettop(L);
	for (int i = 1; i <= n; i++) {
		fputs(luaL_tolstring(L, i, NULL), stderr);
		lua_pop(L, 1);
		fputc(i < n ? '\t' : '\n', stderr);
	}
	return 0;
}

static const char *const safe_globals[] = {
	"assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber",
	"tostring", "type", "xpcall", "rawequal", "rawget", "rawlen", "rawset",
	"setmetatable", "getmetatable", NULL,
};
static const char *const safe_libs[] = { "string", "table", "math", "utf8", NULL };

/* Build the sandbox _ENV and leave it on the stack. */
static void push_sandbox(lua_State *L)
{
	lua_newtable(L);
	int env = lua_gettop(L);
	lua_pushglobaltable(L);
	for (const char *const *g = safe_globals; *g; g++) {
		lua_getfield(L, -1, *g);
		lua_setfield(L, env, *g);
	}
	for (const char *const *lib = safe_libs; *lib; lib++) {
		lua_getfield(L, -1, *lib);
		/* A copy, so a scenario cannot change the library for the task programs. */
		lua_newtable(L);
		lua_pushnil(L);
		while (lua_next(L, -3)) {
			lua_pushvalue(L, -2);
			lua_insert(L, -2);
			lua_settable(L, -4);
		}
		if (!strcmp(*lib, "math")) {
			/* One shared generator would make results depend on scheduling: each
			 * task has its own stream (rand()). */
			lua_pushnil(L);
			lua_setfield(L, -2, "random");
			lua_pushnil(L);
			lua_setfield(L, -2, "randomseed");
		}
		lua_setfield(L, env, *lib);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	lua_pushcfunction(L, l_print);
	lua_setfield(L, env, "print");
	lua_pushcfunction(L, l_scenario);
	lua_setfield(L, env, "scenario");
	lua_pushcfunction(L, l_task);
	lua_setfield(L, env, "task");
	lua_pushcfunction(L, l_param);
	lua_setfield(L, env, "param");
	static const struct { const char *name; lua_Integer v; } consts[] = {
		{ "KiB", 1024 }, { "MiB", 1024 * 1024 }, { "GiB", 1024LL * 1024 * 1024 },
		{ "PAGE_SIZE", 4096 }, { "ns", 1 }, { "us", 1000 }, { "ms", 1000000 },
	};
	for (unsigned i = 0; i < G_N_ELEMENTS(consts); i++) {
		lua_pushinteger(L, consts[i].v);
		lua_setfield(L, env, consts[i].name);
	}
	workload_register(L, env);
}

int config_msgh(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg)
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	luaL_traceback(L, L, msg, 1);
	return 1;
}

/* A scenario file describes a run; one still executing after this many Lua instructions is
 * looping, and would otherwise hang mmsim before anything is simulated. */
#define LOAD_INSN_LIMIT 200000000
#define HOOK_EVERY 1000000

const char *hook_src(lua_State *L, lua_Debug *ar)
{
	/* The hook's own record may lack line information; level 0 is the running
	 * Lua function. */
	if (lua_getstack(L, 0, ar))
		lua_getinfo(L, "Sl", ar);
	return ar->short_src;
}

static void load_hook(lua_State *L, lua_Debug *ar)
{
	if (ar->event != LUA_HOOKCOUNT)
		return;
	lua_getfield(L, LUA_REGISTRYINDEX, "mmsim.load_budget");
	long budget = (long)lua_tointeger(L, -1) - HOOK_EVERY;
	lua_pop(L, 1);
	lua_pushinteger(L, budget);
	lua_setfield(L, LUA_REGISTRYINDEX, "mmsim.load_budget");
	if (budget <= 0) {
		const char *src = hook_src(L, ar);
		luaL_error(L, "%s:%d: the scenario file still runs after %d million Lua "
			   "instructions while loading (an endless loop?)", src, ar->currentline,
			   LOAD_INSN_LIMIT / 1000000);
	}
}

bool config_split_set(const char *kv, char **key, char **value)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return false;
	*key = g_strndup(kv, (gsize)(eq - kv));
	*value = g_strdup(eq + 1);
	return valid_name(*key);
}

static void param_free(gpointer data)
{
	struct scenario_param *p = data;
	g_free(p->name);
	g_free(p->description);
	g_free(p->value);
	g_free(p);
}

static void group_free(gpointer data)
{
	struct task_group *g = data;
	g_free(g->cpus);
	g_free(g->name);
	g_free(g->where);
	g_free(g);
}

/*
 * task{cpu = N} (count 1) or task{cpu = {N1, N2, ...}} (count entries): pin the tasks to
 * those CPUs of the machine (Linux numbering: socket-major, SMT siblings after all
 * cores).  The value is at the top of the stack; it is popped.
 */
static void read_placement(lua_State *L, struct run_config *cfg, struct task_group *g)
{
	const struct machine *m = cfg->machine;
	g->cpus = g_new0(int, g->count);
	bool list = lua_istable(L, -1);
	lua_Integer n = list ? luaL_len(L, -1) : 1;
	if (!list && !lua_isinteger(L, -1))
		luaL_error(L, "%s task '%s': 'cpu' must be a CPU number or a list of them", g->where,
			   g->name);
	if (n != g->count)
		luaL_error(L, "%s task '%s': 'cpu' lists %I CPUs for count = %d", g->where, g->name,
			   n, g->count);
	for (lua_Integer i = 1; i <= n; i++) {
		if (list)
			lua_geti(L, -1, i);
		else
			lua_pushvalue(L, -1);
		int ok;
		lua_Integer c = lua_tointegerx(L, -1, &ok);
		if (!ok || c < 0 || c >= m->nr_cpus)
			luaL_error(L, "%s task '%s': cpu %s is not a CPU of %s (0..%d)", g->where,
				   g->name, luaL_tolstring(L, -1, NULL), cfg->machine_name,
				   m->nr_cpus - 1);
		g->cpus[i - 1] = (int)c;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* Unpinned tasks take the lowest CPUs no pinned task uses; no CPU runs two tasks. */
static void place_tasks(lua_State *L, struct run_config *cfg)
{
	const struct machine *m = cfg->machine;
	bool *used = g_new0(bool, m->nr_cpus);
	cfg->max_cpu = -1;
	for (unsigned gi = 0; gi < cfg->groups->len; gi++) {
		struct task_group *g = g_ptr_array_index(cfg->groups, gi);
		for (int i = 0; g->cpus && i < g->count; i++) {
			if (used[g->cpus[i]]) {
				g_free(used);
				luaL_error(L, "%s task '%s': cpu %d is given to two tasks", g->where,
					   g->name, g->cpus[i]);
			}
			used[g->cpus[i]] = true;
		}
	}
	int next = 0;
	for (unsigned gi = 0; gi < cfg->groups->len; gi++) {
		struct task_group *g = g_ptr_array_index(cfg->groups, gi);
		if (!g->cpus) {
			g->cpus = g_new0(int, g->count);
			for (int i = 0; i < g->count; i++) {
				while (used[next])
					next++;
				g->cpus[i] = next++;
			}
		}
		for (int i = 0; i < g->count; i++)
			cfg->max_cpu = g->cpus[i] > cfg->max_cpu ? g->cpus[i] : cfg->max_cpu;
	}
	g_free(used);
}

/* g_ptr_array_sort hands the comparator pointers to the elements. */
static gint cmp_key(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A string field with a fixed set of values: its index, `def` if absent. */
static int read_enum_field(lua_State *L, int sc, const char *key, const char *const *names,
			   int def)
{
	lua_getfield(L, sc, key);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return def;
	}
	if (lua_type(L, -1) != LUA_TSTRING)
		return luaL_error(L, "scenario: '%s' must be a string, got %s", key,
				  luaL_typename(L, -1));
	const char *v = lua_tostring(L, -1);
	for (int i = 0; names[i]; i++) {
		if (!strcmp(names[i], v)) {
			lua_pop(L, 1);
			return i;
		}
	}
	GString *known = g_string_new("");
	for (int i = 0; names[i]; i++)
		g_string_append_printf(known, "%s%s", i ? ", " : "", names[i]);
	lua_pushfstring(L, "scenario: unknown %s '%s' (known: %s)", key, v, known->str);
	g_string_free(known, TRUE);
	return luaL_error(L, "%s", lua_tostring(L, -1));
}

/* Read the scenario table (at the top of the stack) into cfg; luaL_error on bad values. */
static int read_scenario(lua_State *L)
{
	struct load_state *st = state_of(L);
	struct run_config *cfg = st->cfg;
	int sc = lua_gettop(L);
	lua_getfield(L, sc, "__where");
	cfg->where = g_strdup(lua_tostring(L, -1));
	lua_pop(L, 1);

	/* --set for scenario fields no param() consumed. */
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, st->sets);
	GPtrArray *keys = g_ptr_array_new();
	while (g_hash_table_iter_next(&it, &k, &v))
		g_ptr_array_add(keys, k);
	g_ptr_array_sort(keys, cmp_key);
	for (unsigned i = 0; i < keys->len; i++) {
		const char *key = g_ptr_array_index(keys, i);
		const char *text = g_hash_table_lookup(st->sets, key);
		if (g_hash_table_contains(st->consumed, key))
			continue;
		if (!in_list(overridable, key)) {
			GString *known = g_string_new("");
			for (unsigned j = 0; j < cfg->params->len; j++)
				g_string_append_printf(known, "%s%s", j ? ", " : "",
					((struct scenario_param *)g_ptr_array_index(cfg->params, j))->name);
			lua_pushfstring(L, "--set %s: no such parameter (this scenario's parameters: %s; "
					"fields: name, machine, cpus, scheme, seed, duration_ms, "
					"deadline_ms, check, ptl, inject, gfp_nowait_fail, pt_free, "
					"vma_free, spf_walk, i_mmap_lock, anon_vma_lock, tree_lock, "
					"prefetchw, seq_shares_lock_line, thp, collapse, "
					"khugepaged_pages_to_scan, khugepaged_scan_sleep_ms, "
					"khugepaged_max_ptes_none, swap_mb, "
					"khugepaged_max_ptes_swap)", key,
					known->len ? known->str : "none");
			g_string_free(known, TRUE);
			g_ptr_array_free(keys, TRUE);
			return lua_error(L);
		}
		lua_getfield(L, sc, key);
		if (lua_isnil(L, -1)) { /* typed by the field's default */
			lua_pop(L, 1);
			if (!strcmp(key, "name") || !strcmp(key, "machine") ||
			    !strcmp(key, "scheme") || !strcmp(key, "ptl") ||
			    !strcmp(key, "inject") || !strcmp(key, "pt_free") ||
			    !strcmp(key, "vma_free") || !strcmp(key, "spf_walk") ||
			    !strcmp(key, "i_mmap_lock") || !strcmp(key, "anon_vma_lock") ||
			    !strcmp(key, "tree_lock") || !strcmp(key, "thp") ||
			    !strcmp(key, "collapse"))
				lua_pushstring(L, "");
			else if (!strcmp(key, "check") || !strcmp(key, "prefetchw") ||
				 !strcmp(key, "seq_shares_lock_line"))
				lua_pushboolean(L, 0);
			else if (!strcmp(key, "duration_ms") || !strcmp(key, "deadline_ms") ||
				 !strcmp(key, "gfp_nowait_fail") ||
				 !strcmp(key, "khugepaged_scan_sleep_ms"))
				lua_pushnumber(L, 0.5);
			else
				lua_pushinteger(L, 0);
		}
		lua_settop(L, sc + 1);
		lua_pushvalue(L, sc + 1);
		lua_replace(L, 2); /* push_override types by index 2 */
		push_override(L, key, text);
		lua_setfield(L, sc, key);
		lua_settop(L, sc);
	}
	g_ptr_array_free(keys, TRUE);

	const char *what = "scenario";
	bool present;
	lua_getfield(L, sc, "name");
	if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
		return luaL_error(L, "scenario: 'name' must be a string");
	if (lua_isnil(L, -1)) {
		char *base = g_path_get_basename(cfg->file);
		if (g_str_has_suffix(base, ".lua"))
			base[strlen(base) - 4] = 0;
		cfg->name = base;
	} else {
		cfg->name = g_strdup(lua_tostring(L, -1));
	}
	lua_pop(L, 1);
	lua_getfield(L, sc, "description");
	cfg->description = g_strdup(lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
	lua_pop(L, 1);

	lua_getfield(L, sc, "machine");
	if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
		return luaL_error(L, "scenario: 'machine' must be a string");
	cfg->machine_name = g_strdup(lua_isnil(L, -1) ? "generic-2s" : lua_tostring(L, -1));
	lua_pop(L, 1);
	char *merr = NULL;
	cfg->machine = machine_load(cfg->machine_name, &merr);
	if (!cfg->machine) {
		lua_pushfstring(L, "scenario: %s", merr);
		g_free(merr);
		return luaL_error(L, "%s", lua_tostring(L, -1));
	}

	lua_getfield(L, sc, "scheme");
	if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
		return luaL_error(L, "scenario: 'scheme' must be a string");
	cfg->scheme_name = g_strdup(lua_isnil(L, -1) ? "classic" : lua_tostring(L, -1));
	lua_pop(L, 1);
	cfg->scheme = scheme_find(cfg->scheme_name);
	if (!cfg->scheme) {
		GString *names = g_string_new("");
		for (int i = 0; mm_schemes[i]; i++)
			g_string_append_printf(names, "%s%s", i ? ", " : "", mm_schemes[i]->name);
		lua_pushfstring(L, "scenario: unknown scheme '%s' (known: %s)", cfg->scheme_name,
				names->str);
		g_string_free(names, TRUE);
		return luaL_error(L, "%s", lua_tostring(L, -1));
	}

	int max_cpus = ((const struct machine *)cfg->machine)->nr_cpus;
	cfg->cpus = (int)check_integer_field(L, sc, "cpus", what, 1, max_cpus, &present);
	if (!present)
		return luaL_error(L, "scenario: 'cpus' is required (1..%d on %s)", max_cpus,
				  cfg->machine_name);
	cfg->seed = (uint64_t)check_integer_field(L, sc, "seed", what, 0, LUA_MAXINTEGER,
						  &present);
	if (!present)
		cfg->seed = 1;

	static const struct { const char *key; double min, max, def; } times[] = {
		{ "duration_ms", 0, 1e6, 0 },
		{ "deadline_ms", 0, 1e7, 10000 },
	};
	double *dst[] = { &cfg->duration_ms, &cfg->deadline_ms };
	for (int i = 0; i < 2; i++) {
		lua_getfield(L, sc, times[i].key);
		if (lua_isnil(L, -1)) {
			*dst[i] = times[i].def;
		} else {
			int ok;
			double d = lua_tonumberx(L, -1, &ok);
			if (!ok)
				return luaL_error(L, "scenario: '%s' must be a number, got %s",
						  times[i].key, luaL_typename(L, -1));
			if (!(d > times[i].min) || d > times[i].max)
				return luaL_error(L, "scenario: '%s' = %f must be in (%f, %f]",
						  times[i].key, d, times[i].min, times[i].max);
			*dst[i] = d;
		}
		lua_pop(L, 1);
	}
	if (cfg->duration_ms > 0 && cfg->deadline_ms <= cfg->duration_ms)
		return luaL_error(L, "scenario: deadline_ms (%f) must exceed duration_ms (%f)",
				  cfg->deadline_ms, cfg->duration_ms);
	lua_getfield(L, sc, "check");
	if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
		return luaL_error(L, "scenario: 'check' must be a boolean");
	cfg->check = lua_toboolean(L, -1);
	lua_pop(L, 1);
	/* ptl: the x86-64 kernel's split PTE and PMD locks unless the scenario says else. */
	cfg->ptl = read_enum_field(L, sc, "ptl", config_ptl_names, 0);
	cfg->inject = read_enum_field(L, sc, "inject", config_inject_names, 0);
	/* How unlinked page tables and removed VMAs are freed: the scheme's need unless the
	 * scenario asks for more (a scheme without lockless readers may pay for RCU). */
	/* spf's page walk: under RCU, or with interrupts disabled (then the flush IPI, not
	 * a grace period, keeps tables alive: they may be freed at once). */
	cfg->spf_walk_irqs_off = read_enum_field(L, sc, "spf_walk", config_spf_walk_names, 0);
	if (cfg->spf_walk_irqs_off && !cfg->scheme->speculative)
		return luaL_error(L, "scenario: spf_walk applies to scheme spf only (scheme is "
				  "'%s')", cfg->scheme_name);
	cfg->pt_free = read_enum_field(L, sc, "pt_free", config_pt_free_names,
				       cfg->spf_walk_irqs_off ? PT_FREE_IMMEDIATE :
								scheme_pt_free(cfg->scheme));
	cfg->vma_free = read_enum_field(L, sc, "vma_free", config_vma_free_names,
					scheme_vma_free(cfg->scheme));
	const char *why = scheme_free_unsafe(cfg->scheme, (enum pt_free_kind)cfg->pt_free,
					     (enum vma_free_kind)cfg->vma_free,
					     cfg->spf_walk_irqs_off);
	if (why)
		return luaL_error(L, "scenario: %s", why);
	/* anon_vma_lock: the root anon_vma's rwsem (since 2012) unless the scenario says else. */
	cfg->anon_vma_lock = read_enum_field(L, sc, "anon_vma_lock", config_anon_vma_lock_names, 0);
	/* Knobs of the fault schemes (docs/scenarios.md); defaults are today's kernel. */
	cfg->tree_lock = read_enum_field(L, sc, "tree_lock", config_tree_lock_names, 0);
	static const char *const bool_knobs[] = { "prefetchw", "seq_shares_lock_line" };
	bool *bool_dst[] = { &cfg->prefetchw, &cfg->seq_shares_lock_line };
	for (int i = 0; i < 2; i++) {
		lua_getfield(L, sc, bool_knobs[i]);
		if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
			return luaL_error(L, "scenario: '%s' must be a boolean, got %s",
					  bool_knobs[i], luaL_typename(L, -1));
		*bool_dst[i] = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	/* The chance that a GFP_NOWAIT page allocation fails (models/mm/page_alloc.c). */
	lua_getfield(L, sc, "gfp_nowait_fail");
	if (!lua_isnil(L, -1)) {
		int ok;
		double d = lua_tonumberx(L, -1, &ok);
		if (!ok)
			return luaL_error(L, "scenario: 'gfp_nowait_fail' must be a number, got %s",
					  luaL_typename(L, -1));
		if (!(d >= 0 && d <= 1))
			return luaL_error(L, "scenario: 'gfp_nowait_fail' = %f must be a probability "
					  "in [0, 1]", d);
		cfg->gfp_nowait_fail = d;
	}
	lua_pop(L, 1);

	cfg->i_mmap_lock = read_enum_field(L, sc, "i_mmap_lock", config_i_mmap_lock_names, 0);
	config_read_files(L, sc, cfg);
	/* secondary_mmu = { cpus, rate_per_ms, callback_ns, sleeps } (docs/scenarios.md). */
	lua_getfield(L, sc, "secondary_mmu");
	if (!lua_isnil(L, -1)) {
		static const char *const smmu_keys[] = { "cpus", "rate_per_ms", "callback_ns",
							 "sleeps", NULL };
		int sm = lua_gettop(L);
		if (!lua_istable(L, sm))
			return luaL_error(L, "scenario: 'secondary_mmu' must be a table "
					  "{ cpus, rate_per_ms, callback_ns, sleeps }, got %s",
					  luaL_typename(L, sm));
		check_keys(L, sm, smmu_keys, "secondary_mmu");
		cfg->smmu_cpus = (int)check_integer_field(L, sm, "cpus", "secondary_mmu", 1,
							  max_cpus, &present);
		if (!present)
			cfg->smmu_cpus = 1;
		/* rate_per_ms in (0, 1e6], callback_ns in [0, 1e9] */
		static const struct { const char *key; double max, def; bool zero_ok;
				      const char *range; } nums[] = {
			{ "rate_per_ms", 1e6, 100, false, "(0, 1000000]" },
			{ "callback_ns", 1e9, 1000, true, "[0, 1000000000]" },
		};
		double *ndst[] = { &cfg->smmu_rate_per_ms, &cfg->smmu_callback_ns };
		for (int i = 0; i < 2; i++) {
			lua_getfield(L, sm, nums[i].key);
			*ndst[i] = nums[i].def;
			if (!lua_isnil(L, -1)) {
				int ok;
				double d = lua_tonumberx(L, -1, &ok);
				if (!ok)
					return luaL_error(L, "secondary_mmu: '%s' must be a number, "
							  "got %s", nums[i].key, luaL_typename(L, -1));
				if (!(d > 0 || (nums[i].zero_ok && d == 0)) || d > nums[i].max)
					return luaL_error(L, "secondary_mmu: '%s' = %f must be in %s",
							  nums[i].key, d, nums[i].range);
				*ndst[i] = d;
			}
			lua_pop(L, 1);
		}
		lua_getfield(L, sm, "sleeps");
		if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
			return luaL_error(L, "secondary_mmu: 'sleeps' must be a boolean, got %s",
					  luaL_typename(L, -1));
		cfg->smmu_sleeps = lua_isnil(L, -1) ? true : lua_toboolean(L, -1);
		lua_pop(L, 1);
		if (!(cfg->duration_ms > 0))
			return luaL_error(L, "secondary_mmu: needs 'duration_ms' (its vCPUs run "
					  "until the scenario's duration ends)");
	}
	lua_pop(L, 1);
	/* THP and khugepaged (models/mm/huge_memory.c, khugepaged.c; docs/scenarios.md). */
	cfg->thp = read_enum_field(L, sc, "thp", config_thp_names, 0);
	cfg->collapse = read_enum_field(L, sc, "collapse", config_collapse_names, 0);
	cfg->khugepaged_pages_to_scan = (int)check_integer_field(
	    L, sc, "khugepaged_pages_to_scan", what, 1, 1 << 24, &present);
	if (!present)
		cfg->khugepaged_pages_to_scan = 4096; /* the kernel's default */
	cfg->khugepaged_max_ptes_none = (int)check_integer_field(
	    L, sc, "khugepaged_max_ptes_none", what, 0, 511, &present);
	if (!present)
		cfg->khugepaged_max_ptes_none = 511;
	cfg->khugepaged_max_ptes_swap = (int)check_integer_field(
	    L, sc, "khugepaged_max_ptes_swap", what, 0, 512, &present);
	if (!present)
		cfg->khugepaged_max_ptes_swap = 64; /* the kernel's default */
	/* The swap device (models/mm/swap.c): MiB, 0 = none.  At most 16 GiB (2^22 slots). */
	cfg->swap_mb = (int)check_integer_field(L, sc, "swap_mb", what, 0, 16384, &present);
	if (cfg->inject == INJECT_SWAP_NO_WRITEBACK && !cfg->swap_mb)
		return luaL_error(L, "scenario: inject = \"swap-no-writeback\" needs swap_mb > 0");
	cfg->khugepaged_scan_sleep_ms = 10;
	lua_getfield(L, sc, "khugepaged_scan_sleep_ms");
	if (!lua_isnil(L, -1)) {
		int ok;
		double d = lua_tonumberx(L, -1, &ok);
		if (!ok)
			return luaL_error(L, "scenario: 'khugepaged_scan_sleep_ms' must be a number, "
					  "got %s", luaL_typename(L, -1));
		if (!(d > 0 && d <= 1e6))
			return luaL_error(L, "scenario: 'khugepaged_scan_sleep_ms' = %f must be in "
					  "(0, 1e6]", d);
		cfg->khugepaged_scan_sleep_ms = d;
	}
	lua_pop(L, 1);
	config_read_rmap_walker(L, sc, cfg, max_cpus);

	lua_getfield(L, sc, "tasks");
	if (!lua_istable(L, -1))
		return luaL_error(L, "scenario: 'tasks' must be a list of task{...}, got %s",
				  luaL_typename(L, -1));
	int tasks = lua_gettop(L);
	lua_Integer n = luaL_len(L, tasks);
	if (n < 1)
		return luaL_error(L, "scenario: 'tasks' is empty");
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(L, tasks, i);
		if (!lua_istable(L, -1))
			return luaL_error(L, "scenario: tasks[%I] must be a task{...}", i);
		lua_getfield(L, -1, MARK_TASK);
		if (!lua_isstring(L, -1))
			return luaL_error(L, "scenario: tasks[%I] is a plain table; build it with task{...}",
					  i);
		struct task_group *g = g_new0(struct task_group, 1);
		g->where = g_strdup(lua_tostring(L, -1));
		lua_pop(L, 1);
		g_ptr_array_add(cfg->groups, g);
		lua_getfield(L, -1, "count");
		int ok;
		lua_Integer count = lua_tointegerx(L, -1, &ok);
		if (!ok || count < 1)
			return luaL_error(L, "%s task: 'count' must be a positive integer", g->where);
		g->count = (int)count;
		lua_pop(L, 1);
		lua_getfield(L, -1, "name");
		g->name = lua_isstring(L, -1) ? g_strdup(lua_tostring(L, -1)) :
			  g_strdup_printf("task%lld", (long long)i);
		lua_pop(L, 1);
		lua_getfield(L, -1, "program");
		g->program_ref = luaL_ref(L, LUA_REGISTRYINDEX);
		lua_getfield(L, -1, "cpu");
		if (!lua_isnil(L, -1))
			read_placement(L, cfg, g);
		lua_pop(L, 1);
		cfg->nr_tasks += g->count;
		if (cfg->nr_tasks > cfg->cpus)
			return luaL_error(L, "%s task '%s': %d tasks in all but only cpus = %d "
					  "(one task per CPU)", g->where, g->name, cfg->nr_tasks,
					  cfg->cpus);
	}
	lua_pop(L, 1);
	place_tasks(L, cfg);
	int smmu_base = cfg->max_cpu + 1 > cfg->cpus ? cfg->max_cpu + 1 : cfg->cpus;
	if (cfg->smmu_cpus && smmu_base + cfg->smmu_cpus > max_cpus)
		return luaL_error(L, "secondary_mmu: %d vCPUs after CPU %d do not fit in the "
				  "%d CPUs of %s", cfg->smmu_cpus, smmu_base - 1, max_cpus,
				  cfg->machine_name);
	cfg->khugepaged_cpu = -1;
	if (cfg->collapse) {
		/* khugepaged runs on the first CPU of the scenario no task is placed on. */
		bool *used = g_new0(bool, cfg->cpus);
		for (unsigned gi = 0; gi < cfg->groups->len; gi++) {
			struct task_group *g = g_ptr_array_index(cfg->groups, gi);
			for (int i = 0; i < g->count; i++)
				if (g->cpus[i] < cfg->cpus)
					used[g->cpus[i]] = true;
		}
		for (int c = 0; c < cfg->cpus && cfg->khugepaged_cpu < 0; c++)
			if (!used[c])
				cfg->khugepaged_cpu = c;
		g_free(used);
		if (cfg->khugepaged_cpu < 0)
			return luaL_error(L, "scenario: collapse = \"%s\" runs khugepaged on a CPU of "
					  "its own, but all %d CPUs have a task (raise cpus)",
					  config_collapse_names[cfg->collapse], cfg->cpus);
	}
	if (cfg->walker_cpus && smmu_base + cfg->smmu_cpus + cfg->walker_cpus > max_cpus)
		return luaL_error(L, "rmap_walker: %d threads after CPU %d do not fit in the %d "
				  "CPUs of %s", cfg->walker_cpus, smmu_base + cfg->smmu_cpus - 1,
				  max_cpus, cfg->machine_name);
	return 0;
}

/* A load error's message without the traceback: its first line names file:line. */
static char *first_line(const char *msg)
{
	const char *tb = strstr(msg, "\nstack traceback:");
	return tb ? g_strndup(msg, (gsize)(tb - msg)) : g_strdup(msg);
}

static int last_line(const char *file)
{
	char *text = NULL;
	int n = 1;
	if (g_file_get_contents(file, &text, NULL, NULL))
		for (char *p = text; *p; p++)
			n += *p == '\n' && p[1];
	g_free(text);
	return n;
}

struct run_config *config_load(const char *file, char **sets, char **err)
{
	struct run_config *cfg = g_new0(struct run_config, 1);
	struct load_state st = { .cfg = cfg };

	cfg->file = g_strdup(file);
	cfg->groups = g_ptr_array_new_with_free_func(group_free);
	cfg->params = g_ptr_array_new_with_free_func(param_free);
	st.sets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	st.consumed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (char **s = sets; s && *s; s++) {
		char *k, *v;
		if (!config_split_set(*s, &k, &v)) {
			*err = g_strdup_printf("--set %s: expected KEY=VALUE", *s);
			goto fail;
		}
		g_hash_table_replace(st.sets, k, v);
	}

	lua_State *L = cfg->L = luaL_newstate();
	/* Task threads inherit this; NULL marks "not inside a task program". */
	*(void **)lua_getextraspace(L) = NULL;
	luaL_openlibs(L);
	lua_pushlightuserdata(L, &st);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_STATE);
	lua_pushcfunction(L, config_msgh);
	int h = lua_gettop(L);
	if (luaL_loadfilex(L, file, "t") != LUA_OK) {
		*err = g_strdup(lua_tostring(L, -1));
		goto fail;
	}
	push_sandbox(L);
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, WORKLOAD_ENV);
	lua_setupvalue(L, -2, 1);
	lua_pushinteger(L, LOAD_INSN_LIMIT);
	lua_setfield(L, LUA_REGISTRYINDEX, "mmsim.load_budget");
	lua_sethook(L, load_hook, LUA_MASKCOUNT, HOOK_EVERY);
	int status = lua_pcall(L, 0, 1, h);
	lua_sethook(L, NULL, 0, 0);
	if (status != LUA_OK) {
		*err = first_line(lua_tostring(L, -1));
		goto fail;
	}
	lua_getfield(L, LUA_REGISTRYINDEX, REG_SCENARIO);
	if (lua_isnil(L, -1) || !lua_rawequal(L, -1, -2)) {
		*err = g_strdup_printf("%s:%d: the file must end with 'return scenario { ... }'",
				       file, last_line(file));
		goto fail;
	}
	lua_pop(L, 1);
	lua_pushcfunction(L, read_scenario);
	lua_insert(L, -2);
	if (lua_pcall(L, 1, 0, h) != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		/* Errors about the whole scenario point at its scenario{} line. */
		char *line = first_line(msg);
		if (!g_str_has_prefix(line, cfg->file) && cfg->where)
			*err = g_strdup_printf("%s %s", cfg->where, line);
		else
			*err = g_strdup(line);
		g_free(line);
		goto fail;
	}
	lua_settop(L, 0);
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_STATE);
	g_hash_table_destroy(st.sets);
	g_hash_table_destroy(st.consumed);
	return cfg;
fail:
	g_hash_table_destroy(st.sets);
	g_hash_table_destroy(st.consumed);
	config_free(cfg);
	return NULL;
}

void config_free(struct run_config *cfg)
{
	if (!cfg)
		return;
	if (cfg->L)
		lua_close(cfg->L);
	machine_free((struct machine *)cfg->machine);
	g_ptr_array_free(cfg->groups, TRUE);
	g_ptr_array_free(cfg->params, TRUE);
	if (cfg->files)
		g_ptr_array_free(cfg->files, TRUE);
	g_free(cfg->file);
	g_free(cfg->where);
	g_free(cfg->name);
	g_free(cfg->description);
	g_free(cfg->machine_name);
	g_free(cfg->scheme_name);
	g_free(cfg);
}

JsonNode *config_to_json(const struct run_config *cfg)
{
	JsonBuilder *b = json_builder_new();
	json_builder_begin_object(b);
	json_add_string(b, "file", cfg->file);
	json_add_string(b, "name", cfg->name);
	json_add_string(b, "description", cfg->description);
	json_add_string(b, "machine", cfg->machine_name);
	json_add_string(b, "scheme", cfg->scheme_name);
	json_add_int(b, "cpus", cfg->cpus);
	json_add_int(b, "threads", cfg->nr_tasks);
	json_add_int(b, "seed", (gint64)cfg->seed);
	json_add_double(b, "duration_ms", cfg->duration_ms);
	json_add_double(b, "deadline_ms", cfg->deadline_ms);
	json_add_bool(b, "check", cfg->check);
	json_add_string(b, "ptl", config_ptl_names[cfg->ptl]);
	json_add_string(b, "pt_free", config_pt_free_names[cfg->pt_free]);
	json_add_string(b, "vma_free", config_vma_free_names[cfg->vma_free]);
	if (cfg->scheme->speculative)
		json_add_string(b, "spf_walk", config_spf_walk_names[cfg->spf_walk_irqs_off]);
	json_add_string(b, "inject", config_inject_names[cfg->inject]);
	json_add_string(b, "anon_vma_lock", config_anon_vma_lock_names[cfg->anon_vma_lock]);
	json_add_double(b, "gfp_nowait_fail", cfg->gfp_nowait_fail);
	config_files_json(b, cfg);
	json_add_string(b, "tree_lock", config_tree_lock_names[cfg->tree_lock]);
	json_add_bool(b, "prefetchw", cfg->prefetchw);
	json_add_bool(b, "seq_shares_lock_line", cfg->seq_shares_lock_line);
	if (cfg->smmu_cpus) {
		json_builder_set_member_name(b, "secondary_mmu");
		json_builder_begin_object(b);
		json_add_int(b, "cpus", cfg->smmu_cpus);
		json_add_double(b, "rate_per_ms", cfg->smmu_rate_per_ms);
		json_add_double(b, "callback_ns", cfg->smmu_callback_ns);
		json_add_bool(b, "sleeps", cfg->smmu_sleeps);
		json_builder_end_object(b);
	}
	json_add_string(b, "thp", config_thp_names[cfg->thp]);
	json_add_string(b, "collapse", config_collapse_names[cfg->collapse]);
	if (cfg->collapse) {
		json_add_int(b, "khugepaged_pages_to_scan", cfg->khugepaged_pages_to_scan);
		json_add_double(b, "khugepaged_scan_sleep_ms", cfg->khugepaged_scan_sleep_ms);
		json_add_int(b, "khugepaged_max_ptes_none", cfg->khugepaged_max_ptes_none);
		if (cfg->swap_mb)
			json_add_int(b, "khugepaged_max_ptes_swap", cfg->khugepaged_max_ptes_swap);
		json_add_int(b, "khugepaged_cpu", cfg->khugepaged_cpu);
	}
	if (cfg->swap_mb)
		json_add_int(b, "swap_mb", cfg->swap_mb);
	config_rmap_walker_json(b, cfg);
	json_builder_set_member_name(b, "params");
	json_builder_begin_object(b);
	for (unsigned i = 0; i < cfg->params->len; i++) {
		struct scenario_param *p = g_ptr_array_index(cfg->params, i);
		json_builder_set_member_name(b, p->name);
		if (p->lua_type == LUA_TBOOLEAN)
			json_builder_add_boolean_value(b, !strcmp(p->value, "true"));
		else if (p->lua_type == LUA_TNUMBER && p->is_integer)
			json_builder_add_int_value(b, g_ascii_strtoll(p->value, NULL, 10));
		else if (p->lua_type == LUA_TNUMBER)
			json_builder_add_double_value(b, g_ascii_strtod(p->value, NULL));
		else
			json_builder_add_string_value(b, p->value);
	}
	json_builder_end_object(b);
	json_builder_set_member_name(b, "tasks");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < cfg->groups->len; i++) {
		struct task_group *g = g_ptr_array_index(cfg->groups, i);
		json_builder_begin_object(b);
		json_add_string(b, "name", g->name);
		json_add_int(b, "count", g->count);
		json_builder_set_member_name(b, "cpus");
		json_builder_begin_array(b);
		for (int k = 0; g->cpus && k < g->count; k++)
			json_builder_add_int_value(b, g->cpus[k]);
		json_builder_end_array(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	JsonNode *root = json_builder_get_root(b);
	g_object_unref(b);
	return root;
}
