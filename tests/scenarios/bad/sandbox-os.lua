-- expect: global 'os'
os.execute("touch mmsim-escaped")  -- in the working directory, if it ever ran
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function() end } },
}
