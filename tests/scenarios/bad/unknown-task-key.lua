-- expect: task: unknown field 'cont'
return scenario {
  cpus = 4,
  tasks = { task { cont = 1, program = function() end } },
}
