/*
 * The file form of mmap in task programs:
 *
 *   mmap(len, {file = "data", offset = 0, shared = true, prot = "rw"})
 *
 * file: a name declared in the scenario's `files`; offset: bytes into the file, page
 * aligned, with offset + len inside the file; shared: MAP_SHARED (stores reach the page
 * cache and every mapping of the file) or MAP_PRIVATE (default: stores go to private
 * copies); prot: "none" or letters of "rwx" (default "rw").  Mistakes are Lua errors at
 * the program's line (status 2).
 */
#include <string.h>
#include <lauxlib.h>
#include "workload.h"
#include "clock.h"
#include "hw/machine.h"
#include "mm/mm.h"
#include "schemes/scheme.h"
#include "sync/rcu.h"

static struct address_space *file_by_name(const char *name)
{
	GPtrArray *all = filemap_all();
	for (unsigned i = 0; i < all->len; i++) {
		struct address_space *m = g_ptr_array_index(all, i);
		if (!strcmp(m->name, name))
			return m;
	}
	return NULL;
}

int workload_mmap_file(lua_State *L, struct sim_task *t, unsigned long len)
{
	static const char *const keys[] = { "file", "offset", "shared", "prot", NULL };

	luaL_checktype(L, 2, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 2)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		bool known = false;
		for (int i = 0; k && keys[i]; i++)
			known |= !strcmp(keys[i], k);
		if (!known)
			return luaL_error(L, "mmap: unknown option '%s' (known: file, offset, shared, "
					  "prot)", k ? k : "?");
		lua_pop(L, 1);
	}
	lua_getfield(L, 2, "file");
	if (lua_type(L, -1) != LUA_TSTRING)
		return luaL_error(L, "mmap: option 'file' must be the name of a scenario file, "
				  "got %s", luaL_typename(L, -1));
	const char *name = lua_tostring(L, -1);
	struct address_space *m = file_by_name(name);
	if (!m) {
		GString *known = g_string_new("");
		GPtrArray *all = filemap_all();
		for (unsigned i = 0; i < all->len; i++)
			g_string_append_printf(known, "%s%s", i ? ", " : "",
					       ((struct address_space *)all->pdata[i])->name);
		lua_pushfstring(L, "mmap: no file '%s' in the scenario's files (%s)", name,
				known->len ? known->str : "none declared");
		g_string_free(known, TRUE);
		return lua_error(L);
	}
	lua_getfield(L, 2, "offset");
	lua_Integer offset = 0;
	if (!lua_isnil(L, -1)) {
		int ok;
		offset = lua_tointegerx(L, -1, &ok);
		if (!ok || offset < 0)
			return luaL_error(L, "mmap: 'offset' must be a non-negative integer number "
					  "of bytes");
		if (offset & (lua_Integer)~PAGE_MASK)
			return luaL_error(L, "mmap: offset %I is not page aligned (EINVAL)", offset);
	}
	unsigned long pgoff = (unsigned long)offset >> PAGE_SHIFT;
	if (pgoff > m->size_pages || (len >> PAGE_SHIFT) > m->size_pages - pgoff)
		return luaL_error(L, "mmap: offset %I + length %I lies beyond the end of '%s' "
				  "(%I bytes)", offset, (lua_Integer)len, name,
				  (lua_Integer)(m->size_pages << PAGE_SHIFT));
	lua_getfield(L, 2, "shared");
	if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
		return luaL_error(L, "mmap: 'shared' must be a boolean, got %s",
				  luaL_typename(L, -1));
	bool shared = lua_toboolean(L, -1);
	lua_getfield(L, 2, "prot");
	const char *prot = lua_isnil(L, -1) ? "rw" : lua_tostring(L, -1);
	if (lua_type(L, -1) != LUA_TSTRING && !lua_isnil(L, -1))
		return luaL_error(L, "mmap: 'prot' must be a string, got %s", luaL_typename(L, -1));
	unsigned long flags = 0;
	if (strcmp(prot, "none")) {
		for (const char *c = prot; *c; c++) {
			unsigned long f = *c == 'r' ? VM_READ : *c == 'w' ? VM_WRITE :
					  *c == 'x' ? VM_EXEC : 0;
			if (!f || (flags & f))
				return luaL_error(L, "mmap: prot must be \"none\" or letters of \"rwx\", "
						  "got \"%s\"", prot);
			flags |= f;
		}
		if (!flags)
			return luaL_error(L, "mmap: empty prot (say \"none\")");
	}
	if (shared)
		flags |= VM_SHARED;
	lua_pop(L, 4);

	cpu_work(t, t->machine->path.syscall);
	count_event(&t->stats, EV_MMAP);
	unsigned long addr = t->mm->scheme->mmap_file(t, t->mm, len, flags, m, pgoff);
	if (!addr)
		return luaL_error(L, "mmap: no free range of %I bytes (ENOMEM)", (lua_Integer)len);
	if (t->mm->checker)
		mm_check_mmap_file(t, t->mm, addr, addr + len, flags, m->id, pgoff, shared);
	rcu_user_return(t);
	lua_pushinteger(L, (lua_Integer)addr);
	return 1;
}
