-- expect: khugepaged_pages_to_scan
return scenario {
  cpus = 2,
  collapse = "write-lock",
  khugepaged_pages_to_scan = 0,
  tasks = { task { count = 1, program = function() end } },
}
