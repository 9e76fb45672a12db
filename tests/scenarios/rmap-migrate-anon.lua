-- Writers of private anonymous memory while two walkers migrate it continuously: the
-- faults meet migration entries on the lockless paths too (SPF's speculative walk, the
-- rcu schemes' Tier 0), which must leave the entry to the locked path's
-- migration_entry_wait.  Every store and load is checked across the frame copies.
local pages = param("pages", 64, "pages per task")
local threads = param("threads", 4, "writing tasks")
return scenario {
  cpus = threads,
  duration_ms = 2,
  check = true,
  rmap_walker = { cpus = 2, kind = "migrate", batch = 32, interval_us = 1 },
  tasks = {
    task { name = "writer", count = threads, program = function(t)
      local len = pages * PAGE_SIZE
      local a = mmap(len)
      touch(a, len)
      while alive() do
        touch(a, len, PAGE_SIZE, "w")
        touch(a, len, PAGE_SIZE, "r")
      end
      munmap(a, len)
    end },
  },
}
