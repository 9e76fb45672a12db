/*
 * The operations a task program calls.  Each runs on the calling task's simulated CPU:
 * syscalls go through the mm's scheme, user accesses through the simulated MMU.  Argument
 * errors are raised at the program's line (luaL_error), and end the run with status 2.
 */
#include <string.h>
#include <lauxlib.h>
#include "workload.h"
#include "config.h"
#include "die.h"
#include "clock.h"
#include "hw/machine.h"
#include "mm/mm.h"
#include "schemes/scheme.h"
#include "sync/rcu.h"

#define USER_SPAN (TASK_SIZE - MMAP_MIN_ADDR)

struct program {
	lua_State *co;
	int group_ref;
};

static struct sim_task *current(lua_State *L, const char *op)
{
	struct sim_task *t = *(struct sim_task **)lua_getextraspace(L);
	if (!t)
		luaL_error(L, "%s(): only a task program may call it, not the scenario file", op);
	return t;
}

static unsigned long check_len(lua_State *L, int arg, const char *op)
{
	int ok;
	lua_Integer len = lua_tointegerx(L, arg, &ok);
	if (!ok)
		luaL_error(L, "%s: length must be an integer number of bytes", op);
	if (len <= 0)
		luaL_error(L, "%s: length %I must be positive", op, len);
	if ((unsigned long long)len > USER_SPAN)
		luaL_error(L, "%s: length %I exceeds the 128 TiB user address space", op, len);
	return (unsigned long)len;
}

static unsigned long check_addr(lua_State *L, int arg, const char *op)
{
	int ok;
	lua_Integer a = lua_tointegerx(L, arg, &ok);
	if (!ok || a < 0 || (unsigned long long)a >= TASK_SIZE)
		luaL_error(L, "%s: address must be an integer user address", op);
	return (unsigned long)a;
}

/* mmap(len): anonymous private read-write mapping; returns its address. */
static int l_mmap(lua_State *L)
{
	struct sim_task *t = current(L, "mmap");
	unsigned long len = check_len(L, 1, "mmap");
	len = (len + PAGE_SIZE - 1) & PAGE_MASK;
	cpu_work(t, t->machine->path.syscall);
	count_event(&t->stats, EV_MMAP);
	unsigned long addr = t->mm->scheme->mmap(t, t->mm, len, VM_READ | VM_WRITE);
	if (!addr)
		return luaL_error(L, "mmap: no free range of %I bytes (ENOMEM)", (lua_Integer)len);
	rcu_user_return(t);
	lua_pushinteger(L, (lua_Integer)addr);
	return 1;
}

/* munmap(addr, len) */
static int l_munmap(lua_State *L)
{
	struct sim_task *t = current(L, "munmap");
	unsigned long addr = check_addr(L, 1, "munmap");
	unsigned long len = check_len(L, 2, "munmap");
	if (addr & ~PAGE_MASK)
		return luaL_error(L, "munmap: address 0x%p is not page aligned (EINVAL)",
				  (void *)addr);
	len = (len + PAGE_SIZE - 1) & PAGE_MASK;
	if (addr + len > TASK_SIZE)
		return luaL_error(L, "munmap: range ends beyond the user address space (EINVAL)");
	cpu_work(t, t->machine->path.syscall);
	count_event(&t->stats, EV_MUNMAP);
	t->mm->scheme->munmap(t, t->mm, addr, len);
	rcu_user_return(t);
	return 0;
}

/* touch(addr, len [, stride = PAGE_SIZE [, mode = "w"]]): user loads ("r") or stores ("w"). */
static int l_touch(lua_State *L)
{
	struct sim_task *t = current(L, "touch");
	unsigned long addr = check_addr(L, 1, "touch");
	unsigned long len = check_len(L, 2, "touch");
	lua_Integer stride = luaL_optinteger(L, 3, PAGE_SIZE);
	const char *mode = luaL_optstring(L, 4, "w");
	if (stride <= 0)
		return luaL_error(L, "touch: stride %I must be positive", stride);
	bool write;
	if (!strcmp(mode, "w"))
		write = true;
	else if (!strcmp(mode, "r"))
		write = false;
	else
		return luaL_error(L, "touch: mode must be \"r\" or \"w\", got \"%s\"", mode);
	if (addr + len > TASK_SIZE)
		return luaL_error(L, "touch: range ends beyond the user address space");
	for (unsigned long off = 0; off < len; off += (unsigned long)stride) {
		int err = mmu_access(t, t->mm, addr + off, write);
		rcu_user_return(t); /* back in user mode: a quiescent state */
		if (err == -14)
			return luaL_error(L, "touch: segmentation fault at 0x%p (%s)",
					  (void *)(addr + off), write ? "write" : "read");
		if (err)
			return luaL_error(L, "touch: out of memory at 0x%p (the machine has %I MiB)",
					  (void *)(addr + off),
					  (lua_Integer)(t->machine->mem_bytes >> 20));
	}
	return 0;
}

