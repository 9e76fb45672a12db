-- expect: lies below mmap_min_addr 0x10000 (EPERM)
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    mmap(4096, { addr = 0x1000, fixed = true })
  end } },
}
