# khugepaged and the collapse schemes.
#  - collapse-dontneed-race.lua: under pmd-none-unsafe the checker stops the run (status
#    3) with a report naming MADV_DONTNEED; under every safe scheme it runs clean.
#    pmd-lock (the 2024 "hold the PMD lock across the copy" idea) leaves the PMD none
#    for lockless readers too: the same report.
#  - collapse-storm.lua: collapses happen, and the checker stays clean, under every safe
#    scheme with several fault schemes, CPU counts, seeds and lock granularities.
#  - khugepaged-stall.lua: reports per-collapse lock hold times and the fault stall.
. "$(dirname "$0")/lib.sh"
race="$SRC/scenarios/collapse-dontneed-race.lua"
storm="$SRC/tests/scenarios/thp/collapse-storm.lua"
stall="$SRC/scenarios/khugepaged-stall.lua"
num() { sed -n "s/.*\"$1\" : \([0-9]*\).*/\1/p" "$2" | head -1; }
safe="write-lock read-swapin pmd-seq invalid-pte"

for c in pmd-none-unsafe pmd-lock; do
  "$MMSIM" run "$race" --set collapse=$c --out "$TMP/race-$c" 2>"$TMP/race-$c.err"
  rc=$?
  check "race, $c: exit status 3 (got $rc)" [ "$rc" -eq 3 ]
  check "race, $c: the report names MADV_DONTNEED" grep -q 'MADV_DONTNEED' "$TMP/race-$c.err"
  check "race, $c: the report names the broken invariant" \
    grep -q 'load-returns-last-store' "$TMP/race-$c.err"
  check "race, $c: the report shows the collapse" \
    grep -q 'khugepaged collapse_huge_page' "$TMP/race-$c.err"
done
# The race does not depend on one machine's timing.
for m in zen4-genoa-2s sapphire-rapids-1s; do
  "$MMSIM" run "$race" --set machine=$m --out "$TMP/race-$m" 2>"$TMP/race-$m.err"
  rc=$?
  check "race, pmd-none-unsafe on $m: exit 3 (got $rc)" [ "$rc" -eq 3 ]
  check "race, pmd-none-unsafe on $m: the report names MADV_DONTNEED" \
    grep -q 'MADV_DONTNEED' "$TMP/race-$m.err"
  "$MMSIM" run "$race" --set machine=$m --set collapse=pmd-seq --out "$TMP/race-s-$m" 2>/dev/null
  check "race, pmd-seq on $m: exit 0" [ $? -eq 0 ]
done
for c in $safe; do
  "$MMSIM" run "$race" --set collapse=$c --out "$TMP/race-$c" 2>"$TMP/race-$c.err"
  rc=$?
  check "race, $c: exit 0 (got $rc)" [ "$rc" -eq 0 ]
  cnt=$(num collapses "$TMP/race-$c/results.json")
  check "race, $c: khugepaged collapsed ($cnt)" [ "${cnt:-0}" -gt 0 ]
  check "race, $c: consistent" grep -q '"verdict" : "consistent"' "$TMP/race-$c/results.json"
  # The race window was hit, and the scheme's own mechanism held the madvise off: the
  # write-lock schemes make it wait for mmap_lock, the others for the collapse.
  case $c in
    pmd-seq|invalid-pte) e=collapse_wait ;;
    *) e=mmap_read_trylock_fail ;;
  esac
  w=$(sed -n "/\"results\"/,\$ s/.*\"$e\" : \([0-9]*\).*/\1/p" "$TMP/race-$c/results.json" | head -1)
  check "race, $c: MADV_DONTNEED met the collapse and waited ($e = $w)" [ "${w:-0}" -gt 0 ]
done

for c in $safe; do
  for scheme in classic pervma-refcount spf rcu; do
    for point in "1 1 split-pmd" "3 2 mm" "2 3 split-pte"; do
      set -- $point
      out="$TMP/storm-$c-$scheme-$1-$2-$3"
      "$MMSIM" run "$storm" --set collapse=$c --set scheme=$scheme --set workers=$1 \
        --set seed=$2 --set ptl=$3 --out "$out" 2>"$out.err"
      rc=$?
      cnt=$(num collapses "$out/results.json" 2>/dev/null)
      check "storm, $c, $scheme, $1 workers, seed $2, ptl=$3: exit 0 ($rc)" [ "$rc" -eq 0 ]
      check "storm, $c, $scheme, $1 workers, seed $2, ptl=$3: collapses ($cnt)" \
        [ "${cnt:-0}" -gt 0 ]
    done
  done
done
# thp = "always": the ranges start as huge PMDs, splits make them small, khugepaged
# collapses them again, and huge faults race with the collapses.
for c in $safe; do
  out="$TMP/storm-always-$c"
  "$MMSIM" run "$storm" --set thp=always --set collapse=$c --set workers=3 --set readers=2 \
    --set rounds=60 --out "$out" 2>"$out.err"
  check "storm, thp=always, $c: exit 0" [ $? -eq 0 ]
  cnt=$(num collapses "$out/results.json" 2>/dev/null)
  check "storm, thp=always, $c: collapses ($cnt)" [ "${cnt:-0}" -gt 0 ]
done
"$MMSIM" run "$storm" --set collapse=pmd-none-unsafe --out "$TMP/storm-unsafe" \
  2>"$TMP/storm-unsafe.err"
check "storm, pmd-none-unsafe: the checker stops it (status 3)" [ $? -eq 3 ]

for c in write-lock pmd-seq; do
  "$MMSIM" run "$stall" --set collapse=$c --set threads=3 --set ranges=2 --set fault_mb=2 \
    --out "$TMP/stall-$c" 2>/dev/null
  check "stall, $c: exit 0" [ $? -eq 0 ]
  check "stall, $c: results.json has the khugepaged report" \
    grep -q "\"collapse\" : \"$c\"" "$TMP/stall-$c/results.json"
  check "stall, $c: lock_stat.txt has the khugepaged section" \
    grep -q "khugepaged (collapse = $c" "$TMP/stall-$c/lock_stat.txt"
  cnt=$(num collapses "$TMP/stall-$c/results.json")
  check "stall, $c: collapses ($cnt)" [ "${cnt:-0}" -gt 0 ]
done
# Who holds what: write-lock holds mmap_lock (W) and never (R) across the collapse;
# pmd-seq the reverse.
w=$(sed -n '/"mmap_write"/,/}/ s/.*"collapses" : \([0-9]*\).*/\1/p' "$TMP/stall-write-lock/results.json")
check "stall, write-lock: collapses held mmap_lock (W) ($w)" [ "${w:-0}" -gt 0 ]
w=$(sed -n '/"mmap_write"/,/}/ s/.*"collapses" : \([0-9]*\).*/\1/p' "$TMP/stall-pmd-seq/results.json")
check "stall, pmd-seq: no collapse held mmap_lock (W) ($w)" [ "${w:-1}" -eq 0 ]
# Same seed, same run, khugepaged included.
"$MMSIM" run "$stall" --set collapse=pmd-seq --set threads=3 --set ranges=2 --set fault_mb=2 \
  --out "$TMP/stall-again" 2>/dev/null
check "stall, pmd-seq: a second run gives byte-identical results" \
  cmp -s "$TMP/stall-pmd-seq/results.json" "$TMP/stall-again/results.json"
done_testing
