-- MAP_FIXED storm under the invariant checker.  One task maps a region at a fixed
-- address, then again and again MAP_FIXED-replaces random parts of it: with the same
-- protection (the new range merges back into its neighbours), read-only, a private or a
-- shared mapping of a file; every replaced range is read back at once (the checker
-- verifies zeros or the file's contents, never the old data) and written when it may be.
-- Now and then MAP_FIXED_NOREPLACE over the region must fail with EEXIST.  The other
-- tasks, on other CPUs, store to and load from random pages of the region meanwhile, so
-- their TLBs hold translations every replacement must shoot down, and their faults race
-- with the replacements' write locks.
local threads = param("threads", 4, "CPUs: one replacing task, the others faulting")
local rounds = param("rounds", 24, "replacements")
local pages = param("pages", 64, "pages in the region")
local base = 0x7e0000000000

local tasks = {
  task { name = "replacer", count = 1, program = function(t)
    local ctl = shared("ctl", 64)
    local len = pages * PAGE_SIZE
    assert(mmap(len, { addr = base, fixed = true }) == base)
    touch(base, len, PAGE_SIZE, "w")
    shm_store(ctl, 0, 1)
    local eexist = 0
    for r = 1, rounds do
      local first = rand(0, pages - 16)
      local n = rand(1, 16)
      local a, l = base + first * PAGE_SIZE, n * PAGE_SIZE
      local kind = rand(1, 4)
      local opts = { addr = a, fixed = true }
      if kind == 2 then opts.prot = "r" end
      if kind == 3 then opts.file = "data"; opts.offset = first * PAGE_SIZE end
      if kind == 4 then opts.file = "data"; opts.offset = first * PAGE_SIZE; opts.shared = true end
      assert(mmap(l, opts) == a)
      touch(a, l, PAGE_SIZE, "r")
      if kind ~= 2 then touch(a + 8, l - 8, PAGE_SIZE, "w") end
      if r % 4 == 0 then
        local addr, err = mmap(PAGE_SIZE, { addr = base + rand(0, pages - 1) * PAGE_SIZE,
                                            fixed = "noreplace" })
        assert(addr == nil and err == "EEXIST", "MAP_FIXED_NOREPLACE over the region")
        eexist = eexist + 1
      end
      work(300)
    end
    shm_store(ctl, 8, 1)
    report("noreplace_eexist", eexist)
    -- Every part of the region is replaced once more by one anonymous mapping: a single
    -- VMA again.
    assert(mmap(len, { addr = base, fixed = true }) == base)
    touch(base, len, PAGE_SIZE, "r")
  end },
  task { name = "faulter", count = threads - 1, program = function(t)
    local ctl = shared("ctl", 64)
    shm_wait(ctl, 0, 1)
    local failed = 0
    while shm_load(ctl, 8) == 0 do
      local a = base + rand(0, pages - 1) * PAGE_SIZE + 8 * rand(0, 63)
      local mode = rand(1, 2) == 1 and "w" or "r"
      -- A store to a read-only replacement faults: SIGSEGV, caught.
      if not pcall(touch, a, 8, PAGE_SIZE, mode) then failed = failed + 1 end
      work(100)
    end
    report("faulter_segv", failed)
  end },
}
return scenario {
  cpus = threads,
  check = true,
  files = { data = { size_mb = 1 } },
  tasks = tasks,
}
