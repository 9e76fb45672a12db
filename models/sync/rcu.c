/*
 * RCU grace periods (see rcu.h).  Sources: kernel/rcu/tree.c, tree_exp.h and
 * Documentation/RCU/Design/Data-Structures/Data-Structures.rst (Linux 6.x); P. E. McKenney,
 * J. D. Slingwine, "Read-copy update: using execution history to solve concurrency
 * problems", PDCS 1998; P. E. McKenney et al., "RCU usage in the Linux kernel: one decade
 * later" (2013).  gp_seq follows the kernel's rcu_seq: the low bit says a GP is running,
 * and a caller needs gp_seq to reach rcu_seq_snap() = (gp_seq + 3) & ~1.
 *
 * Time.  Read-side sections make no simulator call, so a task may have run past a GP's
 * start instant T before the GP is started (its clock is ahead).  What each CPU owes a GP
 * that starts at T is therefore judged from what it recorded: the start of its current
 * section (rcu_lock_at), the end of its last one (rcu_unlock_at), its last quiescent state
 * and its last idle period.  A CPU counts as quiescent from an instant only if no
 * read-side section of it can contain that instant; when in doubt it is made to report
 * later, never earlier.  A GP is always started by a task at its own synchronised clock,
 * so every other task's future actions lie at or after T.
 *
 * Callbacks are kept per CPU in call order and invoked as one batch per CPU (RCU_SOFTIRQ's
 * rcu_do_batch): by the CPU's own task at its next quiescent-state hook once the GP has
 * ended in simulated time, or, for a CPU whose task is asleep, idle or gone, by the task
 * that ends the GP (the GP kthread in tick mode).
 *
 * Costs: the expedited IPI round trip is two line transfers (machine->hw.transfer each);
 * a sleeper in synchronize_rcu resumes machine->hw.wakeup after the GP ends; callbacks
 * charge their own work.  Objects given to kfree_rcu are poisoned (RCU_POISON_BYTE) and
 * kept, never reused, so a late access is always caught.
 */
#include <string.h>
#include <glib.h>
#include "rcu.h"
#include "sync.h"
#include "sched.h"
#include "hw/hw.h"
#include "die.h"

struct rcu_state *rcu;
/* Lookup only, never iterated (so pointer keys cannot leak into results): */
static GHashTable *rcu_freed;        /* object -> struct rcu_freed_obj */
static GHashTable *rcu_accessed;     /* object -> struct rcu_access, checked objects only */

struct rcu_freed_obj {
	sim_time_t at;                /* ps, when its grace period had ended and it was freed */
};

struct rcu_access {
	sim_time_t last;              /* ps, latest checked access */
	const char *what;
	const char *task;
	int cpu;
};
static sim_time_t gp_end_at;         /* ps, end of the last completed GP */

void rcu_init(enum rcu_mode mode, double tick_ns, int ncpus)
{
	rcu = g_new0(struct rcu_state, 1);
	rcu->mode = mode;
	rcu->tick = ns_to_ps(tick_ns);
	rcu->ncpus = ncpus;
	rcu->cpu = g_new0(struct rcu_cpu, ncpus);
	for (int i = 0; i < ncpus; i++) {
		struct rcu_cpu *c = &rcu->cpu[i];
		c->qs_at = SIM_TIME_MAX;
		c->last_qs_at = -1;
		c->idle_from = c->idle_until = -1;
		c->cbs_tail = &c->cbs;
	}
	rcu->stats.gp.min = rcu->stats.sync.min = SIM_TIME_MAX;
	rcu_freed = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	rcu_accessed = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	gp_end_at = 0;
}

void rcu_register(struct sim_task *t)
{
	sim_bug_on(t->cpu >= rcu->ncpus || rcu->cpu[t->cpu].task);
	rcu->cpu[t->cpu].task = t;
}

static inline unsigned long rcu_seq_snap(unsigned long s)
{
	return (s + 3) & ~1UL;
}

/* Quiescent without a report: no task, finished, asleep, or idle at instant `at`. */
static bool cpu_extended_qs(const struct rcu_cpu *c, sim_time_t at)
{
	const struct sim_task *x = c->task;
	if (!x || x->state == TASK_DEAD || x->off_cpu)
		return true;
	return c->idle_from >= 0 && c->idle_from <= at && at < c->idle_until;
}

