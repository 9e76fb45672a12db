-- expect: rmap_walker: 64 threads after CPU 0 do not fit
return scenario {
  cpus = 1,
  duration_ms = 1,
  rmap_walker = { cpus = 64 },
  tasks = { task { count = 1, program = function() end } },
}
