-- expect: --set bogus: no such parameter (this scenario's parameters: n
-- args: --set bogus=1
local n = param("n", 1)
return scenario {
  cpus = n,
  tasks = { task { count = n, program = function() end } },
}
