-- expect: scenario: 'secondary_mmu' must be a table
return scenario {
  cpus = 1,
  duration_ms = 1,
  secondary_mmu = 1,
  tasks = { task { count = 1, program = function() end } },
}
