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
#include "hw/hw.h"
#include "mm/mm.h"
#include "mm/rmap.h"
#include "mm/lru.h"
#include "mm/mmu_notifier.h"
#include "sync/waitq.h"
#include "schemes/scheme.h"
#include "sync/rcu.h"

#define USER_SPAN (TASK_SIZE - MMAP_MIN_ADDR)

struct program {
	lua_State *co;
	int group_ref;
	GArray *children;         /* int registry refs of the fork() children */
	sim_time_t clock_at_hook; /* the task's clock at the last instruction-count hook */
};

/* Lua instructions between checks that a task program still advances simulated time. */
#define SPIN_CHECK_INSNS 50000000

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

/* mmap(len [, {file, offset, shared, prot, addr, fixed}]): returns the address
 * (sim/workload_mmap.c). */
static int l_mmap(lua_State *L)
{
	struct sim_task *t = current(L, "mmap");
	unsigned long len = check_len(L, 1, "mmap");
	len = (len + PAGE_SIZE - 1) & PAGE_MASK;
	return workload_mmap(L, t, len);
}

/* munmap(addr, len) */
static int l_munmap(lua_State *L)
{
	struct sim_task *t = current(L, "munmap");
	unsigned long addr = check_addr(L, 1, "munmap");
	unsigned long len = check_len(L, 2, "munmap");
	if (addr & ~PAGE_MASK)
		return luaL_error(L, "munmap: address %p is not page aligned (EINVAL)",
				  (void *)addr);
	len = (len + PAGE_SIZE - 1) & PAGE_MASK;
	if (addr + len > TASK_SIZE)
		return luaL_error(L, "munmap: range ends beyond the user address space (EINVAL)");
	cpu_work(t, t->machine->path.syscall);
	count_event(&t->stats, EV_MUNMAP);
	int op = t->mm->checker ? mm_check_op_begin(t, t->mm, MOP_MUNMAP, addr, addr + len, 0)
				: -1;
	t->mm->scheme->munmap(t, t->mm, addr, len);
	mmu_notifier_assert_balanced(t, t->mm, "munmap");
	if (op >= 0)
		mm_check_op_end(t, t->mm, op, true);
	rcu_user_return(t);
	return 0;
}

/* A page-aligned range [addr, addr + len rounded up) for op, or a Lua error (EINVAL). */
static unsigned long check_range(lua_State *L, const char *op, unsigned long *addr)
{
	*addr = check_addr(L, 1, op);
	unsigned long len = check_len(L, 2, op);
	if (*addr & ~PAGE_MASK)
		luaL_error(L, "%s: address %p is not page aligned (EINVAL)", op, (void *)*addr);
	len = (len + PAGE_SIZE - 1) & PAGE_MASK;
	if (*addr + len > TASK_SIZE)
		luaL_error(L, "%s: range ends beyond the user address space (EINVAL)", op);
	return len;
}

/* mprotect(addr, len, prot): prot is "none" or letters of "rwx"; false if the range has a
 * hole (ENOMEM), true otherwise. */
static int l_mprotect(lua_State *L)
{
	struct sim_task *t = current(L, "mprotect");
	unsigned long addr, len = check_range(L, "mprotect", &addr);
	const char *prot = luaL_checkstring(L, 3);
	unsigned long flags = 0;
	if (strcmp(prot, "none")) {
		for (const char *c = prot; *c; c++) {
			unsigned long f = *c == 'r' ? VM_READ : *c == 'w' ? VM_WRITE :
					  *c == 'x' ? VM_EXEC : 0;
			if (!f || (flags & f))
				return luaL_error(L, "mprotect: prot must be \"none\" or "
						  "letters of \"rwx\", got \"%s\"", prot);
			flags |= f;
		}
		if (!flags)
			return luaL_error(L, "mprotect: empty prot (say \"none\")");
	}
	cpu_work(t, t->machine->path.syscall);
	count_event(&t->stats, EV_MPROTECT);
	int op = t->mm->checker ? mm_check_op_begin(t, t->mm, MOP_MPROTECT, addr, addr + len,
						    flags) : -1;
	int ret = t->mm->scheme->mprotect(t, t->mm, addr, len, flags);
	mmu_notifier_assert_balanced(t, t->mm, "mprotect");
	if (op >= 0)
		mm_check_op_end(t, t->mm, op, ret == 0);
	rcu_user_return(t);
	lua_pushboolean(L, ret == 0);
	return 1;
}

