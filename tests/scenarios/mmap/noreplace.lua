-- MAP_FIXED_NOREPLACE: over a mapping it fails with EEXIST and leaves the mapping as it
-- was (its data still there); next to it, in free space, it maps exactly there, and the
-- new range merges with the old one.  A hint that is taken maps there too.
local base = 0x7e0000000000
return scenario {
  cpus = 1,
  check = true,
  tasks = {
    task { name = "prog", count = 1, program = function(t)
      local len = 16 * PAGE_SIZE
      assert(mmap(len, { addr = base, fixed = "noreplace" }) == base)
      touch(base, len, PAGE_SIZE, "w")
      local a, err = mmap(4 * PAGE_SIZE, { addr = base + 4 * PAGE_SIZE, fixed = "noreplace" })
      assert(a == nil and err == "EEXIST", "EEXIST over the mapping")
      a, err = mmap(PAGE_SIZE, { addr = base + len - PAGE_SIZE, fixed = "noreplace" })
      assert(a == nil and err == "EEXIST", "EEXIST over its last page")
      touch(base, len, PAGE_SIZE, "r") -- the checker: the data is still there
      assert(mmap(len, { addr = base + len, fixed = "noreplace" }) == base + len)
      assert(mmap(len, { addr = base - len }) == base - len) -- a free hint is taken
      report("eexist", 2)
    end },
  },
}
