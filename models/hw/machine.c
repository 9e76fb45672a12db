/*
 * Machine presets: strict loading of a Lua data file into struct machine.  A preset file
 * returns one table with sub-tables cache, coherence, tlb, hw and path (format:
 * docs/model-hw.md); every key is known here, every number is range-checked, cross-field
 * rules are checked, and errors name the file and the offending field.
 */
#include <glib.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <string.h>
#include <stddef.h>
#include <math.h>
#include "machine.h"
#include "mmsim-config.h"

#define MACHINE_MAX_CPUS 4096

struct field {
	const char *key;
	double min, max;
	size_t offset;     /* into struct machine */
	char kind;         /* 'i' int, 'd' double, 'b' boolean, 'g' GB/s -> bytes/ps,
			    * 'm' GiB -> bytes, 's' string */
};

#define F(k, kind, lo, hi, member) { k, lo, hi, offsetof(struct machine, member), kind }
static const struct field top_fields[] = {
	F("name", 's', 0, 0, name),
	F("description", 's', 0, 0, description),
	F("sockets", 'i', 1, 64, sockets),
	F("cores_per_socket", 'i', 1, 1024, cores_per_socket),
	F("threads_per_core", 'i', 1, 8, threads_per_core),
	F("llc_per_socket", 'i', 1, 64, llc_per_socket),
	F("nodes_per_socket", 'i', 1, 16, nodes_per_socket),
	F("mem_gib", 'm', 0.0625, 65536, mem_bytes),
	F("freq_ghz", 'd', 0.1, 10, freq_ghz),
	{ NULL, 0, 0, 0, 0 },
};
static const struct field cache_fields[] = {
	F("l1d_kib", 'd', 1, 1024, cache.l1d_kib),
	F("l1d_ways", 'i', 1, 64, cache.l1d_ways),
	F("l1d_cycles", 'd', 1, 100, cache.l1d_cycles),
	F("l2_kib", 'd', 16, 65536, cache.l2_kib),
	F("l2_ways", 'i', 1, 64, cache.l2_ways),
	F("l2_cycles", 'd', 1, 200, cache.l2_cycles),
	F("llc_kib", 'd', 64, 1048576, cache.llc_kib),
	F("llc_ways", 'i', 1, 64, cache.llc_ways),
	F("llc_cycles", 'd', 1, 1000, cache.llc_cycles),
	F("dram_local_ns", 'd', 1, 10000, cache.dram_local_ns),
	F("dram_remote_ns", 'd', 1, 10000, cache.dram_remote_ns),
	{ NULL, 0, 0, 0, 0 },
};
static const struct field coherence_fields[] = {
	F("smt_ns", 'd', 0.1, 10000, coh.smt_ns),
	F("llc_ns", 'd', 0.1, 10000, coh.llc_ns),
	F("socket_ns", 'd', 0.1, 10000, coh.socket_ns),
	F("remote_ns", 'd', 0.1, 10000, coh.remote_ns),
	F("rmw_cycles", 'd', 1, 1000, coh.rmw_cycles),
	{ NULL, 0, 0, 0, 0 },
};
static const struct field tlb_fields[] = {
	F("l1_4k_entries", 'i', 1, 65536, tlb.l1_4k_entries),
	F("l1_4k_ways", 'i', 1, 65536, tlb.l1_4k_ways),
	F("l1_2m_entries", 'i', 1, 65536, tlb.l1_2m_entries),
	F("l1_2m_ways", 'i', 1, 65536, tlb.l1_2m_ways),
	F("stlb_entries", 'i', 1, 65536, tlb.stlb_entries),
	F("stlb_ways", 'i', 1, 65536, tlb.stlb_ways),
	F("stlb_hit_cycles", 'd', 0, 1000, tlb.stlb_hit_cycles),
	F("pcid", 'b', 0, 1, tlb.pcid),
	F("invlpg_cycles", 'd', 1, 100000, tlb.invlpg_cycles),
	F("flush_base_cycles", 'd', 0, 1000000, tlb.flush_base_cycles),
	F("cr3_flush_cycles", 'd', 1, 100000, tlb.cr3_flush_cycles),
	F("flush_ceiling", 'i', 0, 4096, tlb.flush_ceiling),
	{ NULL, 0, 0, 0, 0 },
};
static const struct field hw_fields[] = {
	F("zero_gbps", 'g', 0.01, 10000, hw.zero_bytes_per_ps),
	F("copy_gbps", 'g', 0.01, 10000, hw.copy_bytes_per_ps),
	{ NULL, 0, 0, 0, 0 },
};
static const struct field path_fields[] = {
	F("exception_ns", 'd', 0, 1e6, path.exception),
	F("syscall_ns", 'd', 0, 1e6, path.syscall),
	F("fault_core_ns", 'd', 0, 1e6, path.fault_core),
	F("vma_alloc_ns", 'd', 0, 1e6, path.vma_alloc),
	F("maple_node_alloc_ns", 'd', 0, 1e6, path.maple_node_alloc),
	F("page_alloc_ns", 'd', 0, 1e6, path.page_alloc),
	F("zone_refill_ns", 'd', 0, 1e6, path.zone_refill),
	F("pte_op_ns", 'd', 0, 1e6, path.pte_op),
	F("wakeup_ns", 'd', 0, 1e7, path.wakeup),
	F("file_read_ns", 'd', 0, 1e9, path.file_read),
	F("swap_read_ns", 'd', 0, 1e9, path.swap_read),
	F("swap_write_ns", 'd', 0, 1e9, path.swap_write),
	{ NULL, 0, 0, 0, 0 },
};
#undef F

