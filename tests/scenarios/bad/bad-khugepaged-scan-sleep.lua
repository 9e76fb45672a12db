-- expect: 'khugepaged_scan_sleep_ms' = 0.0 must be in (0, 1e6]
return scenario {
  cpus = 2,
  collapse = "write-lock",
  khugepaged_scan_sleep_ms = 0,
  tasks = { task { count = 1, program = function() end } },
}
