-- expect: mmap: 'fixed' must be true, false or "noreplace", got "replace"
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    mmap(4096, { addr = 0x7e0000000000, fixed = "replace" })
  end } },
}
