-- sapphire-rapids-1s: one Xeon W9-3475X (Sapphire Rapids, 36 cores, SMT on: 72 CPUs).
-- The core-to-core figure is the measured median of that part [C2C-B]; cache and TLB
-- sizes of the Golden Cove core are from [INTEL] with low confidence.
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
  name = "sapphire-rapids-1s",
  description = "1 x Xeon W9-3475X (Sapphire Rapids), 36 cores, SMT: 72 CPUs",
  sockets = 1,
  cores_per_socket = 36,        -- W9-3475X (Intel ARK); the [C2C-B] machine
  threads_per_core = 2,
  llc_per_socket = 1,           -- one LLC across the four tiles' mesh
  nodes_per_socket = 1,
  mem_gib = 64,
  freq_ghz = 2.2,               -- W9-3475X base frequency (Intel ARK)
  cache = {
    l1d_kib = 48, l1d_ways = 12, l1d_cycles = 5,  -- Golden Cove L1D [INTEL] (low confidence)
    l2_kib = 2048, l2_ways = 16, l2_cycles = 16,  -- Golden Cove server L2 2 MiB [INTEL]
                                                  -- (low confidence)
    llc_kib = 84480, llc_ways = 15, -- W9-3475X 82.5 MB (Intel ARK); 15-way (low confidence)
    llc_cycles = 44,             -- Skylake L3 fastest slice [INTEL]; no Sapphire Rapids row
    dram_local_ns = 60,          -- [NHM]
    dram_remote_ns = 100,        -- [NHM] (one socket: unused)
  },
  coherence = {
    smt_ns = 8.1,                -- no Sapphire Rapids SMT figure: Ice Lake-SP 8375C [C2C-A]
    llc_ns = 55,                 -- W9-3475X median (p10 46, p90 64) [C2C-B]
    socket_ns = 55,              -- one LLC domain: same as llc_ns
    remote_ns = 55,              -- one socket: unused
    rmw_cycles = 19,             -- [UOPS]
  },
  tlb = {
    l1_4k_entries = 64, l1_4k_ways = 4,  -- Skylake figures [INTEL table 2-15]; Golden Cove's
    l1_2m_entries = 32, l1_2m_ways = 4,  -- larger load dTLB is not in the reference
    stlb_entries = 2048, stlb_ways = 16, -- [INTEL] Golden Cove STLB (low confidence)
    stlb_hit_cycles = 12,        -- [PCW] (Haswell measurement)
    pcid = true,
    invlpg_cycles = 260,         -- [MOLNAR]
    flush_base_cycles = 1016,    -- derived from [HANSEN] (see icelake-sp-2s)
    cr3_flush_cycles = 96,       -- [MOLNAR]
    flush_ceiling = 33,          -- [HANSEN]
  },
  hw = {
    zero_gbps = 7.95,            -- [ARORA] Ice Lake 8358 figure: no Sapphire Rapids row
    copy_gbps = 3.97,            -- derived: half of zero_gbps
  },
}
