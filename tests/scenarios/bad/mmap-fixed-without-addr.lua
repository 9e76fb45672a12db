-- expect: mmap: 'fixed' needs 'addr' (MAP_FIXED maps at a given address)
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    mmap(4096, { fixed = true })
  end } },
}
