-- expect: unknown ptl 'split-pud' (known: split-pmd, split-pte, mm)
return scenario {
  cpus = 1,
  ptl = "split-pud",
  tasks = { task { count = 1, program = function() end } },
}
