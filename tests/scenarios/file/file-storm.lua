-- mprotect, MADV_DONTNEED, munmap and faults on file mappings, under the checker.  Each
-- worker maps the same file twice, shared and private, over its own slice of the file;
-- it writes both, reads both back, write-protects random parts (and checks writes fail
-- there), drops random parts of the private mapping (which then reads the file again:
-- the shared mapping's stores) and of the shared one (which loses nothing), and now and
-- then unmaps and remaps everything.  Readers map the whole file shared and read random
-- pages meanwhile: they must see the workers' shared stores, whatever their TLBs hold.
local workers = param("workers", 2, "tasks that write, mprotect, madvise and remap")
local readers = param("readers", 2, "tasks that read the whole file through their mapping")
local rounds = param("rounds", 10, "storm rounds per worker")
local pages = param("pages", 32, "pages per worker slice of the file")

local function expect_fault(addr, mode)
  local ok = pcall(touch, addr, 8, PAGE_SIZE, mode)
  assert(not ok, string.format("%s at 0x%x should have faulted", mode, addr))
end

local tasks = {
  task { name = "worker", count = workers, program = function(t)
    local len = pages * PAGE_SIZE
    local off = (t.index - 1) * len
    local function map()
      return mmap(len, { file = "data", offset = off, shared = true }),
             mmap(len, { file = "data", offset = off, shared = false })
    end
    local s, p = map()
    for r = 1, rounds do
      touch(s, len, PAGE_SIZE, "w")
      touch(p + 64, len - 64, PAGE_SIZE, "r")      -- the file: s's stores
      touch(p + 128, len - 128, 2 * PAGE_SIZE, "w") -- private copies of every other page
      touch(p, len, PAGE_SIZE / 2, "r")
      for k = 1, 3 do
        local first = rand(0, pages - 8)
        local n = rand(1, 8)
        local m = k == 2 and p or s
        assert(mprotect(m + first * PAGE_SIZE, n * PAGE_SIZE, "r"))
        touch(m + first * PAGE_SIZE, n * PAGE_SIZE, PAGE_SIZE, "r")
        expect_fault(m + first * PAGE_SIZE, "w")
        assert(mprotect(m + first * PAGE_SIZE, n * PAGE_SIZE, "rw"))
        touch(m + first * PAGE_SIZE, n * PAGE_SIZE, PAGE_SIZE, "w")
      end
      local first = rand(0, pages - 12)
      local n = rand(1, 12)
      assert(madvise_dontneed(p + first * PAGE_SIZE, n * PAGE_SIZE))
      touch(p + first * PAGE_SIZE, n * PAGE_SIZE, PAGE_SIZE / 4, "r")
      assert(madvise_dontneed(s + first * PAGE_SIZE, n * PAGE_SIZE))
      touch(s + first * PAGE_SIZE, n * PAGE_SIZE, PAGE_SIZE / 4, "r")
      if r % 4 == 0 then
        munmap(s, len)
        munmap(p, len)
        s, p = map()
      end
      work(300)
    end
    munmap(s, len)
    munmap(p, len)
  end },
  task { name = "reader", count = readers, program = function(t)
    local len = workers * pages * PAGE_SIZE
    local a = mmap(len, { file = "data", shared = true, prot = "r" })
    for i = 1, rounds * 40 do
      local pg = rand(0, workers * pages - 1)
      touch(a + pg * PAGE_SIZE, 8, 8, "r")
      if i % 50 == 0 then madvise_dontneed(a, len) end
      work(200)
    end
    munmap(a, len)
  end },
}

return scenario {
  cpus = workers + readers,
  seed = 1,
  check = true,
  files = { data = { size_mb = 4, cached = param("cached", true, "file starts cached") } },
  tasks = tasks,
}