/*
 * The instant from which CPU c is known quiescent for a GP starting at T, or
 * SIM_TIME_MAX if it must still report.
 */
static sim_time_t qs_at_start(struct rcu_cpu *c, sim_time_t T)
{
	const struct sim_task *x = c->task;

	if (cpu_extended_qs(c, T))
		return T;
	if (rcu->mode == RCU_EXPEDITED) {
		/* An IPI; the handler reports at once unless a section spans T. */
		rcu->stats.ipis++;
		if (x->rcu_nesting > 0 && x->rcu_lock_at <= T)
			return SIM_TIME_MAX;
		sim_time_t q = max_time(T, x->rcu_unlock_at);
		return max_time(q, T + 2 * x->machine->hw.transfer);
	}
	/* Tick-driven: only a quiescent state passed at or after T counts (a CPU that ran
	 * ahead may have passed one already; sections it entered later do not matter). */
	if (c->last_qs_at >= T)
		return c->last_qs_at;
	return SIM_TIME_MAX;
}

static void rcu_gp_end(struct sim_task *t, sim_time_t end);

static void rcu_gp_start(struct sim_task *t)
{
	sim_time_t T = t->now;
	sim_bug_on(rcu->gp_seq & 1);
	rcu->gp_seq++;
	rcu->gp_start = T;
	rcu->pending = 0;
	for (int i = 0; i < rcu->ncpus; i++) {
		struct rcu_cpu *c = &rcu->cpu[i];
		c->qs_at = qs_at_start(c, T);
		if (c->qs_at == SIM_TIME_MAX)
			rcu->pending++;
	}
	if (rcu->mode == RCU_EXPEDITED && rcu->pending == 0) {
		sim_time_t end = T;
		for (int i = 0; i < rcu->ncpus; i++)
			end = max_time(end, rcu->cpu[i].qs_at);
		rcu_gp_end(t, end);
	}
}

static void rcu_violation(char *msg)
{
	rcu->stats.poison_hits++;
	if (!rcu->violation)
		rcu->violation = msg;
	else
		g_free(msg);
}

void rcu_free_poisoned(struct sim_task *t, void *obj, size_t size)
{
	struct rcu_access *a = g_hash_table_lookup(rcu_accessed, obj);
	if (a && a->last > t->now)
		rcu_violation(g_strdup_printf("%s (cpu %d) at %.3f us: %s of an object that %s "
					      "freed by RCU at %.3f us", a->task, a->cpu,
					      ps_to_ns(a->last) / 1e3, a->what, t->name,
					      ps_to_ns(t->now) / 1e3));
	memset(obj, RCU_POISON_BYTE, size);
	struct rcu_freed_obj *f = g_new(struct rcu_freed_obj, 1);
	f->at = t->now;
	g_hash_table_insert(rcu_freed, obj, f);
}

/* rcu_do_batch: invoke this CPU's callbacks whose grace period has ended. */
static void rcu_do_batch(struct sim_task *t, struct rcu_cpu *c)
{
	if (t->now < gp_end_at)
		return; /* the GP ends later in simulated time than our clock */
	uint64_t n = 0;
	while (c->cbs && c->cbs->gp_snap <= rcu->gp_seq) {
		struct rcu_head *h = c->cbs;
		c->cbs = h->next;
		if (!c->cbs)
			c->cbs_tail = &c->cbs;
		c->nr_cbs--;
		h->func(t, h);
		n++;
	}
	if (n) {
		rcu->stats.callbacks += n;
		rcu->stats.batches++;
		if (n > rcu->stats.max_batch)
			rcu->stats.max_batch = n;
	}
}

