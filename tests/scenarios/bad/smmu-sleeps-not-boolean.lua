-- expect: secondary_mmu: 'sleeps' must be a boolean, got string
return scenario {
  cpus = 1,
  duration_ms = 1,
  secondary_mmu = { sleeps = "yes" },
  tasks = { task { count = 1, program = function() end } },
}
