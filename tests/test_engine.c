/*
 * Engine tests, one engine per process: `test_engine MODE`.
 *   ordering  a seqcount reader whose section overlaps a writer's in simulated time sees
 *             the change, one that does not overlap does not, at many offsets incl. a
 *             fraction of a ns; pairs run concurrently, so the lookahead is exercised.
 *   deadlock  an AB-BA spinlock deadlock is reported, not taken for a finished run.
 *   daemon    a kernel thread that never ends does not keep the run alive.
 *   deadline  a task that runs past the deadline fails the run.
 *   rwsem     a queued writer blocks new readers and trylocks; release order is FIFO.
 *   irqs-off  a TLB flush IPI to a CPU with interrupts disabled is handled when they are
 *             enabled again, and the sender waits for that acknowledgement; an IPI
 *             before or after the section is not delayed.
 */
#include <string.h>
#include <unistd.h>
#include "tap.h"
#include "engine.h"
#include "clock.h"
#include "hw/machine.h"
#include "sync/seqcount.h"
#include "sync/spinlock.h"
#include "sync/rwsem.h"
#include "sync/irq.h"
#include "hw/hw.h"

static struct machine *machine;

static void setup(int ncpus)
{
	char *err = NULL;
	machine = machine_load("generic-2s", &err);
	if (!machine) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	engine_init();
	engine_platform(machine, ncpus);
}

/* ---- ordering ---- */

#define W0_NS 1000.0  /* writer's section starts here */
#define WLEN_NS 50.0
#define RLEN_NS 20.0

static const double offsets[] = { -300, -60, -23.5, -22.5, -21.9, -21, -10, -3, -1, -0.5,
				  0.5, 1, 3, 10, 30, 50, 51, 51.5, 52.5, 53, 60, 300 };
#define NPAIRS G_N_ELEMENTS(offsets)
static struct seqcount seq[NPAIRS];
static bool changed[NPAIRS];
static double reader_start[NPAIRS], reader_end[NPAIRS], writer_start[NPAIRS],
	writer_end[NPAIRS];

static void writer(struct sim_task *t, void *arg)
{
	unsigned k = (unsigned)(uintptr_t)arg;
	cpu_work(t, W0_NS);
	writer_start[k] = ps_to_ns(t->now);
	write_seqcount_begin(t, &seq[k]);
	cpu_work(t, WLEN_NS);
	writer_end[k] = ps_to_ns(t->now);
	write_seqcount_end(t, &seq[k]);
}

static void reader(struct sim_task *t, void *arg)
{
	unsigned k = (unsigned)(uintptr_t)arg;
	cpu_work(t, W0_NS + offsets[k]);
	reader_start[k] = ps_to_ns(t->now);
	unsigned long s = raw_read_seqcount(t, &seq[k]);
	cpu_work(t, RLEN_NS);
	reader_end[k] = ps_to_ns(t->now);
	changed[k] = read_seqcount_retry(t, &seq[k], s);
}

static int test_ordering(void)
{
	setup(2 * NPAIRS);
	for (unsigned k = 0; k < NPAIRS; k++) {
		engine_spawn("writer", 2 * k, false, writer, (void *)(uintptr_t)k);
		engine_spawn("reader", 2 * k + 1, false, reader, (void *)(uintptr_t)k);
	}
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "all tasks finished");
	for (unsigned k = 0; k < NPAIRS; k++) {
		/* Effects happen at the instant of the access, before its charge. */
		bool overlap = reader_start[k] < writer_end[k] && reader_end[k] > writer_start[k];
		tap_ok(changed[k] == overlap,
		       "reader [%.2f, %.2f] vs writer [%.2f, %.2f] ns: %s the change", reader_start[k],
		       reader_end[k], writer_start[k], writer_end[k],
		       changed[k] ? "sees" : "does not see");
	}
	return tap_done();
}

/* ---- deadlock ---- */

static struct spinlock lock_a, lock_b;

static void ab(struct sim_task *t, void *arg)
{
	bool reverse = arg != NULL;
	spin_lock(t, reverse ? &lock_b : &lock_a);
	cpu_work(t, 100);
	spin_lock(t, reverse ? &lock_a : &lock_b);
	spin_unlock(t, reverse ? &lock_a : &lock_b);
	spin_unlock(t, reverse ? &lock_b : &lock_a);
}

