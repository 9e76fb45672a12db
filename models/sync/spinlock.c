/*
 * Queued spinlock and ticket lock (see spinlock.h).
 *
 * Sources: kernel/locking/qspinlock.c and include/asm-generic/qspinlock.h (Linux 6.x;
 * queued spinlocks merged in 4.2, commit "locking/qspinlock: Introduce a
 * simple generic 4-byte queued spinlock"); J. Mellor-Crummey and M. Scott, "Algorithms for
 * scalable synchronization on shared-memory multiprocessors", ACM TOCS 9(1), 1991 (MCS);
 * S. Boyd-Wickizer, M. F. Kaashoek, R. Morris, N. Zeldovich, "Non-scalable locks are
 * dangerous", Ottawa Linux Symposium 2012 (ticket-lock collapse).
 * Costs: every step is an hw_* access on the real address of the word it touches: the lock
 * word's line, the MCS node's line.  A spinner's observation of a change it waited for is
 * hw_handoff() (one line transfer); the spin itself is busy time with no simulator event.
 *
 * Modelled per contended hand-off (H.2): releaser stores the locked byte; the pending
 * waiter or the queue head observes it (one transfer) and sets the locked byte; the head
 * writes its successor's node (a transfer of that line) and the successor observes it (one
 * more).  So a hand-off costs O(1) transfers whatever the queue length.
 */
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "spinlock.h"
#include "sync.h"
#include "hw/hw.h"
#include "die.h"

#define QNODE_CPUS 4096

/* Per-CPU MCS nodes: four per CPU in one 64-byte line, as the kernel's qnodes[]. */
struct qnode_line {
	struct mcs_spinlock node[MAX_NODES];
} __attribute__((aligned(64)));

static struct qnode_line *qnodes;
/* Model side of each node: who spins on it and since when it is the queue head. */
static struct sim_task **qnode_task;
static sim_time_t *qnode_head_at;

static void qnodes_init(void)
{
	if (qnodes)
		return;
	qnodes = aligned_alloc(64, QNODE_CPUS * sizeof(*qnodes));
	if (!qnodes)
		sim_die("out of memory for qspinlock nodes");
	memset(qnodes, 0, QNODE_CPUS * sizeof(*qnodes));
	qnode_task = g_new0(struct sim_task *, QNODE_CPUS * MAX_NODES);
	qnode_head_at = g_new0(sim_time_t, QNODE_CPUS * MAX_NODES);
}

static inline uint32_t encode_tail(int cpu, int idx)
{
	return ((uint32_t)(cpu + 1) << _Q_TAIL_CPU_OFFSET) | ((uint32_t)idx << _Q_TAIL_IDX_OFFSET);
}

static inline int tail_slot(uint32_t tail)
{
	int cpu = (int)(tail >> _Q_TAIL_CPU_OFFSET) - 1;
	int idx = (int)((tail >> _Q_TAIL_IDX_OFFSET) & 3);
	return cpu * MAX_NODES + idx;
}

static inline int node_slot(const struct mcs_spinlock *n)
{
	const struct mcs_spinlock *base = &qnodes[0].node[0];
	return (int)(n - base);
}

static inline struct mcs_spinlock *slot_node(int slot)
{
	return &qnodes[slot / MAX_NODES].node[slot % MAX_NODES];
}

/* `reader`, spinning on addr, observes a store `writer` made: one line transfer. */
static sim_time_t observe(const struct sim_task *writer, const struct sim_task *reader,
			  const void *addr, struct lockdep_map *dep)
{
	if (writer->cpu != reader->cpu)
		lock_count_transfer(dep, 1);
	return hw_handoff(writer, reader, addr);
}

/* Spin (busy, preemption off) until another task hands over; nothing polls. */
static void spin_park(struct sim_task *t, const char *what)
{
	sim_time_t t0 = t->now;
	sim_park(t, what);
	t->stats.busy += t->now - t0;
	t->stats.spin += t->now - t0;
}

/* Unpark a spinner at `at`; it cannot resume before the clock at which it parked. */
static void wake_spinner(struct sim_task *waker, struct sim_task *w, sim_time_t at)
{
	sim_unpark(waker, w, max_time(at, w->now));
}

void spin_lock_init(struct spinlock *l, const char *name)
{
	qnodes_init();
	*l = (struct spinlock){ .line_cpu = -1 };
	lockdep_init_map(&l->dep, name, false);
}

bool _spin_trylock(struct sim_task *t, struct spinlock *l, const char *site)
{
	sim_sync(t);
	/* queued_spin_trylock reads the word and tries the cmpxchg only if it is 0. */
	if (l->raw.val) {
		hw_load(t, &l->raw, sizeof(l->raw));
		return false;
	}
	lock_word_access(t, &l->line_cpu, &l->dep);
	hw_rmw(t, &l->raw, sizeof(l->raw));
	l->raw.val = _Q_LOCKED_VAL;
	l->owner = t;
	lock_acquired(t, &l->dep, LS_WRITE, site, 0, 0);
	return true;
}

