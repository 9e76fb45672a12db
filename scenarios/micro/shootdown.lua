-- shootdown: munmap latency as a function of the CPUs in the mm's cpumask.  One task
-- maps, touches and unmaps a few pages over and over; `mask - 1` other threads of the
-- same process run on other CPUs (busy, so not in lazy TLB mode), so every munmap
-- sends them TLB-flush IPIs and waits for the last acknowledgement.  The unmap covers
-- `pages` pages: up to 33 each CPU flushes them one INVLPG each, above that fully.
-- Reports munmap_ns (mean latency of one munmap) and ipis_per_munmap.
--   mmsim sweep scenarios/micro/shootdown.lua --over mask=1,2,4,8,16,32
local mask = param("mask", 4, "CPUs in the cpumask (the unmapper plus mask-1 bystanders)")
local pages = param("pages", 4, "pages per munmap")
local rounds = param("rounds", 50, "munmaps measured")

local tasks = {
  task { name = "unmapper", count = 1, program = function(t)
    local ctl = shared("ctl", 128)
    shm_wait(ctl, 0, mask - 1)           -- every bystander has run in the mm
    local len = pages * PAGE_SIZE
    local keep = mmap(PAGE_SIZE)         -- a neighbour, so page tables stay
    touch(keep, PAGE_SIZE)
    local total, i0 = 0, stat("tlb_shootdown_ipi")
    for i = 1, rounds do
      local a = mmap(len)
      touch(a, len)
      local t0 = now()
      munmap(a, len)
      total = total + (now() - t0)
    end
    report("munmap_ns", total / rounds)
    report("ipis_per_munmap", (stat("tlb_shootdown_ipi") - i0) / rounds)
    shm_store(ctl, 64, 1)                -- let the bystanders go
  end },
}
if mask > 1 then
  tasks[2] = task { name = "bystander", count = mask - 1, program = function(t)
    local ctl = shared("ctl", 128)
    local a = mmap(PAGE_SIZE)
    touch(a, PAGE_SIZE)                  -- this CPU joins the mm's cpumask
    shm_add(ctl, 0, 1)
    while shm_load(ctl, 64) == 0 do
      work(500)                          -- user code between checks: not idle
    end
  end }
end

return scenario {
  name = "shootdown",
  description = "munmap latency vs CPUs in the mm's cpumask (TLB shootdown IPIs)",
  machine = "generic-2s",
  cpus = mask,
  tasks = tasks,
}
