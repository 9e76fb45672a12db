return { base = "cycle-a.lua", name = "b" }