/* The queue head takes the lock the releaser handed it, and passes headship on. */
static void mcs_head_acquire(struct sim_task *t, struct spinlock *l, struct mcs_spinlock *node,
			     uint32_t tail)
{
	lock_word_access(t, &l->line_cpu, &l->dep);
	if ((l->raw.val & _Q_TAIL_MASK) == tail) {
		/* Last in the queue: cmpxchg clears the tail with the locked byte set. */
		hw_rmw(t, &l->raw, sizeof(l->raw));
		l->raw.val = _Q_LOCKED_VAL;
		l->qhead = NULL;
	} else {
		hw_store(t, &l->raw, 1); /* set_locked */
		l->raw.val |= _Q_LOCKED_VAL;
		struct mcs_spinlock *next = node->next;
		sim_bug_on(!next); /* linking is immediate in the model */
		/* arch_mcs_spin_unlock_contended: a store to the successor's line, which its
		 * spinner holds; it then observes the change. */
		hw_store(t, &next->locked, sizeof(next->locked));
		lock_count_transfer(&l->dep, 1);
		next->locked = 1;
		int s = node_slot(next);
		l->qhead = next;
		qnode_head_at[s] = t->now + observe(t, qnode_task[s], next, &l->dep);
	}
	qnode_task[node_slot(node)] = NULL;
	qnodes[t->cpu].node[0].count--;
}

static void queued_spin_lock_slowpath(struct sim_task *t, struct spinlock *l, const char *site,
				      sim_time_t t0)
{
	lock_contended(t, &l->dep, LS_WRITE, site, l->owner ? l->owner : l->last_owner);
	count_event(&t->stats, EV_SPIN_WAIT);

	if (l->raw.val == _Q_LOCKED_VAL) {
		/* Second contender: set pending and spin on the lock word; no MCS node. */
		lock_word_access(t, &l->line_cpu, &l->dep);
		hw_rmw(t, &l->raw, sizeof(l->raw));
		l->raw.val |= _Q_PENDING_VAL;
		l->pending = t;
		spin_park(t, l->dep.class->name);
		sim_bug_on(l->owner != t);
		lock_word_access(t, &l->line_cpu, &l->dep);
		hw_store(t, &l->raw, 2); /* clear_pending_set_locked */
		lock_acquired(t, &l->dep, LS_WRITE, site, t->now - t0, 0);
		return;
	}

	/* Queue: take this CPU's next MCS node and publish it as the tail. */
	if (t->cpu >= QNODE_CPUS)
		sim_die("cpu %d: qspinlock nodes exist for %d CPUs", t->cpu, QNODE_CPUS);
	struct mcs_spinlock *node0 = &qnodes[t->cpu].node[0];
	int idx = node0->count++;
	if (idx >= MAX_NODES)
		sim_die("%s: more than %d nested spinlock slow paths on cpu %d", t->name, MAX_NODES,
			t->cpu);
	struct mcs_spinlock *node = &qnodes[t->cpu].node[idx];
	hw_store(t, node, sizeof(*node));
	node->locked = 0;
	node->next = NULL;
	int slot = node_slot(node);
	qnode_task[slot] = t;
	uint32_t tail = encode_tail(t->cpu, idx);

	lock_word_access(t, &l->line_cpu, &l->dep);
	hw_rmw(t, &l->raw, sizeof(l->raw)); /* xchg_tail */
	uint32_t old = l->raw.val;
	l->raw.val = (old & ~_Q_TAIL_MASK) | tail;
	if (old & _Q_TAIL_MASK) {
		/* Link behind the predecessor: a store into its node's line. */
		struct mcs_spinlock *prev = slot_node(tail_slot(old & _Q_TAIL_MASK));
		hw_store(t, &prev->next, sizeof(prev->next));
		lock_count_transfer(&l->dep, 1);
		prev->next = node;
		spin_park(t, l->dep.class->name);
	} else {
		l->qhead = node;
		qnode_head_at[slot] = t->now;
		spin_park(t, l->dep.class->name);
	}
	sim_bug_on(l->owner != t);
	mcs_head_acquire(t, l, node, tail);
	lock_acquired(t, &l->dep, LS_WRITE, site, t->now - t0, 0);
}

