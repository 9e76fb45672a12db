-- expect: scenario: file 'data': 'cached' must be a boolean, got number
return scenario {
  cpus = 1,
  files = { data = { size_mb = 1, cached = 1 } },
  tasks = { task { count = 1, program = function() end } },
}
