-- expect: rmap_walker: unknown field 'threads'
return scenario {
  cpus = 1,
  duration_ms = 1,
  rmap_walker = { threads = 1 },
  tasks = { task { count = 1, program = function() end } },
}
