-- expect: exceeds the 128 TiB user address space
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    local a = mmap(1 << 60)
  end } },
}
