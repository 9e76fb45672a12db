-- quickstart: page_fault1-like (will-it-scale).  Every task repeatedly maps a private
-- anonymous region, writes one byte in each page (one fault per page), and unmaps it.
-- All tasks are threads of one process, so they share mmap_lock: under the classic
-- scheme its cache line bounces on every fault and each munmap stalls the faulters.

local threads = param("threads", 4, "faulting tasks (one per CPU)")
local region_mb = param("region_mb", 2, "size of each task's mapping, MiB")
local duration = param("duration_ms", 10, "simulated time each task keeps going, ms")

return scenario {
  name = "quickstart",
  description = "page_fault1-like: mmap, write every page, munmap, repeat",
  machine = "generic-2s",
  scheme = "classic",
  cpus = threads,
  seed = 1,
  duration_ms = duration,
  check = true,
  tasks = {
    task {
      name = "page_fault1",
      count = threads,
      program = function(t)
        local len = region_mb * MiB
        while alive() do
          local addr = mmap(len)
          touch(addr, len, PAGE_SIZE, "w")
          munmap(addr, len)
        end
      end,
    },
  },
}
