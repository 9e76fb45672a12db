-- mprotect storms, MADV_DONTNEED and faults on shared memory, under the invariant checker.
-- Each worker owns a region: it writes it, reads it back, makes parts read-only or
-- PROT_NONE (and checks that writes or reads there fail), drops parts with
-- MADV_DONTNEED (the checker verifies they read back as zero), and now and then unmaps
-- and remaps the whole region.  Readers on other CPUs read random pages of the workers'
-- regions meanwhile, so their TLBs hold translations that every mprotect, DONTNEED and
-- munmap must shoot down.  Every load is checked against the shadow of user memory.
local workers = param("workers", 2, "tasks that mprotect, madvise and fault their regions")
local readers = param("readers", 2, "tasks that read the workers' regions")
local rounds = param("rounds", 12, "storm rounds per worker")
local pages = param("pages", 48, "pages per worker region (crosses no 2 MiB boundary rule)")

local function expect_fault(addr, mode)
  local ok = pcall(touch, addr, 8, PAGE_SIZE, mode)
  assert(not ok, string.format("%s at 0x%x should have faulted", mode, addr))
end

local tasks = {
  task { name = "worker", count = workers, program = function(t)
    local ctl = shared("regions", 8 * 64)
    local len = pages * PAGE_SIZE
    local a = mmap(len)
    shm_store(ctl, 8 * t.index, a)
    for r = 1, rounds do
      -- write every page at two offsets, read them back
      touch(a, len, PAGE_SIZE, "w")
      touch(a + 64, len - 64, PAGE_SIZE, "w")
      touch(a, len, PAGE_SIZE / 2, "r")
      -- mprotect storm: random sub-ranges read-only, one PROT_NONE, back to rw
      for k = 1, 4 do
        local first = rand(0, pages - 8)
        local n = rand(1, 8)
        assert(mprotect(a + first * PAGE_SIZE, n * PAGE_SIZE, "r"))
        touch(a + first * PAGE_SIZE, n * PAGE_SIZE, PAGE_SIZE, "r")
        expect_fault(a + first * PAGE_SIZE, "w")
        if k == 2 then
          assert(mprotect(a + first * PAGE_SIZE, PAGE_SIZE, "none"))
          expect_fault(a + first * PAGE_SIZE, "r")
        end
        assert(mprotect(a + first * PAGE_SIZE, n * PAGE_SIZE, "rw"))
        touch(a + first * PAGE_SIZE, n * PAGE_SIZE, PAGE_SIZE, "w")
      end
      -- drop a random part: it must read back as zero, then fault fresh pages on write
      local first = rand(0, pages - 16)
      local n = rand(1, 16)
      assert(madvise_dontneed(a + first * PAGE_SIZE, n * PAGE_SIZE))
      touch(a + first * PAGE_SIZE, n * PAGE_SIZE, PAGE_SIZE, "r")
      if r % 2 == 0 then touch(a + first * PAGE_SIZE, n * PAGE_SIZE, PAGE_SIZE, "w") end
      -- sometimes replace the whole region
      if r % 5 == 0 then
        shm_store(ctl, 8 * t.index, 0)
        munmap(a, len)
        -- Only a lone worker can expect the hole to stay empty: another worker's mmap
        -- may reuse it at once (the checker still verifies whatever is read there).
        if workers == 1 then expect_fault(a, "r") end
        a = mmap(len)
        shm_store(ctl, 8 * t.index, a)
      end
      work(500)
    end
    munmap(a, len)
    shm_store(ctl, 8 * t.index, 0)
    shm_add(ctl, 0, 1)
  end },
  task { name = "reader", count = readers, program = function(t)
    local ctl = shared("regions", 8 * 64)
    local faults = 0
    while shm_load(ctl, 0) < workers do
      local w = rand(1, workers)
      local a = shm_load(ctl, 8 * w)
      if a ~= 0 then
        local p = rand(0, pages - 1)
        if not pcall(touch, a + p * PAGE_SIZE, 8, PAGE_SIZE, "r") then faults = faults + 1 end
      end
      work(100)
    end
    report("reader_faults", faults)
  end },
}
return scenario { cpus = workers + readers, check = true, tasks = tasks }
