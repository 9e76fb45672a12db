-- base/linux-x86: kernel instruction path lengths shared by the x86-64 presets, which name
-- it as their `base` (a preset is this table with its own fields laid over it).  Not a
-- machine by itself.
--
-- These are instruction path lengths of kernel code, not memory traffic: the cache model
-- charges every modelled access separately.  Only their sum is calibrated, to the
-- single-thread anonymous 4 KiB write fault of ~1.1 us on a 2-socket Ice Lake 8336C
-- (mmtests pft, 898,782 faults/s; Punit Agrawal, msg 87r0uqq1f9.fsf@stealth); the split
-- between the items is judgement (docs/model-hw.md).  They are kept the same on every
-- preset until a per-machine single-thread figure calibrates them.
return {
  path = {
    exception_ns = 220,          -- #PF (and IPI) entry/exit incl. irqentry and iret
    syscall_ns = 150,            -- syscall entry/exit (mmap, munmap)
    fault_core_ns = 140,         -- handle_mm_fault/do_anonymous_page bookkeeping
    vma_alloc_ns = 60,           -- vm_area_struct slab alloc or free
    -- maple node slab alloc or free (mas_preallocate's bulk alloc, mas_destroy's bulk
    -- free of the unused rest, each retired node): derived as half of vma_alloc_ns, the
    -- same SLUB per-CPU freelist fast path without initialising the object's fields
    -- (the writer's stores into the node are charged by the cache model).
    maple_node_alloc_ns = 30,
    page_alloc_ns = 80,          -- pcp pop, struct page init, memcg stock charge
    zone_refill_ns = 400,        -- rmqueue_bulk of one pcp batch under zone->lock
    pte_op_ns = 40,              -- one PTE set or clear with rmap and rss counters
    wakeup_ns = 2000,            -- derived estimate: IPI (2 x 51 ns) + entry/exit +
                                 -- context switch on the woken CPU
    -- A 4 KiB page read into the page cache from a data-centre NVMe SSD, the device's
    -- latency (the task sleeps for it): Intel SSD DC P4510 product specification,
    -- "Latency: Read 77 us" (4 KiB random read, QD1).  Files declared cached = true never
    -- pay it.
    file_read_ns = 77000,
    -- The swap device: the same SSD, 4 KiB pages.  Read as file_read_ns; write: the
    -- same specification's "Latency: Write 18 us" (4 KiB random write, QD1), the
    -- device's write cache absorbing it (Lenovo's product guide for the previous P4500
    -- lists random read 85 us and write 20 us).  The task sleeps for either.
    swap_read_ns = 77000,
    swap_write_ns = 18000,
  },
}