/* The sub-tables of a preset, each with its own strict field list. */
static const struct {
	const char *name;
	const struct field *fields;
} tables[] = {
	{ "cache", cache_fields }, { "coherence", coherence_fields }, { "tlb", tlb_fields },
	{ "hw", hw_fields }, { "path", path_fields },
};

static bool is_table_name(const char *k)
{
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (!strcmp(tables[i].name, k))
			return true;
	return !strcmp(k, "sources");
}

static bool read_fields(lua_State *L, int idx, const struct field *fields, const char *table,
			struct machine *m, const char *file, char **err)
{
	/* Unknown keys first: a typo must not silently fall back to nothing. */
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		bool known = false;
		if (lua_type(L, -2) == LUA_TSTRING) {
			const char *k = lua_tostring(L, -2);
			for (const struct field *f = fields; f->key; f++)
				known |= !strcmp(f->key, k);
			if (!table && is_table_name(k))
				known = true;
		}
		if (!known) {
			*err = g_strdup_printf("%s: unknown machine field '%s%s%s'", file,
					       table ? table : "", table ? "." : "",
					       lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
			lua_pop(L, 2);
			return false;
		}
		lua_pop(L, 1);
	}
	for (const struct field *f = fields; f->key; f++) {
		lua_getfield(L, idx, f->key);
		char *where = g_strdup_printf("%s: machine field '%s%s%s'", file, table ? table : "",
					      table ? "." : "", f->key);
		char *base = (char *)m + f->offset;
		if (f->kind == 's') {
			if (!lua_isstring(L, -1)) {
				*err = g_strdup_printf("%s must be a string", where);
				goto fail;
			}
			*(char **)base = g_strdup(lua_tostring(L, -1));
		} else if (f->kind == 'b') {
			if (!lua_isboolean(L, -1)) {
				*err = g_strdup_printf("%s must be true or false", where);
				goto fail;
			}
			*(bool *)base = lua_toboolean(L, -1);
		} else {
			int isnum;
			double v = lua_tonumberx(L, -1, &isnum);
			if (!isnum) {
				*err = g_strdup_printf("%s must be a number", where);
				goto fail;
			}
			if (v < f->min || v > f->max || (f->kind == 'i' && v != floor(v))) {
				*err = g_strdup_printf("%s = %g out of range [%g, %g]%s", where, v, f->min,
						       f->max, f->kind == 'i' ? " (integer)" : "");
				goto fail;
			}
			switch (f->kind) {
			case 'i': *(int *)base = (int)v; break;
			case 'd': *(double *)base = v; break;
			case 'g': *(double *)base = v * 1e9 / 1e12; break;
			case 'm': *(uint64_t *)base = (uint64_t)(v * 1024 * 1024 * 1024); break;
			}
		}
		g_free(where);
		lua_pop(L, 1);
		continue;
fail:
		g_free(where);
		lua_pop(L, 1);
		return false;
	}
	return true;
}

static bool whole_sets(double kib, int ways)
{
	uint64_t lines = (uint64_t)(kib * 1024) / 64;
	return lines % (uint64_t)ways == 0;
}

