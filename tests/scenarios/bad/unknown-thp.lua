-- expect: unknown thp 'sometimes' (known: never, always, madvise)
return scenario {
  cpus = 1,
  thp = "sometimes",
  tasks = { task { count = 1, program = function() end } },
}
