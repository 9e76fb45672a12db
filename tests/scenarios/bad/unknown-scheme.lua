-- expect: unknown scheme 'spf2' (known: classic
return scenario {
  cpus = 2,
  scheme = "spf2",
  tasks = { task { count = 1, program = function() end } },
}
