-- expect: khugepaged_max_ptes_swap
return scenario {
  cpus = 2,
  collapse = "read-swapin",
  khugepaged_max_ptes_swap = 513,
  tasks = { task { count = 1, program = function() end } },
}
