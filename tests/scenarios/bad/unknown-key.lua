-- expect: unknown field 'cpu'
return scenario {
  cpu = 4,
  tasks = { task { count = 1, program = function() end } },
}
