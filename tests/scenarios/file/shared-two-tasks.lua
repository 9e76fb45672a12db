-- Two tasks map the same file MAP_SHARED, each at its own address.  The writer stores
-- into every page, then tells the reader, which reads its own mapping back: the checker
-- verifies each load returns the writer's store (the page cache page is shared).  Then
-- the writer unmaps and the reader maps the file again: the data is still there.
local pages = param("pages", 16, "pages of the file each task maps")
return scenario {
  cpus = 2,
  check = true,
  files = { data = { size_mb = 1, cached = param("cached", true, "file starts cached") } },
  tasks = {
    task { name = "writer", count = 1, program = function()
      local ctl = shared("ctl")
      local a = mmap(pages * PAGE_SIZE, { file = "data", shared = true })
      touch(a, pages * PAGE_SIZE, PAGE_SIZE, "w")
      shm_store(ctl, 0, 1)
      shm_wait(ctl, 8, 1)
      munmap(a, pages * PAGE_SIZE)
      shm_store(ctl, 0, 2)
    end },
    task { name = "reader", count = 1, program = function()
      local ctl = shared("ctl")
      local b = mmap(pages * PAGE_SIZE, { file = "data", shared = true, prot = "r" })
      touch(b, pages * PAGE_SIZE, PAGE_SIZE, "r")    -- before: zeros (or the store)
      shm_wait(ctl, 0, 1)
      touch(b, pages * PAGE_SIZE, PAGE_SIZE, "r")    -- must read the writer's values
      shm_store(ctl, 8, 1)
      shm_wait(ctl, 0, 2)
      munmap(b, pages * PAGE_SIZE)
      local c = mmap(pages * PAGE_SIZE, { file = "data", shared = true, prot = "r" })
      touch(c, pages * PAGE_SIZE, PAGE_SIZE, "r")    -- still there in the page cache
      munmap(c, pages * PAGE_SIZE)
    end },
  },
}
