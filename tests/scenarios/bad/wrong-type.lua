-- expect: 'cpus' must be an integer
return scenario {
  cpus = "eight",
  tasks = { task { count = 1, program = function() end } },
}
