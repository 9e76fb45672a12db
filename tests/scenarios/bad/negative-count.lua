-- expect: 'count' = -1 must be in [1,
return scenario {
  cpus = 2,
  tasks = { task { count = -1, program = function() end } },
}
