-- pft: the page fault test (mmtests pft, threads mode).  Each thread maps its own large
-- anonymous region once and writes one byte in every page, so every access is a first
-- touch: pure anonymous fault throughput, with no munmap in the measured loop.  At the
-- defaults, 64 threads take 64 x 16384 = 1,048,576 faults.

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
        local a = mmap(len)
        touch(a, len, PAGE_SIZE, "w")
      end,
    },
  },
}
