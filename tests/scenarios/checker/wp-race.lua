-- A reader caches the zero page's translation of a page; the owner then writes the page,
-- which replaces the zero page by a fresh one (the write-protect fault) and must flush
-- the old translation from every TLB.  The reader, reading again after the write has
-- returned, must see the written value: the checker verifies it.  With
-- inject = "skip-wp-flush" the reader keeps reading zeros through its stale entry, which
-- no other check sees (the zero page is never freed): load-returns-last-store.
local pages = param("pages", 8, "pages written after the reader cached them")
return scenario {
  cpus = 2,
  check = true,
  tasks = {
    task { name = "owner", count = 1, program = function()
      local ctl = shared("ctl")
      local a = mmap(pages * PAGE_SIZE)
      touch(a, pages * PAGE_SIZE, PAGE_SIZE, "r")   -- map the zero page everywhere
      shm_store(ctl, 8, a)
      shm_wait(ctl, 16, 1)                          -- the reader has read it all
      touch(a, pages * PAGE_SIZE, PAGE_SIZE, "w")   -- write faults replace the zero page
      shm_store(ctl, 24, 1)
      shm_wait(ctl, 16, 2)
      munmap(a, pages * PAGE_SIZE)
    end },
    task { name = "reader", count = 1, program = function()
      local ctl = shared("ctl")
      local a = 0
      while a == 0 do a = shm_load(ctl, 8); work(100) end
      touch(a, pages * PAGE_SIZE, PAGE_SIZE, "r")   -- TLB now maps each page to the zero page
      shm_store(ctl, 16, 1)
      shm_wait(ctl, 24, 1)
      touch(a, pages * PAGE_SIZE, PAGE_SIZE, "r")   -- must read the owner's values
      shm_store(ctl, 16, 2)
    end },
  },
}
