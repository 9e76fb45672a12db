/*
 * Torture and property tests of the locking primitives, one engine per process:
 * `test_sync MODE NCPUS`.
 *   spin      qspinlock: mutual exclusion and FIFO order, checked on the simulated-time
 *             intervals of every critical section (uncontended releases skip the sync).
 *   ticket    ticket lock: the same properties.
 *   rwsem     rw_semaphore with readers, writers and downgrades: writers exclusive,
 *             readers shared, every task finishes (no lost wake-up, no deadlock).
 *   handoff   one writer against a reader that keeps stealing the lock: the writer waits
 *             until its 4 ms timeout sets HANDOFF, which then stops the stealing.
 *   deadlock  AB-BA on rwsems and on mutexes (spinning writers give up, everyone sleeps):
 *             the engine reports a deadlock naming each lock, and lockdep the inversion.
 *   rspin     a writer spins on a reader-owned rwsem and takes it at the reader's release;
 *             against a reader that outlasts the threshold it marks the lock
 *             non-spinnable and sleeps, and the next writer does not spin; a spinner on a
 *             writer that goes off CPU (sleeps holding the lock) stops and sleeps.
 *   transfers qspinlock vs ticket lock at 2, 8 and 64 waiters (one child process per
 *             engine): counted line transfers per hand-off stay constant for qspinlock and
 *             grow with the waiters for the ticket lock.
 *   lockdep   an A->B / B->A order inversion without overlap is reported with both paths.
 *   lockdep-declared  taking locks against a declared order is reported at once.
 *   lockstat  lock_stat 0.4 text of a contended run has the expected rows and counts.
 *   rcu-tick, rcu-exp  readers in read-side sections against updaters that replace
 *             objects and free them with synchronize_rcu or kfree_rcu: no object is freed
 *             (poisoned) while a section that saw it is open; grace periods complete and
 *             callbacks run in per-CPU batches.
 *   rcu-poison  an access after the grace period (a pointer kept past rcu_read_unlock) is
 *             caught; a section spanning the update is not.
 *   refcount  inc_not_zero / dec_and_test races: freed exactly once, never used after.
 *   rcuwait   N-1 wakers and one waiter: no wake-up lost.
 *   seqcount  writers serialised by a spinlock; a read section that passes
 *             read_seqcount_retry overlaps no write section in simulated time.
 *   percpu-rwsem  readers on the per-CPU fast path, writers forcing them to the slow
 *             path through rcu_sync: exclusion holds, both paths are used, the fast path
 *             comes back after the writers leave.
 *   mutex     mutual exclusion; a woken waiter that loses the race once gets the lock by
 *             hand-off at the next unlock (at most two wake-ups per acquisition).
 */
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "tap.h"
#include "engine.h"
#include "clock.h"
#include "hw/machine.h"
#include "sync/spinlock.h"
#include "sync/rwsem.h"
#include "sync/rcu.h"
#include "sync/rcuwait.h"
#include "sync/refcount.h"
#include "sync/mutex.h"
#include "sync/percpu_rwsem.h"
#include "sync/seqcount.h"
#include "sync/sched.h"
#include "die.h"

static struct machine *machine;
static int ncpus;

static void setup(int n)
{
	char *err = NULL;
	machine = machine_load("generic-2s", &err);
	if (!machine) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	engine_init();
	engine_platform(machine, n);
}

/* One critical section as the simulator saw it. */
struct cs {
	sim_time_t arrive, acq, rel;
	int task;
	bool write;
};

static struct cs *log_;
static unsigned nlog, cap;

static struct cs *cs_new(struct sim_task *t, sim_time_t arrive, bool write)
{
	if (nlog == cap) {
		cap = cap ? 2 * cap : 4096;
		log_ = g_renew(struct cs, log_, cap);
	}
	struct cs *c = &log_[nlog++];
	*c = (struct cs){ .arrive = arrive, .acq = t->now, .task = t->id, .write = write };
	return c;
}

static int by_acq(const void *a, const void *b)
{
	const struct cs *x = a, *y = b;
	if (x->acq != y->acq)
		return x->acq < y->acq ? -1 : 1;
	return x->write - y->write; /* a writer after readers at the same instant: caught */
}

static int by_arrive(const void *a, const void *b)
{
	const struct cs *x = a, *y = b;
	if (x->arrive != y->arrive)
		return x->arrive < y->arrive ? -1 : 1;
	return x->acq < y->acq ? -1 : x->acq > y->acq;
}

/* Writers exclude everyone, readers exclude writers, on simulated-time intervals. */
static unsigned check_exclusion(void)
{
	unsigned bad = 0;
	sim_time_t max_rel_all = 0, max_rel_w = 0;
	qsort(log_, nlog, sizeof(*log_), by_acq);
	for (unsigned i = 0; i < nlog; i++) {
		struct cs *c = &log_[i];
		if (c->write ? c->acq < max_rel_all : c->acq < max_rel_w) {
			if (!bad)
				printf("# overlap: %s of task %d at %.3f ns\n", c->write ? "writer" : "reader",
				       c->task, ps_to_ns(c->acq));
			bad++;
		}
		if (c->rel > max_rel_all)
			max_rel_all = c->rel;
		if (c->write && c->rel > max_rel_w)
			max_rel_w = c->rel;
	}
	return bad;
}

/* Whoever starts waiting first gets the lock first. */
static unsigned check_fifo(void)
{
	unsigned bad = 0;
	qsort(log_, nlog, sizeof(*log_), by_arrive);
	for (unsigned i = 1; i < nlog; i++)
		if (log_[i].arrive > log_[i - 1].arrive && log_[i].acq < log_[i - 1].acq)
			bad++;
	return bad;
}

/* A multi-line diagnostic as TAP comments. */
static void diag(const char *text)
{
	char **lines = g_strsplit(text ? text : "(none)", "\n", -1);
	for (char **l = lines; *l; l++)
		if (**l)
			printf("# %s\n", *l);
	g_strfreev(lines);
}

