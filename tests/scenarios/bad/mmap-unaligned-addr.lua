-- expect: mmap: addr 0x7e0000000100 is not page aligned (EINVAL)
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    mmap(4096, { addr = 0x7e0000000100, fixed = true })
  end } },
}
