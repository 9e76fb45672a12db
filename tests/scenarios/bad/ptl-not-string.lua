-- expect: 'ptl' must be a string, got number
return scenario {
  cpus = 1,
  ptl = 2,
  tasks = { task { count = 1, program = function() end } },
}
