/*
 * mmap_lock and the writer side of the per-VMA locks (mm/mmap_lock.c, include/linux/
 * mmap_lock.h, Linux 6.4 and ≈6.15).  Spec: ../shared/reference/kernel-algorithms.md
 * B.1-B.2, D.1, D.4, D.6; locking rules: docs/locking.md.
 *
 * Every scheme takes mmap_lock through these functions, so the mm_lock_seq bookkeeping
 * exists once.  A VMA is write-locked by stamping vm_lock_seq with the mm's current
 * mm_lock_seq while holding mmap_lock for write; there is no per-VMA unlock: the
 * increment of mm_lock_seq at mmap_write_unlock or mmap_write_downgrade releases every
 * VMA write lock of the section at once.
 *
 * VMA_LOCK_NONE (a kernel without CONFIG_PER_VMA_LOCK) skips all of it, so classic pays
 * nothing for the per-VMA machinery.
 */
#include "mm.h"
#include "hw/hw.h"
#include "die.h"

void mmap_read_lock(struct sim_task *t, struct mm_struct *mm)
{
	/* mmap_read_trylock first, then the blocking down_read (A.3).  Whether the atomic
	 * pays an RFO is counted (the knob prefetchw is about exactly that); the sync is
	 * the one the trylock does, made first so the probe sees the line in time order. */
	sim_sync(t);
	if (!hw_owns(t, &mm->mmap_lock))
		count_event(&t->stats, EV_MMAP_LOCK_TRYLOCK_RFO);
	if (down_read_trylock(t, &mm->mmap_lock))
		return;
	count_event(&t->stats, EV_MMAP_LOCK_READ_WAIT);
	down_read(t, &mm->mmap_lock);
}

void mmap_read_unlock(struct sim_task *t, struct mm_struct *mm)
{
	up_read(t, &mm->mmap_lock);
}

/*
 * SPF's mm->mmap_seq (2022 patchset, patch 10/35): ++ after taking mmap_lock for write
 * (odd: a writer is inside) and ++ before releasing or downgrading it.  The count is kept
 * for every mm; only a speculative mm pays for it (the store to MM.SEQ, and the
 * synchronisation that orders it against lockless readers in simulated time), so a
 * kernel without speculative faults costs what it did.
 */
static void mmap_seq_bump(struct sim_task *t, struct mm_struct *mm)
{
	rwsem_assert_held_write(t, &mm->mmap_lock);
	if (mm->speculative) {
		sim_sync(t);
		hw_store(t, mm_seq_line(mm, &mm->mmap_seq), sizeof(mm->mmap_seq)); /* with smp_wmb */
	}
	mm->mmap_seq++;
}

void mmap_write_lock(struct sim_task *t, struct mm_struct *mm)
{
	if (down_write(t, &mm->mmap_lock))
		count_event(&t->stats, EV_MMAP_LOCK_WRITE_WAIT);
	mmap_seq_bump(t, mm);
}

/*
 * vma_end_write_all: mm_lock_seq++ (6.5+: store-release, so a reader that sees the new
 * value also sees every VMA change of the section).  Lockless readers compare against
 * it, so it is applied in simulated-time order.
 */
static void vma_end_write_all(struct sim_task *t, struct mm_struct *mm)
{
	if (mm->vma_lock_kind == VMA_LOCK_NONE)
		return;
	rwsem_assert_held_write(t, &mm->mmap_lock);
	sim_sync(t);
	hw_store(t, mm_seq_line(mm, &mm->mm_lock_seq), sizeof(mm->mm_lock_seq));
	mm->mm_lock_seq++;
}

void mmap_write_unlock(struct sim_task *t, struct mm_struct *mm)
{
	vma_end_write_all(t, mm);
	mmap_seq_bump(t, mm);
	up_write(t, &mm->mmap_lock);
}

void mmap_write_downgrade(struct sim_task *t, struct mm_struct *mm)
{
	vma_end_write_all(t, mm);
	mmap_seq_bump(t, mm);
	downgrade_write(t, &mm->mmap_lock);
}

/* Still write-locked in this section?  mm_lock_seq is stable under mmap_lock (W). */
static bool vma_write_locked_now(struct sim_task *t, const struct vm_area_struct *vma)
{
	const struct mm_struct *mm = vma->vm_mm;
	hw_load(t, &vma->vm_lock_seq, sizeof(vma->vm_lock_seq));
	hw_load(t, mm_seq_line(mm, &mm->mm_lock_seq), sizeof(mm->mm_lock_seq));
	return vma->vm_lock_seq == mm->mm_lock_seq;
}

/* __vma_enter_locked's wait: only the writer's offset (and the attach reference, unless
 * detaching) is left. */
static bool vma_readers_gone(void *arg)
{
	const struct vm_area_struct *vma = arg;
	return vma->vm_refcnt.refs == VMA_LOCK_OFFSET + 1;
}

static bool vma_readers_gone_detaching(void *arg)
{
	const struct vm_area_struct *vma = arg;
	return vma->vm_refcnt.refs == VMA_LOCK_OFFSET;
}

/* 6.15 __vma_start_write: exclude readers by adding VMA_LOCK_OFFSET, wait for those
 * inside (rcuwait on the mm), stamp, then let readers in again. */
