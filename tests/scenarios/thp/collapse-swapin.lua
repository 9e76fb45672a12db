-- khugepaged collapses ranges part of which reclaim has swapped out, under the checker.
-- Each thread writes `ranges` aligned 2 MiB ranges with 4 KiB pages and leaves them cold:
-- the rmap walker (kind reclaim) swaps part of them out.  Then it marks them
-- MADV_HUGEPAGE and goes on write-faulting a separate region page by page: khugepaged's
-- scan counts the swap entries of each range (up to khugepaged_max_ptes_swap), its
-- swap-in step reads them back (do_swap_page for each, under mmap_lock (R) with
-- read-swapin, (W) with write-lock) and the collapse copies them into the huge page.
-- Every load after the collapse is verified against the stores made before the swap-out.
local threads = param("threads", 2, "faulting threads")
local ranges = param("ranges", 2, "2 MiB ranges each thread writes, leaves cold, marks")
local fault_mb = param("fault_mb", 2, "MiB each thread then write-faults page by page")
local cold_us = param("cold_us", 150, "time the ranges stay cold before MADV_HUGEPAGE (us)")
local collapse = param("collapse", "read-swapin", "khugepaged's collapse scheme")
local HUGE = 2 * 1024 * 1024

return scenario {
  cpus = threads + 1,
  duration_ms = 6,
  check = true,
  thp = "madvise",
  collapse = collapse,
  khugepaged_scan_sleep_ms = 0.1,
  khugepaged_max_ptes_swap = 512,
  swap_mb = 16,
  rmap_walker = { cpus = 1, kind = "reclaim", batch = 16, interval_us = 20 },
  tasks = {
    task { name = "faulter", count = threads, program = function()
      local base = mmap((ranges + 1) * HUGE)
      local h = (base + HUGE - 1) & ~(HUGE - 1)
      local region = mmap(fault_mb * MiB)
      touch(h, ranges * HUGE, PAGE_SIZE, "w")
      sleep(cold_us * 1000)
      assert(madvise(h, ranges * HUGE, "hugepage"))
      local pages = fault_mb * MiB // PAGE_SIZE
      for p = 0, pages - 1 do
        touch(region + p * PAGE_SIZE, 8, PAGE_SIZE, "w")
        if p % 64 == 63 then
          touch(h + rand(0, ranges - 1) * HUGE, HUGE, 16 * PAGE_SIZE, "r")
        end
      end
      touch(h, ranges * HUGE, PAGE_SIZE, "r")
    end },
  },
}