static double urand(struct sim_task *t, double lo, double hi)
{
	return lo + (hi - lo) * rng_double(&t->rng);
}

#define ITERS 150

/* ---- spin / ticket ---- */

static struct spinlock qlock;
static struct ticket_spinlock tlock;
static bool use_ticket;

static void spin_body(struct sim_task *t, void *arg)
{
	for (int i = 0; i < ITERS; i++) {
		cpu_work(t, urand(t, 0, 400));
		sim_time_t arrive = t->now;
		if (use_ticket)
			ticket_lock(t, &tlock);
		else
			spin_lock(t, &qlock);
		struct cs *c = cs_new(t, arrive, true);
		cpu_work(t, urand(t, 10, 120));
		c->rel = t->now;
		if (use_ticket)
			ticket_unlock(t, &tlock);
		else
			spin_unlock(t, &qlock);
	}
}

static void spawn_all(void (*fn)(struct sim_task *, void *))
{
	for (int i = 0; i < ncpus; i++) {
		struct sim_task *t = engine_spawn(g_strdup_printf("cpu%d", i), i, false, fn, NULL);
		rng_seed(&t->rng, 42, (uint64_t)i);
	}
}

static int test_spin(bool ticket)
{
	use_ticket = ticket;
	setup(ncpus);
	spin_lock_init(&qlock, "qlock");
	ticket_lock_init(&tlock, "tlock");
	spawn_all(spin_body);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "%d CPUs: every task finished (no lost hand-off, no deadlock)", ncpus);
	tap_ok(nlog == (unsigned)ncpus * ITERS, "%u critical sections", nlog);
	struct lock_class *c = ticket ? tlock.dep.class : qlock.dep.class;
	tap_ok(c->side[LS_WRITE].acquisitions == nlog, "lock_stat counts every acquisition");
	if (ncpus > 1)
		tap_ok(c->side[LS_WRITE].contentions > 0, "the lock was contended (%llu times)",
		       (unsigned long long)c->side[LS_WRITE].contentions);
	tap_ok(check_exclusion() == 0, "mutual exclusion holds in simulated time");
	tap_ok(check_fifo() == 0, "FIFO: waiters get the lock in arrival order");
	return tap_done();
}

/* ---- rwsem ---- */

static struct rw_semaphore rw;
static unsigned downgrades;

static void rwsem_body(struct sim_task *t, void *arg)
{
	for (int i = 0; i < ITERS; i++) {
		cpu_work(t, urand(t, 0, 3000));
		sim_time_t arrive = t->now;
		double r = rng_double(&t->rng);
		if (r < 0.25) {
			down_write(t, &rw);
			rwsem_assert_held_write(t, &rw);
			struct cs *c = cs_new(t, arrive, true);
			cpu_work(t, urand(t, 50, 800));
			c->rel = t->now;
			if (r < 0.08) {
				downgrade_write(t, &rw);
				downgrades++;
				c = cs_new(t, t->now, false);
				cpu_work(t, urand(t, 50, 500));
				c->rel = t->now;
				up_read(t, &rw);
			} else {
				up_write(t, &rw);
			}
		} else if (r < 0.30) {
			if (down_read_trylock(t, &rw)) {
				struct cs *c = cs_new(t, arrive, false);
				cpu_work(t, urand(t, 50, 500));
				c->rel = t->now;
				up_read(t, &rw);
			}
		} else {
			down_read(t, &rw);
			rwsem_assert_held(t, &rw); /* readers are tracked per task */
			struct cs *c = cs_new(t, arrive, false);
			cpu_work(t, urand(t, 50, 1500));
			c->rel = t->now;
			up_read(t, &rw);
		}
	}
}

static int test_rwsem(void)
{
	setup(ncpus);
	init_rwsem(&rw, "rw");
	spawn_all(rwsem_body);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "%d CPUs: every task finished (no lost wake-up, no deadlock)", ncpus);
	if (out.report)
		diag(out.report);
	tap_ok(check_exclusion() == 0, "writers exclusive, readers shared, in simulated time");
	tap_ok(!rwsem_is_locked(&rw) && !rwsem_has_waiters(&rw) && rw.count == 0,
	       "the count word is back to 0 (count %#lx)", rw.count);
	struct lock_class *c = rw.dep.class;
	tap_ok(c->side[LS_WRITE].acquisitions + c->side[LS_READ].acquisitions == nlog,
	       "lock_stat counts %llu W + %llu R acquisitions",
	       (unsigned long long)c->side[LS_WRITE].acquisitions,
	       (unsigned long long)c->side[LS_READ].acquisitions);
	tap_ok(downgrades > 0, "%u downgrades exercised", downgrades);
	if (ncpus >= 8)
		tap_ok(c->side[LS_WRITE].contentions > 0 && c->side[LS_READ].contentions > 0,
		       "both sides contended (W %llu, R %llu)",
		       (unsigned long long)c->side[LS_WRITE].contentions,
		       (unsigned long long)c->side[LS_READ].contentions);
	return tap_done();
}

/* ---- handoff ---- */

#define H_CS_NS 1000.0
#define H_THINK_NS 100.0
static sim_time_t w_arrive, w_acq, handoff_seen_at;
static unsigned reads_after_handoff;
static bool writer_done;

static void stealing_reader(struct sim_task *t, void *arg)
{
	bool first = true;
	while (!writer_done || t->now < w_acq + 20 * PS_PER_US) {
		down_read(t, &rw);
		if (handoff_seen_at && t->now > handoff_seen_at + 20 * PS_PER_US && !writer_done)
			reads_after_handoff++;
		/* The first hold outlasts the writer's spin on readers, so it queues. */
		cpu_work(t, first ? 40000 : H_CS_NS);
		first = false;
		up_read(t, &rw);
		if ((rw.count & RWSEM_FLAG_HANDOFF) && !handoff_seen_at)
			handoff_seen_at = t->now;
		cpu_work(t, H_THINK_NS);
	}
}

