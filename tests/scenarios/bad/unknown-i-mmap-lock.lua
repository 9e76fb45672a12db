-- expect: scenario: unknown i_mmap_lock 'mutex' (known: rwsem, spinlock)
return scenario {
  cpus = 1,
  i_mmap_lock = "mutex",
  tasks = { task { count = 1, program = function() end } },
}
