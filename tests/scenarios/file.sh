# File mappings and the page cache, end to end with the checker: two tasks sharing a
# file mapping see each other's stores (and the page cache keeps them past munmap); a
# private mapping copies on write, sees the file until then and again after DONTNEED;
# file faults run clean under every scheme at 1, 4 and 16 CPUs, shared and private, cached
# and cold, with either i_mmap lock; a missing flush in the private COW is caught.
. "$(dirname "$0")/lib.sh"
D="$SRC/tests/scenarios/file"
json_int() { sed -n "s/.*\"$1\" : \([0-9]*\).*/\1/p" "$2" | head -1; }

for cached in true false; do
  "$MMSIM" run "$D/shared-two-tasks.lua" --set cached=$cached --out "$TMP/sh$cached" \
    2>"$TMP/sh$cached.err"
  check "shared, cached=$cached: exit 0" [ $? -eq 0 ]
  check "shared, cached=$cached: consistent" \
    grep -q '"verdict" : "consistent"' "$TMP/sh$cached/results.json"
  check "shared, cached=$cached: the reader's 48 loads and the writer's 16 stores verified" \
    [ "$(json_int loads_verified "$TMP/sh$cached/results.json")" -eq 48 -a \
      "$(json_int stores_verified "$TMP/sh$cached/results.json")" -eq 16 ]
done
check "shared, cold file: 16 pages read from the device" \
  [ "$(json_int pgcache_read "$TMP/shfalse/results.json")" -eq 16 ]
check "shared, cached file: nothing read" \
  [ "$(json_int pgcache_read "$TMP/shtrue/results.json")" -eq 0 ]

"$MMSIM" run "$D/private-cow.lua" --out "$TMP/cow" 2>"$TMP/cow.err"
check "private COW: exit 0" [ $? -eq 0 ]
check "private COW: consistent" grep -q '"verdict" : "consistent"' "$TMP/cow/results.json"
check "private COW: 8 copies made" [ "$(json_int fault_file_cow "$TMP/cow/results.json")" -eq 8 ]
check "private COW: every load verified (48)" \
  [ "$(json_int loads_verified "$TMP/cow/results.json")" -eq 48 ]
"$MMSIM" run "$D/private-cow.lua" --set inject=file-cow-no-flush --out "$TMP/cowi" \
  2>"$TMP/cowi.err"
rc=$?
check "private COW, inject=file-cow-no-flush: exit status 3 (got $rc)" [ "$rc" -eq 3 ]
check "private COW, inject=file-cow-no-flush: report names load-returns-last-store" \
  grep -q "address-space invariant violated: load-returns-last-store" "$TMP/cowi.err"
check "private COW, inject=file-cow-no-flush: the stale reader is named" \
  grep -qE 'task reader on cpu 1' "$TMP/cowi.err"
check "private COW, inject=file-cow-no-flush: no results written" \
  [ ! -e "$TMP/cowi/results.json" ]

# Every scheme, as the registry lists them.
schemes=$("$MMSIM" list schemes | awk '{print $1}')
check "the registry lists schemes" [ -n "$schemes" ]
for s in $schemes; do
  for cpus in 1 4 16; do
    for shared in true false; do
      d="$TMP/$s-$cpus-$shared"
      "$MMSIM" run "$SRC/scenarios/file-faults.lua" --set scheme="$s" --set threads=$cpus \
        --set shared=$shared --set write_ratio=0.3 --set duration_ms=0.5 --out "$d" 2>"$d.err"
      rc=$?
      check "$s, $cpus CPUs, shared=$shared: exit 0 (got $rc)" [ $rc -eq 0 ]
      [ $rc -eq 0 ] || sed 's/^/# /' "$d.err" | head -20
      check "$s, $cpus CPUs, shared=$shared: consistent" \
        grep -q '"verdict" : "consistent"' "$d/results.json"
      if [ $shared = true ]; then ev=fault_file_shared; else ev=fault_file_cow; fi
      check "$s, $cpus CPUs, shared=$shared: read and write file faults ran" \
        [ "$(json_int fault_file_read "$d/results.json")" -gt 0 -a \
          "$(json_int $ev "$d/results.json")" -gt 0 ]
    done
  done