/* sleep(ns): the task is idle for ns of simulated time. */
static int l_sleep(lua_State *L)
{
	struct sim_task *t = current(L, "sleep");
	lua_Number ns = luaL_checknumber(L, 1);
	if (!(ns >= 0) || ns > 1e13)
		return luaL_error(L, "sleep: %f ns is not in [0, 1e13]", ns);
	rcu_idle_enter(t);
	cpu_idle(t, ns_to_ps(ns));
	rcu_idle_exit(t);
	return 0;
}

/* now(): the task's simulated time in ns. */
static int l_now(lua_State *L)
{
	struct sim_task *t = current(L, "now");
	lua_pushnumber(L, ps_to_ns(t->now));
	return 1;
}

/* alive(): true until the scenario's duration has passed (always true without one). */
static int l_alive(lua_State *L)
{
	struct sim_task *t = current(L, "alive");
	lua_pushboolean(L, t->now < t->deadline);
	return 1;
}

/* rand() in [0,1), rand(n) in [1,n], rand(m,n) in [m,n]: the task's own stream. */
static int l_rand(lua_State *L)
{
	struct sim_task *t = current(L, "rand");
	double r = rng_double(&t->rng);
	lua_Integer lo = 1, hi;
	switch (lua_gettop(L)) {
	case 0:
		lua_pushnumber(L, r);
		return 1;
	case 1:
		hi = luaL_checkinteger(L, 1);
		break;
	default:
		lo = luaL_checkinteger(L, 1);
		hi = luaL_checkinteger(L, 2);
	}
	if (lo > hi)
		return luaL_error(L, "rand: empty interval [%I, %I]", lo, hi);
	lua_pushinteger(L, lo + (lua_Integer)(r * (double)(hi - lo + 1)));
	return 1;
}

static const luaL_Reg ops[] = {
	{ "mmap", l_mmap }, { "munmap", l_munmap }, { "touch", l_touch }, { "sleep", l_sleep },
	{ "now", l_now }, { "alive", l_alive }, { "rand", l_rand }, { NULL, NULL },
};

void workload_register(lua_State *L, int env)
{
	for (const luaL_Reg *r = ops; r->name; r++) {
		lua_pushcfunction(L, r->func);
		lua_setfield(L, env, r->name);
	}
}

void workload_prepare(struct run_config *cfg, struct task_group *g, int index,
		      struct sim_task *t)
{
	lua_State *L = cfg->L;
	struct program *p = g_new0(struct program, 1);

	p->co = lua_newthread(L);
	luaL_ref(L, LUA_REGISTRYINDEX); /* anchored for the whole run */
	*(struct sim_task **)lua_getextraspace(p->co) = t;
	lua_rawgeti(p->co, LUA_REGISTRYINDEX, g->program_ref);
	lua_newtable(p->co);
	lua_pushinteger(p->co, t->id);
	lua_setfield(p->co, -2, "id");
	lua_pushinteger(p->co, index);
	lua_setfield(p->co, -2, "index");
	lua_pushinteger(p->co, t->cpu);
	lua_setfield(p->co, -2, "cpu");
	lua_pushstring(p->co, g->name);
	lua_setfield(p->co, -2, "name");
	t->program_private = p;
}

static int msgh(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg)
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	luaL_traceback(L, L, msg, 1);
	return 1;
}

void workload_task_main(struct sim_task *t, void *arg)
{
	struct program *p = t->program_private;
	lua_State *co = p->co;

	lua_pushcfunction(co, msgh);
	lua_insert(co, 1);
	if (lua_pcall(co, 1, 0, 1) != LUA_OK) {
		fprintf(stderr, "mmsim: task %s (cpu %d) failed at %.3f us: %s\n", t->name, t->cpu,
			ps_to_ns(t->now) / 1000.0, lua_tostring(co, -1));
		fflush(stderr);
		_exit(EXIT_USAGE);
	}
	lua_settop(co, 0);
}
