-- expect: secondary_mmu: 'rate_per_ms' = 0.0 must be in (0, 1000000]
return scenario {
  cpus = 1,
  duration_ms = 1,
  secondary_mmu = { rate_per_ms = 0 },
  tasks = { task { count = 1, program = function() end } },
}
