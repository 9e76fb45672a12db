-- pft: the page fault test (mmtests pft, threads mode).  Each thread maps its own large
-- anonymous region, all threads meet at a barrier, then each writes one byte in every
-- page of its region, so every access is a first touch: pure anonymous fault throughput,
-- with no mmap or munmap in the measured phase.  At the defaults, 64 threads take
-- 64 x 16384 = 1,048,576 faults.  Reported: each thread's faults per simulated second in
-- the measured phase (summary.csv column faults_per_s_per_thread, the mean over threads).

local threads = param("threads", 64, "faulting threads (one per CPU)")
local region_mb = param("region_mb", 64, "each thread's region, MiB")

return scenario {
  name = "pft",
  description = "pft-threads-like: each thread faults its own large region, one byte per page",
  machine = "generic-2s",
  scheme = "classic",
  cpus = threads,
  seed = 1,
  check = false,
  tasks = {
    task {
      name = "pft",
      count = threads,
      program = function(t)
        local len = region_mb * MiB
        -- Its own VMA: regions a gap apart (hints), so that neighbours do not merge.
        local a = mmap(len, { addr = 0x7e0000000000 - t.index * (len + PAGE_SIZE) })
        local barrier = shared("barrier")
        shm_add(barrier, 0, 1)
        shm_wait(barrier, 0, threads)
        local t0 = now()
        touch(a, len, PAGE_SIZE, "w")
        report("faults_per_s_per_thread", (len / PAGE_SIZE) / ((now() - t0) / 1e9))
      end,
    },
  },
}
