-- expect: only a task program may call it
local a = mmap(4096)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function() end } },
}
