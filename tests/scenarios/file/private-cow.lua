-- A private file mapping copies on write.  The owner reads its private mapping (the
-- file's page cache pages, read-only), a reader caches those translations too; the owner
-- then writes every page (wp_page_copy: a private copy replaces the cache page and the
-- old translation is flushed from every TLB).  The reader, reading again after the
-- writes returned, must see the owner's values.  With inject = "file-cow-no-flush" the
-- reader keeps reading the page cache page through its stale TLB entry:
-- load-returns-last-store.  Meanwhile a shared mapping of the same file writes other
-- pages, which the private mapping sees until it copies them.
local pages = param("pages", 8, "pages written after the reader cached them")
return scenario {
  cpus = 3,
  check = true,
  files = { data = { size_mb = 1 } },
  tasks = {
    task { name = "owner", count = 1, program = function()
      local ctl = shared("ctl")
      local a = mmap(2 * pages * PAGE_SIZE, { file = "data", shared = false })
      touch(a, 2 * pages * PAGE_SIZE, PAGE_SIZE, "r")
      shm_store(ctl, 8, a)
      shm_wait(ctl, 16, 1)                        -- the reader has read it all
      touch(a, pages * PAGE_SIZE, PAGE_SIZE, "w") -- COW of the first half
      shm_store(ctl, 24, 1)
      shm_wait(ctl, 16, 2)
      shm_wait(ctl, 32, 1)                        -- the sharer stored to the second half
      touch(a + pages * PAGE_SIZE, pages * PAGE_SIZE, PAGE_SIZE, "r") -- sees them
      madvise_dontneed(a, pages * PAGE_SIZE)      -- copies dropped: the file again
      touch(a, pages * PAGE_SIZE, PAGE_SIZE, "r")
      munmap(a, 2 * pages * PAGE_SIZE)
    end },
    task { name = "reader", count = 1, program = function()
      local ctl = shared("ctl")
      local a = 0
      while a == 0 do a = shm_load(ctl, 8); work(100) end
      touch(a, pages * PAGE_SIZE, PAGE_SIZE, "r") -- TLB maps the cache pages
      shm_store(ctl, 16, 1)
      shm_wait(ctl, 24, 1)
      touch(a, pages * PAGE_SIZE, PAGE_SIZE, "r") -- must read the owner's copies
      shm_store(ctl, 16, 2)
    end },
    task { name = "sharer", count = 1, program = function()
      local ctl = shared("ctl")
      local s = mmap(2 * pages * PAGE_SIZE, { file = "data", shared = true })
      shm_wait(ctl, 16, 2)
      touch(s + pages * PAGE_SIZE, pages * PAGE_SIZE, PAGE_SIZE, "w")
      touch(s, pages * PAGE_SIZE, PAGE_SIZE, "w") -- the file, not the owner's copies
      shm_store(ctl, 32, 1)
      munmap(s, 2 * pages * PAGE_SIZE)
    end },
  },
}
