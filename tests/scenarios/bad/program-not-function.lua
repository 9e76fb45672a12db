-- expect: 'program' must be a function, got string
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = "fault" } },
}
