-- expect: scenario: file 'data': 'size_mb' must be a number, got string
return scenario {
  cpus = 1,
  files = { data = { size_mb = "big" } },
  tasks = { task { count = 1, program = function() end } },
}
