/*
 * The scenario's files (field `files`) and the i_mmap lock form (field `i_mmap_lock`),
 * read for sim/config.c:
 *
 *   files = { data = { size_mb = 64, cached = true, read_ns = 77000 } }
 *
 * size_mb: the file's size (a positive number; rounded up to whole pages).  cached: every
 * page is in the page cache from the start (default true); otherwise the first fault of a
 * page reads it, for read_ns (default: the machine preset's path.file_read_ns).  Files are
 * kept sorted by name, so nothing depends on Lua's table order.
 */
#include <string.h>
#include <lauxlib.h>
#include "config.h"
#include "hw/machine.h"

const char *const config_i_mmap_lock_names[] = { "rwsem", "spinlock", NULL };

static void file_free(gpointer p)
{
	struct file_config *f = p;
	g_free(f->name);
	g_free(f);
}

static gint file_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp((*(struct file_config *const *)a)->name,
		      (*(struct file_config *const *)b)->name);
}

/* Largest file: 64 GiB of pages (the page cache index and the checker's keys hold more). */
#define FILE_MAX_MB (64.0 * 1024)

void config_read_files(lua_State *L, int sc, struct run_config *cfg)
{
	static const char *const keys[] = { "size_mb", "cached", "read_ns", NULL };

	cfg->files = g_ptr_array_new_with_free_func(file_free);
	lua_getfield(L, sc, "files");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "scenario: 'files' must be a table of name = { size_mb = ... }, got %s",
			   luaL_typename(L, -1));
	int ft = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, ft)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "scenario: files: keys must be file names (strings)");
		const char *name = lua_tostring(L, -2);
		if (!lua_istable(L, -1))
			luaL_error(L, "scenario: file '%s' must be a table { size_mb = ... }", name);
		int t = lua_gettop(L);
		lua_pushnil(L);
		while (lua_next(L, t)) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
			bool known = false;
			for (int i = 0; k && keys[i]; i++)
				known |= !strcmp(keys[i], k);
			if (!known)
				luaL_error(L, "scenario: file '%s': unknown key '%s' (known: size_mb, "
					   "cached, read_ns)", name, k ? k : "?");
			lua_pop(L, 1);
		}
		struct file_config *f = g_new0(struct file_config, 1);
		f->name = g_strdup(name);
		g_ptr_array_add(cfg->files, f);
		int ok;
		lua_getfield(L, t, "size_mb");
		double mb = lua_tonumberx(L, -1, &ok);
		if (!ok)
			luaL_error(L, "scenario: file '%s': 'size_mb' must be a number, got %s", name,
				   luaL_typename(L, -1));
		if (!(mb > 0) || mb > FILE_MAX_MB)
			luaL_error(L, "scenario: file '%s': 'size_mb' = %f must be in (0, %f]", name,
				   mb, FILE_MAX_MB);
		f->pages = (unsigned long)(mb * 256.0 + 0.999999);
		lua_pop(L, 1);
		lua_getfield(L, t, "cached");
		if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
			luaL_error(L, "scenario: file '%s': 'cached' must be a boolean, got %s", name,
				   luaL_typename(L, -1));
		f->cached = lua_isnil(L, -1) || lua_toboolean(L, -1);
		lua_pop(L, 1);
		lua_getfield(L, t, "read_ns");
		f->read_ns = ((const struct machine *)cfg->machine)->path.file_read;
		if (!lua_isnil(L, -1)) {
			double ns = lua_tonumberx(L, -1, &ok);
			if (!ok || !(ns >= 0) || ns > 1e9)
				luaL_error(L, "scenario: file '%s': 'read_ns' must be a number in "
					   "[0, 1e9]", name);
			f->read_ns = ns;
		}
		lua_pop(L, 2); /* read_ns, the file's table */
	}
	lua_pop(L, 1);
	g_ptr_array_sort(cfg->files, file_cmp);
	uint64_t total = 0;
	for (unsigned i = 0; i < cfg->files->len; i++)
		total += ((struct file_config *)g_ptr_array_index(cfg->files, i))->pages;
	uint64_t mem_pages = ((const struct machine *)cfg->machine)->mem_bytes >> 12;
	if (total > mem_pages / 2)
		luaL_error(L, "scenario: the files' %I MiB exceed half the machine's memory "
			   "(%I MiB)", (lua_Integer)(total >> 8), (lua_Integer)(mem_pages >> 8));
}

void config_files_json(JsonBuilder *b, const struct run_config *cfg)
{
	json_builder_set_member_name(b, "i_mmap_lock");
	json_builder_add_string_value(b, config_i_mmap_lock_names[cfg->i_mmap_lock]);
	json_builder_set_member_name(b, "files");
	json_builder_begin_object(b);
	for (unsigned i = 0; i < cfg->files->len; i++) {
		const struct file_config *f = g_ptr_array_index(cfg->files, i);
		json_builder_set_member_name(b, f->name);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "pages");
		json_builder_add_int_value(b, (gint64)f->pages);
		json_builder_set_member_name(b, "cached");
		json_builder_add_boolean_value(b, f->cached);
		json_builder_set_member_name(b, "read_ns");
		json_builder_add_double_value(b, f->read_ns);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
}
