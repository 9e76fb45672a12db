-- generic-2s: the default machine of the scenarios: icelake-sp-2s with SMT off (64 CPUs),
-- so that one task per CPU means one task per core.  Every other number, and its source,
-- is icelake-sp-2s's.
return {
  base = "icelake-sp-2s",
  name = "generic-2s",
  description = "default: 2 x 32-core Ice Lake-SP (8358), SMT off: 64 CPUs",
  threads_per_core = 1,         -- SMT off
}
