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
      while alive() do
        local a = mmap(256 * KiB)
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
