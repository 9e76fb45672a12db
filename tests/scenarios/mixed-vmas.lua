-- Mixed faults, mmap and munmap on disjoint and overlapping ranges: every task maps its
-- own region and publishes it, faults in it, faults in another task's region (which its
-- owner may be splitting or unmapping at that moment; a SIGSEGV is caught), punches a
-- hole in its own (a split), faults around the hole and unmaps the rest.  The end-of-run
-- address-space check decides; the schemes' conformance test runs it at many sizes.
local threads = param("threads", 8, "tasks (one per CPU)")
local pages = param("pages", 24, "pages per region")
local duration = param("duration_ms", 0.3, "simulated time, ms")

return scenario {
  name = "mixed-vmas",
  description = "faults, mmap and munmap on overlapping and disjoint VMAs",
  cpus = threads,
  seed = 1,
  duration_ms = duration,
  check = true,
  tasks = {
    task {
      name = "mixer",
      count = threads,
      program = function(t)
        local pub = shared("regions", 8 * threads)
        local slot = 8 * (t.index - 1)
        local len = pages * PAGE_SIZE
        while alive() do
          local a = mmap(len)
          shm_store(pub, slot, a)
          touch(a, len, PAGE_SIZE * rand(1, 3), rand() < 0.7 and "w" or "r")
          local other = shm_load(pub, 8 * (rand(1, threads) - 1))
          if other ~= 0 then
            local off = rand(0, pages - 1) * PAGE_SIZE
            pcall(touch, other + off, 3 * PAGE_SIZE, PAGE_SIZE, rand() < 0.5 and "w" or "r")
          end
          local h = rand(1, pages - 2)
          munmap(a + h * PAGE_SIZE, PAGE_SIZE)
          touch(a, h * PAGE_SIZE, PAGE_SIZE, "w")
          shm_store(pub, slot, 0)
          munmap(a, len)
        end
      end,
    },
  },
}
