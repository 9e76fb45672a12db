-- expect: build it with task{...}
return scenario {
  cpus = 1,
  tasks = { { count = 1, program = function() end } },
}