/* madvise_dontneed(addr, len): MADV_DONTNEED; false if the range has a hole (ENOMEM). */
static int l_madvise_dontneed(lua_State *L)
{
	struct sim_task *t = current(L, "madvise_dontneed");
	unsigned long addr, len = check_range(L, "madvise_dontneed", &addr);
	cpu_work(t, t->machine->path.syscall);
	count_event(&t->stats, EV_MADV_DONTNEED);
	int op = t->mm->checker ? mm_check_op_begin(t, t->mm, MOP_DONTNEED, addr, addr + len, 0)
				: -1;
	int ret = t->mm->scheme->madvise_dontneed(t, t->mm, addr, len);
	mmu_notifier_assert_balanced(t, t->mm, "madvise_dontneed");
	if (op >= 0) /* the mapped parts are dropped even if the range has holes */
		mm_check_op_end(t, t->mm, op, true);
	rcu_user_return(t);
	lua_pushboolean(L, ret == 0);
	return 1;
}

/*
 * madvise(addr, len, advice): "dontneed" as madvise_dontneed; "hugepage" is
 * MADV_HUGEPAGE, which sets VM_HUGEPAGE under mmap_lock (W) (THP with thp = "madvise",
 * and khugepaged's eligibility).  false if the range has a hole (ENOMEM).
 */
static int l_madvise(lua_State *L)
{
	const char *advice = luaL_checkstring(L, 3);
	if (!strcmp(advice, "dontneed")) {
		lua_settop(L, 2);
		return l_madvise_dontneed(L);
	}
	if (strcmp(advice, "hugepage"))
		return luaL_error(L, "madvise: advice must be \"dontneed\" or \"hugepage\", got "
				  "\"%s\"", advice);
	struct sim_task *t = current(L, "madvise");
	unsigned long addr, len = check_range(L, "madvise", &addr);
	cpu_work(t, t->machine->path.syscall);
	mmap_write_lock(t, t->mm);
	int ret = madvise_hugepage_locked(t, t->mm, addr, addr + len);
	mmap_write_unlock(t, t->mm);
	rcu_user_return(t);
	lua_pushboolean(L, ret == 0);
	return 1;
}

/*
 * The loads or stores of touch() through mm (the task's own, or a fork child's that the
 * task's CPU runs for the moment); the arguments start at Lua index `a`.
 */
