-- expect: rmap_walker: 'interval_us' = -1
return scenario {
  cpus = 1,
  duration_ms = 1,
  rmap_walker = { interval_us = -1 },
  tasks = { task { count = 1, program = function() end } },
}
