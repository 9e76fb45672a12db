# The fault-scheme knobs (tree_lock, prefetchw, seq_shares_lock_line): pft runs checker
# clean under every scheme on every machine preset and under every knob, and each knob
# changes what it should, in the direction it should (never by a set amount).
. "$(dirname "$0")/lib.sh"
schemes=$("$MMSIM" list schemes | awk '{print $1}')
machines=$("$MMSIM" list machines | awk '{print $1}')
ev() { # ev RESULTS NAME: the run's total of event NAME (its first occurrence)
  grep -m1 "\"$2\" :" "$1" | sed 's/.*: \([0-9]*\).*/\1/'
}
acq() { # acq LOCK_STAT CLASS: acquisitions of the lock class (0 if absent)
  awk -v c="$2:" '$1 == c { print $9; found = 1 } END { if (!found) print 0 }' "$1"
}
pft() { # pft OUT ARGS...: a short pft run with the checker on
  out=$1; shift
  "$MMSIM" run "$SRC/scenarios/pft.lua" --set check=true --set region_mb=1 "$@" \
    --out "$out" 2>"$out.err"
}
check "the registry lists schemes and machines" [ -n "$schemes" -a -n "$machines" ]
for s in $schemes; do
  for m in $machines; do
    d="$TMP/$s-$m"
    pft "$d" --set scheme="$s" --set machine="$m" --set threads=2
    rc=$?
    check "pft, $s on $m: exit 0 (got $rc)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || sed 's/^/# /' "$d.err"
    check "pft, $s on $m: verdict consistent" grep -q '"verdict" : "consistent"' "$d/results.json"
  done
  for knob in tree_lock=spinlock prefetchw=true seq_shares_lock_line=true; do
    d="$TMP/$s-$knob"
    pft "$d" --set scheme="$s" --set threads=4 --set "$knob"
    rc=$?
    check "pft, $s, $knob: exit 0 (got $rc)" [ $rc -eq 0 ]
    check "pft, $s, $knob: verdict consistent" grep -q '"verdict" : "consistent"' "$d/results.json"
  done
  d="$TMP/$s-64"
  pft "$d" --set scheme="$s" --set threads=64 --set tree_lock=spinlock --set prefetchw=true \
    --set seq_shares_lock_line=true
  rc=$?
  check "pft, $s, 64 CPUs, every knob on: exit 0 (got $rc)" [ $rc -eq 0 ]
  check "pft, $s, 64 CPUs, every knob on: verdict consistent" \
    grep -q '"verdict" : "consistent"' "$d/results.json"
done

# tree_lock: with the spinlock, every tree store of the mmap writers takes the tree's
# own lock class (inside mmap_lock: lockdep would end the run on the reverse order); with
# mmap_lock the class is never taken.  mixed-vmas maps, unmaps and splits.
for s in classic pervma; do
  for tl in mmap_lock spinlock; do
    "$MMSIM" run "$SRC/tests/scenarios/mixed-vmas.lua" --set scheme=$s --set threads=4 \
      --set tree_lock=$tl --out "$TMP/tl-$s-$tl" 2>/dev/null
    check "mixed-vmas, $s, tree_lock=$tl: exit 0" [ $? -eq 0 ]
  done
  r="$TMP/tl-$s-spinlock"
  stores=$(( $(ev "$r/results.json" mmap) + $(ev "$r/results.json" munmap) ))
  check "tree_lock=mmap_lock, $s: the tree lock is never taken" \
    [ "$(acq "$TMP/tl-$s-mmap_lock/lock_stat.txt" '&mm->mm_mt.ma_lock')" -eq 0 ]
  check "tree_lock=spinlock, $s: each mmap and munmap stores under the tree lock" \
    [ "$(acq "$r/lock_stat.txt" '&mm->mm_mt.ma_lock')" -ge "$stores" -a "$stores" -gt 0 ]
done

# prefetchw: on faults spaced apart, the entry prefetch takes the mmap_lock line, so the
# trylock's atomic pays fewer RFOs; off, the entry never fetches it.
for p in false true; do
  "$MMSIM" run "$SRC/tests/scenarios/spaced-faults.lua" --set prefetchw=$p \
    --out "$TMP/pf-$p" 2>/dev/null
  check "spaced-faults, prefetchw=$p: exit 0" [ $? -eq 0 ]
done
check "prefetchw=false: no entry prefetch" [ "$(ev "$TMP/pf-false/results.json" fault_prefetchw_rfo)" -eq 0 ]
check "prefetchw=true: the entry fetches the mmap_lock line" \
  [ "$(ev "$TMP/pf-true/results.json" fault_prefetchw_rfo)" -gt 0 ]
check "prefetchw=true: fewer trylock RFOs on the mmap_lock line" \
  [ "$(ev "$TMP/pf-true/results.json" mmap_lock_trylock_rfo)" -lt \
    "$(ev "$TMP/pf-false/results.json" mmap_lock_trylock_rfo)" ]
# Under per-VMA locks the fault never takes mmap_lock: the prefetch is pure line traffic.
for p in false true; do
  pft "$TMP/pv-$p" --set scheme=pervma --set threads=8 --set prefetchw=$p
done
check "pervma, prefetchw=false: the mmap_lock line is not fetched at entry" \
  [ "$(ev "$TMP/pv-false/results.json" fault_prefetchw_rfo)" -eq 0 ]
check "pervma, prefetchw=true: it is, though the fault does not take mmap_lock" \
  [ "$(ev "$TMP/pv-true/results.json" fault_prefetchw_rfo)" -gt 0 ]

# seq_shares_lock_line: per-VMA faults load mm_lock_seq twice each; beside the rwsem, those
# loads meet the writer's atomics on mmap_lock: more cache-to-cache transfers at 16
# faulters.  Classic never reads the count, so its results do not move at all.
for sh in false true; do
  for s in pervma classic; do
    "$MMSIM" run "$SRC/scenarios/writer-vs-faulters.lua" --set scheme=$s --set faulters=16 \
      --set duration_ms=1 --set seq_shares_lock_line=$sh --out "$TMP/sq-$s-$sh" 2>/dev/null
    check "writer-vs-faulters, $s, seq_shares_lock_line=$sh: exit 0" [ $? -eq 0 ]
  done
done
check "pervma: more line transfers with the sequence count on the mmap_lock line" \
  [ "$(ev "$TMP/sq-pervma-true/results.json" c2c_transfer)" -gt \
    "$(ev "$TMP/sq-pervma-false/results.json" c2c_transfer)" ]
check "classic: the same results either way" \
  cmp -s "$TMP/sq-classic-true/summary.csv" "$TMP/sq-classic-false/summary.csv"
done_testing
