-- expect: spf_walk applies to scheme spf only
return scenario {
  cpus = 1,
  scheme = "pervma",
  spf_walk = "irqs-off",
  tasks = { task { count = 1, program = function() end } },
}
