-- expect: secondary_mmu: needs 'duration_ms'
return scenario {
  cpus = 1,
  secondary_mmu = { cpus = 1 },
  tasks = { task { count = 1, program = function() end } },
}
