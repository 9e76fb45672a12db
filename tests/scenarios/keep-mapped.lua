-- Each task maps 1 MiB (256 pages), writes the first 192 pages, reads the last 64, then
-- unmaps pages [0, 96) and [224, 256): 96 written pages and 32 zero-page PTEs stay mapped.
local threads = param("threads", 4)
return scenario {
  cpus = threads,
  check = true,
  tasks = {
    task { name = "keeper", count = threads, program = function(t)
      local a = mmap(1 * MiB)
      touch(a, 192 * PAGE_SIZE, PAGE_SIZE, "w")
      touch(a + 192 * PAGE_SIZE, 64 * PAGE_SIZE, PAGE_SIZE, "r")
      -- a few other threads' work interleaves here
      sleep(rand(1000))
      munmap(a, 96 * PAGE_SIZE)
      munmap(a + 224 * PAGE_SIZE, 32 * PAGE_SIZE)
    end },
  },
}
