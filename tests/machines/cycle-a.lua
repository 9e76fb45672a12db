return { base = "cycle-b.lua", name = "a" }
