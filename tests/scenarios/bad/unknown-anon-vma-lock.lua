-- expect: unknown anon_vma_lock 'mutex' (known: rwsem, spinlock)
return scenario {
  cpus = 1,
  anon_vma_lock = "mutex",
  tasks = { task { count = 1, program = function() end } },
}
