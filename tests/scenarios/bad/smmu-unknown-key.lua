-- expect: secondary_mmu: unknown field 'vcpus'
return scenario {
  cpus = 1,
  duration_ms = 1,
  secondary_mmu = { vcpus = 1 },
  tasks = { task { count = 1, program = function() end } },
}
