-- expect: 'gfp_nowait_fail' = 1.5 must be a probability in [0, 1]
return scenario {
  cpus = 1,
  gfp_nowait_fail = 1.5,
  tasks = { task { count = 1, program = function() end } },
}
