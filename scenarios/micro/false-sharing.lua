-- false-sharing: two CPUs each add to their own counter in a shared region, `stride`
-- bytes apart.  stride = 8 puts both counters in one cache line, which then bounces
-- between the CPUs on every add, although they never touch the same word; stride = 64
-- (padding, ____cacheline_aligned_in_smp in the kernel) gives each counter its own line.
-- Reports ns_per_add, the mean cost of one LOCK XADD.
local stride = param("stride", 8, "bytes between the two counters (8: shared line, 64: padded)")
local adds = param("adds", 2000, "increments per CPU")
local a = param("a", 0, "first CPU")
local b = param("b", 1, "second CPU")

return scenario {
  name = "false-sharing",
  description = "two counters in one cache line vs padded to their own lines",
  machine = "generic-2s",
  cpus = 2,
  tasks = {
    task { name = "adder", count = 2, cpu = { a, b }, program = function(t)
      local r = shared("counters", 128)
      local off = (t.index - 1) * stride
      shm_add(r, off, 0)                 -- first touch (a DRAM miss) is not measured
      local t0 = now()
      for i = 1, adds do
        shm_add(r, off, 1)
        work(5)                          -- the loop's own instructions
      end
      report("ns_per_add", (now() - t0) / adds - 5)
    end },
  },
}
