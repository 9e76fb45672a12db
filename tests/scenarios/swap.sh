# Swap (models/mm/swap.c, docs/model-mm.md "Swap").
#  - swap.lua under every scheme, at 2, 8 and 32 CPUs and two seeds: reclaim swaps
#    anonymous pages out and faults swap them back in, with fork children sharing slots,
#    mprotect, MADV_DONTNEED and munmap meeting swap entries; the checker finds the run
#    consistent (contents survive the round trip, slot counts equal the entries, no slot
#    leaks).
#  - inject = "swap-no-writeback": the checker stops the run (status 3) at the first load
#    of a page that came back from swap without its contents.
#  - thp/collapse-swapin.lua: khugepaged's swap-in step reads the swapped-out pages of a
#    range back before the collapse; read-swapin does it under mmap_lock (R), write-lock
#    under (W), which the write hold time shows.
#  - rmap-smmu.lua and rmap-reclaim.lua with swap_mb: swap-outs under the secondary MMU
#    and of the anonymous copies in private file mappings stay checker-clean.
#  - Without swap_mb the anonymous folios are kept, as before.
. "$(dirname "$0")/lib.sh"
sc="$SRC/tests/scenarios/swap.lua"
ev() { grep -m1 "\"$2\" :" "$1" | sed 's/.*: \([0-9]*\).*/\1/'; }
schemes=$("$MMSIM" list schemes | awk '{print $1}')
for s in $schemes; do
  for c in 2 8 32; do
    w=1; [ "$c" -gt 2 ] && w=2; [ "$c" -eq 32 ] && w=4
    for seed in 1 2; do
      d="$TMP/sw-$s-$c-$seed"
      "$MMSIM" run "$sc" --set scheme="$s" --set threads=$((c - w)) --set walkers=$w \
        --set seed=$seed --out "$d" 2>"$d.err"
      rc=$?
      check "swap, $s, $c CPUs, seed $seed: exit 0 (got $rc)" [ $rc -eq 0 ]
      [ $rc -eq 0 ] || { sed 's/^/# /' "$d.err" | head -20; continue; }
      r="$d/results.json"
      check "swap, $s, $c CPUs, seed $seed: consistent" grep -q '"verdict" : "consistent"' "$r"
      check "swap, $s, $c CPUs, seed $seed: swapped out ($(ev "$r" swap_out)) and in ($(ev "$r" fault_swap) faults, $(ev "$r" swap_in) reads)" \
        [ "$(ev "$r" swap_out)" -gt 0 -a "$(ev "$r" swap_in)" -gt 0 -a "$(ev "$r" fault_swap)" -gt 0 ]
      check "swap, $s, $c CPUs, seed $seed: no anonymous folio kept for want of swap" \
        [ "$(ev "$r" reclaim_anon_noswap)" -eq 0 ]
    done
  done
done
# A fork child's fault finds the page its parent swapped in (the swap cache).
hits=0
for f in "$TMP"/sw-*/results.json; do hits=$((hits + $(ev "$f" swap_cache_hit))); done
check "swap: faults found pages in the swap cache ($hits)" [ "$hits" -gt 0 ]

# Swap under the secondary MMU (its shadow entries go with each swap-out's notifier
# calls) and in private file mappings (their anonymous copies are swapped out too).
for s in classic pervma-refcount rcu; do
  for f in rmap-smmu rmap-reclaim; do
    d="$TMP/$f-$s"
    "$MMSIM" run "$SRC/tests/scenarios/$f.lua" --set swap_mb=8 --set scheme=$s --out "$d" \
      2>"$d.err"
    rc=$?
    check "$f with swap, $s: exit 0 (got $rc)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || { sed 's/^/# /' "$d.err" | head -20; continue; }
    check "$f with swap, $s: consistent" grep -q '"verdict" : "consistent"' "$d/results.json"
    check "$f with swap, $s: pages swapped out ($(ev "$d/results.json" swap_out))" \
      [ "$(ev "$d/results.json" swap_out)" -gt 0 ]
  done
done

# A device too small for the cold pages: reclaim keeps what finds no slot, the rest still
# round-trips.
d="$TMP/full"
"$MMSIM" run "$sc" --set threads=6 --set walkers=2 --set swap_mb=1 --set pages=256 \
  --set cold_us=300 --set duration_ms=5 --out "$d" 2>"$d.err"
check "1 MiB of swap: exit 0" [ $? -eq 0 ]
check "1 MiB of swap: consistent" grep -q '"verdict" : "consistent"' "$d/results.json"
check "1 MiB of swap: folios kept for want of a slot ($(ev "$d/results.json" swap_full)), others swapped" \
  [ "$(ev "$d/results.json" swap_full)" -gt 0 -a "$(ev "$d/results.json" swap_in)" -gt 0 ]

