-- writer-vs-faulters: N threads fault in their own VMAs while one more thread maps and
-- unmaps small regions elsewhere in the same mm.  Under classic every mmap/munmap takes
-- mmap_lock for write, so the faulters stall behind the writer (and the writer behind
-- them); schemes that take per-VMA locks or RCU should let faulters run on.

local faulters = param("faulters", 8, "faulting threads")
local writer_gap_us = param("writer_gap_us", 5, "the writer's pause between mmap and munmap, us")
local duration = param("duration_ms", 5, "simulated time, ms")

return scenario {
  name = "writer-vs-faulters",
  description = "faulting threads in their own VMAs vs one mmap/munmap thread elsewhere",
  machine = "generic-2s",
  scheme = "classic",
  cpus = faulters + 1,
  seed = 1,
  duration_ms = duration,
  tasks = {
    task {
      name = "faulter",
      count = faulters,
      program = function(t)
        local len = 1 * MiB
        -- Its own VMA: regions a gap apart (a hint), so that neighbours do not merge.
        local hint = 0x7e0000000000 - t.index * (len + PAGE_SIZE)
        while alive() do
          local a = mmap(len, { addr = hint })
          touch(a, len, PAGE_SIZE, "w")
          munmap(a, len)
        end
      end,
    },
    task {
      name = "writer",
      count = 1,
      program = function(t)
        local ops, t0 = 0, now()
        while alive() do
          local start = now()
          local a = mmap(64 * KiB)
          sleep(writer_gap_us * us)
          munmap(a, 64 * KiB)
          report("writer_op_ns", now() - start - writer_gap_us * us)
          ops = ops + 1
        end
        report("writer_ops_per_ms", ops / ((now() - t0) / ms))
      end,
    },
  },
}
