-- skylake-sp-2s: two 28-core Skylake-SP XCC parts (Xeon Platinum 8180 class, SMT on: 112
-- CPUs).  Core-to-core figures are from the Cascade Lake 8275CL, the same XCC die and mesh.
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
  name = "skylake-sp-2s",
  description = "2 x 28-core Skylake-SP (Xeon Platinum 8180 class), SMT: 112 CPUs",
  sockets = 2,
  cores_per_socket = 28,        -- XCC die, 28 cores (Intel ARK, 8180 / 8275CL)
  threads_per_core = 2,
  llc_per_socket = 1,           -- one mesh LLC per socket
  nodes_per_socket = 1,         -- SNC off
  mem_gib = 64,
  freq_ghz = 2.5,               -- Xeon Platinum 8180 base frequency (Intel ARK)
  cache = {
    l1d_kib = 32, l1d_ways = 8, l1d_cycles = 4,   -- Skylake L1D [INTEL table 2-15]
    l2_kib = 1024, l2_ways = 16, l2_cycles = 14,  -- Skylake-SP L2 1 MiB ~14 cycles [INTEL];
                                                  -- 16-way (low confidence)
    llc_kib = 39424, llc_ways = 11,  -- 1.375 MiB per core x 28 (Intel ARK: 38.5 MB), 11-way
    llc_cycles = 44,             -- Skylake L3 fastest slice [INTEL]
    dram_local_ns = 60,          -- [NHM]
    dram_remote_ns = 100,        -- [NHM]
  },
  coherence = {
    smt_ns = 7.6,                -- Xeon Platinum 8275CL SMT sibling [C2C-A]
    llc_ns = 47,                 -- Xeon Platinum 8275CL same socket [C2C-A]
    socket_ns = 47,              -- no second LLC domain per socket: same as llc_ns
    remote_ns = 134,             -- Xeon Platinum 8275CL other socket [C2C-A]
    rmw_cycles = 19,             -- [UOPS]
  },
  tlb = {
    l1_4k_entries = 64, l1_4k_ways = 4,  -- [INTEL table 2-15]
    l1_2m_entries = 32, l1_2m_ways = 4,  -- [INTEL table 2-15]
    stlb_entries = 1536, stlb_ways = 12, -- 1536 shared 4 KiB/2 MiB [INTEL table 2-15];
                                         -- 12-way (low confidence)
    stlb_hit_cycles = 12,        -- [PCW] (Haswell measurement)
    pcid = true,
    invlpg_cycles = 260,         -- [MOLNAR]
    flush_base_cycles = 1016,    -- derived from [HANSEN] (see icelake-sp-2s)
    cr3_flush_cycles = 96,       -- [MOLNAR]
    flush_ceiling = 33,          -- [HANSEN]
  },
  hw = {
    zero_gbps = 7.95,            -- [ARORA] Ice Lake 8358 figure: no Skylake-SP row
    copy_gbps = 3.97,            -- derived: half of zero_gbps
  },
}