static void lone_writer(struct sim_task *t, void *arg)
{
	cpu_work(t, 500);
	w_arrive = t->now;
	down_write(t, &rw);
	w_acq = t->now;
	writer_done = true;
	cpu_work(t, 200);
	up_write(t, &rw);
}

static int test_handoff(void)
{
	setup(2);
	init_rwsem(&rw, "rw");
	engine_spawn("reader", 0, false, stealing_reader, NULL);
	engine_spawn("writer", 1, false, lone_writer, NULL);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "both finished");
	sim_time_t wait = w_acq - w_arrive;
	tap_ok(wait > RWSEM_WAIT_TIMEOUT_PS,
	       "the reader kept stealing the lock until the writer's timeout (waited %.1f us)",
	       ps_to_ns(wait) / 1e3);
	/* After the timeout the writer sets HANDOFF at its next attempt: at most one reader
	 * hold, one think time and one wake-up later than the timeout, twice over. */
	sim_time_t bound = RWSEM_WAIT_TIMEOUT_PS +
			   2 * (ns_to_ps(H_CS_NS + H_THINK_NS) + machine->hw.wakeup);
	/* (the first 40 us hold ends long before the 4 ms timeout) */
	tap_ok(wait <= bound, "HANDOFF bounds the wait (%.1f us <= %.1f us)", ps_to_ns(wait) / 1e3,
	       ps_to_ns(bound) / 1e3);
	tap_ok(handoff_seen_at > 0, "the HANDOFF bit was set");
	tap_ok(reads_after_handoff == 0, "no reader stole the lock once HANDOFF was set");
	return tap_done();
}

/* ---- deadlock: AB-BA on sleeping locks is reported, not taken for a finished run ---- */

static struct rw_semaphore dla, dlb;
static struct mutex dma, dmb;

static void rw_ab(struct sim_task *t, void *arg)
{
	bool rev = arg != NULL;
	down_write(t, rev ? &dlb : &dla);
	cpu_work(t, 100000); /* long enough for the other's spin to give up */
	down_write(t, rev ? &dla : &dlb);
}

static void mutex_ab(struct sim_task *t, void *arg)
{
	bool rev = arg != NULL;
	mutex_lock(t, rev ? &dmb : &dma);
	cpu_work(t, 1000);
	mutex_lock(t, rev ? &dma : &dmb);
}

static int test_deadlock(void)
{
	setup(4);
	init_rwsem(&dla, "dl_a");
	init_rwsem(&dlb, "dl_b");
	mutex_init(&dma, "dm_a");
	mutex_init(&dmb, "dm_b");
	engine_spawn("rw_ab", 0, false, rw_ab, NULL);
	engine_spawn("rw_ba", 1, false, rw_ab, (void *)1);
	engine_spawn("mutex_ab", 2, false, mutex_ab, NULL);
	engine_spawn("mutex_ba", 3, false, mutex_ab, (void *)1);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	diag(out.report);
	tap_ok(out.report && strstr(out.report, "deadlock") && !out.deadline_hit,
	       "the deadlock is reported (not a deadline)");
	tap_ok(out.report && strstr(out.report, "waiting for dl_a") &&
	       strstr(out.report, "waiting for dl_b") && strstr(out.report, "waiting for dm_a") &&
	       strstr(out.report, "waiting for dm_b"), "naming the lock each task waits for");
	tap_ok(lockdep_report() != NULL, "and lockdep saw the inversion first");
	return tap_done();
}

/* ---- rspin: writers spinning on readers ---- */

static struct rw_semaphore rsa, rsb;
static sim_time_t ra_rel, wa_acq;
static struct task_stats wa_stats, wb_stats, wc_stats;

static void short_reader(struct sim_task *t, void *arg)
{
	down_read(t, &rsa);
	cpu_work(t, 5000);
	ra_rel = t->now;
	up_read(t, &rsa);
}

static void spinning_writer(struct sim_task *t, void *arg)
{
	cpu_work(t, 1000);
	down_write(t, &rsa);
	wa_acq = t->now;
	wa_stats = t->stats;
	up_write(t, &rsa);
}

static void long_reader(struct sim_task *t, void *arg)
{
	down_read(t, &rsb);
	cpu_work(t, 100000);
	up_read(t, &rsb);
}

static void giving_up_writer(struct sim_task *t, void *arg)
{
	cpu_work(t, arg ? 50000 : 1000);
	struct task_stats before = t->stats;
	down_write(t, &rsb);
	struct task_stats *out = arg ? &wc_stats : &wb_stats;
	*out = t->stats;
	out->spin -= before.spin;
	out->sleep_wait -= before.sleep_wait;
	up_write(t, &rsb);
}

static struct rw_semaphore rsc;
static struct task_stats wd_stats;
static sim_time_t wd_acq, sleeper_rel;

static void sleeping_owner(struct sim_task *t, void *arg)
{
	down_write(t, &rsc);
	cpu_work(t, 2000);
	sched_sleep(t, 50 * PS_PER_US); /* off CPU holding the lock */
	sleeper_rel = t->now;
	up_write(t, &rsc);
}

static void spins_then_sleeps(struct sim_task *t, void *arg)
{
	cpu_work(t, 500);
	struct task_stats before = t->stats;
	down_write(t, &rsc);
	wd_acq = t->now;
	wd_stats = t->stats;
	wd_stats.spin -= before.spin;
	wd_stats.sleep_wait -= before.sleep_wait;
	up_write(t, &rsc);
}

