-- expect: attempt to index a nil value
return scenario {
  cpus = 2,
  tasks = { task { count = 2, program = function(t)
    local cfg = nil
    return cfg.size
  end } },
}