/* Cross-field rules; the model relies on each. */
static bool machine_validate(struct machine *m, const char *file, char **err)
{
	const char *why = NULL;
	if (m->cores_per_socket % m->llc_per_socket)
		why = "cores_per_socket must be a multiple of llc_per_socket";
	else if (m->cores_per_socket % m->nodes_per_socket)
		why = "cores_per_socket must be a multiple of nodes_per_socket";
	else if (m->sockets * m->llc_per_socket > 64)
		why = "at most 64 LLC domains in all";
	else if (!whole_sets(m->cache.l1d_kib, m->cache.l1d_ways) ||
		 !whole_sets(m->cache.l2_kib, m->cache.l2_ways) ||
		 !whole_sets(m->cache.llc_kib, m->cache.llc_ways))
		why = "each cache's size must be a whole number of 64-byte lines per way";
	else if (m->tlb.l1_4k_entries < m->tlb.l1_4k_ways || m->tlb.l1_2m_entries < m->tlb.l1_2m_ways ||
		 m->tlb.stlb_entries < m->tlb.stlb_ways)
		why = "a TLB cannot have more ways than entries";
	else if (m->cache.l1d_cycles > m->cache.l2_cycles || m->cache.l2_cycles > m->cache.llc_cycles)
		why = "cache latencies must grow from L1D to L2 to LLC";
	if (why) {
		*err = g_strdup_printf("%s: %s", file, why);
		return false;
	}
	/* The derived figures (struct hw_costs). */
	m->hw.transfer = ns_to_ps(m->coh.llc_ns);
	m->hw.wakeup = ns_to_ps(m->path.wakeup);
	return true;
}

static char *find_preset(const char *name);

/*
 * Push the table a preset file returns, with `base = "name"` resolved: the named preset's
 * table (itself resolved) with this file's fields laid over it, sub-tables field by field.
 * A derived preset states only what differs, and cites only what it states.
 */
static bool push_preset_table(lua_State *L, const char *file, int depth, char **err)
{
	if (depth > 8) {
		*err = g_strdup_printf("%s: 'base' chain deeper than 8 presets (a cycle?)", file);
		return false;
	}
	/* Presets are data: an empty environment, no libraries. */
	if (luaL_loadfilex(L, file, "t") != LUA_OK) {
		*err = g_strdup(lua_tostring(L, -1));
		return false;
	}
	lua_newtable(L);
	lua_setupvalue(L, -2, 1);
	if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
		*err = g_strdup(lua_tostring(L, -1));
		return false;
	}
	if (!lua_istable(L, -1)) {
		*err = g_strdup_printf("%s: a machine preset must return a table", file);
		return false;
	}
	int t = lua_gettop(L);
	lua_getfield(L, t, "base");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return true;
	}
	if (lua_type(L, -1) != LUA_TSTRING) {
		*err = g_strdup_printf("%s: machine field 'base' must be a preset name", file);
		return false;
	}
	/* A base given as a file is relative to the file that names it. */
	const char *bname = lua_tostring(L, -1);
	char *rel = NULL;
	if (g_str_has_suffix(bname, ".lua") && !g_path_is_absolute(bname)) {
		char *dir = g_path_get_dirname(file);
		rel = g_build_filename(dir, bname, NULL);
		g_free(dir);
	}
	char *path = find_preset(rel ? rel : bname);
	g_free(rel);
	if (!path) {
		*err = g_strdup_printf("%s: base preset '%s' not found", file, lua_tostring(L, -1));
		return false;
	}
	lua_pop(L, 1);
	bool ok = push_preset_table(L, path, depth + 1, err);
	g_free(path);
	if (!ok)
		return false;
	int b = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, t)) {
		if (lua_type(L, -2) == LUA_TSTRING && !strcmp(lua_tostring(L, -2), "base")) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushvalue(L, -2);
		lua_gettable(L, b);
		if (lua_istable(L, -1) && lua_istable(L, -2)) {
			int sub = lua_gettop(L);
			lua_pushnil(L);
			while (lua_next(L, sub - 1)) {
				lua_pushvalue(L, -2);
				lua_insert(L, -2);
				lua_settable(L, sub);
			}
			lua_pop(L, 2);
		} else {
			lua_pop(L, 1);
			lua_pushvalue(L, -2);
			lua_insert(L, -2);
			lua_settable(L, b);
		}
	}
	lua_remove(L, t);
	return true;
}

static struct machine *machine_load_file(const char *file, char **err)
{
	lua_State *L = luaL_newstate();
	struct machine *m = g_new0(struct machine, 1);

