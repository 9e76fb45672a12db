-- secondary-mmu: a KVM-like secondary MMU (its vCPUs map the process's pages into a
-- shadow table) next to threads that fault, read then write (the zero page's COW),
-- MADV_DONTNEED, mprotect and munmap their own regions.  Every one of those changes is
-- bracketed by MMU notifier invalidations; the secondary MMU's callbacks take its
-- mmu_lock and cost callback_ns, asleep if sleeps.  The checker verifies that start and
-- end balance on every path and that the secondary MMU never keeps a translation to a
-- page the process no longer maps there.
local threads = param("threads", 4, "faulting threads")
local pages = param("pages", 64, "pages per region")
local vcpus = param("vcpus", 2, "vCPUs of the secondary MMU")
local rate = param("rate_per_ms", 2000, "guest accesses per ms per vCPU")
local callback_ns = param("callback_ns", 2000, "cost of each invalidate_range_start callback, ns")
local sleeps = param("sleeps", true, "the callbacks sleep (mmu_lock is a mutex)")
local duration = param("duration_ms", 0.5, "simulated time, ms")

return scenario {
  name = "secondary-mmu",
  description = "faulting and unmapping threads under a KVM-like secondary MMU",
  machine = "generic-2s",
  scheme = "classic",
  cpus = threads,
  seed = 1,
  duration_ms = duration,
  check = true,
  secondary_mmu = { cpus = vcpus, rate_per_ms = rate, callback_ns = callback_ns,
                    sleeps = sleeps },
  tasks = {
    task {
      name = "mutator",
      count = threads,
      program = function(t)
        local len = pages * PAGE_SIZE
        while alive() do
          -- one page more, unmapped at once: a hole no other region can fill
          local a = mmap(len + PAGE_SIZE)
          munmap(a + len, PAGE_SIZE)
          touch(a, len, PAGE_SIZE, "r")              -- zero page everywhere
          touch(a, len // 2, PAGE_SIZE, "w")         -- COW of the zero page: notifiers
          madvise_dontneed(a, len // 4)              -- zap: notifiers
          touch(a, len // 4, PAGE_SIZE, "w")
          mprotect(a + len // 2, len // 4, "r")      -- change_protection: notifiers
          -- a range with a hole: -ENOMEM (start/end must still balance)
          mprotect(a + len - PAGE_SIZE, 2 * PAGE_SIZE, "r")
          sleep(rand(2000))
          munmap(a, len)                             -- unmap: notifiers
        end
      end,
    },
  },
}
