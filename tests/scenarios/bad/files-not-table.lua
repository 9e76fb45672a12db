-- expect: scenario: 'files' must be a table of name = { size_mb = ... }, got number
return scenario {
  cpus = 1,
  files = 3,
  tasks = { task { count = 1, program = function() end } },
}
