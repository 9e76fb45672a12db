-- expect: khugepaged_max_ptes_none
return scenario {
  cpus = 2,
  collapse = "write-lock",
  khugepaged_max_ptes_none = 512,
  tasks = { task { count = 1, program = function() end } },
}
