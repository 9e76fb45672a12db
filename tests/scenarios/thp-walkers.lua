-- rmap walkers over THP-backed anonymous memory: huge PMDs mapped, split by partial
-- MAP_FIXED replacement, and walked by reclaim or migration; a PMD-mapped THP is never
-- migrated (not modelled), its split 4 KiB pages are.  Checker-clean.
local kind = param("kind", "migrate", "walker kind: reclaim or migrate")
return scenario {
  cpus = 2, duration_ms = 2, check = true, thp = "always",
  rmap_walker = { cpus = 1, kind = kind, batch = 8, interval_us = 20 },
  tasks = { task { name = "w", count = 2, program = function()
    local len = 8 * MiB
    local a = mmap(len)
    touch(a, len)
    while alive() do
      touch(a, len, 64 * PAGE_SIZE, "w")
      munmap(a + 2 * MiB, PAGE_SIZE)          -- splits one huge PMD
      mmap(PAGE_SIZE, { addr = a + 2 * MiB, fixed = true })
    end
    munmap(a, len)
  end } },
}