static int test_deadlock(void)
{
	setup(2);
	spin_lock_init(&lock_a, "A");
	spin_lock_init(&lock_b, "B");
	engine_spawn("ab", 0, false, ab, NULL);
	engine_spawn("ba", 1, false, ab, (void *)1);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(out.report && strstr(out.report, "deadlock"), "deadlock reported");
	char **lines = g_strsplit(out.report ? out.report : "(no report)", "\n", -1);
	for (char **l = lines; *l; l++)
		if (**l)
			printf("# %s\n", *l);
	g_strfreev(lines);
	tap_ok(out.finished == 0 && out.expected == 2, "0 of 2 tasks finished");
	tap_ok(out.report && strstr(out.report, "waiting for A") && strstr(out.report, "waiting for B"),
	       "the report names the lock each task waits for");
	return tap_done();
}

/* ---- daemon ---- */

static uint64_t ticks;

static void kthread(struct sim_task *t, void *arg)
{
	for (;;) {
		cpu_idle(t, 10 * PS_PER_US);
		sim_sync(t);
		ticks++;
	}
}

static void worker(struct sim_task *t, void *arg)
{
	for (int i = 0; i < 100; i++) {
		cpu_work(t, 1000);
		sim_sync(t);
	}
}

static int test_daemon(void)
{
	setup(2);
	engine_spawn("kthread", 0, true, kthread, NULL);
	engine_spawn("worker", 1, false, worker, NULL);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report && out.finished == 1, "the run ends when the user task ends");
	tap_ok(out.end == 100 * PS_PER_US, "user task ended at 100 us (%.3f)", ps_to_ns(out.end) / 1e3);
	tap_ok(ticks >= 9 && ticks <= 10, "the daemon ran meanwhile (%llu ticks)",
	       (unsigned long long)ticks);
	return tap_done();
}

/* ---- deadline ---- */

static void forever(struct sim_task *t, void *arg)
{
	for (;;) {
		cpu_work(t, 1000);
		sim_sync(t);
	}
}

static int test_deadline(void)
{
	setup(1);
	engine_spawn("forever", 0, false, forever, NULL);
	struct engine_outcome out;
	engine_run(PS_PER_MS, &out);
	tap_ok(out.report && out.deadline_hit, "deadline reported");
	return tap_done();
}

/* ---- rwsem ---- */

static struct rw_semaphore sem;
static sim_time_t got[4];
static bool trylock_while_queued;

/* Longer than a writer spins on readers (at most 25 us), so the writer queues. */
#define R1_HOLD_NS 50000.0

static void rw_reader1(struct sim_task *t, void *arg)
{
	down_read(t, &sem);
	got[0] = t->now;
	cpu_work(t, R1_HOLD_NS);
	up_read(t, &sem);
}

static void rw_writer(struct sim_task *t, void *arg)
{
	cpu_work(t, 100);
	down_write(t, &sem);
	got[1] = t->now;
	cpu_work(t, 500);
	up_write(t, &sem);
}

static void rw_reader2(struct sim_task *t, void *arg)
{
	cpu_work(t, 30000); /* after the writer gave up spinning and queued */
	trylock_while_queued = down_read_trylock(t, &sem);
	down_read(t, &sem);
	got[2] = t->now;
	up_read(t, &sem);
}

static int test_rwsem(void)
{
	setup(3);
	init_rwsem(&sem, "sem");
	engine_spawn("r1", 0, false, rw_reader1, NULL);
	engine_spawn("w", 1, false, rw_writer, NULL);
	engine_spawn("r2", 2, false, rw_reader2, NULL);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "all finished");
	tap_ok(!trylock_while_queued, "read trylock fails while a writer is queued");
	tap_ok(got[1] > got[0] + ns_to_ps(R1_HOLD_NS), "writer waits for the first reader (%.1f ns)",
	       ps_to_ns(got[1]));
	tap_ok(got[1] >= ns_to_ps(R1_HOLD_NS) + machine->hw.wakeup,
	       "the sleeping writer pays the wake-up latency");
	tap_ok(got[2] > got[1] + 500 * PS_PER_NS,
	       "a reader arriving behind the queued writer waits for it (%.1f ns)", ps_to_ns(got[2]));
	return tap_done();
}

