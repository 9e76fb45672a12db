-- expect: mmap: 'offset' and 'shared' are options of a file mapping (give 'file')
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    mmap(4096, { shared = true })
  end } },
}
