-- expect: without a simulated operation (an endless loop?)
-- when: run (the file loads; the program fails)
return scenario {
  cpus = 2,
  tasks = { task { count = 2, program = function(t)
    local x = 0
    while true do x = x + 1 end
  end } },
}
