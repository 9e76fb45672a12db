-- icelake-sp-2s: two Xeon Platinum 8358 (Ice Lake-SP, 32 cores each, SMT on: 128 CPUs).
--
-- Sources (rows of ../shared/reference/hardware-costs.md unless a document is named):
--   [C2C-A]  github.com/nviennot/core-to-core-latency README (CAS ping-pong, one-way median)
--   [C2C-B]  github.com/KCORES/core-to-core-latency-plus raw CSVs, percentile analysis
--   [INTEL]  Intel 64 and IA-32 Architectures Optimization Reference Manual (248966):
--            Skylake table 2-15 (what hardware-costs.md quotes) and the Sunny Cove /
--            Ice Lake section (sizes only; low confidence where marked)
--   [NHM]    Intel performance analysis guide for Xeon 5500 (DRAM latencies, old: low
--            confidence for a 2021 part)
--   [UOPS]   uops.info CMPXCHG_LOCK_M64_R64 (Alder Lake)
--   [MOLNAR] Ingo Molnar, linux-mm 2015, quoting commit a5102476a24b (INVLPG, CR3 write)
--   [HANSEN] Dave Hansen, msg 20140218193017.ECDF1089@viggo.jf.intel.com
--            (flush_tlb_mm_range cycles by pages; ceiling 33)
--   [PCW]    PC Watch, Haswell measurements, 2013-06-21, p.15 (L2 TLB hit ~12 cycles)
--   [ARORA]  Ankur Arora, msg 20250414034607.762653-5-ankur.a.arora@oracle.com
--   derived  arithmetic on the numbers above, shown next to the value
return {
  base = "base/linux-x86",   -- kernel path lengths (instruction counts, not memory)
  name = "icelake-sp-2s",
  description = "2 x Xeon Platinum 8358 (Ice Lake-SP), 2 x 32 cores, SMT: 128 CPUs",
  sockets = 2,
  cores_per_socket = 32,        -- Xeon Platinum 8358: 32 cores (the [C2C-B] machine)
  threads_per_core = 2,         -- Hyper-Threading on, as the [C2C-A] 8375C run
  llc_per_socket = 1,           -- one mesh LLC per socket
  nodes_per_socket = 1,         -- SNC off
  mem_gib = 64,
  freq_ghz = 2.6,               -- 8358 base frequency (Intel ARK)
  cache = {
    l1d_kib = 48, l1d_ways = 12, -- Sunny Cove L1D [INTEL]
    l1d_cycles = 5,              -- Sunny Cove load-to-use [INTEL]
    l2_kib = 1280, l2_ways = 20, -- Ice Lake-SP L2 1.25 MiB [INTEL] (low confidence)
    l2_cycles = 14,              -- Skylake-SP L2 ~14 cycles [INTEL, hardware-costs.md]
    llc_kib = 49152, llc_ways = 12, -- 1.5 MiB per core x 32 (Intel ARK: 48 MB)
    llc_cycles = 44,             -- Skylake L3 fastest slice [INTEL]; no Ice Lake row
    dram_local_ns = 60,          -- [NHM] local DRAM ~60 ns
    dram_remote_ns = 100,        -- [NHM] remote DRAM ~100 ns
  },
  coherence = {
    smt_ns = 8.1,                -- Xeon Platinum 8375C (Ice Lake-SP) SMT sibling [C2C-A]
    llc_ns = 51,                 -- Xeon Platinum 8358 same socket median [C2C-B]
    socket_ns = 51,              -- no second LLC domain per socket: same as llc_ns
    remote_ns = 111,             -- Xeon Platinum 8358 other socket median [C2C-B]
    rmw_cycles = 19,             -- uncontended LOCK CMPXCHG 18-20 cycles [UOPS]
  },
  tlb = {
    l1_4k_entries = 64, l1_4k_ways = 4,  -- Skylake L1 dTLB [INTEL table 2-15]
    l1_2m_entries = 32, l1_2m_ways = 4,  -- Skylake [INTEL table 2-15]
    stlb_entries = 2048, stlb_ways = 16, -- Sunny Cove STLB [INTEL] (low confidence)
    stlb_hit_cycles = 12,        -- [PCW] (Haswell measurement)
    pcid = true,
    invlpg_cycles = 260,         -- [MOLNAR]
    flush_base_cycles = 1016,    -- derived from [HANSEN]: 1 page 1276 cycles, 32 pages
                                 -- 9350: slope 260.4/page (= INVLPG), intercept 1016
    cr3_flush_cycles = 96,       -- [MOLNAR]
    flush_ceiling = 33,          -- [HANSEN], tlb_single_page_flush_ceiling
  },
  hw = {
    zero_gbps = 7.95,            -- demand-faulting 2 MiB pages, Ice Lake 8358 [ARORA]
    copy_gbps = 3.97,            -- derived: a copy reads and writes, half of zero_gbps
  },
}
