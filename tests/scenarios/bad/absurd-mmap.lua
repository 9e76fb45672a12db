-- expect: exceeds the 128 TiB user address space
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    local a = mmap(1 << 60)
  end } },
}
