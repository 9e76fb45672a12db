-- zen4-genoa-2s: two AMD EPYC 9654 (Zen 4 Genoa, 96 cores each in 12 CCXs of 8, SMT on:
-- 384 CPUs).  The CCX is the LLC domain: a line moving between CCXs of one socket crosses
-- the I/O die, nearly as far as another socket's core on Intel.
--
-- Sources (rows of ../shared/reference/hardware-costs.md unless a document is named):
--   [C2C-A]  github.com/nviennot/core-to-core-latency README (CAS ping-pong, one-way median)
--   [C2C-B]  github.com/KCORES/core-to-core-latency-plus raw CSVs (dual EPYC 9654)
--   [ANAND]  AnandTech review 12625 (AMD's Zen+ figures: L1 0.95, L2 3.0, L3 9.2 ns)
--   [MLC]    unattributed MLC note, Genoa DRAM local ~107 / remote ~200 ns (low confidence)
--   [ZEN2]   WikiChip Zen 2; 7-cpu.com Zen2 (TLB geometry)
--   [UOPS]   uops.info CMPXCHG_LOCK_M64_R64 (Alder Lake; no AMD row)
--   [MOLNAR], [HANSEN]  Intel INVLPG/CR3/flush figures (no AMD row; see icelake-sp-2s)
--   [PCW]    PC Watch, Haswell measurements, 2013-06-21 (L2 TLB hit ~12 cycles; no AMD row)
--   [ARORA]  Ankur Arora, msg 20250414034607.762653-5-ankur.a.arora@oracle.com
--   derived  arithmetic on the numbers above, shown next to the value
return {
  base = "base/linux-x86",   -- kernel path lengths (instruction counts, not memory)
  name = "zen4-genoa-2s",
  description = "2 x AMD EPYC 9654 (Zen 4 Genoa), 2 x 96 cores in 8-core CCXs, SMT: 384 CPUs",
  sockets = 2,
  cores_per_socket = 96,        -- EPYC 9654 (AMD product page); the [C2C-B] machine
  threads_per_core = 2,
  llc_per_socket = 12,          -- 12 CCDs of one 8-core CCX each
  nodes_per_socket = 1,         -- NPS1
  mem_gib = 64,
  freq_ghz = 2.4,               -- EPYC 9654 base frequency (AMD product page)
  cache = {
    l1d_kib = 32, l1d_ways = 8,  -- Zen L1D 32 KiB 8-way (AMD; as [ANAND])
    l1d_cycles = 4,              -- derived: [ANAND] 0.95 ns x ~4.2 GHz (Zen+ test clock)
    l2_kib = 1024, l2_ways = 8,  -- Zen 4 L2 1 MiB 8-way (AMD product page; low confidence)
    l2_cycles = 13,              -- derived: [ANAND] 3.0 ns x ~4.2 GHz
    llc_kib = 32768, llc_ways = 16, -- 32 MB L3 per CCX (AMD product page), 16-way
    llc_cycles = 39,             -- derived: [ANAND] 9.2 ns x ~4.2 GHz
    dram_local_ns = 107,         -- [MLC] (low confidence)
    dram_remote_ns = 200,        -- [MLC] (low confidence)
  },
  coherence = {
    smt_ns = 9.8,                -- no Zen 4 SMT figure: EPYC 7R13 (Zen 3) [C2C-A]
    llc_ns = 25,                 -- derived: middle of 20-30 ns, same CCX [C2C-B]
    socket_ns = 97.5,            -- derived: middle of 90-105 ns, other CCX [C2C-B]
    remote_ns = 187.5,           -- derived: middle of 180-195 ns, other socket [C2C-B]
    rmw_cycles = 19,             -- [UOPS]
  },
  tlb = {
    l1_4k_entries = 64, l1_4k_ways = 64, -- Zen 2 L1 dTLB 64 fully associative [ZEN2]
    l1_2m_entries = 64, l1_2m_ways = 64, -- the same array holds 2 MiB entries [ZEN2]
    stlb_entries = 2048, stlb_ways = 12, -- Zen 2 L2 dTLB 2048 12-way [ZEN2] (170 whole
                                         -- sets: 2040 entries modelled)
    stlb_hit_cycles = 12,        -- [PCW] (Intel Haswell; no AMD figure)
    pcid = true,
    invlpg_cycles = 260,         -- [MOLNAR] (Intel; no AMD figure)
    flush_base_cycles = 1016,    -- derived from [HANSEN] (Intel; see icelake-sp-2s)
    cr3_flush_cycles = 96,       -- [MOLNAR] (Intel)
    flush_ceiling = 33,          -- [HANSEN], the kernel's ceiling is vendor independent
  },
  hw = {
    zero_gbps = 11.9,            -- demand-faulting 2 MiB pages on Milan (Zen 3) [ARORA]
    copy_gbps = 5.95,            -- derived: half of zero_gbps
  },
}