# Same scenario and seed: byte-identical results.
"$MMSIM" run "$sc" --set seed=3 --out "$TMP/det1" 2>/dev/null
"$MMSIM" run "$sc" --set seed=3 --out "$TMP/det2" 2>/dev/null
check "swap: same seed, byte-identical results" cmp -s "$TMP/det1/results.json" "$TMP/det2/results.json"

# No swap device: reclaim keeps the anonymous folios.
"$MMSIM" run "$sc" --set swap_mb=0 --out "$TMP/noswap" 2>/dev/null
check "swap_mb = 0: exit 0" [ $? -eq 0 ]
check "swap_mb = 0: nothing swapped, anonymous folios kept" \
  [ "$(ev "$TMP/noswap/results.json" swap_out)" -eq 0 -a "$(ev "$TMP/noswap/results.json" reclaim_anon_noswap)" -gt 0 ]

# The injected bug: pages freed without reaching their slot.
for s in classic pervma-refcount; do
  "$MMSIM" run "$sc" --set scheme=$s --set inject=swap-no-writeback --out "$TMP/inj-$s" \
    2>"$TMP/inj-$s.err"
  rc=$?
  check "swap-no-writeback, $s: exit status 3 (got $rc)" [ "$rc" -eq 3 ]
  check "swap-no-writeback, $s: the report names the broken invariant" \
    grep -q 'load-returns-last-store' "$TMP/inj-$s.err"
  check "swap-no-writeback, $s: the report shows the swap-out and the swap-in" \
    grep -q 'try_to_unmap_one (swap-out).*do_swap_page\|do_swap_page' "$TMP/inj-$s.err"
done

# khugepaged swaps the range in before collapsing it.
cs="$SRC/tests/scenarios/thp/collapse-swapin.lua"
kh() { python3 -c "import json,sys; k=json.load(open(sys.argv[1]))['results']['khugepaged']; print($2)" "$1"; }
for c in read-swapin write-lock; do
  d="$TMP/cs-$c"
  "$MMSIM" run "$cs" --set collapse=$c --out "$d" 2>"$d.err"
  rc=$?
  check "collapse-swapin, $c: exit 0 (got $rc)" [ $rc -eq 0 ]
  [ $rc -eq 0 ] || { sed 's/^/# /' "$d.err" | head -20; continue; }
  check "collapse-swapin, $c: consistent" grep -q '"verdict" : "consistent"' "$d/results.json"
  check "collapse-swapin, $c: pages swapped in by khugepaged ($(kh "$d/results.json" "k['swapins']"))" \
    [ "$(kh "$d/results.json" "k['swapins']")" -gt 0 ]
  check "collapse-swapin, $c: ranges collapsed ($(kh "$d/results.json" "k['collapses']"))" \
    [ "$(kh "$d/results.json" "k['collapses']")" -gt 0 ]
done
# The read-lock collapse schemes swap in under mmap_lock (R) as well, whatever the fault
# scheme.
for c in pmd-seq invalid-pte; do
  for s in classic pervma-refcount rcu; do
    d="$TMP/cs-$c-$s"
    "$MMSIM" run "$cs" --set collapse=$c --set scheme=$s --out "$d" 2>"$d.err"
    rc=$?
    check "collapse-swapin, $c, $s: exit 0 (got $rc)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || { sed 's/^/# /' "$d.err" | head -20; continue; }
    check "collapse-swapin, $c, $s: consistent" grep -q '"verdict" : "consistent"' "$d/results.json"
    check "collapse-swapin, $c, $s: swapped in and collapsed" \
      [ "$(kh "$d/results.json" "k['swapins']")" -gt 0 -a "$(kh "$d/results.json" "k['collapses']")" -gt 0 ]
  done
done
rs=$(kh "$TMP/cs-read-swapin/results.json" "int(k['lock_hold']['mmap_write']['max_ns'])")
wl=$(kh "$TMP/cs-write-lock/results.json" "int(k['lock_hold']['mmap_write']['max_ns'])")
rr=$(kh "$TMP/cs-read-swapin/results.json" "int(k['lock_hold']['mmap_read']['total_ns'])")
echo "# mmap_lock (W) longest hold: read-swapin $rs ns, write-lock $wl ns; read-swapin (R) total $rr ns"
check "collapse-swapin: write-lock holds mmap_lock (W) across the device reads, read-swapin does not" \
  [ "$wl" -gt "$rs" ]
check "collapse-swapin: read-swapin reads them under mmap_lock (R)" [ "$rr" -gt 0 ]
done_testing
