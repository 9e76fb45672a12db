-- c2c: bounce one cache line between CPUs a and b with compare-and-swap, as
-- core-to-core-latency does (github.com/nviennot/core-to-core-latency): ping swaps 0 -> 1,
-- pong swaps 1 -> 0, each spinning until its swap succeeds.  Every swap must pull the
-- line from the other CPU, so one round trip is two one-way transfers, and
-- round_trip_ns / 2 should equal the preset's transfer cost for the pair's relation
-- (SMT sibling, same LLC domain, other domain of the socket, other socket).
-- CPU numbers are Linux's: socket-major, SMT siblings after all cores.
--   mmsim run scenarios/micro/c2c.lua --set machine=skylake-sp-2s --set a=0 --set b=28
local a = param("a", 0, "first CPU (Linux numbering)")
local b = param("b", 1, "second CPU")
local rounds = param("rounds", 1000, "round trips measured")

return scenario {
  name = "c2c",
  description = "core-to-core cache-line round trip between CPUs a and b (CAS ping-pong)",
  machine = "generic-2s",
  cpus = 2,
  tasks = {
    task { name = "ping", count = 1, cpu = a, program = function(t)
      local line = shared("line")
      local t0
      for i = 0, rounds do
        shm_spin_cas(line, 0, 0, 1)
        if i == 0 then t0 = now() end   -- the first swap finds the line cold
      end
      report("round_trip_ns", (now() - t0) / rounds)
    end },
    task { name = "pong", count = 1, cpu = b, program = function(t)
      local line = shared("line")
      for i = 0, rounds do
        shm_spin_cas(line, 0, 1, 0)
      end
    end },
  },
}
