-- Faulting threads and khugepaged on one mm: how long does a collapse stall faults?
-- Each thread first faults in `ranges` aligned 2 MiB ranges with 4 KiB pages and marks
-- them MADV_HUGEPAGE; then, with no more mmap_lock writers of its own, it write-faults a
-- separate region page by page (4 KiB faults: that region is not marked) and now and then
-- reads one of its marked ranges.  khugepaged (on a CPU of its own) collapses the marked
-- ranges meanwhile, so every fault of the second phase competes only with the collapses.
-- results.json's "khugepaged" member has each collapse's lock hold times and IPIs, and
-- the latency of the faults that overlapped a collapse window against the others;
-- lock_stat.txt ends with the same as a table.  Choose the collapse scheme with
-- --set collapse=<name> (mmsim list collapse, docs/schemes/collapse-*.md), the fault
-- scheme with --set scheme=..., the lock granularity with --set ptl=...
local threads = param("threads", 7, "faulting threads (cpus = threads + 1)")
local ranges = param("ranges", 4, "2 MiB ranges each thread faults in small and marks")
local fault_mb = param("fault_mb", 8, "MiB each thread then write-faults page by page")
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
      local base = mmap((ranges + 1) * HUGE)
      local h = (base + HUGE - 1) & ~(HUGE - 1)
      local region = mmap(fault_mb * MiB)
      touch(h, ranges * HUGE, PAGE_SIZE, "w")
      assert(madvise(h, ranges * HUGE, "hugepage"))
      local pages = fault_mb * MiB // PAGE_SIZE
      for p = 0, pages - 1 do
        touch(region + p * PAGE_SIZE, 8, PAGE_SIZE, "w")
        if p % 256 == 255 then
          touch(h + rand(0, ranges - 1) * HUGE, HUGE, 32 * PAGE_SIZE, "r")
        end
      end
    end },
  },
}
