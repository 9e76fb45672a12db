# After a run, every touched page is mapped exactly once and every munmapped page is freed
# (the end-of-run address-space check), at 1 to 64 CPUs.
. "$(dirname "$0")/lib.sh"
for threads in 1 2 8 64; do
  "$MMSIM" run "$SRC/scenarios/quickstart.lua" --set threads=$threads --set duration_ms=1 \
    --out "$TMP/q$threads" 2>"$TMP/q$threads.err"
  check "quickstart at $threads CPUs: exit 0" [ $? -eq 0 ]
  check "quickstart at $threads CPUs: check verdict consistent" \
    grep -q '"verdict" : "consistent"' "$TMP/q$threads/results.json"
  check "quickstart at $threads CPUs: nothing left mapped" \
    grep -q '"mapped_pages" : 0' "$TMP/q$threads/results.json"
done
for threads in 1 4 16; do
  "$MMSIM" run "$SRC/tests/scenarios/keep-mapped.lua" --set threads=$threads \
    --out "$TMP/k$threads" 2>"$TMP/k$threads.err"
  check "keep-mapped at $threads: exit 0" [ $? -eq 0 ]
  want=$((threads * 96))
  check "keep-mapped at $threads: $want pages mapped (written, not unmapped)" \
    grep -q "\"mapped_pages\" : $want," "$TMP/k$threads/results.json"
  want=$((threads * 32))
  check "keep-mapped at $threads: $want zero-page PTEs (read only)" \
    grep -q "\"zero_page_ptes\" : $want," "$TMP/k$threads/results.json"
done
done_testing
