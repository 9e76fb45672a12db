-- expect: while loading (an endless loop?)
while true do end
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function() end } },
}
