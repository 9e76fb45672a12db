-- expect: child:touch(): the child has exited
-- when: run
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function()
    local a = mmap(4096)
    touch(a, 4096)
    local child = fork()
    child:exit()
    child:touch(a, 4096, "r")
  end } },
}
