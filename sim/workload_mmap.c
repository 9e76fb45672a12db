/*
 * The mmap op of task programs:
 *
 *   mmap(len)
 *   mmap(len, {file = "data", offset = 0, shared = false, prot = "rw",
 *              addr = 0x7f0000000000, fixed = false})
 *
 * file: a name declared in the scenario's `files` (absent: MAP_ANONYMOUS); offset: bytes
 * into the file, page aligned, with offset + len inside the file; shared: MAP_SHARED
 * (stores reach the page cache and every mapping of the file) or MAP_PRIVATE (default:
 * stores go to private copies); prot: "none" or letters of "rwx" (default "rw").
 * addr: page aligned; without `fixed` a hint, taken if the range is free; fixed = true
 * (MAP_FIXED): the mapping goes exactly there, replacing whatever overlaps; fixed =
 * "noreplace" (MAP_FIXED_NOREPLACE): exactly there, or, if anything overlaps, the call
 * returns nil and "EEXIST" as a program checks errno.  Mistakes are Lua errors at the
 * program's line (status 2).
 */
#include <string.h>
#include <lauxlib.h>
#include "workload.h"
#include "mm/mmu_notifier.h"
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

/* file and offset (the table at index 2, its `file` field pushed): a->file, a->pgoff. */
static void mmap_file_option(lua_State *L, struct mmap_args *a)
{
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "mmap: option 'file' must be the name of a scenario file, got %s",
			   luaL_typename(L, -1));
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
		lua_error(L);
	}
	lua_getfield(L, 2, "offset");
	lua_Integer offset = 0;
	if (!lua_isnil(L, -1)) {
		int ok;
		offset = lua_tointegerx(L, -1, &ok);
		if (!ok || offset < 0)
			luaL_error(L, "mmap: 'offset' must be a non-negative integer number "
				   "of bytes");
		if (offset & (lua_Integer)~PAGE_MASK)
			luaL_error(L, "mmap: offset %I is not page aligned (EINVAL)", offset);
	}
	lua_pop(L, 1);
	unsigned long pgoff = (unsigned long)offset >> PAGE_SHIFT;
	if (pgoff > m->size_pages || (a->len >> PAGE_SHIFT) > m->size_pages - pgoff)
		luaL_error(L, "mmap: offset %I + length %I lies beyond the end of '%s' (%I bytes)",
			   offset, (lua_Integer)a->len, name,
			   (lua_Integer)(m->size_pages << PAGE_SHIFT));
	a->file = m;
	a->pgoff = pgoff;
}

/* addr and fixed (the table at index 2): a->addr, a->fixed, checked as do_mmap does. */
static void mmap_addr_options(lua_State *L, struct mmap_args *a)
{
	lua_getfield(L, 2, "addr");
	bool have_addr = !lua_isnil(L, -1);
	if (have_addr) {
		int ok;
		lua_Integer addr = lua_tointegerx(L, -1, &ok);
		if (!ok || addr < 0)
			luaL_error(L, "mmap: 'addr' must be a non-negative integer address");
		if (addr & (lua_Integer)~PAGE_MASK)
			luaL_error(L, "mmap: addr %p is not page aligned (EINVAL)", (void *)addr);
		if ((unsigned long)addr > TASK_SIZE || a->len > TASK_SIZE - (unsigned long)addr)
			luaL_error(L, "mmap: addr %p + length %I ends beyond the user address "
				   "space at %p (ENOMEM)", (void *)addr, (lua_Integer)a->len,
				   (void *)TASK_SIZE);
		a->addr = (unsigned long)addr;
	}
	lua_pop(L, 1);
	lua_getfield(L, 2, "fixed");
	if (lua_isboolean(L, -1)) {
		a->fixed = lua_toboolean(L, -1) ? MMAP_FIXED : MMAP_HINT;
	} else if (lua_type(L, -1) == LUA_TSTRING && !strcmp(lua_tostring(L, -1), "noreplace")) {
		a->fixed = MMAP_FIXED_NOREPLACE;
	} else if (lua_type(L, -1) == LUA_TSTRING) {
		luaL_error(L, "mmap: 'fixed' must be true, false or \"noreplace\", got \"%s\"",
			   lua_tostring(L, -1));
	} else if (!lua_isnil(L, -1)) {
		luaL_error(L, "mmap: 'fixed' must be true, false or \"noreplace\", got %s",
			   luaL_typename(L, -1));
	}
	lua_pop(L, 1);
	if (a->fixed != MMAP_HINT && !have_addr)
		luaL_error(L, "mmap: 'fixed' needs 'addr' (MAP_FIXED maps at a given address)");
	/* security_mmap_addr: nothing fixed below mmap_min_addr. */
	if (a->fixed != MMAP_HINT && a->addr < MMAP_MIN_ADDR)
		luaL_error(L, "mmap: fixed addr %p lies below mmap_min_addr %p (EPERM)",
			   (void *)a->addr, (void *)MMAP_MIN_ADDR);
}

