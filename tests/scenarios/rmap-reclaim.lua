-- Reclaim by an rmap walker over page cache and anonymous pages, under the checker.
-- Readers map a cached file (shared and private) and read a sliding window of it, so the
-- pages behind the window lose their accessed bits; writers dirty the shared mapping's
-- first pages (kept: no writeback) and write private copies (anonymous: no swap).  The
-- walker unmaps and evicts the clean, unreferenced page cache pages; the readers fault
-- them back in from the device.  Tasks also munmap and fork, so rmap walks meet VMAs
-- coming and going.
local threads = param("threads", 3, "reading tasks")
local walkers = param("walkers", 1, "rmap walker threads")
local pages = param("pages", 64, "pages per mapping")
return scenario {
  cpus = threads,
  duration_ms = 2,
  check = true,
  files = { data = { size_mb = 1, cached = true, read_ns = 20000 } },
  rmap_walker = { cpus = walkers, kind = "reclaim", batch = 32, interval_us = 20 },
  tasks = {
    task { name = "reader", count = threads, program = function(t)
      local len = pages * PAGE_SIZE
      local win = 8 * PAGE_SIZE
      local round = 0
      while alive() do
        local sh = mmap(len, { file = "data", shared = true })
        local pv = mmap(len, { file = "data", shared = false })
        touch(sh, 2 * PAGE_SIZE, "w")            -- dirty: kept by reclaim
        touch(pv, 2 * PAGE_SIZE, "w")            -- private copies: anonymous
        for off = 0, len - win, win do
          touch(sh + off, win, PAGE_SIZE, "r")
          touch(pv + off, win, PAGE_SIZE, "r")
          work(2000)
        end
        if rand() < 0.5 then
          local child = fork()
          child:touch(sh, len, PAGE_SIZE, "r")
          child:exit()
        end
        touch(sh, len, PAGE_SIZE, "r")           -- re-read: evicted pages come back
        munmap(pv, len)
        munmap(sh, len)
        round = round + 1
      end
    end },
  },
}
