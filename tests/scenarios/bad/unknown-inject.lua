-- expect: unknown inject 'skip-flush' (known: none, skip-tlb-flush, free-before-flush, dontneed-no-zap, skip-wp-flush, file-cow-no-flush, cow-no-copy, notifier-missing-end, secondary-mmu-no-retry, mmap-fixed-no-zap, migration-skip-child, swap-no-writeback)
return scenario {
  cpus = 1,
  inject = "skip-flush",
  tasks = { task { count = 1, program = function() end } },
}
