-- expect: mmap: 'shared' must be a boolean, got string
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  files = { data = { size_mb = 1 } },
  tasks = { task { count = 1, program = function()
    mmap(4096, { file = "data", shared = "yes" })
  end } },
}
