# DIR/lock_stat.txt: the /proc/lock_stat 0.4 layout, counts that agree with the fault and
# syscall counters, the same file for the same seed, and a clean lockdep verdict.
. "$(dirname "$0")/lib.sh"
q="$SRC/scenarios/quickstart.lua"
col() { # col FILE ROWNAME N: field N of the row whose first field is ROWNAME
  awk -v r="$2" -v n="$3" '$1 == r { print $n; exit }' "$1"
}
for threads in 1 8 64; do
  d="$TMP/a$threads"
  "$MMSIM" run "$q" --set threads=$threads --set duration_ms=0.5 --out "$d" 2>/dev/null
  check "$threads threads: exit 0" [ $? -eq 0 ]
  check "$threads threads: lock_stat.txt starts with its version line" \
    sh -c "head -n 1 '$d/lock_stat.txt' | grep -qx 'lock_stat version 0.4'"
  faults=$(grep -o '"pgfault" : [0-9]*' "$d/results.json" | head -n 1 | grep -o '[0-9]*$')
  mmaps=$(cut -d, -f13 "$d/summary.csv" | tail -n 1)
  munmaps=$(cut -d, -f14 "$d/summary.csv" | tail -n 1)
  r=$(col "$d/lock_stat.txt" '&mm->mmap_lock-R:' 9)
  w=$(col "$d/lock_stat.txt" '&mm->mmap_lock-W:' 9)
  p=$(col "$d/lock_stat.txt" 'ptlock_ptr(ptdesc):' 9)
  # classic: every fault takes mmap_lock for read once; munmap downgrades its write hold.
  check "$threads threads: mmap_lock read acquisitions = faults + munmaps ($r = $faults + $munmaps)" \
    [ "$r" -eq $((faults + munmaps)) ]
  check "$threads threads: mmap_lock write acquisitions = mmaps + munmaps ($w)" \
    [ "$w" -eq $((mmaps + munmaps)) ]
  check "$threads threads: a PTE lock taken at least once per fault ($p >= $faults)" \
    [ "$p" -ge "$faults" ]
  check "$threads threads: results.json has the lock_stat table" \
    grep -q '"class" : "&mm->mmap_lock"' "$d/results.json"
  check "$threads threads: lockdep found no inversion" \
    grep -q '"lockdep" : "no lock order inversion"' "$d/results.json"
done
"$MMSIM" run "$q" --set threads=64 --set duration_ms=0.5 --out "$TMP/b64" 2>/dev/null
check "64 threads: lock_stat.txt identical across runs" cmp -s "$TMP/a64/lock_stat.txt" "$TMP/b64/lock_stat.txt"
check "64 threads: mmap_lock was contended" [ "$(col "$TMP/a64/lock_stat.txt" '&mm->mmap_lock-W:' 3)" -gt 0 ]
done_testing
