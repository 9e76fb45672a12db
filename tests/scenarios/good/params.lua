-- Parameters of every type, overridden from the command line; scenario fields too.
-- args: --set n=3 --set label=big --set verbose=true --set frac=0.25 --set seed=9 --set scheme=classic
-- expect: "n" : 3
-- expect: "label" : "big"
-- expect: "verbose" : true
-- expect: "frac" : 0.25
-- expect: "seed" : 9,
-- expect: "cpus" : 4,
-- expect: "threads" : 4,
-- expect: "count" : 3
local n = param("n", 1, "workers")
local label = param("label", "small")
local verbose = param("verbose", false)
local frac = param("frac", 0.5)
assert(math.type(n) == "integer" and type(verbose) == "boolean" and frac == 0.25)
return scenario {
  name = "params-" .. label,
  cpus = n + 1,
  tasks = {
    task { name = "worker", count = n, program = function() end },
    task { name = "writer", count = 1, program = function() end },
  },
}
