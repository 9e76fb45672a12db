-- expect: rmap_walker: 'batch' = 0 must be in [1, 1024]
return scenario {
  cpus = 1,
  duration_ms = 1,
  rmap_walker = { batch = 0 },
  tasks = { task { count = 1, program = function() end } },
}
