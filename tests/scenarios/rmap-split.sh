# One anon_vma shared by many disjoint VMAs (scenarios/rmap-split.lua, docs/rmap.md): a
# region split page by page by mprotect keeps the one anon_vma of its first faults (one
# anon_vma_prepare for 256 VMAs), reclaim walkers find each folio's chain in its interval
# tree while the owner reads, and the run is checker-clean under every scheme and
# byte-identical for one seed.
. "$(dirname "$0")/lib.sh"
ev() { grep -m1 "\"$2\" :" "$1" | sed 's/.*: \([0-9]*\).*/\1/'; }
sc="$SRC/scenarios/rmap-split.lua"
for s in $("$MMSIM" list schemes | awk '{print $1}'); do
  d="$TMP/split-$s"
  "$MMSIM" run "$sc" --set scheme="$s" --set duration_ms=1 --out "$d" 2>"$d.err"
  rc=$?
  check "rmap-split, $s: exit 0 (got $rc)" [ $rc -eq 0 ]
  [ $rc -eq 0 ] || { sed 's/^/# /' "$d.err"; continue; }
  r="$d/results.json"
  check "rmap-split, $s: consistent" grep -q '"verdict" : "consistent"' "$r"
  check "rmap-split, $s: one anon_vma for every split VMA ($(ev "$r" anon_vma_prepare))" \
    [ "$(ev "$r" anon_vma_prepare)" -eq 1 ]
  check "rmap-split, $s: the walkers scanned folios ($(ev "$r" rmap_scanned))" \
    [ "$(ev "$r" rmap_scanned)" -gt 0 ]
done
"$MMSIM" run "$sc" --set duration_ms=1 --out "$TMP/again" 2>/dev/null
check "rmap-split: the same seed gives the same results" \
  cmp -s "$TMP/split-classic/summary.csv" "$TMP/again/summary.csv"
done_testing
