-- file-faults: threads of one process fault a file read-mostly.  Every task maps a window
-- of the file (shared or private), touches each page (a store with probability
-- write_ratio, else a load) and unmaps it, again and again, so the tasks keep faulting
-- the same page cache pages: lookups under RCU in the page cache's radix tree, the folio
-- lock and refcount of popular pages, and i_mmap_rwsem (W) at every mmap and munmap.
-- A private mapping copies a page on its first store (COW); a shared one dirties the
-- page cache page, visible through every mapping of the file.
local threads = param("threads", 4, "faulting tasks (one per CPU)")
local shared = param("shared", true, "MAP_SHARED (else MAP_PRIVATE)")
local write_ratio = param("write_ratio", 0.1, "share of page touches that store")
local file_mb = param("file_mb", 16, "file size, MiB")
local window_pages = param("window_pages", 64, "pages each mapping covers")
local cached = param("cached", true, "the file starts in the page cache")
local duration = param("duration_ms", 2, "simulated time each task keeps going, ms")

return scenario {
  name = "file-faults",
  description = "read-mostly faults on a shared file, per mapping type and write ratio",
  cpus = threads,
  seed = 1,
  duration_ms = duration,
  check = true,
  files = { data = { size_mb = file_mb, cached = cached } },
  tasks = {
    task {
      name = "filer",
      count = threads,
      program = function(t)
        local len = window_pages * PAGE_SIZE
        local windows = file_mb * 256 // window_pages
        while alive() do
          local off = rand(0, windows - 1) * len
          local a = mmap(len, { file = "data", offset = off, shared = shared })
          for p = 0, window_pages - 1 do
            touch(a + p * PAGE_SIZE, 8, 8, rand() < write_ratio and "w" or "r")
          end
          munmap(a, len)
        end
      end,
    },
  },
}
