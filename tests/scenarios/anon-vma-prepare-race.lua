-- Racing first write faults of one fresh VMA: one task maps a region and publishes it;
-- then every task writes its own page of it at the same time.  Each fault finds no
-- anon_vma, allocates one and races for mm->page_table_lock in anon_vma_prepare: one
-- publishes, the others free theirs and use the winner's (the recheck under the lock).
-- Under 6.15 per-VMA locks the racers hold only the VMA lock and take mmap_lock by
-- trylock (vmf_anon_prepare); under 6.4 they all go to mmap_lock.
local threads = param("threads", 8, "tasks racing on the VMA")
return scenario {
  cpus = threads,
  scheme = "pervma-refcount",
  check = true,
  tasks = {
    task { name = "racer", count = threads, program = function(t)
      local ctl = shared("ctl")
      if t.index == 1 then
        shm_store(ctl, 8, mmap(threads * PAGE_SIZE))
      end
      local a = 0
      while a == 0 do a = shm_load(ctl, 8); work(100) end
      shm_add(ctl, 0, 1)
      shm_wait(ctl, 0, threads)             -- all start together
      touch(a + (t.index - 1) * PAGE_SIZE, PAGE_SIZE)
      touch(a, threads * PAGE_SIZE, PAGE_SIZE, "r")
    end },
  },
}
