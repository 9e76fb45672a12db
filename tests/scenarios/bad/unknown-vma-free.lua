-- expect: unknown vma_free 'slab' (known: immediate, rcu, typesafe)
return scenario {
  cpus = 1,
  vma_free = "slab",
  tasks = { task { count = 1, program = function() end } },
}
