return { base = "icelake-sp-2s", cache = { l2_kb = 2048 } }
