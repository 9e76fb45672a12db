-- expect: pt_free = "immediate" is unsafe with this scheme
return scenario {
  cpus = 1,
  scheme = "spf",
  pt_free = "immediate",
  tasks = { task { count = 1, program = function() end } },
}
