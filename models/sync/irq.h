/*
 * local_irq_disable / local_irq_enable on a simulated CPU, and what they do to TLB
 * shootdowns: an IPI that reaches a CPU with interrupts disabled waits for
 * local_irq_enable, and so does the CPU that sent it (smp_call_function_many_cond spins
 * for every acknowledgement).  This is the barrier lockless page walkers relied on
 * before MMU_GATHER_RCU_TABLE_FREE: a table is freed only after the flush IPIs are
 * acknowledged, so a walk with interrupts off never sees it freed (the classic
 * gup_fast argument; SPF's IRQs-off walk, docs/schemes/spf.md).
 *
 * CLI and STI themselves are a few cycles and are not charged.
 */
#ifndef MMSIM_SYNC_IRQ_H
#define MMSIM_SYNC_IRQ_H

#include "task.h"

void local_irq_disable(struct sim_task *t);
void local_irq_enable(struct sim_task *t);

/*
 * For the IPI sender (models/hw/tlb.c): the interrupt sent to `target` arrives at
 * `arrival`.  Returns the time its handler can start: `arrival` if interrupts were on
 * then, the end of the disabled section that covered it if that section is over, or
 * SIM_TIME_MAX if the target is still inside it (the sender must then wait with
 * irq_wait_enable).
 */
sim_time_t irq_handler_start(const struct sim_task *target, sim_time_t arrival);

/*
 * The sender waits for the targets whose sections were still open (irq_handler_start
 * returned SIM_TIME_MAX): targets[i] acknowledges `ack_after[i]` ps after it enables
 * interrupts.  Parks t until the last acknowledgement and returns with t->now at it
 * (the wait is the caller's to account).
 */
void irq_wait_enable(struct sim_task *t, struct sim_task *const *targets,
		     const sim_time_t *ack_after, unsigned n);

#endif
