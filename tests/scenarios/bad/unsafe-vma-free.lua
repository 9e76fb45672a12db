-- expect: vma_free = "typesafe" is unsafe with this scheme
return scenario {
  cpus = 1,
  scheme = "pervma",
  vma_free = "typesafe",
  tasks = { task { count = 1, program = function() end } },
}
