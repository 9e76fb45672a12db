-- rmap walks racing fork, COW, munmap and exit.  Workers map a region, write it, fork,
-- write one half each side, read back, let the child exit and unmap, over and over,
-- publishing each region's address.  The idle-page tracker walks the published regions:
-- their PFNs through the page tables under mmap_lock (R) (/proc/self/pagemap), then each
-- page's rmap under its anon_vma lock (R) (/sys/kernel/mm/page_idle/bitmap), testing and
-- clearing accessed bits in the parent and every child.  Its walks meet anon_vma writers
-- (fork's anon_vma_fork, exit's and munmap's unlink_anon_vmas, first faults) and page
-- tables being torn down; the checker verifies every access and the end state.
local workers = param("workers", 3, "forking tasks")
local pages = param("pages", 16, "pages per region")
return scenario {
  cpus = workers + 1,
  duration_ms = 1,
  check = true,
  tasks = {
    task { name = "worker", count = workers, program = function(t)
      local slots = shared("slots")
      local len = pages * PAGE_SIZE
      local half = (pages // 2) * PAGE_SIZE
      while alive() do
        local a = mmap(len)
        touch(a, len)
        shm_store(slots, 8 * t.index, a)
        local child = fork()
        touch(a, half)
        child:touch(a + half, len - half, "w")
        touch(a, len, PAGE_SIZE, "r")
        child:touch(a, len, "r")
        if rand() < 0.5 then child:exit() end   -- else it outlives the munmap
        munmap(a, len)
      end
    end },
    task { name = "idle", count = 1, program = function()
      local slots = shared("slots")
      local walked = 0
      while alive() do
        for i = 1, workers do
          local a = shm_load(slots, 8 * i)
          if a ~= 0 then
            page_idle(a, pages * PAGE_SIZE)
            walked = walked + 1
          end
        end
        work(500)
      end
      report("idle_walks", walked)
    end },
  },
}
