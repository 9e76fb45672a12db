# mmap merges and MAP_FIXED end to end.  The MAP_FIXED storm (one task replacing parts of
# a region while the others fault in it) runs checker-clean under every registered
# scheme at 2, 8 and 64 CPUs and several seeds, with replacements and merges counted; an
# injected MAP_FIXED that leaves the old PTEs is caught.  MAP_FIXED_NOREPLACE fails with
# EEXIST and keeps the mapping.  Consecutive mmaps merge, so the address space keeps a
# handful of VMAs.
. "$(dirname "$0")/lib.sh"
storm="$SRC/tests/scenarios/mmap/fixed-storm.lua"
schemes=$("$MMSIM" list schemes | awk '{print $1}')
json_int() { sed -n "s/.*\"$1\" : \([0-9]*\).*/\1/p" "$2" | head -1; }
check "the registry lists schemes" [ -n "$schemes" ]
for s in $schemes; do
  for cpus in 2 8 64; do
    rounds=24
    [ "$cpus" -eq 64 ] && rounds=12
    for seed in 1 2 3; do
      d="$TMP/$s-$cpus-$seed"
      "$MMSIM" run "$storm" --set scheme="$s" --set threads=$cpus --set rounds=$rounds \
        --seed $seed --out "$d" 2>"$d.err"
      rc=$?
      check "storm, $s, $cpus CPUs, seed $seed: exit 0 (got $rc)" [ $rc -eq 0 ]
      [ $rc -eq 0 ] || head -20 "$d.err" | sed 's/^/# /'
      r="$d/results.json"
      check "storm, $s, $cpus CPUs, seed $seed: checker-clean, loads verified" \
        sh -c "grep -q '\"verdict\" : \"consistent\"' '$r' && [ \"\$(sed -n 's/.*\"loads_verified\" : \([0-9]*\).*/\1/p' '$r')\" -gt 0 ]"
      replaced=$(json_int mmap_fixed_replaced "$r")
      merged=$(( $(json_int vma_merge_expand_prev "$r") + $(json_int vma_merge_expand_next "$r") + \
                 $(json_int vma_merge_both "$r") ))
      check "storm, $s, $cpus CPUs, seed $seed: pages replaced ($replaced), merges ($merged)" \
        [ "${replaced:-0}" -gt 0 -a "$merged" -gt 0 ]
      # The last MAP_FIXED covers the whole region with one anonymous mapping.
      check "storm, $s, $cpus CPUs, seed $seed: one VMA at the end" \
        [ "$(json_int map_count "$r")" = 1 ]
    done
  done
done
first=$(echo "$schemes" | head -1)
"$MMSIM" run "$storm" --set scheme="$first" --set threads=8 --seed 2 --out "$TMP/again" \
  2>/dev/null
check "storm, $first: the same seed gives byte-identical results" \
  cmp -s "$TMP/$first-8-2/results.json" "$TMP/again/results.json"

# The bug the zap prevents: old PTEs under the new mapping are read as old data.
for s in $schemes; do
  "$MMSIM" run "$storm" --set scheme="$s" --set inject=mmap-fixed-no-zap --out "$TMP/inj$s" \
    2>"$TMP/inj$s.err"
  rc=$?
  check "inject=mmap-fixed-no-zap, $s: exit status 3 (got $rc)" [ $rc -eq 3 ]
  check "inject=mmap-fixed-no-zap, $s: an invariant report" \
    grep -q 'address-space invariant violated: ' "$TMP/inj$s.err"
done

# MAP_FIXED_NOREPLACE: EEXIST over a mapping (the program asserts it), exact otherwise.
"$MMSIM" run "$SRC/tests/scenarios/mmap/noreplace.lua" --out "$TMP/nr" 2>"$TMP/nr.err"
rc=$?
check "noreplace: exit 0 (got $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' "$TMP/nr.err"
check "noreplace: consistent, the data kept over EEXIST verified" \
  grep -q '"verdict" : "consistent"' "$TMP/nr/results.json"
check "noreplace: the exact and hinted ranges merged into one VMA" \
  [ "$(json_int map_count "$TMP/nr/results.json")" = 1 ]

# Consecutive mmaps merge: 4 tasks * 32 maps end as one VMA; read-only maps among them
# stay apart, so there are more, but far fewer than maps.
heap="$SRC/tests/scenarios/mmap/merge-heap.lua"
"$MMSIM" run "$heap" --out "$TMP/heap" 2>/dev/null
check "merge-heap: exit 0" [ $? -eq 0 ]
r="$TMP/heap/results.json"
check "merge-heap: 128 mmaps, one VMA (map_count $(json_int map_count "$r"))" \
  [ "$(json_int map_count "$r")" = 1 ]
check "merge-heap: 127 expansions of the VMA above ($(json_int vma_merge_expand_next "$r"))" \
  [ "$(json_int vma_merge_expand_next "$r")" = 127 ]
check "merge-heap: consistent" grep -q '"verdict" : "consistent"' "$r"
"$MMSIM" run "$heap" --set ro_every=4 --out "$TMP/heapro" 2>/dev/null
vmas=$(json_int map_count "$TMP/heapro/results.json")
check "merge-heap, every 4th map read-only: more VMAs but fewer than maps ($vmas)" \
  [ "$vmas" -gt 1 -a "$vmas" -lt 128 ]
done_testing
