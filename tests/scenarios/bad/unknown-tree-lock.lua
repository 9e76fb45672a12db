-- expect: unknown tree_lock 'mutex' (known: mmap_lock, spinlock)
return scenario {
  cpus = 1,
  tree_lock = "mutex",
  tasks = { task { count = 1, program = function() end } },
}
