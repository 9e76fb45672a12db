-- fork of a process with file mappings, under the checker.  Each task maps one file
-- shared and privately, writes the shared mapping (the file's page cache) and half of
-- the private one (copy-on-write copies), then forks.  The child shares the shared
-- mapping: its stores reach the same page cache pages the parent reads back.  The
-- private mapping is copied with its anonymous copies write-protected on both sides and
-- its page cache pages mapped again; either side's writes stay its own.
local threads = param("threads", 4, "tasks, each forking its own children")
local pages = param("pages", 16, "pages per mapping (the halves are pages/2)")
return scenario {
  cpus = threads,
  check = true,
  files = { data = { size_mb = 4 } },
  tasks = {
    task { name = "proc", count = threads, program = function()
      local len = pages * PAGE_SIZE
      local half = (pages // 2) * PAGE_SIZE
      local sh = mmap(len, { file = "data", shared = true })
      local pv = mmap(len, { file = "data", shared = false })
      touch(sh, len)                      -- the file's pages, written through the cache
      touch(pv, len, PAGE_SIZE, "r")      -- page cache pages mapped read-only
      touch(pv, half)                     -- private copies of the first half
      for r = 1, 2 do
        local child = fork()
        child:touch(sh, half, "w")        -- the child writes the file
        touch(sh, len, PAGE_SIZE, "r")    -- the parent reads the child's stores
        child:touch(pv, len, "w")         -- the child's own copies of everything
        touch(pv, len, PAGE_SIZE, "r")    -- the parent still reads its own and the file
        touch(pv + half, len - half)      -- now copies of its own
        child:touch(pv, len, "r")
        child:touch(sh, len, "r")
        if r == 1 then child:exit() end
      end
      munmap(pv, len)
      munmap(sh, len)
    end },
  },
}
