-- expect: 'cpus' = 100000 must be in [1, 64]
return scenario {
  cpus = 100000,
  tasks = { task { count = 1, program = function() end } },
}