static int test_rspin(void)
{
	setup(7);
	init_rwsem(&rsc, "rsc");
	engine_spawn("sleeping_owner", 5, false, sleeping_owner, NULL);
	engine_spawn("spins_then_sleeps", 6, false, spins_then_sleeps, NULL);
	init_rwsem(&rsa, "rsa");
	init_rwsem(&rsb, "rsb");
	engine_spawn("short_reader", 0, false, short_reader, NULL);
	engine_spawn("spinning_writer", 1, false, spinning_writer, NULL);
	engine_spawn("long_reader", 2, false, long_reader, NULL);
	engine_spawn("giving_up_writer", 3, false, giving_up_writer, NULL);
	engine_spawn("late_writer", 4, false, giving_up_writer, (void *)1);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "all finished");
	tap_ok(wa_acq >= ra_rel && wa_stats.sleep_wait == 0 && wa_stats.spin > 0,
	       "a writer spins on a short reader and takes the lock at its release "
	       "(spun %.1f ns, slept 0)", ps_to_ns(wa_stats.spin));
	tap_ok(wa_acq - ra_rel <= 2 * ns_to_ps(machine->coh.remote_ns),
	       "one line transfer after the release (%.1f ns)", ps_to_ns(wa_acq - ra_rel));
	/* rwsem_rspin_threshold with one reader: (20 + 1) / 2 us */
	tap_ok(wb_stats.spin == 21 * PS_PER_US / 2 && wb_stats.sleep_wait > 0,
	       "against a long reader it spins exactly the threshold (%.1f ns), then sleeps",
	       ps_to_ns(wb_stats.spin));
	tap_ok(wc_stats.spin == 0 && wc_stats.sleep_wait > 0,
	       "the lock is then non-spinnable: the next writer sleeps at once");
	/* It spun from 0.5 us until the owner went off CPU at 2 us, then slept. */
	tap_ok(wd_stats.spin > 0 && wd_stats.spin < 2 * PS_PER_US && wd_stats.sleep_wait > 0 &&
	       wd_acq >= sleeper_rel + machine->hw.wakeup,
	       "a spinner stops when the writer owner goes off CPU (spun %.1f ns, then slept)",
	       ps_to_ns(wd_stats.spin));
	return tap_done();
}

/* ---- transfers: qspinlock vs ticket, each engine in its own child ---- */

static void hammer(struct sim_task *t, void *arg)
{
	for (int i = 0; i < 60; i++) {
		if (use_ticket)
			ticket_lock(t, &tlock);
		else
			spin_lock(t, &qlock);
		cpu_work(t, 50);
		if (use_ticket)
			ticket_unlock(t, &tlock);
		else
			spin_unlock(t, &qlock);
		cpu_work(t, 5);
	}
}

static double transfers_per_handoff(bool ticket, int n)
{
	int p[2];
	if (pipe(p))
		exit(1);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		ncpus = n;
		use_ticket = ticket;
		setup(n);
		spin_lock_init(&qlock, "qlock");
		ticket_lock_init(&tlock, "tlock");
		spawn_all(hammer);
		struct engine_outcome out;
		engine_run(PS_PER_S, &out);
		struct lock_class *c = ticket ? tlock.dep.class : qlock.dep.class;
		double r = c->handoffs ? (double)c->transfers / (double)c->handoffs : -1;
		if (getenv("MMSIM_TEST_VERBOSE"))
			fprintf(stderr, "n=%d %s: transfers %llu handoffs %llu contentions %llu acq %llu\n", n,
				ticket ? "ticket" : "qspin", (unsigned long long)c->transfers,
				(unsigned long long)c->handoffs,
				(unsigned long long)c->side[LS_WRITE].contentions,
				(unsigned long long)c->side[LS_WRITE].acquisitions);
		if (out.report)
			r = -2;
		if (write(p[1], &r, sizeof r) != sizeof r)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	double r = -3;
	if (read(p[0], &r, sizeof r) != sizeof r)
		r = -4;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return r;
}

static int test_transfers(void)
{
	static const int ns[] = { 2, 8, 64 };
	double q[3], tk[3];
	for (int i = 0; i < 3; i++) {
		q[i] = transfers_per_handoff(false, ns[i]);
		tk[i] = transfers_per_handoff(true, ns[i]);
		printf("# %2d CPUs: qspinlock %.2f, ticket %.2f line transfers per hand-off\n", ns[i],
		       q[i], tk[i]);
		tap_ok(q[i] > 0 && tk[i] > 0, "%d CPUs: both runs finished with hand-offs", ns[i]);
	}
	/* H.2: the hand-off itself is 3 transfers (release seen by the head, the head's
	 * store into its successor's node, the successor's miss), each arrival adds its
	 * xchg on the word and its store into the predecessor's node, and the releaser
	 * takes the word's line back: about 6, whatever the queue length.  At 2 CPUs the
	 * only waiter uses the pending bit and never queues. */
	tap_ok(q[0] <= q[1] && q[2] <= q[1] + 0.5 && q[2] <= 6.5,
	       "qspinlock: O(1) transfers per hand-off (%.2f at 8, %.2f at 64 CPUs)", q[1], q[2]);
	tap_ok(tk[1] > 2.0 * tk[0] && tk[2] > 4.0 * tk[1],
	       "ticket lock: transfers grow with the waiters (%.2f at 2, %.2f at 8, %.2f at 64)",
	       tk[0], tk[1], tk[2]);
	tap_ok(tk[2] > 4.0 * q[2], "at 64 CPUs the ticket lock moves the line %.1fx as often",
	       tk[2] / q[2]);
	return tap_done();
}

/* ---- lockdep ---- */

static struct spinlock la, lb;
static struct rw_semaphore order_sem;

static void a_then_b(struct sim_task *t, void *arg)
{
	down_read(t, &order_sem);
	spin_lock(t, &la);
	spin_lock(t, &lb);
	cpu_work(t, 100);
	spin_unlock(t, &lb);
	spin_unlock(t, &la);
	up_read(t, &order_sem);
}

static void b_then_a(struct sim_task *t, void *arg)
{
	cpu_work(t, 10000); /* long after the other: no deadlock, only the inversion */
	spin_lock(t, &lb);
	spin_lock(t, &la);
	cpu_work(t, 100);
	spin_unlock(t, &la);
	spin_unlock(t, &lb);
}

static void declared_inversion(struct sim_task *t, void *arg)
{
	spin_lock(t, &la);
	down_read(t, &order_sem); /* declared: &outer->rwsem before &a->lock */
	up_read(t, &order_sem);
	spin_unlock(t, &la);
}