void _spin_lock(struct sim_task *t, struct spinlock *l, const char *site)
{
	sim_sync(t);
	sim_bug_on(l->owner == t); /* recursive spinlock: a self-deadlock in the kernel */
	lockdep_acquire(t, &l->dep, site);
	sim_time_t t0 = t->now;
	lock_word_access(t, &l->line_cpu, &l->dep);
	hw_rmw(t, &l->raw, sizeof(l->raw)); /* cmpxchg 0 -> LOCKED */
	if (l->raw.val == 0) {
		l->raw.val = _Q_LOCKED_VAL;
		l->owner = t;
		lock_acquired(t, &l->dep, LS_WRITE, site, 0, 0);
		return;
	}
	queued_spin_lock_slowpath(t, l, site, t0);
}

/*
 * Release.  It synchronises like every other access to the word, even with nobody
 * waiting.  Skipping the sync when the word is just the locked byte would save about 5 %
 * of the simulator calls of a page fault (0.31 of 6.6 at 64 CPUs), and a task reaching
 * the lock at an earlier simulated time could still be made to wait for the release time
 * it finds recorded.  But it is not exact: two such early waiters would resolve one by one
 * in wall order, so the first would take the lock as the tail of the queue (one cmpxchg)
 * where, in simulated time, the second had already queued behind it (a store into its
 * node and a line transfer).  Times and transfer counts then drift by a few ns; we keep
 * the exact model.
 */
void spin_unlock(struct sim_task *t, struct spinlock *l)
{
	sim_bug_on(l->owner != t);
	lock_released(t, &l->dep);
	sim_sync(t);
	lock_word_access(t, &l->line_cpu, &l->dep);
	hw_store(t, &l->raw, 1); /* smp_store_release(&lock->locked, 0) */
	/* The release is visible once the store has its line (the RFO charged above); a
	 * spinner observes it one transfer later. */
	sim_time_t now = t->now;
	l->raw.val &= ~_Q_LOCKED_VAL;
	l->last_owner = t;
	if (!l->raw.val) {
		l->owner = NULL;
		return;
	}
	l->dep.class->handoffs++;
	if (l->pending) {
		struct sim_task *w = l->pending;
		l->pending = NULL;
		l->raw.val = (l->raw.val & ~_Q_PENDING_VAL) | _Q_LOCKED_VAL;
		l->owner = w;
		l->line_cpu = w->cpu;
		wake_spinner(t, w, now + observe(t, w, &l->raw, &l->dep));
		return;
	}
	sim_bug_on(!(l->raw.val & _Q_TAIL_MASK) || !l->qhead);
	int s = node_slot(l->qhead);
	struct sim_task *h = qnode_task[s];
	l->raw.val |= _Q_LOCKED_VAL;
	l->owner = h;
	l->line_cpu = h->cpu;
	wake_spinner(t, h, max_time(now, qnode_head_at[s]) + observe(t, h, &l->raw, &l->dep));
}

/* ---- ticket lock ---- */

void ticket_lock_init(struct ticket_spinlock *l, const char *name)
{
	*l = (struct ticket_spinlock){ .line_cpu = -1 };
	lockdep_init_map(&l->dep, name, false);
}

void _ticket_lock(struct sim_task *t, struct ticket_spinlock *l, const char *site)
{
	sim_sync(t);
	sim_bug_on(l->owner == t);
	lockdep_acquire(t, &l->dep, site);
	sim_time_t t0 = t->now;
	lock_word_access(t, &l->line_cpu, &l->dep);
	hw_rmw(t, l, 4); /* xadd next */
	uint16_t me = l->next++;
	if (me == l->head) {
		l->owner = t;
		lock_acquired(t, &l->dep, LS_WRITE, site, 0, 0);
		return;
	}
	lock_contended(t, &l->dep, LS_WRITE, site, l->owner);
	count_event(&t->stats, EV_SPIN_WAIT);
	waitq_push(&l->waiters, t, me);
	spin_park(t, l->dep.class->name);
	sim_bug_on(l->owner != t || l->head != me);
	lock_acquired(t, &l->dep, LS_WRITE, site, t->now - t0, 0);
}

void ticket_unlock(struct sim_task *t, struct ticket_spinlock *l)
{
	sim_sync(t);
	sim_bug_on(l->owner != t);
	lock_released(t, &l->dep);
	lock_word_access(t, &l->line_cpu, &l->dep);
	hw_store(t, l, 2);
	l->head++;
	unsigned n = l->waiters.len;
	struct sim_task *next = waitq_pop(&l->waiters);
	l->owner = next;
	if (!next)
		return;
	/* All n spinners re-read the line; it is served to one at a time and the next
	 * owner is, on average, halfway through. */
	l->dep.class->handoffs++;
	lock_count_transfer(&l->dep, n);
	l->line_cpu = next->cpu;
	sim_time_t at = t->now + (sim_time_t)((n + 1) / 2) * hw_handoff(t, next, l);
	wake_spinner(t, next, at);
}
