-- Faulting threads and khugepaged on one mm: how long does a collapse stall faults?
-- Each thread maps a fresh 4 MiB region per round, writes the aligned 2 MiB in it with
-- 4 KiB faults, and marks it MADV_HUGEPAGE; khugepaged (on a CPU of its own) collapses
-- the marked ranges while the threads go on faulting in new ones.  results.json's
-- "khugepaged" member has each collapse's lock hold times and IPIs, and the latency of
-- the faults that overlapped a collapse window against the others; lock_stat.txt ends
-- with the same as a table.  Choose the scheme with --set collapse=<name> (mmsim list
-- collapse, docs/schemes/collapse-*.md), the fault scheme with --set scheme=..., the lock
-- granularity with --set ptl=...
local threads = param("threads", 7, "faulting threads (cpus = threads + 1)")
local rounds = param("rounds", 6, "2 MiB ranges each thread faults in and marks")
local collapse = param("collapse", "read-swapin", "khugepaged's collapse scheme (mmsim list collapse)")
local HUGE = 2 * 1024 * 1024

return scenario {
  description = "faulting threads and khugepaged: fault latency and lock hold times per collapse scheme",
  cpus = threads + 1,
  thp = "madvise",
  collapse = collapse,
  khugepaged_scan_sleep_ms = 0.1,
  tasks = {
    task { name = "faulter", count = threads, program = function()
      local old = {}
      for r = 1, rounds do
        local base = mmap(2 * HUGE)
        local h = (base + HUGE - 1) & ~(HUGE - 1)
        touch(h, HUGE, PAGE_SIZE, "w")
        assert(madvise(h, HUGE, "hugepage"))
        -- read back an earlier range: by now perhaps through a huge PMD
        if #old > 0 then touch(old[rand(1, #old)], HUGE, 16 * PAGE_SIZE, "r") end
        old[#old + 1] = h
      end
    end },
  },
}