static int test_lockdep_declared(void)
{
	setup(1);
	spin_lock_init(&la, "&a->lock");
	init_rwsem(&order_sem, "&outer->rwsem");
	lockdep_declare_order("&outer->rwsem", "&a->lock");
	engine_spawn("inv", 0, false, declared_inversion, NULL);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	const char *r = lockdep_report();
	diag(r);
	tap_ok(r && strstr(r, "declared order &outer->rwsem -> &a->lock"),
	       "an inversion of a declared order is reported before any correct use");
	tap_ok(r && strstr(r, "new order &a->lock -> &outer->rwsem") &&
	       strstr(r, "declared_inversion"), "with the inverting path");
	return tap_done();
}

static int test_lockdep(void)
{
	setup(2);
	spin_lock_init(&la, "&a->lock");
	spin_lock_init(&lb, "&b->lock");
	init_rwsem(&order_sem, "&outer->rwsem");
	lockdep_declare_order("&outer->rwsem", "&a->lock");
	engine_spawn("ab", 0, false, a_then_b, NULL);
	engine_spawn("ba", 1, false, b_then_a, NULL);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "both finished: the orders never overlapped in time");
	const char *r = lockdep_report();
	diag(r);
	tap_ok(r != NULL, "the inversion is reported");
	tap_ok(r && strstr(r, "existing order &a->lock -> &b->lock") && strstr(r, "a_then_b"),
	       "with the path that established the order (a_then_b)");
	tap_ok(r && strstr(r, "new order &b->lock -> &a->lock") && strstr(r, "b_then_a"),
	       "and the path that inverts it (b_then_a)");
	return tap_done();
}

/* ---- lockstat text ---- */

static int test_lockstat(void)
{
	setup(4);
	init_rwsem(&rw, "&mm->mmap_lock");
	spin_lock_init(&qlock, "&zone->lock");
	ncpus = 4;
	spawn_all(rwsem_body);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	GString *s = g_string_new("");
	lockstat_format(s);
	diag(s->str);
	tap_ok(g_str_has_prefix(s->str, "lock_stat version 0.4\n"), "header line");
	tap_ok(strstr(s->str, "class name    con-bounces    contentions   waittime-min") != NULL,
	       "column titles as the kernel prints them");
	tap_ok(strstr(s->str, "&mm->mmap_lock-W:") && strstr(s->str, "&mm->mmap_lock-R:"),
	       "an rwsem has -W and -R rows");
	tap_ok(!strstr(s->str, "&zone->lock"), "a class never acquired is not listed");
	tap_ok(strstr(s->str, "rwsem_body") != NULL, "contention points name the call site");
	g_string_free(s, TRUE);
	return tap_done();
}

/* ---- mutex ---- */

static struct mutex mtx;
static unsigned max_wakeups, mutex_slept;

static void mutex_body(struct sim_task *t, void *arg)
{
	for (int i = 0; i < ITERS; i++) {
		cpu_work(t, urand(t, 0, 3000));
		sim_time_t arrive = t->now;
		t->wait_flags = 0;
		if (mutex_lock(t, &mtx) && t->wait_flags) {
			mutex_slept++;
			if (t->wait_flags > max_wakeups)
				max_wakeups = t->wait_flags;
		}
		struct cs *c = cs_new(t, arrive, true);
		cpu_work(t, urand(t, 50, 600));
		if (rng_double(&t->rng) < 0.2) {
			/* Sleep holding the mutex (an msleep): off CPU, so nobody spins on us. */
			sched_sleep(t, 2 * PS_PER_US);
		}
		c->rel = t->now;
		mutex_unlock(t, &mtx);
	}
}

static int test_mutex(void)
{
	setup(ncpus);
	mutex_init(&mtx, "&mapping->i_mmap_mutex");
	spawn_all(mutex_body);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "%d CPUs: every task finished (no lost wake-up, no deadlock)", ncpus);
	if (out.report)
		diag(out.report);
	tap_ok(nlog == (unsigned)ncpus * ITERS, "%u critical sections", nlog);
	tap_ok(check_exclusion() == 0, "mutual exclusion holds in simulated time");
	tap_ok(!mutex_is_locked(&mtx) && !mtx.owner_flags && !mtx.wait_list.head,
	       "the owner word is back to 0");
	tap_ok(max_wakeups <= 2, "a sleeper needs at most 2 wake-ups (max %u over %u sleepers)",
	       max_wakeups, mutex_slept);
	if (ncpus >= 8)
		tap_ok(mutex_slept > 0, "waiters slept (%u)", mutex_slept);
	return tap_done();
}

/* ---- seqcount ---- */

static struct seqcount sc;
static struct spinlock sc_lock;
static unsigned long sc_x, sc_y;
static unsigned sc_retries, sc_clean;

static void seq_writer(struct sim_task *t, void *arg)
{
	for (int i = 0; i < 60; i++) {
		cpu_work(t, urand(t, 200, 6000));
		spin_lock(t, &sc_lock);
		sim_sync(t);
		struct cs *c = cs_new(t, t->now, true); /* the begin's instant */
		write_seqcount_begin(t, &sc);
		hw_store(t, &sc_x, sizeof(sc_x));
		sc_x++;
		cpu_work(t, urand(t, 10, 300));
		hw_store(t, &sc_y, sizeof(sc_y));
		sc_y = sc_x;
		sim_sync(t);
		c->rel = t->now; /* the end's instant */
		write_seqcount_end(t, &sc);
		spin_unlock(t, &sc_lock);
	}
}

static void seq_reader(struct sim_task *t, void *arg)
{
	for (int i = 0; i < 150; i++) {
		cpu_work(t, urand(t, 50, 2000));
		unsigned long x, y, start;
		sim_time_t b, e;
		do {
			sim_sync(t);
			b = t->now;
			start = raw_read_seqcount(t, &sc);
			hw_load(t, &sc_x, sizeof(sc_x));
			x = sc_x;
			cpu_work(t, urand(t, 10, 300));
			hw_load(t, &sc_y, sizeof(sc_y));
			y = sc_y;
			sim_sync(t);
			e = t->now;
			if (read_seqcount_retry(t, &sc, start)) {
				sc_retries++;
				continue;
			}
			break;
		} while (1);
		struct cs *c = cs_new(t, b, false);
		c->acq = b;
		c->rel = e;
		sc_clean++;
		sim_bug_on(x != y);
	}
}

