-- expect: 'count' = 0 must be in [1,
return scenario {
  cpus = 2,
  tasks = { task { count = 0, program = function() end } },
}
