-- Four faulting threads and one thread that maps and unmaps elsewhere: under classic
-- the faulters queue behind every mmap/munmap's write lock.  Golden: summary.csv.
return scenario {
  name = "writer-vs-faulters-small",
  cpus = 5,
  seed = 3,
  duration_ms = 0.5,
  check = true,
  tasks = {
    task { name = "faulter", count = 4, program = function(t)
      -- Its own VMA: regions a gap apart (a hint), so that neighbours do not merge.
      local hint = 0x7e0000000000 - t.index * (256 * KiB + PAGE_SIZE)
      while alive() do
        local a = mmap(256 * KiB, { addr = hint })
        touch(a, 256 * KiB)
        munmap(a, 256 * KiB)
      end
    end },
    task { name = "writer", count = 1, program = function(t)
      while alive() do
        local a = mmap(64 * KiB)
        sleep(rand(500, 2000))
        munmap(a, 64 * KiB)
      end
    end },
  },
}
