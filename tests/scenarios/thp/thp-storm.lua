-- THP faults under the invariant checker: every worker maps a region holding an aligned
-- 2 MiB range, faults it in as a huge PMD, reads it back, then splits it in every way the
-- model knows (mprotect of part of it, MADV_DONTNEED of part of it, munmap of part of
-- it), drops whole huge PMDs with MADV_DONTNEED, and faults them in again.  Readers read
-- the workers' ranges meanwhile, so 2 MiB TLB entries must be shot down by every split
-- and zap.  Every load is checked against the shadow of user memory.
local workers = param("workers", 2, "tasks that fault, split and zap huge PMDs")
local readers = param("readers", 1, "tasks that read the workers' ranges")
local rounds = param("rounds", 4, "rounds per worker")
local HUGE = 2 * 1024 * 1024

local function aligned(a) return (a + HUGE - 1) & ~(HUGE - 1) end

local function expect_fault(addr, mode)
  local ok = pcall(touch, addr, 8, PAGE_SIZE, mode)
  assert(not ok, string.format("%s at 0x%x should have faulted", mode, addr))
end

local tasks = {
  task { name = "worker", count = workers, program = function(t)
    local ctl = shared("thp-ranges", 8 * 64)
    for r = 1, rounds do
      local base = mmap(2 * HUGE)
      local h = aligned(base)
      shm_store(ctl, 8 * t.index, h)
      -- one huge fault, then every page written and read back through the 2 MiB entry
      touch(h, HUGE, PAGE_SIZE, "w")
      touch(h + 8, HUGE - 8, 4 * PAGE_SIZE, "w")
      touch(h, HUGE, PAGE_SIZE, "r")
      if r % 4 == 1 then
        -- mprotect of part of it splits the PMD; the rest stays writable
        local first = rand(1, 500)
        assert(mprotect(h + first * PAGE_SIZE, 8 * PAGE_SIZE, "r"))
        expect_fault(h + first * PAGE_SIZE, "w")
        touch(h + first * PAGE_SIZE, 8 * PAGE_SIZE, PAGE_SIZE, "r")
        touch(h, PAGE_SIZE, PAGE_SIZE, "w")
        assert(mprotect(h + first * PAGE_SIZE, 8 * PAGE_SIZE, "rw"))
      elseif r % 4 == 2 then
        -- DONTNEED of part of it splits, and the part reads back as zero
        local first = rand(0, 500)
        assert(madvise_dontneed(h + first * PAGE_SIZE, 4 * PAGE_SIZE))
        touch(h + first * PAGE_SIZE, 4 * PAGE_SIZE, PAGE_SIZE, "r")
        touch(h, HUGE, 8 * PAGE_SIZE, "r")
      elseif r % 4 == 3 then
        -- DONTNEED of all of it zaps the huge PMD whole; the next write faults a new one
        assert(madvise_dontneed(h, HUGE))
        touch(h, HUGE, 16 * PAGE_SIZE, "r")
        touch(h, HUGE, 16 * PAGE_SIZE, "w")
      else
        -- mprotect of all of it changes the huge PMD in place
        assert(mprotect(h, HUGE, "r"))
        expect_fault(h + PAGE_SIZE, "w")
        touch(h, HUGE, 32 * PAGE_SIZE, "r")
        assert(mprotect(h, HUGE, "rw"))
        touch(h, HUGE, 32 * PAGE_SIZE, "w")
      end
      work(2000)
      shm_store(ctl, 8 * t.index, 0)
      -- munmap of part of the range first (a split), then of the rest
      munmap(h + HUGE / 2, HUGE / 2)
      touch(h, PAGE_SIZE, PAGE_SIZE, "r")
      munmap(base, 2 * HUGE)
    end
    shm_add(ctl, 0, 1)
  end },
}
if readers > 0 then
  tasks[#tasks + 1] = task { name = "reader", count = readers, program = function(t)
    local ctl = shared("thp-ranges", 8 * 64)
    while shm_load(ctl, 0) < workers do
      for w = 1, workers do
        local h = shm_load(ctl, 8 * w)
        -- a worker may unmap it meanwhile: a segfault here is legitimate
        if h ~= 0 then pcall(touch, h + rand(0, 511) * PAGE_SIZE, 8, PAGE_SIZE, "r") end
      end
      work(300)
    end
  end }
end

return scenario {
  name = "thp-storm",
  cpus = workers + readers,
  thp = "always",
  check = true,
  tasks = tasks,
}
