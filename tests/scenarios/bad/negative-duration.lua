-- expect: 'duration_ms' =
return scenario {
  cpus = 1,
  duration_ms = -5,
  tasks = { task { count = 1, program = function() end } },
}