static int test_seqcount(void)
{
	setup(ncpus);
	spin_lock_init(&sc_lock, "&seq->lock");
	int writers = ncpus / 4 > 0 ? ncpus / 4 : 1;
	for (int i = 0; i < ncpus; i++) {
		bool w = i < writers;
		struct sim_task *t = engine_spawn(g_strdup_printf("%s%d", w ? "writer" : "reader", i), i,
						  false, w ? seq_writer : seq_reader, NULL);
		rng_seed(&t->rng, 13, (uint64_t)i);
	}
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "%d CPUs: all finished", ncpus);
	/* The run never tears the pair by itself: a writer stores both fields without
	 * yielding.  The property is in simulated time: a read section that passed the
	 * retry overlaps no write section. */
	tap_ok(check_exclusion() == 0, "no clean read section overlaps a write section in "
	       "simulated time (%u clean reads, %u retries)", sc_clean, sc_retries);
	tap_ok(sc_x == (unsigned long)writers * 60 && sc.sequence == 2 * sc_x,
	       "every write section counted twice (sequence %lu)", sc.sequence);
	if (ncpus > 2)
		tap_ok(sc_retries > 0, "readers did overlap writers and retried");
	return tap_done();
}

/* ---- percpu-rwsem ---- */

static struct percpu_rw_semaphore prw;
static unsigned fast_after_writers;
static sim_time_t last_write_end;

static void prw_body(struct sim_task *t, void *arg)
{
	bool writer_task = t->cpu % 8 == 7 || (ncpus < 8 && t->cpu == ncpus - 1);
	for (int i = 0; i < 60; i++) {
		cpu_work(t, urand(t, 100, writer_task ? 200000 : 5000));
		sim_time_t arrive = t->now;
		if (writer_task && i % 4 == 0) {
			percpu_down_write(t, &prw);
			struct cs *c = cs_new(t, arrive, true);
			cpu_work(t, urand(t, 100, 2000));
			c->rel = t->now;
			last_write_end = t->now;
			percpu_up_write(t, &prw);
		} else {
			uint64_t fast = prw.fast_reads;
			percpu_down_read(t, &prw);
			percpu_rwsem_assert_held(t, &prw);
			if (prw.fast_reads > fast && last_write_end && t->now > last_write_end)
				fast_after_writers++;
			struct cs *c = cs_new(t, arrive, false);
			cpu_work(t, urand(t, 100, 1500));
			c->rel = t->now;
			percpu_up_read(t, &prw);
		}
		rcu_user_return(t);
	}
}

static int test_percpu_rwsem(void)
{
	setup(ncpus);
	rcu_init(RCU_EXPEDITED, 1e6, ncpus);
	percpu_init_rwsem(&prw, "&cgroup_threadgroup_rwsem", ncpus);
	for (int i = 0; i < ncpus; i++) {
		struct sim_task *t = engine_spawn(g_strdup_printf("cpu%d", i), i, false, prw_body, NULL);
		rng_seed(&t->rng, 11, (uint64_t)i);
		rcu_register(t);
	}
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "%d CPUs: every task finished (no lost wake-up, no deadlock)", ncpus);
	if (out.report)
		diag(out.report);
	tap_ok(check_exclusion() == 0, "writers exclusive, readers shared, in simulated time");
	tap_ok(!rcu->violation, "no RCU violation");
	struct lock_class *c = prw.dep.class;
	printf("# %llu fast and %llu slow reads, %llu writes, %llu GPs\n",
	       (unsigned long long)prw.fast_reads, (unsigned long long)prw.slow_reads,
	       (unsigned long long)c->side[LS_WRITE].acquisitions,
	       (unsigned long long)rcu->stats.gps);
	tap_ok(c->side[LS_WRITE].acquisitions > 0 && prw.slow_reads > 0,
	       "writers forced readers onto the slow path");
	tap_ok(fast_after_writers > 0, "readers returned to the fast path after a writer");
	unsigned sum = 0;
	for (int i = 0; i < ncpus; i++)
		sum += prw.read_count[i].count;
	tap_ok(sum == 0 && !prw.block, "per-CPU counts sum to 0, block is clear");
	return tap_done();
}

/* ---- RCU ---- */

struct robj {
	unsigned magic;
	unsigned gen;
	char pad[56];
};
#define ROBJ_MAGIC 0x600dbeefu
#define RSLOTS 4
static struct robj *slot[RSLOTS];
static unsigned sections, replaced;

static void rcu_reader(struct sim_task *t, void *arg)
{
	for (int i = 0; i < 120; i++) {
		cpu_work(t, urand(t, 100, 3000));
		rcu_read_lock(t);
		int k = (int)(rng_double(&t->rng) * RSLOTS);
		sim_sync(t); /* rcu_dereference: a load of a word updaters write */
		hw_load(t, &slot[k], sizeof(slot[k]));
		struct robj *p = slot[k];
		rcu_check_access(t, p, "rcu_dereference");
		cpu_work(t, urand(t, 100, 2000));
		/* A second dereference, as a walk does: the section is then open while other
		 * CPUs act, so grace periods must wait for it. */
		int j = (int)(rng_double(&t->rng) * RSLOTS);
		sim_sync(t);
		hw_load(t, &slot[j], sizeof(slot[j]));
		struct robj *q = slot[j];
		/* Now and then a section longer than a tick. */
		cpu_work(t, rng_double(&t->rng) < 1.0 / 16 ? urand(t, 1.2e6, 2.5e6) :
							     urand(t, 100, 2000));
		if (rcu_check_access(t, p, "read at section end") && p->magic != ROBJ_MAGIC)
			rcu_check_access(t, p, "bad magic");
		if (rcu_check_access(t, q, "read at section end") && q->magic != ROBJ_MAGIC)
			rcu_check_access(t, q, "bad magic");
		rcu_read_unlock(t);
		sections++;
		rcu_user_return(t);
	}
}

