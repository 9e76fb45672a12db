/*
 * Interrupt masking and the IPIs it holds back (irq.h).
 *
 * Each task keeps its current or last disabled section [irqs_off_from, irqs_on_at).
 * Both ends are set at synchronisation points, so a sender that has synchronised sees
 * every section that began before its own time.  A sender that finds the section still
 * open registers on the target (irq_waiters) and parks; local_irq_enable wakes it at the
 * time its acknowledgement arrives, once the last of its blocked targets has answered.
 */
#include <glib.h>
#include "irq.h"
#include "clock.h"
#include "die.h"

/* One sender blocked on a CPU with interrupts disabled. */
struct irq_waiter {
	struct sim_task *sender;
	sim_time_t ack_after;   /* ps from the target's local_irq_enable to the ack */
	struct irq_wait *wait;
};

/* A sender's wait for all of its blocked targets. */
struct irq_wait {
	unsigned pending;       /* targets that have not enabled interrupts yet */
	sim_time_t last_ack;    /* ps, latest acknowledgement so far */
};

void local_irq_disable(struct sim_task *t)
{
	sim_bug_on(t->irqs_off);
	/* Senders at earlier times have delivered their IPIs before the section opens. */
	sim_sync(t);
	t->irqs_off = true;
	t->irqs_off_from = t->now;
	t->irqs_on_at = SIM_TIME_MAX;
}

void local_irq_enable(struct sim_task *t)
{
	sim_bug_on(!t->irqs_off);
	sim_sync(t);
	t->irqs_off = false;
	t->irqs_on_at = t->now;
	GPtrArray *w = t->irq_waiters;
	if (!w || !w->len)
		return;
	for (unsigned i = 0; i < w->len; i++) {
		struct irq_waiter *iw = g_ptr_array_index(w, i);
		sim_time_t ack = t->now + iw->ack_after;
		if (ack > iw->wait->last_ack)
			iw->wait->last_ack = ack;
		if (!--iw->wait->pending)
			sim_unpark(t, iw->sender, iw->wait->last_ack);
		g_free(iw);
	}
	g_ptr_array_set_size(w, 0);
}

sim_time_t irq_handler_start(const struct sim_task *target, sim_time_t arrival)
{
	if (arrival < target->irqs_off_from || target->irqs_off_from == target->irqs_on_at)
		return arrival;
	if (target->irqs_off)
		return SIM_TIME_MAX;
	return arrival < target->irqs_on_at ? target->irqs_on_at : arrival;
}

void irq_wait_enable(struct sim_task *t, struct sim_task *const *targets,
		     const sim_time_t *ack_after, unsigned n)
{
	struct irq_wait wait = { .pending = n, .last_ack = t->now };
	if (!n)
		return;
	for (unsigned i = 0; i < n; i++) {
		struct sim_task *k = targets[i];
		sim_bug_on(!k->irqs_off);
		struct irq_waiter *iw = g_new(struct irq_waiter, 1);
		*iw = (struct irq_waiter){ .sender = t, .ack_after = ack_after[i], .wait = &wait };
		if (!k->irq_waiters)
			k->irq_waiters = g_ptr_array_new();
		g_ptr_array_add(k->irq_waiters, iw);
	}
	sim_park(t, "TLB shootdown IPI to a CPU with interrupts disabled");
}
