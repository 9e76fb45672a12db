-- khugepaged collapses ranges that workers keep using, under the invariant checker.
-- Each worker fills an aligned 2 MiB range with 4 KiB pages, marks it MADV_HUGEPAGE,
-- then for a while writes and reads random pages of it, drops single pages with
-- MADV_DONTNEED (they must read zero), and makes a few pages read-only and writable
-- again; khugepaged (collapse scheme from the `collapse` field) collapses the range
-- whenever it finds it made of small pages, and every drop or mprotect splits it again.
-- Readers read the workers' ranges meanwhile.  Every load is checked.
local workers = param("workers", 2, "tasks that use and split their ranges")
local readers = param("readers", 1, "tasks that read the workers' ranges")
local rounds = param("rounds", 40, "rounds per worker")
local gap_ns = param("gap_ns", 40000, "user work per round (ns)")
local HUGE = 2 * 1024 * 1024

local tasks = {
  task { name = "worker", count = workers, program = function(t)
    local ctl = shared("collapse-ranges", 8 * 64)
    local base = mmap(2 * HUGE)
    local h = (base + HUGE - 1) & ~(HUGE - 1)
    touch(h, HUGE, PAGE_SIZE, "w")
    assert(madvise(h, HUGE, "hugepage"))
    shm_store(ctl, 8 * t.index, h)
    for r = 1, rounds do
      for k = 1, 4 do
        local p = h + rand(0, 511) * PAGE_SIZE + 8 * rand(0, 7)
        touch(p, 8, PAGE_SIZE, "w")
        touch(h + rand(0, 511) * PAGE_SIZE, 8, PAGE_SIZE, "r")
      end
      if r % 3 == 0 then
        local p = h + rand(0, 510) * PAGE_SIZE
        assert(madvise_dontneed(p, PAGE_SIZE))
        touch(p, 8, PAGE_SIZE, "r")
      elseif r % 7 == 0 then
        local p = h + rand(0, 500) * PAGE_SIZE
        assert(mprotect(p, 4 * PAGE_SIZE, "r"))
        touch(p, 4 * PAGE_SIZE, PAGE_SIZE, "r")
        assert(mprotect(p, 4 * PAGE_SIZE, "rw"))
      end
      work(gap_ns)
    end
    touch(h, HUGE, 8 * PAGE_SIZE, "r")
    shm_store(ctl, 8 * t.index, 0)
    shm_add(ctl, 0, 1)
    munmap(base, 2 * HUGE)
  end },
}
if readers > 0 then
  tasks[#tasks + 1] = task { name = "reader", count = readers, program = function(t)
    local ctl = shared("collapse-ranges", 8 * 64)
    while shm_load(ctl, 0) < workers do
      local h = shm_load(ctl, 8 * rand(1, workers))
      if h ~= 0 then pcall(touch, h + rand(0, 511) * PAGE_SIZE, 8, PAGE_SIZE, "r") end
      work(2000)
    end
  end }
end

return scenario {
  cpus = workers + readers + 1,
  thp = "madvise",
  collapse = "write-lock",
  khugepaged_scan_sleep_ms = 0.1,
  check = true,
  tasks = tasks,
}