/* The options table at index 2 into a (len already set). */
static void mmap_options(lua_State *L, struct mmap_args *a, bool *shared)
{
	static const char *const keys[] = { "file", "offset", "shared", "prot", "addr", "fixed",
					    NULL };

	luaL_checktype(L, 2, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 2)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		bool known = false;
		for (int i = 0; k && keys[i]; i++)
			known |= !strcmp(keys[i], k);
		if (!known)
			luaL_error(L, "mmap: unknown option '%s' (known: file, offset, shared, "
				   "prot, addr, fixed)", k ? k : "?");
		lua_pop(L, 1);
	}
	lua_getfield(L, 2, "file");
	if (!lua_isnil(L, -1)) {
		mmap_file_option(L, a);
	} else {
		lua_getfield(L, 2, "offset");
		lua_getfield(L, 2, "shared");
		if (!lua_isnil(L, -1) || !lua_isnil(L, -2))
			luaL_error(L, "mmap: 'offset' and 'shared' are options of a file mapping "
				   "(give 'file')");
		lua_pop(L, 2);
	}
	lua_pop(L, 1);
	lua_getfield(L, 2, "shared");
	if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
		luaL_error(L, "mmap: 'shared' must be a boolean, got %s", luaL_typename(L, -1));
	*shared = lua_toboolean(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, 2, "prot");
	if (lua_type(L, -1) != LUA_TSTRING && !lua_isnil(L, -1))
		luaL_error(L, "mmap: 'prot' must be a string, got %s", luaL_typename(L, -1));
	const char *prot = lua_isnil(L, -1) ? "rw" : lua_tostring(L, -1);
	unsigned long flags = 0;
	if (strcmp(prot, "none")) {
		for (const char *c = prot; *c; c++) {
			unsigned long f = *c == 'r' ? VM_READ : *c == 'w' ? VM_WRITE :
					  *c == 'x' ? VM_EXEC : 0;
			if (!f || (flags & f))
				luaL_error(L, "mmap: prot must be \"none\" or letters of "
					   "\"rwx\", got \"%s\"", prot);
			flags |= f;
		}
		if (!flags)
			luaL_error(L, "mmap: empty prot (say \"none\")");
	}
	lua_pop(L, 1);
	a->vm_flags = flags | (*shared ? VM_SHARED : 0);
	mmap_addr_options(L, a);
}

int workload_mmap(lua_State *L, struct sim_task *t, unsigned long len)
{
	struct mmap_args a = { .len = len, .vm_flags = VM_READ | VM_WRITE };
	bool shared = false;

	if (!lua_isnoneornil(L, 2))
		mmap_options(L, &a, &shared);
	cpu_work(t, t->machine->path.syscall);
	count_event(&t->stats, EV_MMAP);
	/* MAP_FIXED unmaps what it replaces inside the call: for the checker a munmap of the
	 * range is in flight from the entry (an access racing with it may see the old
	 * mapping or the new one) until the return, when the new mapping is in place. */
	struct mm_struct *mm = t->mm;
	int unmap_op = mm->checker && a.fixed == MMAP_FIXED ?
			       mm_check_op_begin(t, mm, MOP_MUNMAP, a.addr, a.addr + len, 0) : -1;
	unsigned long addr = mm->scheme->mmap(t, mm, &a);
	mmu_notifier_assert_balanced(t, mm, "mmap");
	if (unmap_op >= 0)
		mm_check_op_end(t, mm, unmap_op, !MMAP_IS_ERR(addr));
	if (addr == MMAP_EEXIST) {
		rcu_user_return(t);
		lua_pushnil(L);
		lua_pushliteral(L, "EEXIST");
		return 2;
	}
	if (MMAP_IS_ERR(addr))
		return luaL_error(L, "mmap: no free range of %I bytes (ENOMEM)", (lua_Integer)len);
	if (mm->checker && a.file) {
		mm_check_mmap_file(t, mm, addr, addr + len, a.vm_flags, a.file->id, a.pgoff,
				   shared);
	} else if (mm->checker) { /* nobody knows a chosen address before the call returns */
		mm_check_op_end(t, mm, mm_check_op_begin(t, mm, MOP_MMAP, addr, addr + len,
							 a.vm_flags), true);
	}
	rcu_user_return(t);
	lua_pushinteger(L, (lua_Integer)addr);
	return 1;
}
