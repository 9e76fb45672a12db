-- expect: unknown collapse 'rcu' (known: none, write-lock, read-swapin, pmd-seq, pmd-lock, pmd-none-unsafe, invalid-pte)
return scenario {
  cpus = 2,
  collapse = "rcu",
  tasks = { task { count = 1, program = function() end } },
}
