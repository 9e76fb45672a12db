-- Plain Lua works: local helpers, loops building task lists, string and math libraries.
-- expect: "cpus" : 6,
-- expect: "threads" : 6,
-- expect: "duration_ms" : 1.5
local function group(name, count)
  return task { name = name, count = count, program = function(t)
    while alive() do sleep(100) end
  end }
end
local tasks = {}
for i, name in ipairs({ "a", "b", "c" }) do
  tasks[#tasks + 1] = group(string.format("%s%d", name, i), 2)
end
return scenario {
  cpus = math.max(6, #tasks),
  duration_ms = 1.5,
  tasks = tasks,
}