static void vma_start_write_refcnt(struct sim_task *t, struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct refcount *rc = &vma->vm_refcnt;

	sim_sync(t);
	hw_rmw(t, &rc->refs, sizeof(rc->refs)); /* refcount_add_not_zero */
	if (rc->refs == 0) {
		/* Detached (not yet attached): no reader can take a reference. */
		hw_store(t, &vma->vm_lock_seq, sizeof(vma->vm_lock_seq));
		vma->vm_lock_seq = mm->mm_lock_seq;
		return;
	}
	rc->refs += VMA_LOCK_OFFSET;
	if (rc->refs != VMA_LOCK_OFFSET + 1) {
		count_event(&t->stats, EV_VMA_WRITE_WAIT);
		rcuwait_wait_event(t, &mm->vma_writer_wait, vma_readers_gone, vma);
	}
	hw_store(t, &vma->vm_lock_seq, sizeof(vma->vm_lock_seq));
	vma->vm_lock_seq = mm->mm_lock_seq;
	sim_sync(t);
	hw_rmw(t, &rc->refs, sizeof(rc->refs));
	rc->refs -= VMA_LOCK_OFFSET;
}

void vma_start_write(struct sim_task *t, struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;

	if (mm->vma_lock_kind == VMA_LOCK_NONE)
		return;
	rwsem_assert_held_write(t, &mm->mmap_lock);
	if (vma_write_locked_now(t, vma))
		return;
	if (mm->vma_lock_kind == VMA_LOCK_REFCNT) {
		vma_start_write_refcnt(t, vma);
		return;
	}
	/* 6.4: down_write waits until every reader in flight on this VMA has finished its
	 * whole fault; readers arriving meanwhile fail their trylock (a writer is queued). */
	if (down_write(t, &vma->vm_lock->lock))
		count_event(&t->stats, EV_VMA_WRITE_WAIT);
	hw_store(t, &vma->vm_lock_seq, sizeof(vma->vm_lock_seq));
	vma->vm_lock_seq = mm->mm_lock_seq;
	up_write(t, &vma->vm_lock->lock);
}

void vma_assert_write_locked(const struct sim_task *t, const struct vm_area_struct *vma)
{
	const struct mm_struct *mm = vma->vm_mm;

	if (mm->vma_lock_kind == VMA_LOCK_NONE)
		return;
	sim_bug_on(!rwsem_is_write_locked_by(&mm->mmap_lock, t));
	if (vma->vm_lock_seq != mm->mm_lock_seq)
		sim_die("VMA [0x%lx, 0x%lx) changed without vma_start_write", vma->vm_start,
			vma->vm_end);
}

/* After vm_start/vm_end/vm_mm are set (6.15: refcount_set_release(1)). */
void vma_mark_attached(struct sim_task *t, struct vm_area_struct *vma)
{
	switch (vma->vm_mm->vma_lock_kind) {
	case VMA_LOCK_NONE:
		return;
	case VMA_LOCK_RWSEM:
		vma->detached = false;
		return;
	case VMA_LOCK_REFCNT:
		sim_sync(t);
		hw_store(t, &vma->vm_refcnt.refs, sizeof(vma->vm_refcnt.refs));
		sim_bug_on(vma->vm_refcnt.refs != 0);
		vma->vm_refcnt.refs = 1;
		return;
	}
}

/*
 * The VMA has left mm_mt.  Needs the VMA write lock, so no reader holds it for a fault;
 * 6.15 may still meet transient readers (a failed inc that has not backed out yet) and
 * waits for them before the count reaches 0.
 */
void vma_mark_detached(struct sim_task *t, struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;

	if (mm->vma_lock_kind == VMA_LOCK_NONE)
		return;
	vma_assert_write_locked(t, vma);
	if (mm->vma_lock_kind == VMA_LOCK_RWSEM) {
		hw_store(t, &vma->detached, sizeof(vma->detached));
		vma->detached = true;
		return;
	}
	struct refcount *rc = &vma->vm_refcnt;
	sim_sync(t);
	hw_rmw(t, &rc->refs, sizeof(rc->refs));
	if (--rc->refs == 0)
		return;
	/* Transient readers: exclude further ones, wait, then drop to 0. */
	rc->refs += VMA_LOCK_OFFSET;
	count_event(&t->stats, EV_VMA_WRITE_WAIT);
	rcuwait_wait_event(t, &mm->vma_writer_wait, vma_readers_gone_detaching, vma);
	sim_sync(t);
	hw_rmw(t, &rc->refs, sizeof(rc->refs));
	rc->refs -= VMA_LOCK_OFFSET;
	sim_bug_on(rc->refs != 0);
}

/* vma_refcount_put: the reader's release; the last reader before a waiting writer wakes
 * it (the rcuwait lives in the mm, which outlives its VMAs here). */
void vma_refcount_put(struct sim_task *t, struct vm_area_struct *vma)
{
	struct refcount *rc = &vma->vm_refcnt;
	sim_sync(t);
	hw_rmw(t, &rc->refs, sizeof(rc->refs));
	sim_bug_on(rc->refs <= 1 || rc->refs == VMA_LOCK_OFFSET); /* no reader reference */
	int left = --rc->refs;
	if ((left & VMA_LOCK_OFFSET) && left <= VMA_LOCK_OFFSET + 1)
		rcuwait_wake_up(t, &vma->vm_mm->vma_writer_wait);
}
