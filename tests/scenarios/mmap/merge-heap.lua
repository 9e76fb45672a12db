-- Consecutive anonymous mmaps merge, as a malloc arena growing by mmap does: every task
-- maps many small regions one after another (top-down, so each new one ends where the
-- last began), writes them, and keeps them.  Alike neighbours become one VMA, so the
-- address space ends with a handful of VMAs rather than threads * maps; a read-only
-- map among them stays apart and splits the run.
local threads = param("threads", 4, "tasks, one per CPU")
local maps = param("maps", 32, "mmaps per task")
local kib = param("kib", 64, "KiB per mmap")
local ro_every = param("ro_every", 0, "every n-th mmap is read-only (0: none)")

return scenario {
  name = "merge-heap",
  cpus = threads,
  check = true,
  tasks = {
    task { name = "arena", count = threads, program = function(t)
      local len = kib * KiB
      for i = 1, maps do
        local ro = ro_every > 0 and i % ro_every == 0
        local a = mmap(len, ro and { prot = "r" } or nil)
        touch(a, len, PAGE_SIZE, ro and "r" or "w")
      end
    end },
  },
}