/* The GP has ended at `end`: wake waiters, run orphaned batches, start the next GP. */
static void rcu_gp_end(struct sim_task *t, sim_time_t end)
{
	end = max_time(end, gp_end_at);
	rcu->gp_seq++;
	gp_end_at = end;
	rcu->stats.gps++;
	lock_time_add(&rcu->stats.gp, end - rcu->gp_start);

	struct waitq keep = { 0 };
	struct sim_task *w;
	while ((w = waitq_pop(&rcu->sync_waiters))) {
		if ((unsigned long)(uintptr_t)w->wait_private <= rcu->gp_seq)
			sim_unpark(t, w, max_time(max_time(end + t->machine->hw.wakeup, w->now),
						  t->now));
		else
			waitq_push(&keep, w, 0);
	}
	rcu->sync_waiters = keep;

	for (int i = 0; i < rcu->ncpus; i++)
		rcu->cpu[i].qs_at = SIM_TIME_MAX;
	/* Callbacks may call_rcu (and so start the next GP) themselves. */
	for (int i = 0; i < rcu->ncpus; i++) {
		struct rcu_cpu *c = &rcu->cpu[i];
		if (c->nr_cbs && cpu_extended_qs(c, end))
			rcu_do_batch(t, c);
	}
	if (!(rcu->gp_seq & 1) && rcu->gp_seq_needed > rcu->gp_seq)
		rcu_gp_start(t);
}

static void rcu_report_qs(struct sim_task *t, struct rcu_cpu *c, sim_time_t when)
{
	if (c->qs_at != SIM_TIME_MAX)
		return;
	c->qs_at = when;
	if (--rcu->pending > 0)
		return;
	sim_time_t end = rcu->gp_start;
	for (int i = 0; i < rcu->ncpus; i++)
		end = max_time(end, rcu->cpu[i].qs_at);
	rcu_gp_end(t, end);
}

void rcu_read_unlock_special(struct sim_task *t)
{
	struct rcu_cpu *c = &rcu->cpu[t->cpu];
	if (c->task != t || c->qs_at != SIM_TIME_MAX)
		return;
	sim_sync(t); /* ending a GP is visible to every CPU */
	if ((rcu->gp_seq & 1) && c->qs_at == SIM_TIME_MAX)
		rcu_report_qs(t, c, t->now);
}

void rcu_qs(struct sim_task *t)
{
	struct rcu_cpu *c = &rcu->cpu[t->cpu];
	if (c->task != t)
		return;
	sim_bug_on(t->rcu_nesting); /* a quiescent state inside a read-side section */
	c->last_qs_at = t->now;
	if ((rcu->gp_seq & 1) && c->qs_at == SIM_TIME_MAX && t->now >= rcu->gp_start) {
		if (rcu->mode == RCU_EXPEDITED) {
			sim_sync(t);
			rcu_report_qs(t, c, t->now);
		} else {
			c->qs_at = t->now; /* the GP kthread notices at its next tick */
		}
	}
	if (c->nr_cbs)
		rcu_do_batch(t, c);
}

void rcu_idle_enter(struct sim_task *t)
{
	if (!rcu)
		return;
	rcu_qs(t);
	struct rcu_cpu *c = &rcu->cpu[t->cpu];
	if (c->task == t) {
		c->idle_from = t->now;
		c->idle_until = SIM_TIME_MAX;
	}
}

void rcu_idle_exit(struct sim_task *t)
{
	if (!rcu)
		return;
	struct rcu_cpu *c = &rcu->cpu[t->cpu];
	if (c->task == t)
		c->idle_until = t->now;
}

void rcu_note_context_switch(struct sim_task *t)
{
	sim_bug_on(t->rcu_nesting); /* sleeping inside an RCU read-side section */
	if (rcu)
		rcu_qs(t);
}

void rcu_note_wakeup(struct sim_task *t)
{
	if (rcu && rcu->cpu[t->cpu].task == t)
		rcu->cpu[t->cpu].last_qs_at = t->now;
}

static void rcu_request_gp(struct sim_task *t, unsigned long snap)
{
	if (snap > rcu->gp_seq_needed)
		rcu->gp_seq_needed = snap;
	if (!(rcu->gp_seq & 1))
		rcu_gp_start(t);
}

