-- expect: '}' expected
return scenario {
  cpus = 2,
  tasks = { task { count = 1, program = function() end },
}
