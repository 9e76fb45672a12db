-- expect: 'cpus' = 0 must be in [1, 64]
-- args: --set cpus=0
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function() end } },
}
