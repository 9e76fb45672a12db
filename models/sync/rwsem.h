/*
 * rw_semaphore with the kernel's queueing rules (kernel/locking/rwsem.c, v5.11+):
 *  - a reader gets the lock at once only if no writer holds it and nobody is queued,
 *    so one queued writer stalls every new reader (and every trylock fails);
 *  - waiters queue FIFO and sleep; a sleeping waiter pays a wake-up latency;
 *  - a writer's release wakes the writer at the head, or every queued reader;
 *  - downgrade turns the writer into a reader and wakes the readers at the head.
 * Not yet modelled: optimistic spinning, reader lock stealing and the 4 ms hand-off.
 */
#ifndef MMSIM_RWSEM_H
#define MMSIM_RWSEM_H

#include <stdbool.h>
#include "waitq.h"

struct rw_semaphore {
	long count;              /* readers holding it; -1 while write-locked */
	struct sim_task *owner;  /* the writer, if write-locked */
	struct waitq waiters;    /* FIFO; wait_flags says reader or writer */
	const char *name;        /* lock class */
} __attribute__((aligned(64)));

void init_rwsem(struct rw_semaphore *sem, const char *name);
/* Each returns true if the caller had to wait. */
bool down_read(struct sim_task *t, struct rw_semaphore *sem);
bool down_write(struct sim_task *t, struct rw_semaphore *sem);
bool down_read_trylock(struct sim_task *t, struct rw_semaphore *sem);
bool down_write_trylock(struct sim_task *t, struct rw_semaphore *sem);
void up_read(struct sim_task *t, struct rw_semaphore *sem);
void up_write(struct sim_task *t, struct rw_semaphore *sem);
void downgrade_write(struct sim_task *t, struct rw_semaphore *sem);

static inline bool rwsem_is_write_locked_by(const struct rw_semaphore *sem,
					    const struct sim_task *t)
{
	return sem->count == -1 && sem->owner == t;
}

static inline bool rwsem_is_locked(const struct rw_semaphore *sem)
{
	return sem->count != 0;
}

#endif
