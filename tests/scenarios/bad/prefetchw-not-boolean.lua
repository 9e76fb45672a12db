-- expect: 'prefetchw' must be a boolean, got string
return scenario {
  cpus = 1,
  prefetchw = "yes",
  tasks = { task { count = 1, program = function() end } },
}