static int touch_mm(lua_State *L, struct sim_task *t, struct mm_struct *mm, int a)
{
	unsigned long addr = check_addr(L, a, "touch");
	unsigned long len = check_len(L, a + 1, "touch");
	/* child:touch(addr, len, mode) may leave the stride out. */
	if (lua_type(L, a + 2) == LUA_TSTRING && lua_isnoneornil(L, a + 3)) {
		lua_pushinteger(L, PAGE_SIZE);
		lua_insert(L, a + 2);
	}
	lua_Integer stride = luaL_optinteger(L, a + 2, PAGE_SIZE);
	const char *mode = luaL_optstring(L, a + 3, "w");
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
		int err = mmu_access(t, mm, addr + off, write);
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

/* touch(addr, len [, stride = PAGE_SIZE [, mode = "w"]]): user loads ("r") or stores ("w"). */
static int l_touch(lua_State *L)
{
	return touch_mm(L, current(L, "touch"), current(L, "touch")->mm, 1);
}

/*
 * fork(): a child process whose address space is a copy-on-write copy of the task's
 * (dup_mmap, charged to the task).  The child runs on the task's CPU when the program
 * calls child:touch(...); child:exit() tears its address space down (exit_mmap).
 * Children still alive when the task's program returns exit then.
 */
#define CHILD_MT "mmsim.child"

struct child {
	struct mm_struct *mm; /* NULL once exited */
	struct sim_task *parent;
};

static struct child *check_child(lua_State *L, const char *op)
{
	struct child *c = luaL_checkudata(L, 1, CHILD_MT);
	if (!c->mm)
		luaL_error(L, "child:%s(): the child has exited", op);
	if (c->parent != current(L, op))
		luaL_error(L, "child:%s(): only the task that forked it may run it", op);
	return c;
}

static void child_exit(struct sim_task *t, struct child *c)
{
	cpu_work(t, t->machine->path.syscall);
	exit_mmap(t, c->mm);
	c->mm = NULL;
	switch_mm(t, t->mm); /* the CPU runs the parent again */
	rcu_user_return(t);
}

static int l_child_touch(lua_State *L)
{
	struct child *c = check_child(L, "touch");
	return touch_mm(L, c->parent, c->mm, 2);
}

static int l_child_exit(lua_State *L)
{
	struct child *c = check_child(L, "exit");
	child_exit(c->parent, c);
	return 0;
}

static int l_fork(lua_State *L)
{
	struct sim_task *t = current(L, "fork");
	struct program *p = t->program_private;
	cpu_work(t, t->machine->path.syscall);
	struct child *c = lua_newuserdatauv(L, sizeof(*c), 0);
	c->parent = t;
	c->mm = dup_mm(t, t->mm);
	if (luaL_newmetatable(L, CHILD_MT)) {
		static const luaL_Reg methods[] = {
			{ "touch", l_child_touch }, { "exit", l_child_exit }, { NULL, NULL },
		};
		luaL_newlib(L, methods);
		lua_setfield(L, -2, "__index");
	}
	lua_setmetatable(L, -2);
	/* Anchored until the task ends, which exits it if the program did not. */
	lua_pushvalue(L, -1);
	g_array_append_val(p->children, (int){ luaL_ref(L, LUA_REGISTRYINDEX) });
	rcu_user_return(t);
	return 1;
}

/*
 * page_idle(addr, len) -> n: idle page tracking over the task's pages in [addr, addr+len)
 * (mm/page_idle.c: the PFNs as /proc/self/pagemap gives them, then a write of their bits
 * to /sys/kernel/mm/page_idle/bitmap): each mapped anonymous page is pinned
 * (get_page_unless_zero) and its accessed bits are tested and cleared in every mm that
 * maps it by an rmap walk under its anon_vma lock (R).  Returns how many pages had been
 * accessed since the last call.
 */
static int l_page_idle(lua_State *L)
{
	struct sim_task *t = current(L, "page_idle");
	unsigned long addr, len = check_range(L, "page_idle", &addr);
	lua_Integer young = 0;
	GArray *pfns = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	/* pagemap_read: the page-table walk under mmap_lock (R). */
	cpu_work(t, t->machine->path.syscall);
	mmap_read_lock(t, t->mm);
	for (unsigned long a = addr; a < addr + len; a += PAGE_SIZE) {
		pteval_t *pte = pt_lookup_pte(t, t->mm, a, NULL);
		if (pte && pte_present(*pte) && !(*pte & _PAGE_SPECIAL))
			/* a huge PMD: the subpage's pfn (a tail is skipped below; the head
			 * stands for the folio) */
			g_array_append_val(pfns, (uint64_t){ pte_pfn(*pte) +
				(pmd_trans_huge(*pte) ? (a >> PAGE_SHIFT) % HPAGE_PMD_NR : 0) });
	}
	mmap_read_unlock(t, t->mm);
	rcu_user_return(t);
	/* page_idle_bitmap_write: by PFN, no lock of the mm; the page may have been freed
	 * or reused since. */
	cpu_work(t, t->machine->path.syscall);
	for (unsigned i = 0; i < pfns->len; i++) {
		struct page *p = pfn_to_page(t->mm->zone, g_array_index(pfns, uint64_t, i));
		sim_sync(t);
		hw_load(t, p, 64);
		if (p->refcount <= 0 || !(p->flags & PG_anon) || !(p->flags & PG_lru))
			continue; /* page_idle_get_folio: free, or not an LRU user page */
		hw_rmw(t, &p->refcount, sizeof(p->refcount)); /* get_page_unless_zero */
		p->refcount++;
		if (folio_referenced(t, p, false) > 0)
			young++;
		folio_put(t, t->mm->zone, p);
	}
	g_array_free(pfns, TRUE);
	rcu_user_return(t);
	lua_pushinteger(L, young);
	return 1;
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

/* work(ns): the task computes for ns (busy user time, no memory traffic modelled). */
static int l_work(lua_State *L)
{
	struct sim_task *t = current(L, "work");
	lua_Number ns = luaL_checknumber(L, 1);
	if (!(ns >= 0) || ns > 1e13)
		return luaL_error(L, "work: %f ns is not in [0, 1e13]", ns);
	cpu_work(t, ns);
	return 0;
}

/* stat(name): this task's count of an event (results.json "events" names). */
static int l_stat(lua_State *L)
{
	struct sim_task *t = current(L, "stat");
	const char *name = luaL_checkstring(L, 1);
	for (int i = 0; i < NR_STAT_EVENTS; i++) {
		if (!strcmp(stat_event_name[i], name)) {
			lua_pushinteger(L, (lua_Integer)t->stats.ev[i]);
			return 1;
		}
	}
	return luaL_error(L, "stat: no event named '%s'", name);
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

/* ---- metrics ---- */

static GPtrArray *metrics; /* struct metric *, sorted by name */

GPtrArray *workload_metrics(void)
{
	if (!metrics)
		metrics = g_ptr_array_new();
	return metrics;
}

static const char *const reserved_columns[] = {
	"scheme", "machine", "cpus", "threads", "seed", "sim_time_ns", "faults", "faults_per_s",
	"fault_p50_ns", "fault_p90_ns", "fault_p99_ns", "fault_max_ns", "mmaps", "munmaps",
	"mmap_lock_waits", "spin_share", "sleep_share", NULL,
};

/* report(name, value): one sample of a scenario-defined metric. */
static int l_report(lua_State *L)
{
	current(L, "report");
	const char *name = luaL_checkstring(L, 1);
	lua_Number v = luaL_checknumber(L, 2);
	if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name))
		return luaL_error(L, "report: metric name '%s' must be lower-case letters, digits "
				  "and '_' (it becomes a CSV column)", name);
	for (const char *const *c = reserved_columns; *c; c++)
		if (!strcmp(*c, name))
			return luaL_error(L, "report: '%s' is a built-in summary.csv column", name);
	if (!isfinite(v))
		return luaL_error(L, "report: value of '%s' is not a finite number", name);
	GPtrArray *ms = workload_metrics();
	unsigned i = 0;
	while (i < ms->len && strcmp(((struct metric *)ms->pdata[i])->name, name) < 0)
		i++;
	struct metric *m = i < ms->len ? ms->pdata[i] : NULL;
	if (!m || strcmp(m->name, name)) {
		m = g_new0(struct metric, 1);
		m->name = g_strdup(name);
		m->min = m->max = v;
		g_ptr_array_insert(ms, (gint)i, m);
	}
	m->count++;
	m->sum += v;
	m->min = v < m->min ? v : m->min;
	m->max = v > m->max ? v : m->max;
	return 0;
}

/*
 * ---- shared memory words ----
 *
 * shared(name [, bytes = 64]) names a region of simulated memory that every task of the
 * run sees (allocated zeroed and line-aligned on first use; the same name gives the same
 * region).  Its 8-byte words are reached by byte offset, so a scenario lays out its data
 * as a kernel struct would: words within 64 bytes share a cache line (false sharing),
 * words 64 bytes apart do not.
 *
 * Timing.  An operation starts at the task's synced time T: the hardware model moves the
 * line then (an RFO is granted when it is processed) and charges the access; the value is
 * read or written at the completion time, after a second sync, so every task sees writes
 * in completion order.  (Another CPU may take the line during that window; the write still
 * lands: a locked RMW holds its line to the end on hardware.)  Spin waits (shm_wait, shm_spin_cas) read the word at their
 * synced time and, if the condition does not hold, park without touching the line until
 * a write makes it true; the waiting time is busy spinning, and the woken task then pays
 * for pulling the line from the writer.  So a CAS ping-pong costs one transfer per
 * hand-off, as the core-to-core measurements the presets cite define it.
 */

struct shm_waiter {
	struct sim_task *t;
	unsigned off;
	int64_t value;
	struct shm_waiter *next;
};

struct shm_region {
	char *name;
	size_t bytes;
	int64_t *words;               /* line-aligned */
	struct shm_waiter *waiters;   /* FIFO */
};

static GPtrArray *regions; /* struct shm_region *, in creation order */

static struct shm_region *shm_check(lua_State *L, const char *op, unsigned *off)
{
	lua_Integer id = luaL_checkinteger(L, 1);
	lua_Integer o = luaL_checkinteger(L, 2);
	if (!regions || id < 1 || id > (lua_Integer)regions->len)
		luaL_error(L, "%s: %I is not a region made by shared()", op, id);
	struct shm_region *r = regions->pdata[id - 1];
	if (o < 0 || o % 8 || (size_t)o + 8 > r->bytes)
		luaL_error(L, "%s: offset %I is not an 8-byte word inside '%s' (%d bytes)", op, o,
			   r->name, (int)r->bytes);
	*off = (unsigned)o;
	return r;
}

static int l_shared(lua_State *L)
{
	current(L, "shared");
	const char *name = luaL_checkstring(L, 1);
	lua_Integer bytes = luaL_optinteger(L, 2, CACHE_LINE);
	if (bytes < 8 || bytes > (1 << 20))
		return luaL_error(L, "shared: size %I must be in [8, 1 MiB]", bytes);
	if (!regions)
		regions = g_ptr_array_new();
	for (unsigned i = 0; i < regions->len; i++) {
		struct shm_region *r = regions->pdata[i];
		if (!strcmp(r->name, name)) {
			if ((size_t)bytes > r->bytes)
				return luaL_error(L, "shared: '%s' exists with %d bytes", name,
						  (int)r->bytes);
			lua_pushinteger(L, (lua_Integer)i + 1);
			return 1;
		}
	}
	struct shm_region *r = g_new0(struct shm_region, 1);
	r->name = g_strdup(name);
	r->bytes = ((size_t)bytes + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
	r->words = g_aligned_alloc0(r->bytes / 8, 8, CACHE_LINE);
	g_ptr_array_add(regions, r);
	lua_pushinteger(L, (lua_Integer)regions->len);
	return 1;
}

static int64_t *shm_word(struct shm_region *r, unsigned off)
{
	return &r->words[off / 8];
}

/* Wake the waiters whose word now holds the value they wait for. */
static void shm_wake(struct sim_task *t, struct shm_region *r)
{
	struct shm_waiter **pp = &r->waiters;
	while (*pp) {
		struct shm_waiter *w = *pp;
		if (*shm_word(r, w->off) == w->value) {
			*pp = w->next;
			sim_unpark(t, w->t, t->now);
			g_free(w);
		} else {
			pp = &w->next;
		}
	}
}

/* Park until a write makes word `off` equal `value`; busy spinning meanwhile. */
static void shm_park(struct sim_task *t, struct shm_region *r, unsigned off, int64_t value)
{
	struct shm_waiter *w = g_new0(struct shm_waiter, 1), **pp = &r->waiters;
	w->t = t;
	w->off = off;
	w->value = value;
	while (*pp)
		pp = &(*pp)->next;
	*pp = w;
	sim_time_t t0 = t->now;
	sim_park(t, r->name);
	t->stats.busy += t->now - t0;
	t->stats.spin += t->now - t0;
}

/* Charge a write-intent access now (the line moves now); return at its completion. */
static void shm_write_access(struct sim_task *t, int64_t *word, bool atomic)
{
	sim_sync(t);
	if (atomic)
		hw_rmw(t, word, 8);
	else
		hw_store(t, word, 8);
	sim_sync(t);
}

/* shm_load(region, off): plain load. */
static int l_shm_load(lua_State *L)
{
	struct sim_task *t = current(L, "shm_load");
	unsigned off;
	struct shm_region *r = shm_check(L, "shm_load", &off);
	sim_sync(t);
	hw_load(t, shm_word(r, off), 8);
	sim_sync(t);
	lua_pushinteger(L, *shm_word(r, off));
	return 1;
}

/* shm_store(region, off, v): plain store. */
static int l_shm_store(lua_State *L)
{
	struct sim_task *t = current(L, "shm_store");
	unsigned off;
	struct shm_region *r = shm_check(L, "shm_store", &off);
	lua_Integer v = luaL_checkinteger(L, 3);
	shm_write_access(t, shm_word(r, off), false);
	*shm_word(r, off) = v;
	shm_wake(t, r);
	return 0;
}

/* shm_add(region, off, v): LOCK XADD; returns the old value. */
static int l_shm_add(lua_State *L)
{
	struct sim_task *t = current(L, "shm_add");
	unsigned off;
	struct shm_region *r = shm_check(L, "shm_add", &off);
	lua_Integer v = luaL_checkinteger(L, 3);
	shm_write_access(t, shm_word(r, off), true);
	int64_t old = *shm_word(r, off);
	*shm_word(r, off) = (int64_t)((uint64_t)old + (uint64_t)v);
	shm_wake(t, r);
	lua_pushinteger(L, old);
	return 1;
}

/* One LOCK CMPXCHG; true if it swapped (a failed one still takes the line). */
static bool shm_cas_once(struct sim_task *t, struct shm_region *r, unsigned off, int64_t old,
			 int64_t new)
{
	shm_write_access(t, shm_word(r, off), true);
	if (*shm_word(r, off) != old)
		return false;
	*shm_word(r, off) = new;
	shm_wake(t, r);
	return true;
}

/* shm_cas(region, off, old, new): true if the word was old and is now new. */
static int l_shm_cas(lua_State *L)
{
	struct sim_task *t = current(L, "shm_cas");
	unsigned off;
	struct shm_region *r = shm_check(L, "shm_cas", &off);
	lua_Integer old = luaL_checkinteger(L, 3), new = luaL_checkinteger(L, 4);
	lua_pushboolean(L, shm_cas_once(t, r, off, old, new));
	return 1;
}

/* shm_spin_cas(region, off, old, new): spin until a CAS old -> new succeeds. */
static int l_shm_spin_cas(lua_State *L)
{
	struct sim_task *t = current(L, "shm_spin_cas");
	unsigned off;
	struct shm_region *r = shm_check(L, "shm_spin_cas", &off);
	lua_Integer old = luaL_checkinteger(L, 3), new = luaL_checkinteger(L, 4);
	for (;;) {
		sim_sync(t);
		if (*shm_word(r, off) != old)
			shm_park(t, r, off, old);
		else if (shm_cas_once(t, r, off, old, new))
			return 0;
	}
}

/* shm_wait(region, off, v): spin reading the word until it equals v. */
static int l_shm_wait(lua_State *L)
{
	struct sim_task *t = current(L, "shm_wait");
	unsigned off;
	struct shm_region *r = shm_check(L, "shm_wait", &off);
	lua_Integer v = luaL_checkinteger(L, 3);
	for (;;) {
		sim_sync(t);
		hw_load(t, shm_word(r, off), 8);
		sim_sync(t);
		if (*shm_word(r, off) == v)
			return 0;
		shm_park(t, r, off, v);
	}
}

/* shm_prefetchw(region, off): take the line exclusive ahead of a write. */
static int l_shm_prefetchw(lua_State *L)
{
	struct sim_task *t = current(L, "shm_prefetchw");
	unsigned off;
	struct shm_region *r = shm_check(L, "shm_prefetchw", &off);
	sim_sync(t);
	hw_prefetchw(t, shm_word(r, off));
	return 0;
}

static const luaL_Reg ops[] = {
	{ "mmap", l_mmap }, { "munmap", l_munmap }, { "touch", l_touch }, { "sleep", l_sleep },
	{ "mprotect", l_mprotect }, { "madvise_dontneed", l_madvise_dontneed },
	{ "madvise", l_madvise },
	{ "now", l_now }, { "alive", l_alive }, { "rand", l_rand }, { "report", l_report },
	{ "work", l_work }, { "stat", l_stat }, { "fork", l_fork }, { "page_idle", l_page_idle },
	{ "shared", l_shared }, { "shm_load", l_shm_load }, { "shm_store", l_shm_store },
	{ "shm_add", l_shm_add }, { "shm_cas", l_shm_cas }, { "shm_spin_cas", l_shm_spin_cas },
	{ "shm_wait", l_shm_wait }, { "shm_prefetchw", l_shm_prefetchw }, { NULL, NULL },
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
	p->children = g_array_new(FALSE, FALSE, sizeof(int));

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

/*
 * A task program that loops without calling any simulated operation never lets simulated
 * time advance, so the run would hang: stop it with an error at its line instead.
 */
static void spin_hook(lua_State *L, lua_Debug *ar)
{
	struct sim_task *t = *(struct sim_task **)lua_getextraspace(L);
	struct program *p = t->program_private;
	if (t->now == p->clock_at_hook) {
		const char *src = hook_src(L, ar);
		luaL_error(L, "%s:%d: task program ran %d million Lua instructions without a "
			   "simulated operation (an endless loop?)", src, ar->currentline,
			   SPIN_CHECK_INSNS / 1000000);
	}
	p->clock_at_hook = t->now;
}

void workload_task_main(struct sim_task *t, void *arg)
{
	struct program *p = t->program_private;
	lua_State *co = p->co;

	lua_pushcfunction(co, config_msgh);
	lua_insert(co, 1);
	p->clock_at_hook = -1;
	lua_sethook(co, spin_hook, LUA_MASKCOUNT, SPIN_CHECK_INSNS);
	if (lua_pcall(co, 1, 0, 1) != LUA_OK) {
		fprintf(stderr, "mmsim: task %s (cpu %d) failed at %.3f us: %s\n", t->name, t->cpu,
			ps_to_ns(t->now) / 1000.0, lua_tostring(co, -1));
		fflush(stderr);
		_exit(EXIT_USAGE);
	}
	lua_settop(co, 0);
	/* The task's children that are still alive exit with it. */
	for (unsigned i = 0; i < p->children->len; i++) {
		int ref = g_array_index(p->children, int, i);
		lua_rawgeti(co, LUA_REGISTRYINDEX, ref);
		struct child *c = lua_touserdata(co, -1);
		if (c->mm)
			child_exit(t, c);
		lua_pop(co, 1);
		luaL_unref(co, LUA_REGISTRYINDEX, ref);
	}
	g_array_set_size(p->children, 0);
}
