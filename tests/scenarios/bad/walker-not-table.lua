-- expect: scenario: 'rmap_walker' must be a table
return scenario {
  cpus = 1,
  duration_ms = 1,
  rmap_walker = 2,
  tasks = { task { count = 1, program = function() end } },
}
