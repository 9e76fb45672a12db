-- expect: unknown machine 'pentium-pro'
return scenario {
  cpus = 2,
  machine = "pentium-pro",
  tasks = { task { count = 1, program = function() end } },
}
