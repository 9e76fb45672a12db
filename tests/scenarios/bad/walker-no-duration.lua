-- expect: rmap_walker: needs 'duration_ms'
return scenario {
  cpus = 1,
  rmap_walker = { cpus = 1 },
  tasks = { task { count = 1, program = function() end } },
}
