-- expect: swap_mb
return scenario {
  cpus = 1,
  swap_mb = -4,
  tasks = { task { count = 1, program = function() end } },
}
