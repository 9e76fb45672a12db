/*
 * vma_start_write waits for the VMA's readers (kernel-algorithms.md D.4, D.6), for every
 * registered scheme with per-VMA locks, on the engine: a reader takes the VMA's read lock
 * at 5 us and holds it for 50 us; a writer asks for the VMA write lock at 10 us.  The
 * writer must get it only after the reader let go, and count one wait; in the next write
 * section, with no reader, it must not wait.  Each scheme runs in its own process.
 */
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include "tap.h"
#include "engine.h"
#include "clock.h"
#include "hw/machine.h"
#include "mm/mm.h"
#include "sync/rcu.h"
#include "schemes/scheme.h"

static const struct mm_scheme_ops *scheme;
static struct mm_struct *mm;
static struct vm_area_struct *vma;
static sim_time_t reader_acquired, reader_released, writer_locked, writer_asked;
static uint64_t waits_first, waits_second;

static void reader_body(struct sim_task *t, void *arg)
{
	cpu_idle(t, 5 * PS_PER_US);
	sim_sync(t); /* the writer published vma at 0 */
	bool ok = mm->vma_lock_kind == VMA_LOCK_RWSEM ?
			  down_read_trylock(t, &vma->vm_lock->lock) :
			  refcount_inc_not_zero_limited(t, &vma->vm_refcnt, VMA_REF_LIMIT);
	if (!ok)
		return;
	reader_acquired = t->now;
	cpu_work(t, 50000); /* a long fault: 50 us */
	reader_released = t->now;
	if (mm->vma_lock_kind == VMA_LOCK_RWSEM)
		up_read(t, &vma->vm_lock->lock);
	else
		vma_refcount_put(t, vma);
}

static void writer_body(struct sim_task *t, void *arg)
{
	unsigned long a = scheme_mmap_anon(scheme, t, mm, 4 * PAGE_SIZE, VM_READ | VM_WRITE);
	vma = find_vma(NULL, mm, a);
	cpu_idle(t, 10 * PS_PER_US - t->now);
	mmap_write_lock(t, mm);
	writer_asked = t->now;
	vma_start_write(t, vma);
	writer_locked = t->now;
	waits_first = t->stats.ev[EV_VMA_WRITE_WAIT];
	mmap_write_unlock(t, mm);
	mmap_write_lock(t, mm);
	vma_start_write(t, vma);
	vma_start_write(t, vma); /* already locked in this section: returns at once */
	waits_second = t->stats.ev[EV_VMA_WRITE_WAIT] - waits_first;
	mmap_write_unlock(t, mm);
}

static int run_one(void)
{
	char *err = NULL;
	struct machine *m = machine_load("generic-2s", &err);
	if (!m) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	engine_init();
	engine_platform(m, 2);
	struct zone *zone = zone_create(1ULL << 30, m->nr_cpus);
	mm = mm_create(zone, scheme);
	rcu_init(RCU_EXPEDITED, 1e6, 2);
	struct sim_task *r = engine_spawn("reader", 0, false, reader_body, NULL);
	struct sim_task *w = engine_spawn("writer", 1, false, writer_body, NULL);
	r->mm = w->mm = mm;
	rcu_register(r);
	rcu_register(w);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "%s: both tasks finished", scheme->name);
	tap_ok(reader_acquired && reader_acquired < writer_asked,
	       "%s: the reader held the VMA lock before the writer asked (%.1f us < %.1f us)",
	       scheme->name, ps_to_ns(reader_acquired) / 1e3, ps_to_ns(writer_asked) / 1e3);
	tap_ok(writer_locked >= reader_released && waits_first == 1,
	       "%s: vma_start_write returned after the reader's release (%.1f us >= %.1f us), "
	       "one wait counted (%llu)", scheme->name, ps_to_ns(writer_locked) / 1e3,
	       ps_to_ns(reader_released) / 1e3, (unsigned long long)waits_first);
	tap_ok(waits_second == 0, "%s: with no reader it does not wait (%llu waits)",
	       scheme->name, (unsigned long long)waits_second);
	return tap_failed ? 1 : 0;
}

int main(void)
{
	int n = 0, failed = 0;
	for (int i = 0; mm_schemes[i]; i++) {
		if (mm_schemes[i]->vma_lock == VMA_LOCK_NONE)
			continue;
		scheme = mm_schemes[i];
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			/* The child's TAP lines are numbered by the parent's plan below. */
			tap_n = 4 * n;
			int rc = run_one();
			fflush(stdout);
			_exit(rc);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
		n++;
	}
	printf("1..%d\n", 4 * n);
	return failed;
}
