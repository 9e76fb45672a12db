-- expect: attempt to index a nil value
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 2,
  tasks = { task { count = 2, program = function(t)
    local cfg = nil
    return cfg.size
  end } },
}
