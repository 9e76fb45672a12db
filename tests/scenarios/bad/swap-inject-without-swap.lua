-- expect: swap-no-writeback" needs swap_mb > 0
return scenario {
  cpus = 1,
  inject = "swap-no-writeback",
  tasks = { task { count = 1, program = function() end } },
}
