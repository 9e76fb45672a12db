# THP anonymous faults under the invariant checker: huge PMDs are faulted in, split by
# partial mprotect, MADV_DONTNEED and munmap, zapped whole and changed whole, under every
# fault scheme and both extreme page-table lock granularities; the run ends consistent
# and every kind of huge-PMD event happened.  With thp = "never" nothing of it runs.
. "$(dirname "$0")/lib.sh"
storm="$SRC/tests/scenarios/thp/thp-storm.lua"
ev() { sed -n "/\"results\"/,\$ s/.*\"$1\" : \([0-9]*\).*/\1/p" "$2" | head -1; }
for scheme in $("$MMSIM" list schemes | awk '{print $1}'); do
  for ptl in split-pmd mm; do
    out="$TMP/$scheme-$ptl"
    "$MMSIM" run "$storm" --set scheme=$scheme --set ptl=$ptl --set workers=3 \
      --set readers=2 --set rounds=8 --out "$out" 2>"$out.err"
    check "$scheme, ptl=$ptl: exit 0" [ $? -eq 0 ]
    check "$scheme, ptl=$ptl: consistent at the end" \
      grep -q '"verdict" : "consistent"' "$out/results.json"
    for e in thp_fault_alloc thp_split_pmd thp_zap_pmd; do
      v=$(ev $e "$out/results.json")
      check "$scheme, ptl=$ptl: $e happened ($v)" [ "${v:-0}" -gt 0 ]
    done
  done
done
# Several seeds and CPU counts with the default scheme.
for seed in 2 3; do
  for w in 1 6; do
    "$MMSIM" run "$storm" --set seed=$seed --set workers=$w --set readers=1 \
      --out "$TMP/s$seed-$w" 2>/dev/null
    check "seed $seed, $w workers: exit 0, consistent" \
      grep -q '"verdict" : "consistent"' "$TMP/s$seed-$w/results.json"
  done
done
# Same seed, same run: byte-identical results with huge PMDs too.
"$MMSIM" run "$storm" --set workers=3 --set readers=2 --out "$TMP/again1" 2>/dev/null
"$MMSIM" run "$storm" --set workers=3 --set readers=2 --out "$TMP/again2" 2>/dev/null
check "a second run gives byte-identical results" \
  cmp -s "$TMP/again1/results.json" "$TMP/again2/results.json"
# thp = "never" (the default): the same program maps no huge PMD.
"$MMSIM" run "$storm" --set thp=never --out "$TMP/never" 2>/dev/null
check "thp=never: exit 0, consistent" grep -q '"verdict" : "consistent"' "$TMP/never/results.json"
v=$(ev thp_fault_alloc "$TMP/never/results.json")
check "thp=never: no huge fault ($v)" [ "${v:-1}" -eq 0 ]
done_testing