static void rcu_updater(struct sim_task *t, void *arg)
{
	for (int i = 0; i < 20; i++) {
		cpu_work(t, urand(t, 1000, 20000));
		struct robj *n = g_new0(struct robj, 1);
		n->magic = ROBJ_MAGIC;
		n->gen = (unsigned)i;
		int k = (int)(rng_double(&t->rng) * RSLOTS);
		sim_sync(t);
		hw_store(t, &slot[k], sizeof(slot[k])); /* rcu_assign_pointer */
		struct robj *old = slot[k];
		slot[k] = n;
		replaced++;
		if (i & 1) {
			kfree_rcu(t, old, sizeof(*old));
			/* and two more objects retired by the same update (a VMA's companions):
			 * queued while the grace period the first one started runs, they wait
			 * for the next one and are freed in one batch */
			kfree_rcu(t, g_new0(struct robj, 1), sizeof(struct robj));
			kfree_rcu(t, g_new0(struct robj, 1), sizeof(struct robj));
		} else {
			synchronize_rcu(t);
			rcu_free_poisoned(t, old, sizeof(*old));
		}
		rcu_user_return(t);
	}
}

static int test_rcu(enum rcu_mode mode)
{
	setup(ncpus);
	rcu_init(mode, 1e6, ncpus);
	for (int k = 0; k < RSLOTS; k++) {
		slot[k] = g_new0(struct robj, 1);
		slot[k]->magic = ROBJ_MAGIC;
	}
	int updaters = ncpus / 8 > 0 ? ncpus / 8 : 1;
	for (int i = 0; i < ncpus; i++) {
		bool upd = i >= ncpus - updaters;
		struct sim_task *t = engine_spawn(g_strdup_printf("%s%d", upd ? "updater" : "reader", i),
						  i, false, upd ? rcu_updater : rcu_reader, NULL);
		rng_seed(&t->rng, 7, (uint64_t)i);
		rcu_register(t);
	}
	if (mode == RCU_TICK)
		engine_spawn("rcu_gp", 0, true, rcu_gp_kthread, NULL);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	const struct rcu_stats *st = &rcu->stats;
	printf("# %s, %d CPUs: %llu GPs (mean %.1f us, max %.1f us), synchronize_rcu mean %.1f us, "
	       "%llu callbacks in %llu batches (max %llu), %llu IPIs\n",
	       mode == RCU_TICK ? "tick" : "expedited", ncpus, (unsigned long long)st->gps,
	       st->gp.nr ? ps_to_ns(st->gp.total) / 1e3 / (double)st->gp.nr : 0.0,
	       ps_to_ns(st->gp.max) / 1e3,
	       st->sync.nr ? ps_to_ns(st->sync.total) / 1e3 / (double)st->sync.nr : 0.0,
	       (unsigned long long)st->callbacks, (unsigned long long)st->batches,
	       (unsigned long long)st->max_batch, (unsigned long long)st->ipis);
	tap_ok(!out.report, "%d CPUs: every task finished", ncpus);
	if (out.report)
		diag(out.report);
	tap_ok(!rcu->violation, "no object freed while a section that saw it was open%s%s",
	       rcu->violation ? ": " : "", rcu->violation ? rcu->violation : "");
	tap_ok(sections == (unsigned)(ncpus - updaters) * 120 && replaced == (unsigned)updaters * 20,
	       "%u sections, %u replacements", sections, replaced);
	tap_ok(st->gps > 0 && st->sync.nr == (unsigned)updaters * 10,
	       "grace periods completed; every synchronize_rcu returned");
	tap_ok(st->callbacks > 0 && st->batches > 0 && st->max_batch >= 2,
	       "kfree_rcu callbacks ran in per-CPU batches (largest %llu)",
	       (unsigned long long)st->max_batch);
	if (mode == RCU_TICK)
		tap_ok(st->gp.min >= 0 && st->gp.max >= rcu->tick / 2,
		       "tick-driven grace periods last about a tick or more");
	else
		tap_ok(st->ipis > 0, "expedited grace periods send IPIs");
	return tap_done();
}

static struct robj *kept;
static bool late_caught, spanning_ok;

static void keeps_pointer(struct sim_task *t, void *arg)
{
	rcu_read_lock(t);
	sim_sync(t);
	kept = slot[0];
	rcu_read_unlock(t);
	rcu_user_return(t);
	rcu_idle_enter(t);
	cpu_idle(t, 5 * PS_PER_MS);
	rcu_idle_exit(t);
	sim_sync(t);
	late_caught = !rcu_check_access(t, kept, "use after rcu_read_unlock");
}

static void spans_update(struct sim_task *t, void *arg)
{
	rcu_read_lock(t);
	sim_sync(t);
	struct robj *p = slot[1];
	cpu_work(t, 2e6); /* 2 ms inside the section, across the update */
	sim_sync(t);
	spanning_ok = rcu_check_access(t, p, "read inside the section") && p->magic == ROBJ_MAGIC;
	rcu_read_unlock(t);
	rcu_user_return(t);
}

static void frees_both(struct sim_task *t, void *arg)
{
	cpu_work(t, 100);
	sim_sync(t);
	struct robj *a = slot[0], *b = slot[1];
	slot[0] = slot[1] = NULL;
	kfree_rcu(t, a, sizeof(*a));
	kfree_rcu(t, b, sizeof(*b));
	for (int i = 0; i < 10; i++) {
		cpu_work(t, 1e6);
		rcu_user_return(t);
	}
}

