-- Migration by rmap walker threads, under the checker.  Each task maps an anonymous
-- region and a file both shared and privately, writes them, forks a child that stays
-- alive (its mappings are found through the same anon_vma and i_mmap trees), and keeps
-- reading, writing, mprotecting, MADV_DONTNEEDing and unmapping while the walkers move
-- every LRU folio to new frames: faults meet migration entries and wait, zap clears
-- them, mprotect drops their write permission, fork copies them.  Every load is checked
-- against the values stored before the move (the frame copy).
local threads = param("threads", 2, "tasks")
local walkers = param("walkers", 1, "rmap walker threads")
local pages = param("pages", 16, "pages per mapping")
return scenario {
  cpus = threads,
  duration_ms = 2,
  check = true,
  files = { data = { size_mb = 1, cached = true, read_ns = 5000 } },
  rmap_walker = { cpus = walkers, kind = "migrate", batch = 16, interval_us = 2 },
  tasks = {
    task { name = "proc", count = threads, program = function(t)
      local len = pages * PAGE_SIZE
      local half = (pages // 2) * PAGE_SIZE
      while alive() do
        local a = mmap(len)
        local sh = mmap(len, { file = "data", shared = true })
        local pv = mmap(len, { file = "data", shared = false })
        touch(a, len)
        touch(sh, half, PAGE_SIZE, "w")
        touch(pv, len, PAGE_SIZE, "r")
        touch(pv, half, PAGE_SIZE, "w")
        local child = fork()
        for r = 1, 4 do
          touch(a, len, PAGE_SIZE, "r")
          child:touch(a, half, "w")
          touch(sh, len, PAGE_SIZE, "r")
          child:touch(sh, len, "r")
          touch(pv, len, PAGE_SIZE, "r")
          local x = rand()
          if x < 0.3 then
            mprotect(a + half, half, "r")
            touch(a + half, half, PAGE_SIZE, "r")
            mprotect(a + half, half, "rw")
          elseif x < 0.6 then
            madvise_dontneed(a, PAGE_SIZE * 2)
          end
          touch(a, len)
        end
        if rand() < 0.5 then child:exit() end
        munmap(pv, len)
        munmap(sh, len)
        munmap(a, len)
      end
    end },
  },
}
