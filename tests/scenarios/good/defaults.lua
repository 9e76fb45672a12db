-- The smallest valid scenario: every other field takes its default.
-- expect: "machine" : "generic-2s"
-- expect: "scheme" : "classic"
-- expect: "seed" : 1,
-- expect: "deadline_ms" : 10000.0
-- expect: "check" : false
-- expect: "name" : "defaults"
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function() end } },
}
