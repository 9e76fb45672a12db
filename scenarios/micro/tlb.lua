-- tlb: one CPU walks a working set page by page, touching one line per page (a different
-- line in each page, so data-cache sets do not alias).  With more pages than the STLB
-- holds, a cyclic walk misses the TLB on every page and each miss walks the four page
-- table levels through the caches; with few pages every access hits the L1 dTLB.
-- Reports ns per access and page walks per access for both.
local pages = param("pages", 8192, "pages in the large working set (> STLB entries)")
local small = param("small_pages", 16, "pages in the small working set (< L1 dTLB entries)")
local passes = param("passes", 3, "measured passes over each working set")

local function walk(addr, npages)
  -- one access per page, at line (i mod 64) of page i
  touch(addr, npages * PAGE_SIZE, PAGE_SIZE + 64, "r")
end

local function measure(name, npages)
  local len = npages * PAGE_SIZE
  local addr = mmap(len)
  touch(addr, len, PAGE_SIZE, "w")       -- fault everything in
  walk(addr, npages)                     -- warm up the caches and TLB
  local n = 0
  for i = 0, npages * PAGE_SIZE - 1, PAGE_SIZE + 64 do n = n + 1 end
  local w0, t0 = stat("page_walk"), now()
  for p = 1, passes do walk(addr, npages) end
  report(name .. "_ns_per_access", (now() - t0) / (n * passes))
  report(name .. "_walks_per_access", (stat("page_walk") - w0) / (n * passes))
  munmap(addr, len)
end

return scenario {
  name = "tlb",
  description = "page-by-page walk of a working set larger than the STLB vs one that fits",
  machine = "generic-2s",
  cpus = 1,
  tasks = {
    task { name = "walker", count = 1, program = function(t)
      measure("small", small)
      measure("large", pages)
    end },
  },
}