done
# The storm: mprotect, DONTNEED, munmap and faults on shared and private mappings of one
# file, with readers of the whole file, under every scheme; and two injected bugs caught.
for s in $schemes; do
  for w in 1 4; do
    d="$TMP/storm-$s-$w"
    "$MMSIM" run "$D/file-storm.lua" --set scheme="$s" --set workers=$w --set readers=$w \
      --out "$d" 2>"$d.err"
    rc=$?
    check "storm, $s, $w workers: exit 0 (got $rc)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || sed 's/^/# /' "$d.err" | head -20
    check "storm, $s, $w workers: consistent, loads verified" \
      [ "$(json_int loads_verified "$d/results.json")" -gt 0 ] && \
      grep -q '"verdict" : "consistent"' "$d/results.json"
  done
done
for case in skip-tlb-flush:store-honours-protection dontneed-no-zap:dontneed-leaves-no-present-pte; do
  inj=${case%%:*}; inv=${case#*:}
  "$MMSIM" run "$D/file-storm.lua" --set inject=$inj --out "$TMP/si$inj" 2>"$TMP/si$inj.err"
  rc=$?
  check "storm, inject=$inj: exit status 3 (got $rc)" [ "$rc" -eq 3 ]
  check "storm, inject=$inj: report names $inv" \
    grep -q "address-space invariant violated: $inv" "$TMP/si$inj.err"
done
# A cold file and the pre-2.6.38 i_mmap spinlock, at 4 CPUs.
"$MMSIM" run "$SRC/scenarios/file-faults.lua" --set threads=4 --set cached=false \
  --set duration_ms=0.5 --out "$TMP/cold" 2>"$TMP/cold.err"
check "cold file: exit 0" [ $? -eq 0 ]
check "cold file: major faults read pages" \
  [ "$(json_int fault_major "$TMP/cold/results.json")" -gt 0 ]
"$MMSIM" run "$SRC/scenarios/file-faults.lua" --set threads=4 --set i_mmap_lock=spinlock \
  --set duration_ms=0.5 --out "$TMP/spin" 2>"$TMP/spin.err"
check "i_mmap_lock=spinlock: exit 0" [ $? -eq 0 ]
check "i_mmap_lock=spinlock: in the resolved config" \
  grep -q '"i_mmap_lock" : "spinlock"' "$TMP/spin/results.json"
check "i_mmap_lock=spinlock: its lock class appears in lock_stat" \
  grep -q 'i_mmap_lock' "$TMP/spin/lock_stat.txt"
check "i_mmap_lock=rwsem (default): i_mmap_rwsem in lock_stat" \
  grep -q 'i_mmap_rwsem' "$TMP/classic-4-true/lock_stat.txt"
"$MMSIM" run "$SRC/scenarios/file-faults.lua" --set threads=4 --set shared=true \
  --set write_ratio=0.3 --set duration_ms=0.5 \
  --out "$TMP/again" 2>/dev/null
check "same seed, same results" cmp -s "$TMP/classic-4-true/results.json" "$TMP/again/results.json"
# Page cache pages, radix-tree nodes, folio locks: nothing may depend on the host heap.
mkdir -p "$TMP/a-longer-directory-name-that-shifts-the-host-heap"
cp "$SRC/scenarios/file-faults.lua" "$TMP/a-longer-directory-name-that-shifts-the-host-heap/"
"$MMSIM" run "$TMP/a-longer-directory-name-that-shifts-the-host-heap/file-faults.lua" \
  --set threads=4 --set shared=true --set write_ratio=0.3 --set duration_ms=0.5 \
  --out "$TMP/moved" 2>/dev/null
check "summary.csv independent of the host heap layout" \
  cmp -s "$TMP/classic-4-true/summary.csv" "$TMP/moved/summary.csv"
done_testing
