-- expect: runs khugepaged on a CPU of its own, but all 2 CPUs have a task (raise cpus)
return scenario {
  cpus = 2,
  collapse = "write-lock",
  tasks = { task { count = 2, program = function() end } },
}
