-- expect: mmap: length -4096 must be positive
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function() mmap(-4096) end } },
}
