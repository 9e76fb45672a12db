-- expect: must end with 'return scenario { ... }'
local s = scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function() end } },
}
