-- Threads that fault one page at a time with `gap_ns` of other work between faults: the
-- mmap_lock line is usually left in another CPU's cache, but nobody touches it during a
-- fault's entry path.  The case the #PF entry prefetchw of mmap_lock is for.
local threads = param("threads", 2)
local pages = param("pages", 64)
local gap_ns = param("gap_ns", 2000)
return scenario {
  cpus = threads,
  check = true,
  tasks = {
    task { name = "spaced", count = threads, program = function(t)
      local a = mmap(pages * PAGE_SIZE)
      for i = 0, pages - 1 do
        touch(a + i * PAGE_SIZE, PAGE_SIZE, PAGE_SIZE, "w")
        work(gap_ns + rand(gap_ns))
      end
    end },
  },
}
