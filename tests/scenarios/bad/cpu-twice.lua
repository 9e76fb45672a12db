-- expect: cpu 3 is given to two tasks
return scenario {
  cpus = 2,
  tasks = {
    task { name = "a", count = 1, cpu = 3, program = function(t) end },
    task { name = "b", count = 1, cpu = 3, program = function(t) end },
  },
}
