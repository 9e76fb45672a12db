-- expect: ends beyond the user address space at 0x7ffffffff000 (ENOMEM)
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    mmap(2 * 4096, { addr = 0x7ffffffff000 - 4096, fixed = true })
  end } },
}
