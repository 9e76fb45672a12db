-- expect: touch: mode must be "r" or "w"
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    local a = mmap(8192)
    touch(a, 8192, 4096, "x")
  end } },
}
