-- generic-2s: the constant-latency machine used until the cache/TLB model lands.
-- Topology and latencies of a 2-socket Xeon Ice Lake-SP (Platinum 8358/8375C class):
-- 2 sockets x 32 cores, no SMT exposed.  Every plain access costs one L1D hit; there
-- is no cache state, so contention shows only through lock hand-offs and waiting.
-- Sources are ../shared-style citations repeated in docs/model-hw.md.
return {
  name = "generic-2s",
  description = "constant-latency 2 x 32-core Ice Lake-SP-like machine (no cache state)",
  sockets = 2,
  cores_per_socket = 32,      -- Xeon Platinum 8358: 32 cores (Intel ARK)
  threads_per_core = 1,
  mem_gib = 64,
  freq_ghz = 2.6,             -- 8358 base frequency (Intel ARK)
  hw = {
    -- L1D hit, 5 cycles on Ice Lake (Intel 248966, Sunny Cove); 5 / 2.6 GHz
    load_ns = 1.92,
    store_ns = 1.92,
    -- uncontended LOCK CMPXCHG ~18-20 cycles (uops.info CMPXCHG_LOCK_M64_R64); 19 / 2.6 GHz
    rmw_ns = 7.31,
    -- core-to-core CAS ping-pong median, Xeon Platinum 8375C: 51 ns same socket,
    -- 108 ns other socket (github.com/nviennot/core-to-core-latency README)
    transfer_ns = 51,
    transfer_remote_ns = 108,
    -- demand-faulting 2 MiB pages at 7.95 GB/s on Ice Lake 8358 (Ankur Arora,
    -- msg 20250414034607.762653-5-ankur.a.arora@oracle.com): clear_page bandwidth
    zero_gbps = 7.95,
    -- copy reads and writes every line: derived as half the clearing bandwidth
    copy_gbps = 3.97,
    -- wake-up of a sleeping rwsem waiter: an IPI (two line transfers, 2 x 51 ns) plus
    -- interrupt entry/exit and a context switch on the target.  Derived estimate of
    -- ~2 us; to be replaced by the scheduler model's own costs.
    wakeup_ns = 2000,
  },
  path = {
    -- Instruction path lengths, not memory traffic.  Only their sum is calibrated: a
    -- single-thread anonymous 4 KiB write fault costs ~1.1 us incl. zeroing on 2-socket
    -- Ice Lake 8336C (mmtests pft, 898,782 faults/s; Punit Agrawal,
    -- msg 87r0uqq1f9.fsf@stealth).  Zeroing takes 515 ns of that at 7.95 GB/s and the
    -- modelled loads/atomics ~80 ns; the remaining ~500 ns is split below by judgement.
    exception_ns = 220,       -- #PF entry/exit incl. irqentry and return to user
    syscall_ns = 150,         -- syscall entry/exit (mmap, munmap)
    fault_core_ns = 140,      -- handle_mm_fault/do_anonymous_page bookkeeping
    vma_alloc_ns = 60,        -- vm_area_struct slab alloc or free
    -- maple node slab alloc or free (mas_preallocate's bulk alloc, mas_destroy's bulk
    -- free of the unused rest, and each retired node): derived as half of vma_alloc_ns,
    -- the same SLUB per-CPU freelist fast path without initialising the object's fields
    -- (the writer's line stores into the node are charged separately by the model).
    maple_node_alloc_ns = 30,
    page_alloc_ns = 80,       -- pcp pop, struct page init, memcg stock charge
    zone_refill_ns = 400,     -- rmqueue_bulk of one pcp batch under zone->lock
    pte_op_ns = 40,           -- one PTE set or clear with rmap and rss counters
  },
}
