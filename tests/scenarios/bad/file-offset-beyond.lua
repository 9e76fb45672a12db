-- expect: mmap: offset 1044480 + length 8192 lies beyond the end of 'data'
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 1,
  files = { data = { size_mb = 1 } },
  tasks = { task { count = 1, program = function()
    mmap(8192, { file = "data", offset = 255 * PAGE_SIZE })
  end } },
}
