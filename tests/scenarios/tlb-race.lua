-- Readers keep reading a region through their TLBs while one task unmaps and remaps it
-- over and over.  Reads that land after the unmap fault (SIGSEGV, caught); reads that
-- land before it may use a cached translation, but never one to a freed page: the MMU
-- checks every translation it uses and would end the run with status 3.
local readers = param("readers", 3)
local tasks = {
  task { name = "remapper", count = 1, program = function(t)
    local ctl = shared("ctl")
    shm_wait(ctl, 0, readers)
    for i = 1, 40 do
      local a = mmap(8 * PAGE_SIZE)
      touch(a, 8 * PAGE_SIZE)
      shm_store(ctl, 8, a)
      sleep(2000)
      munmap(a, 8 * PAGE_SIZE)
    end
    shm_store(ctl, 16, 1)
  end },
  task { name = "reader", count = readers, program = function(t)
    local ctl = shared("ctl")
    shm_add(ctl, 0, 1)
    local faults = 0
    while shm_load(ctl, 16) == 0 do
      local a = shm_load(ctl, 8)
      if a ~= 0 then
        for p = 0, 7 do
          if not pcall(touch, a + p * PAGE_SIZE, 8, PAGE_SIZE, "r") then faults = faults + 1 end
        end
      end
      work(200)
    end
    report("sigsegv_per_reader", faults)
  end },
}
return scenario { cpus = readers + 1, check = true, tasks = tasks }
