-- fork and copy-on-write under the checker.  Each task writes every page of its region,
-- forks, then parent and child each write one half and both read the whole region back:
-- the parent must read its own values in its half and the pre-fork values in the other,
-- the child the reverse.  The first write on either side of a page shared since fork
-- copies it, or reuses it once the other side has copied; every child exits, half of
-- them explicitly and the rest with their task, after the parent's munmap, so the last
-- unmapping of a shared page happens in the child.  inject = "cow-no-copy" makes a COW
-- write reuse the shared page: the other side then reads the wrong value.
local threads = param("threads", 4, "tasks, each forking its own children")
local pages = param("pages", 32, "pages per task (the halves are pages/2)")
local rounds = param("rounds", 3, "forks per task")
return scenario {
  cpus = threads,
  check = true,
  tasks = {
    task { name = "proc", count = threads, program = function()
      local len = pages * PAGE_SIZE
      local half = (pages // 2) * PAGE_SIZE
      local a = mmap(len)
      touch(a, len)                                -- every page written before fork
      local keep = {}
      for r = 1, rounds do
        local child = fork()
        touch(a, half)                             -- parent: first half
        child:touch(a + half, len - half, "w")     -- child: second half
        touch(a, len, PAGE_SIZE, "r")              -- parent reads everything back
        child:touch(a, len, "r")                   -- child too
        touch(a + half, len - half)                -- parent: the pages the child copied
        touch(a, len, PAGE_SIZE, "r")              -- are its alone now: reused in place
        child:touch(a, len, "r")
        if r % 2 == 0 then child:exit() else keep[#keep + 1] = child end
      end
      munmap(a, len)                               -- kept children still map the pages
    end },
  },
}
