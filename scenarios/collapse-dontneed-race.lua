-- MADV_DONTNEED against khugepaged's collapse of the same 2 MiB (kernel-algorithms.md
-- G.4 a).  One task fills an aligned 2 MiB range with 4 KiB pages and marks it
-- MADV_HUGEPAGE; khugepaged (on its own CPU, waking every 50 us) collapses it.  Meanwhile
-- the task drops pages one by one with MADV_DONTNEED, each call returning before the
-- next, over a span longer than a wake-up period plus a collapse, so that some calls fall
-- inside the collapse window whatever the timing.  It then waits for khugepaged to finish
-- and reads every dropped page: each must read zero.
--
-- Under collapse = "pmd-none-unsafe" (the default here) a call in the window sees
-- pmd_none, skips the range and returns; the collapse then maps the old data again: the
-- checker stops the run with status 3 and a report naming MADV_DONTNEED.  Under the safe
-- schemes (write-lock, read-swapin, pmd-seq, invalid-pte) the run ends with status 0.
local drops = param("drops", 384, "pages dropped one by one (the last page is never dropped)")
local gap_ns = param("gap_ns", 1000, "user work between two MADV_DONTNEED calls (ns)")
local collapse = param("collapse", "pmd-none-unsafe", "khugepaged's collapse scheme (mmsim list collapse)")
local HUGE = 2 * 1024 * 1024

return scenario {
  description = "MADV_DONTNEED against a khugepaged collapse: exit 3 under pmd-none-unsafe, 0 under the safe schemes",
  cpus = 2,
  thp = "madvise",
  collapse = collapse,
  khugepaged_scan_sleep_ms = 0.05,
  check = true,
  tasks = {
    task { name = "dropper", count = 1, program = function()
      local base = mmap(2 * HUGE)
      local h = (base + HUGE - 1) & ~(HUGE - 1)
      touch(h, HUGE, PAGE_SIZE, "w")     -- 512 small pages: no VM_HUGEPAGE yet
      assert(madvise(h, HUGE, "hugepage"))
      for i = 0, drops - 1 do
        assert(madvise_dontneed(h + i * PAGE_SIZE, PAGE_SIZE))
        work(gap_ns)
      end
      sleep(2000000)                     -- 2 ms: any collapse under way has ended
      touch(h, drops * PAGE_SIZE, PAGE_SIZE, "r")
      report("collapses_seen", stat("thp_split_pmd"))
    end },
  },
}
