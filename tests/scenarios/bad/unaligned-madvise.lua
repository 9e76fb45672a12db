-- expect: madvise_dontneed: address
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    local a = mmap(8192)
    madvise_dontneed(a + 8, 4096)
  end } },
}