/* ---- irqs-off ---- */

#define IRQ_OFF_AT_NS 1000.0
#define IRQ_OFF_LEN_NS 5000.0
static sim_time_t irq_on_time, flush_done[3];
static uint64_t flush_cpumask = 0x3; /* CPUs 0 and 1 */

static void irq_walker(struct sim_task *t, void *arg)
{
	hw_tlb_switch(t, 1);
	cpu_work(t, IRQ_OFF_AT_NS);
	local_irq_disable(t);
	cpu_work(t, IRQ_OFF_LEN_NS);
	local_irq_enable(t);
	irq_on_time = t->now;
	cpu_work(t, 20000);
	sim_sync(t);
}

/* Flushes before, during and after the walker's section. */
static void irq_flusher(struct sim_task *t, void *arg)
{
	static const double at_ns[3] = { 500, 3000, 12000 };
	hw_tlb_switch(t, 1);
	for (int i = 0; i < 3; i++) {
		if (t->now < ns_to_ps(at_ns[i]))
			cpu_work(t, at_ns[i] - ps_to_ns(t->now));
		hw_tlb_flush_range(t, &flush_cpumask, 64, 1, 0x1000, 0x2000, false);
		flush_done[i] = t->now;
	}
}

static int test_irqs_off(void)
{
	setup(2);
	engine_spawn("walker", 0, false, irq_walker, NULL);
	struct sim_task *f = engine_spawn("flusher", 1, false, irq_flusher, NULL);
	struct engine_outcome out;
	engine_run(PS_PER_S, &out);
	tap_ok(!out.report, "all finished");
	sim_time_t off_end = ns_to_ps(IRQ_OFF_AT_NS + IRQ_OFF_LEN_NS);
	tap_ok(irq_on_time >= off_end, "the walker enabled interrupts at %.1f ns",
	       ps_to_ns(irq_on_time));
	tap_ok(flush_done[0] - ns_to_ps(500) < ns_to_ps(3000) && flush_done[0] < irq_on_time,
	       "a flush before the section is not delayed (%.1f ns)",
	       ps_to_ns(flush_done[0] - ns_to_ps(500)));
	tap_ok(flush_done[1] > irq_on_time, "a flush during the section completes after the walker "
	       "enables interrupts (%.1f ns > %.1f ns)", ps_to_ns(flush_done[1]),
	       ps_to_ns(irq_on_time));
	tap_ok(flush_done[1] - irq_on_time < ns_to_ps(3000), "and soon after (%.1f ns later)",
	       ps_to_ns(flush_done[1] - irq_on_time));
	tap_ok(flush_done[2] - ns_to_ps(12000) < ns_to_ps(3000), "a flush after the section is not "
	       "delayed (%.1f ns)", ps_to_ns(flush_done[2] - ns_to_ps(12000)));
	tap_ok(f->stats.ev[EV_TLB_IPI_IRQS_OFF] == 1, "exactly one IPI met interrupts disabled "
	       "(%llu)", (unsigned long long)f->stats.ev[EV_TLB_IPI_IRQS_OFF]);
	return tap_done();
}

int main(int argc, char **argv)
{
	static const struct { const char *mode; int (*fn)(void); } modes[] = {
		{ "ordering", test_ordering }, { "deadlock", test_deadlock },
		{ "daemon", test_daemon }, { "deadline", test_deadline }, { "rwsem", test_rwsem },
		{ "irqs-off", test_irqs_off },
	};
	for (unsigned i = 0; argc == 2 && i < G_N_ELEMENTS(modes); i++)
		if (!strcmp(argv[1], modes[i].mode)) {
			int rc = modes[i].fn();
			fflush(stdout);
			_exit(rc);
		}
	fprintf(stderr, "usage: test_engine ordering|deadlock|daemon|deadline|rwsem|irqs-off\n");
	return 2;
}
