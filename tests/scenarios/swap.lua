-- Swap under the checker: an rmap walker of kind reclaim swaps out the anonymous pages
-- that went cold (models/mm/swap.c) and the tasks fault them back in (do_swap_page).
-- Each task writes its region, then in rounds: lets it go cold, forks a child that
-- reads it and writes its own half (so slots are shared by parent and child through
-- swap_duplicate, and the child's exit drops its references), write-protects and
-- re-enables one quarter (mprotect keeps swap entries), drops another with
-- MADV_DONTNEED (zap frees the slots), writes and reads everything back (every load is
-- verified: the contents must survive the round trip through the slot), and now and
-- then unmaps and remaps the region.  inject = "swap-no-writeback" frees pages without
-- writing them: the next load of a swapped-in page reads the wrong value.
local threads = param("threads", 2, "tasks")
local walkers = param("walkers", 1, "rmap walker threads (kind reclaim)")
local pages = param("pages", 48, "pages per task")
local cold_us = param("cold_us", 60, "idle time letting the region go cold (us)")
return scenario {
  cpus = threads,
  duration_ms = 3,
  check = true,
  swap_mb = 4,
  rmap_walker = { cpus = walkers, kind = "reclaim", batch = 32, interval_us = 10 },
  tasks = {
    task { name = "proc", count = threads, program = function()
      local len = pages * PAGE_SIZE
      local q = (pages // 4) * PAGE_SIZE
      local a = mmap(len)
      touch(a, len, PAGE_SIZE, "w")
      local round = 0
      while alive() do
        sleep(cold_us * (500 + 1000 * rand()))     -- cold: the walker swaps it out
        local child = fork()
        child:touch(a, len, PAGE_SIZE, "r")        -- child swaps in (shared slots)
        child:touch(a + 2 * q, q, PAGE_SIZE, "w")  -- and copies its own half-quarter
        mprotect(a, q, "r")                        -- entries stay entries
        touch(a, q, PAGE_SIZE, "r")
        mprotect(a, q, "rw")
        madvise_dontneed(a + q, q)                 -- zap: slots freed
        if rand() < 0.5 then child:exit() end     -- else it exits with the task
        sleep(cold_us * 1000)
        touch(a, len, PAGE_SIZE, "r")              -- swap-in, verified loads
        touch(a + 3 * q, len - 3 * q, PAGE_SIZE, "w")
        touch(a, len, PAGE_SIZE, "r")
        if rand() < 0.3 then                       -- munmap with entries in the range
          sleep(cold_us * 1000)
          munmap(a, len)
          a = mmap(len)
          touch(a, len, PAGE_SIZE, "w")
        end
        round = round + 1
      end
      munmap(a, len)
    end },
  },
}