void synchronize_rcu(struct sim_task *t)
{
	sim_bug_on(!rcu);
	sim_sync(t);
	sim_time_t t0 = t->now;
	unsigned long snap = rcu_seq_snap(rcu->gp_seq);
	sched_switch_out(t, "synchronize_rcu"); /* about to sleep: our CPU is quiescent */
	rcu_request_gp(t, snap);
	if (rcu->gp_seq >= snap) {
		sim_cancel_park(t);
		/* Expedited and every CPU already quiescent: the GP ended with the IPIs. */
		sim_time_t until = max_time(t->now, gp_end_at);
		t->stats.sleep_wait += until - t->now;
		t->now = until;
	} else {
		t->wait_private = (void *)(uintptr_t)snap;
		waitq_push(&rcu->sync_waiters, t, 0);
		sim_time_t p0 = t->now;
		/* (prepared by sched_switch_out) */
		sim_park(t, "synchronize_rcu");
		t->stats.sleep_wait += t->now - p0;
	}
	sched_switch_in(t);
	lock_time_add(&rcu->stats.sync, t->now - t0);
}

void call_rcu(struct sim_task *t, struct rcu_head *head,
	      void (*func)(struct sim_task *t, struct rcu_head *head))
{
	sim_bug_on(!rcu);
	sim_sync(t);
	struct rcu_cpu *c = &rcu->cpu[t->cpu];
	head->func = func;
	head->next = NULL;
	head->gp_snap = rcu_seq_snap(rcu->gp_seq);
	*c->cbs_tail = head;
	c->cbs_tail = &head->next;
	c->nr_cbs++;
	cpu_work(t, 5); /* enqueue on this CPU's segmented list: CPU-local */
	rcu_request_gp(t, head->gp_snap);
}

struct kfree_rcu_head {
	struct rcu_head head;
	void *obj;
	size_t size;
};

static void kfree_rcu_cb(struct sim_task *t, struct rcu_head *head)
{
	struct kfree_rcu_head *k = (struct kfree_rcu_head *)head;
	cpu_work(t, 20); /* kfree */
	rcu_free_poisoned(t, k->obj, k->size);
	g_free(k);
}

void kfree_rcu(struct sim_task *t, void *obj, size_t size)
{
	struct kfree_rcu_head *k = g_new0(struct kfree_rcu_head, 1);
	k->obj = obj;
	k->size = size;
	call_rcu(t, &k->head, kfree_rcu_cb);
}

bool rcu_obj_freed(const void *p)
{
	return rcu_freed && g_hash_table_contains(rcu_freed, p);
}

bool rcu_check_access(struct sim_task *t, const void *p, const char *what)
{
	struct rcu_freed_obj *f = rcu_freed ? g_hash_table_lookup(rcu_freed, p) : NULL;
	if (f && t->now >= f->at) {
		rcu_violation(g_strdup_printf("%s (cpu %d) at %.3f us: %s of an object freed by RCU "
					      "at %.3f us, after its grace period", t->name, t->cpu,
					      ps_to_ns(t->now) / 1e3, what, ps_to_ns(f->at) / 1e3));
		return false;
	}
	/* Remember it: a free applied earlier in the run but later in simulated time than
	 * this access is checked against it. */
	struct rcu_access *a = g_hash_table_lookup(rcu_accessed, p);
	if (!a) {
		a = g_new0(struct rcu_access, 1);
		g_hash_table_insert(rcu_accessed, (void *)p, a);
	}
	if (t->now >= a->last) {
		a->last = t->now;
		a->what = what;
		a->task = t->name;
		a->cpu = t->cpu;
	}
	return true;
}

void rcu_gp_kthread(struct sim_task *t, void *arg)
{
	for (;;) {
		cpu_idle(t, rcu->tick);
		sim_sync(t);
		sim_time_t D = t->now;
		if (rcu->gp_seq & 1) {
			bool done = true;
			for (int i = 0; i < rcu->ncpus; i++) {
				struct rcu_cpu *c = &rcu->cpu[i];
				if (c->qs_at == SIM_TIME_MAX && cpu_extended_qs(c, D))
					c->qs_at = D;
				if (c->qs_at > D)
					done = false;
			}
			if (done)
				rcu_gp_end(t, D);
		}
		for (int i = 0; i < rcu->ncpus; i++) {
			struct rcu_cpu *c = &rcu->cpu[i];
			if (c->nr_cbs && cpu_extended_qs(c, D))
				rcu_do_batch(t, c);
		}
	}
}
