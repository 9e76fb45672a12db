-- rmap walkers under a KVM-like secondary MMU: the walkers' try_to_unmap (reclaim) and
-- try_to_migrate (migrate) take pages away from the mm, so they must invalidate the
-- secondary MMU's translations as every other path does.  Threads map a cached file
-- shared and an anonymous region, read and write them, and unmap them; the vCPUs map
-- the same pages into their shadow table.  The checker verifies that no shadow entry
-- survives its invalidation and that start and end balance.
local kind = param("kind", "reclaim", "walker kind: reclaim or migrate")
local sleeps = param("sleeps", true, "the secondary MMU's callbacks sleep")
local pages = param("pages", 32, "pages per mapping")
return scenario {
  cpus = 3,
  duration_ms = 1,
  check = true,
  files = { data = { size_mb = 1, cached = true, read_ns = 5000 } },
  secondary_mmu = { cpus = 2, rate_per_ms = 4000, callback_ns = 500, sleeps = sleeps },
  rmap_walker = { cpus = 1, kind = kind, batch = 16, interval_us = 5 },
  tasks = {
    task { name = "mutator", count = 3, program = function(t)
      local len = pages * PAGE_SIZE
      while alive() do
        local f = mmap(len, { file = "data", shared = true })
        local a = mmap(len)
        touch(f, len, PAGE_SIZE, "r")
        touch(a, len)
        touch(f, PAGE_SIZE, PAGE_SIZE, "w")
        sleep(rand(20000))
        touch(f, len, PAGE_SIZE, "r")
        touch(a, len, PAGE_SIZE, "r")
        munmap(a, len)
        munmap(f, len)
      end
    end },
  },
}
