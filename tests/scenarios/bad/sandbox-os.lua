-- expect: global 'os'
os.execute("touch /tmp/mmsim-escaped")
return scenario {
  cpus = 1,
  tasks = { task { count = 1, program = function() end } },
}
