-- expect: rmap_walker: 'kind' must be
return scenario {
  cpus = 1,
  duration_ms = 1,
  rmap_walker = { kind = "compact" },
  tasks = { task { count = 1, program = function() end } },
}
