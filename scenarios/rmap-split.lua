-- rmap walks through one anon_vma shared by many disjoint VMAs.  A task maps a region,
-- writes every page (one anon_vma), then write-protects every other page: each mprotect
-- splits a VMA, and each split links the new VMA to the same anon_vma (anon_vma_clone),
-- so the anon_vma's interval tree holds one chain per VMA, over disjoint page ranges.
-- It then keeps reading the region while rmap walker threads age its folios
-- (folio_referenced under the anon_vma lock (R)).  Each walk wants the one chain over
-- its page: the augmented interval tree finds it in O(log n) nodes where a scan sorted
-- by start visits every chain before it.  See docs/model-mm.md (the interval tree).
local pages = param("pages", 512, "pages in the region (one VMA per page after the splits)")
local walkers = param("walkers", 2, "rmap walker threads")
return scenario {
  cpus = 1,
  duration_ms = 4,
  check = true,
  rmap_walker = { cpus = walkers, kind = "reclaim", batch = 32, interval_us = 10 },
  tasks = {
    task { name = "splitter", count = 1, program = function(t)
      local len = pages * PAGE_SIZE
      local a = mmap(len)
      touch(a, len)
      for i = 0, pages - 1, 2 do
        mprotect(a + i * PAGE_SIZE, PAGE_SIZE, "r")
      end
      while alive() do
        touch(a, len, PAGE_SIZE, "r")
      end
      munmap(a, len)
    end },
  },
}
