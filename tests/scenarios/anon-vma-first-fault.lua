-- First faults of fresh VMAs: each task maps a new region per round, reads it (zero-page
-- faults) and then writes it.  Under 6.4's per-VMA locks (scheme "pervma") a VMA
-- without an anon_vma cannot be faulted under its VMA lock: the reads and the first
-- write go to mmap_lock (vma_lock_no_anon_vma), the first write prepares the anon_vma,
-- and the later writes succeed under the VMA lock.  6.15 ("pervma-refcount") prepares it
-- from under the VMA lock (vmf_anon_prepare) and never aborts for it.
local threads = param("threads", 4, "tasks")
local pages = param("pages", 16, "pages per region")
local rounds = param("rounds", 4, "regions per task")
return scenario {
  cpus = threads,
  scheme = "pervma",
  check = true,
  tasks = {
    task { name = "faulter", count = threads, program = function()
      local len = pages * PAGE_SIZE
      for r = 1, rounds do
        local a = mmap(len)
        touch(a, len, PAGE_SIZE, "r")
        touch(a, len, PAGE_SIZE, "w")
        touch(a, len, PAGE_SIZE, "r")
        munmap(a, len)
      end
    end },
  },
}
