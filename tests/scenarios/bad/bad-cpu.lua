-- expect: cpu 64 is not a CPU of generic-2s (0..63)
return scenario {
  cpus = 2,
  tasks = {
    task { name = "pinned", count = 2, cpu = { 0, 64 }, program = function(t) end },
  },
}
