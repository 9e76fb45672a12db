-- expect: mprotect: prot must be "none" or letters of "rwx", got "rww"
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    local a = mmap(8192)
    mprotect(a, 8192, "rww")
  end } },
}