	if (!push_preset_table(L, file, 0, err))
		goto fail;
	int top = lua_gettop(L);
	if (!read_fields(L, top, top_fields, NULL, m, file, err))
		goto fail;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		lua_getfield(L, top, tables[i].name);
		if (!lua_istable(L, -1)) {
			*err = g_strdup_printf("%s: machine field '%s' must be a table", file,
					       tables[i].name);
			goto fail;
		}
		if (!read_fields(L, lua_gettop(L), tables[i].fields, tables[i].name, m, file, err))
			goto fail;
		lua_pop(L, 1);
	}
	if (!machine_validate(m, file, err))
		goto fail;
	m->nr_cpus = m->sockets * m->cores_per_socket * m->threads_per_core;
	if (m->nr_cpus > MACHINE_MAX_CPUS) {
		*err = g_strdup_printf("%s: %d CPUs exceed the limit of %d", file, m->nr_cpus,
				       MACHINE_MAX_CPUS);
		goto fail;
	}
	m->file = g_strdup(file);
	lua_close(L);
	return m;
fail:
	lua_close(L);
	machine_free(m);
	return NULL;
}

static char **preset_dirs(void)
{
	const char *env = g_getenv("MMSIM_MACHINE_PATH");
	GPtrArray *dirs = g_ptr_array_new();
	if (env) {
		char **parts = g_strsplit(env, ":", -1);
		for (char **p = parts; *p; p++)
			if (**p)
				g_ptr_array_add(dirs, g_strdup(*p));
		g_strfreev(parts);
	}
	g_ptr_array_add(dirs, g_build_filename(MMSIM_SOURCE_DIR, "models", "hw", "presets", NULL));
	g_ptr_array_add(dirs, NULL);
	return (char **)g_ptr_array_free(dirs, FALSE);
}

/* The file of a preset name (searched in preset_dirs; "dir/name" reaches subdirectories). */
static char *find_preset(const char *name)
{
	if (g_str_has_suffix(name, ".lua"))
		return g_file_test(name, G_FILE_TEST_IS_REGULAR) ? g_strdup(name) : NULL;
	char **dirs = preset_dirs(), *found = NULL;
	char *leaf = g_strconcat(name, ".lua", NULL);
	for (char **d = dirs; *d && !found; d++) {
		char *path = g_build_filename(*d, leaf, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
			found = path;
		else
			g_free(path);
	}
	g_free(leaf);
	g_strfreev(dirs);
	return found;
}

struct machine *machine_load(const char *name, char **err)
{
	char *path = find_preset(name);
	if (!path) {
		*err = g_strdup_printf("unknown machine '%s' (see 'mmsim list machines')", name);
		return NULL;
	}
	struct machine *m = machine_load_file(path, err);
	g_free(path);
	return m;
}

void machine_free(struct machine *m)
{
	if (!m)
		return;
	g_free(m->name);
	g_free(m->description);
	g_free(m->file);
	g_free(m);
}

static gint cmp_str(gconstpointer a, gconstpointer b, gpointer data)
{
	return strcmp(a, b);
}

char **machine_list(char ***descriptions)
{
	char **dirs = preset_dirs();
	GPtrArray *names = g_ptr_array_new();
	GTree *seen = g_tree_new_full(cmp_str, NULL, g_free, g_free);
	for (char **d = dirs; *d; d++) {
		GDir *dir = g_dir_open(*d, 0, NULL);
		const char *leaf;
		while (dir && (leaf = g_dir_read_name(dir))) {
			if (!g_str_has_suffix(leaf, ".lua"))
				continue;
			char *name = g_strndup(leaf, strlen(leaf) - 4);
			if (g_tree_lookup(seen, name)) {
				g_free(name);
				continue;
			}
			char *path = g_build_filename(*d, leaf, NULL), *err = NULL;
			struct machine *m = machine_load_file(path, &err);
			g_tree_insert(seen, name, m ? g_strdup(m->description) :
				      g_strdup_printf("(broken: %s)", err));
			machine_free(m);
			g_free(err);
			g_free(path);
		}
		if (dir)
			g_dir_close(dir);
	}
	g_strfreev(dirs);
	GPtrArray *descs = g_ptr_array_new();
	GTreeNode *n = g_tree_node_first(seen);
	for (; n; n = g_tree_node_next(n)) {
		g_ptr_array_add(names, g_strdup(g_tree_node_key(n)));
		g_ptr_array_add(descs, g_strdup(g_tree_node_value(n)));
	}
	g_tree_destroy(seen);
	g_ptr_array_add(names, NULL);
	g_ptr_array_add(descs, NULL);
	*descriptions = (char **)g_ptr_array_free(descs, FALSE);
	return (char **)g_ptr_array_free(names, FALSE);
}
