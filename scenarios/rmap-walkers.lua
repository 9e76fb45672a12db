-- rmap walkers against a fork-heavy process family: the anon_vma and i_mmap locks.
-- Each parent maps an anonymous region and a shared file mapping, writes both, then forks
-- over and over; every child writes part of the region (copy-on-write) and reads the
-- file, and exits, while the parent keeps reading.  fork takes the family's root anon_vma
-- lock and the file's i_mmap lock for write (anon_vma_fork, dup_mmap's i_mmap insert) and
-- exit takes them again (unlink_anon_vmas, unlink_file_vma).  The walker threads isolate
-- folios from the LRU and walk their rmap with try_lock (folio_referenced as reclaim
-- does): with the rwsem forms the walkers share the read side; with the spinlock forms
-- (before 2.6.38) they exclude one another, and a contended trylock makes a walk give up
-- (rmap_walk_contended).  See docs/rmap.md.
local parents = param("parents", 2, "forking tasks (one process family each)")
local walkers = param("walkers", 2, "rmap walker threads")
local kind = param("kind", "reclaim", "what the walkers do with a folio: reclaim or migrate")
local avl = param("anon_vma_lock", "rwsem", "anon_vma lock: rwsem or spinlock")
local iml = param("i_mmap_lock", "rwsem", "i_mmap lock: rwsem or spinlock")
local pages = param("pages", 32, "pages per mapping")
local batch = param("batch", 32, "folios per walker pass")
local interval = param("interval_us", 20, "walker sleep between passes (us)")
return scenario {
  cpus = parents,
  duration_ms = 4,
  check = true,
  anon_vma_lock = avl,
  i_mmap_lock = iml,
  files = { data = { size_mb = 1, cached = true, read_ns = 5000 } },
  rmap_walker = { cpus = walkers, kind = kind, batch = batch, interval_us = interval },
  tasks = {
    task { name = "parent", count = parents, program = function(t)
      local len = pages * PAGE_SIZE
      local half = (pages // 2) * PAGE_SIZE
      local a = mmap(len)
      local f = mmap(len, { file = "data", shared = true })
      touch(a, len)
      touch(f, len, PAGE_SIZE, "r")
      while alive() do
        local child = fork()
        child:touch(a, half, "w")
        child:touch(f, len, PAGE_SIZE, "r")
        touch(a, len, PAGE_SIZE, "r")
        if rand() < 0.5 then touch(f, half, PAGE_SIZE, "r") end
        child:exit()
      end
      munmap(f, len)
      munmap(a, len)
    end },
  },
}