static int test_rcu_poison(void)
{
	setup(3);
	rcu_init(RCU_TICK, 1e6, 3);
	for (int k = 0; k < 2; k++) {
		slot[k] = g_new0(struct robj, 1);
		slot[k]->magic = ROBJ_MAGIC;
	}
	struct sim_task *a = engine_spawn("keeper", 0, false, keeps_pointer, NULL);
	struct sim_task *b = engine_spawn("spanner", 1, false, spans_update, NULL);
	struct sim_task *c = engine_spawn("updater", 2, false, frees_both, NULL);
	rcu_register(a);
	rcu_register(b);
	rcu_register(c);
	engine_spawn("rcu_gp", 0, true, rcu_gp_kthread, NULL);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "all finished");
	tap_ok(spanning_ok, "a section spanning the update reads the object intact");
	tap_ok(late_caught && rcu->violation, "the access after the grace period is caught");
	printf("# %s\n", rcu->violation ? rcu->violation : "(none)");
	tap_ok(kept && ((unsigned char *)kept)[0] == RCU_POISON_BYTE, "the freed object is poisoned");
	return tap_done();
}

/* ---- refcount ---- */

static struct refcount ref;
static unsigned frees, uses, used_after_free, over_limit;
static bool obj_freed;
#define REF_LIMIT 6

static void ref_user(struct sim_task *t, void *arg)
{
	bool owner = arg != NULL;
	for (int i = 0; i < 200; i++) {
		cpu_work(t, urand(t, 0, 200));
		if (owner && i == 100) {
			if (refcount_dec_and_test(t, &ref)) {
				obj_freed = true;
				frees++;
			}
			continue;
		}
		if (!refcount_inc_not_zero_limited(t, &ref, REF_LIMIT))
			continue;
		if (ref.refs > REF_LIMIT)
			over_limit++;
		uses++;
		if (obj_freed)
			used_after_free++;
		cpu_work(t, urand(t, 20, 300));
		if (i % 7 == 0) {
			/* a nested reference (refcount_inc is legal while we hold one) */
			refcount_inc(t, &ref);
			cpu_work(t, 50);
			refcount_dec(t, &ref);
		}
		if (refcount_dec_and_test(t, &ref)) {
			obj_freed = true;
			frees++;
		}
	}
}

static int test_refcount(void)
{
	setup(ncpus);
	refcount_set(&ref, 1);
	for (int i = 0; i < ncpus; i++) {
		struct sim_task *t = engine_spawn(g_strdup_printf("cpu%d", i), i, false, ref_user,
						  i == 0 ? (void *)1 : NULL);
		rng_seed(&t->rng, 3, (uint64_t)i);
	}
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "%d CPUs: all finished", ncpus);
	tap_ok(frees == 1, "the object was freed exactly once (%u)", frees);
	tap_ok(used_after_free == 0, "no reference was taken after the count reached zero");
	tap_ok(over_limit == 0, "inc_not_zero_limited never passed the limit");
	tap_ok(uses > 0 && ref.refs == 0 && !ref.saturations, "%u uses; the count ends at 0", uses);
	return tap_done();
}

/* ---- rcuwait ---- */

static struct rcuwait rw_wait;
static int done_count;
static sim_time_t last_done, woke_at;

static bool all_done(void *arg)
{
	return done_count == ncpus - 1;
}

static void rw_waiter(struct sim_task *t, void *arg)
{
	rcuwait_wait_event(t, &rw_wait, all_done, NULL);
	woke_at = t->now;
}

static void rw_waker(struct sim_task *t, void *arg)
{
	cpu_work(t, urand(t, 0, 5000));
	sim_sync(t);
	done_count++;
	last_done = t->now;
	rcuwait_wake_up(t, &rw_wait);
}

static int test_rcuwait(void)
{
	setup(ncpus);
	struct sim_task *w = engine_spawn("waiter", 0, false, rw_waiter, NULL);
	rng_seed(&w->rng, 5, 0);
	for (int i = 1; i < ncpus; i++) {
		struct sim_task *t = engine_spawn(g_strdup_printf("waker%d", i), i, false, rw_waker,
						  NULL);
		rng_seed(&t->rng, 5, (uint64_t)i);
	}
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "%d CPUs: the waiter woke (no lost wake-up)", ncpus);
	tap_ok(woke_at >= last_done, "it woke after the last condition change");
	tap_ok(!rcuwait_active(&rw_wait), "the waiter unpublished itself");
	return tap_done();
}

static int test_qspin(void)
{
	return test_spin(false);
}

static int test_ticket(void)
{
	return test_spin(true);
}

static int test_rcu_tick(void)
{
	return test_rcu(RCU_TICK);
}

static int test_rcu_exp(void)
{
	return test_rcu(RCU_EXPEDITED);
}

int main(int argc, char **argv)
{
	static const struct { const char *mode; int (*fn)(void); } modes[] = {
		{ "spin", test_qspin }, { "ticket", test_ticket }, { "rwsem", test_rwsem },
		{ "handoff", test_handoff }, { "rspin", test_rspin }, { "deadlock", test_deadlock },
		{ "transfers", test_transfers }, { "lockdep", test_lockdep },
		{ "lockdep-declared", test_lockdep_declared }, { "lockstat", test_lockstat },
		{ "rcu-tick", test_rcu_tick }, { "rcu-exp", test_rcu_exp },
		{ "rcu-poison", test_rcu_poison }, { "refcount", test_refcount },
		{ "rcuwait", test_rcuwait }, { "mutex", test_mutex }, { "seqcount", test_seqcount },
		{ "percpu-rwsem", test_percpu_rwsem },
	};
	ncpus = argc >= 3 ? atoi(argv[2]) : 2;
	for (unsigned i = 0; argc >= 2 && i < G_N_ELEMENTS(modes); i++)
		if (!strcmp(argv[1], modes[i].mode)) {
			int rc = modes[i].fn();
			fflush(stdout);
			_exit(rc);
		}
	fprintf(stderr, "usage: test_sync MODE [NCPUS]; modes:");
	for (unsigned i = 0; i < G_N_ELEMENTS(modes); i++)
		fprintf(stderr, " %s", modes[i].mode);
	fprintf(stderr, "\n");
	return 2;
}
