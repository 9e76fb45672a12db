/*
 * VMAs in an array sorted by vm_start: find_vma is a binary search, each probe loading the
 * probed VMA's first line, as a tree walk loads one node per level.  This stands in for the
 * maple tree (issue: address space), behind the same functions.
 * Every function here needs mmap_lock: read to look up, write to change.
 */
#include "mm.h"
#include "hw/hw.h"
#include "die.h"

/* vm_area_cachep */
static struct kmem_cache vma_cache = { sizeof(struct vm_area_struct), 64, NULL };

struct vm_area_struct *vma_alloc(struct sim_task *t, struct mm_struct *mm, unsigned long start,
				 unsigned long end, unsigned long flags)
{
	struct vm_area_struct *vma = kmem_cache_alloc(&vma_cache);

	cpu_work(t, t->machine->path.vma_alloc);
	hw_store(t, vma, sizeof(*vma));
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_mm = mm;
	vma->vm_flags = flags;
	vma->vm_page_prot = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED |
			    ((flags & VM_WRITE) ? _PAGE_RW | _PAGE_DIRTY : 0);
	return vma;
}

void vma_free(struct sim_task *t, struct vm_area_struct *vma)
{
	cpu_work(t, t->machine->path.vma_alloc);
	kmem_cache_free(&vma_cache, vma);
}

/* Index of the first VMA with vm_end > addr (== len if none). */
static unsigned vma_search(struct sim_task *t, struct mm_struct *mm, unsigned long addr)
{
	unsigned lo = 0, hi = mm->vmas->len;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		struct vm_area_struct *v = g_ptr_array_index(mm->vmas, mid);
		if (t)
			hw_load(t, v, 16);
		if (v->vm_end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

unsigned vma_index_after(struct mm_struct *mm, unsigned long addr)
{
	return vma_search(NULL, mm, addr);
}

/* The first VMA with vm_end > addr, or NULL; it may start above addr. */
struct vm_area_struct *find_vma(struct sim_task *t, struct mm_struct *mm, unsigned long addr)
{
	unsigned i = vma_search(t, mm, addr);
	return i < mm->vmas->len ? g_ptr_array_index(mm->vmas, i) : NULL;
}

void vma_insert(struct sim_task *t, struct mm_struct *mm, struct vm_area_struct *vma)
{
	sim_bug_on(!rwsem_is_write_locked_by(&mm->mmap_lock, t));
	unsigned i = vma_search(t, mm, vma->vm_start);
	if (i < mm->vmas->len) {
		struct vm_area_struct *next = g_ptr_array_index(mm->vmas, i);
		sim_bug_on(next->vm_start < vma->vm_end);
	}
	g_ptr_array_insert(mm->vmas, (int)i, vma);
}

/* Top-down search for a gap of len bytes below mmap_base (arch_get_unmapped_area_topdown). */
unsigned long get_unmapped_area(struct sim_task *t, struct mm_struct *mm, unsigned long len)
{
	unsigned long high = mm->mmap_base;
	unsigned i = vma_search(t, mm, high);

	while (i > 0) {
		struct vm_area_struct *prev = g_ptr_array_index(mm->vmas, i - 1);
		hw_load(t, prev, 16);
		if (prev->vm_end < high && high - prev->vm_end >= len)
			return high - len;
		if (prev->vm_start < high)
			high = prev->vm_start;
		i--;
	}
	if (high >= MMAP_MIN_ADDR + len)
		return high - len;
	return 0;
}

void vma_split_at(struct sim_task *t, struct mm_struct *mm, unsigned long addr)
{
	sim_bug_on(!rwsem_is_write_locked_by(&mm->mmap_lock, t));
	unsigned i = vma_search(t, mm, addr);
	if (i == mm->vmas->len)
		return;
	struct vm_area_struct *vma = g_ptr_array_index(mm->vmas, i);
	if (vma->vm_start >= addr)
		return;
	/* __split_vma: the new VMA takes the upper part. */
	struct vm_area_struct *new = vma_alloc(t, mm, addr, vma->vm_end, vma->vm_flags);
	new->vm_page_prot = vma->vm_page_prot;
	hw_store(t, vma, 16);
	vma->vm_end = addr;
	g_ptr_array_insert(mm->vmas, (int)i + 1, new);
}

void vma_detach_range(struct sim_task *t, struct mm_struct *mm, unsigned long start,
		      unsigned long end, GPtrArray *detached)
{
	sim_bug_on(!rwsem_is_write_locked_by(&mm->mmap_lock, t));
	unsigned i = vma_search(t, mm, start), n = 0;
	while (i + n < mm->vmas->len) {
		struct vm_area_struct *v = g_ptr_array_index(mm->vmas, i + n);
		if (v->vm_start >= end)
			break;
		sim_bug_on(v->vm_start < start || v->vm_end > end);
		g_ptr_array_add(detached, v);
		n++;
	}
	if (n)
		g_ptr_array_remove_range(mm->vmas, i, n);
}
