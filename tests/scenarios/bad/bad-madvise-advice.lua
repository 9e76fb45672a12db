-- expect: madvise: advice must be "dontneed" or "hugepage", got "willneed"
-- when: run
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    local a = mmap(4096)
    madvise(a, 4096, "willneed")
  end } },
}
