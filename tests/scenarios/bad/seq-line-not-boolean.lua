-- expect: 'seq_shares_lock_line' must be a boolean, got number
return scenario {
  cpus = 1,
  seq_shares_lock_line = 1,
  tasks = { task { count = 1, program = function() end } },
}
