-- A user preset derived from a shipped one: one socket of zen4-genoa-2s at a lower clock.
return {
  base = "zen4-genoa-2s",
  name = "genoa-1s-test",
  description = "one socket of zen4-genoa-2s (test preset)",
  sockets = 1,
  cache = { l2_kib = 2048 },    -- a sub-table overrides only the fields it names
}
