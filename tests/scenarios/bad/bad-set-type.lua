-- expect: --set n=abc: expected a number
-- args: --set n=abc
local n = param("n", 1)
return scenario {
  cpus = n,
  tasks = { task { count = n, program = function() end } },
}
