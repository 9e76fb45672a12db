-- expect: one task per CPU
return scenario {
  cpus = 4,
  tasks = { task { name = "a", count = 3, program = function() end },
            task { name = "b", count = 2, program = function() end } },
}
