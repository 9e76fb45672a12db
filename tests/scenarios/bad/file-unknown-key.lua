-- expect: scenario: file 'data': unknown key 'sz' (known: size_mb, cached, read_ns)
return scenario {
  cpus = 1,
  files = { data = { size_mb = 1, sz = 2 } },
  tasks = { task { count = 1, program = function() end } },
}
