# The invariant checker: mprotect storms, MADV_DONTNEED and faults run clean at several
# CPU counts and under every page-table lock granularity, with every load verified; and
# each injected bug ends the run with status 3 and a report that names the invariant,
# the time, the CPUs and paths, and the last events on the address.
. "$(dirname "$0")/lib.sh"
storm="$SRC/tests/scenarios/checker/mm-storm.lua"
json_int() { sed -n "s/.*\"$1\" : \([0-9]*\).*/\1/p" "$2" | head -1; }
for w in 1 2 4 8; do
  r=$(( (w + 1) / 2 ))
  "$MMSIM" run "$storm" --set workers=$w --set readers=$r --out "$TMP/s$w" 2>"$TMP/s$w.err"
  check "storm, $w workers + $r readers: exit 0" [ $? -eq 0 ]
  check "storm, $w workers: consistent at the end" \
    grep -q '"verdict" : "consistent"' "$TMP/s$w/results.json"
  loads=$(json_int loads_verified "$TMP/s$w/results.json")
  stores=$(json_int stores_verified "$TMP/s$w/results.json")
  check "storm, $w workers: loads verified ($loads) and stores recorded ($stores)" \
    [ "${loads:-0}" -gt 0 ] && [ "${stores:-0}" -gt 0 ]
  check "storm, $w workers: mprotect and madvise_dontneed ran" \
    grep -q '"madvise_dontneed" : [1-9]' "$TMP/s$w/results.json"
done
# Same seed, same run: the checker's shadow keys on integers only, so nothing it does
# depends on host addresses.
"$MMSIM" run "$storm" --set workers=4 --set readers=2 --out "$TMP/again" 2>/dev/null
check "storm, 4 workers: a second run gives byte-identical results" \
  cmp -s "$TMP/s4/results.json" "$TMP/again/results.json"
# The checker observes only: with it off the simulation is the same.
"$MMSIM" run "$storm" --set workers=4 --set readers=2 --set check=false --out "$TMP/nochk" \
  2>/dev/null
check "storm, 4 workers: the same summary with the checker off" \
  cmp -s "$TMP/s4/summary.csv" "$TMP/nochk/summary.csv"
for ptl in mm split-pte split-pmd; do
  "$MMSIM" run "$storm" --set workers=4 --set readers=2 --set ptl=$ptl --out "$TMP/p$ptl" \
    2>"$TMP/p$ptl.err"
  check "storm with ptl=$ptl: exit 0" [ $? -eq 0 ]
  check "storm with ptl=$ptl: recorded in the resolved config" \
    grep -q "\"ptl\" : \"$ptl\"" "$TMP/p$ptl/results.json"
done
# The same seed under another lock granularity takes other time: the knob is live.
check "ptl=mm and ptl=split-pmd simulate different times" \
  sh -c "! cmp -s '$TMP/pmm/summary.csv' '$TMP/psplit-pmd/summary.csv'"

# Injected bugs: each caught, deterministically, by the named invariant.
for case in skip-tlb-flush:store-honours-protection free-before-flush:tlb-maps-live-page \
            dontneed-no-zap:dontneed-leaves-no-present-pte; do
  inj=${case%%:*}; inv=${case#*:}
  for w in 1 4; do
    "$MMSIM" run "$storm" --set workers=$w --set inject=$inj --out "$TMP/i$inj$w" \
      2>"$TMP/i$inj$w.err"
    rc=$?
    check "inject=$inj, $w workers: exit status 3 (got $rc)" [ "$rc" -eq 3 ]
    check "inject=$inj, $w workers: report names $inv" \
      grep -q "address-space invariant violated: $inv" "$TMP/i$inj$w.err"
    check "inject=$inj, $w workers: report has the time, CPU and path" \
      grep -qE '^  at [0-9.]+ us: task [a-z/0-9]+ on cpu [0-9]+, in ' "$TMP/i$inj$w.err"
    check "inject=$inj, $w workers: report lists the last events on the page" \
      grep -q 'last events on page 0x' "$TMP/i$inj$w.err"
    check "inject=$inj, $w workers: no results written" [ ! -e "$TMP/i$inj$w/results.json" ]
  done
done
# A missing flush that leaves no freed page behind: only the shadow of user memory sees
# that the reader still reads the zero page after the owner's write returned.
wp="$SRC/tests/scenarios/checker/wp-race.lua"
"$MMSIM" run "$wp" --out "$TMP/wp" 2>"$TMP/wp.err"
check "wp-race: exit 0" [ $? -eq 0 ]
check "wp-race: the reader's 16 loads and the owner's 8 are verified" \
  grep -q '"loads_verified" : 24' "$TMP/wp/results.json"
"$MMSIM" run "$wp" --set inject=skip-wp-flush --out "$TMP/wpi" 2>"$TMP/wpi.err"
rc=$?
check "wp-race, inject=skip-wp-flush: exit status 3 (got $rc)" [ "$rc" -eq 3 ]
check "wp-race, inject=skip-wp-flush: report names load-returns-last-store" \
  grep -q "address-space invariant violated: load-returns-last-store" "$TMP/wpi.err"
check "wp-race, inject=skip-wp-flush: the report shows the owner's store on cpu 0" \
  grep -qE 'cpu 0 +owner +store 0x' "$TMP/wpi.err"

# With the checker off nothing verifies the shadow: the skipped mprotect flush is seen
# only by the program's own expectation that the write faults (a Lua error, status 2).
"$MMSIM" run "$storm" --set inject=skip-tlb-flush --set check=false --set workers=1 \
  --out "$TMP/off" 2>"$TMP/off.err"
rc=$?
check "inject=skip-tlb-flush with check=false: the program notices, status 2 (got $rc)" \
  [ "$rc" -eq 2 ]
check "inject=skip-tlb-flush with check=false: no checker report" \
  sh -c "! grep -q 'invariant violated' '$TMP/off.err'"
# Every scheme runs the storm clean: mprotect and DONTNEED race faults that hold only a
# VMA lock under the per-VMA schemes.
for sc in $("$MMSIM" list schemes | cut -d' ' -f1); do
  "$MMSIM" run "$storm" --set workers=4 --set readers=2 --set scheme=$sc --out "$TMP/sc-$sc" \
    2>"$TMP/sc-$sc.err"
  check "storm under $sc: exit 0" [ $? -eq 0 ]
  check "storm under $sc: consistent at the end" \
    grep -q '"verdict" : "consistent"' "$TMP/sc-$sc/results.json"
done
done_testing
