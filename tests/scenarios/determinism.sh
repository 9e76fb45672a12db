# Same scenario and seed: byte-identical results; wall-clock figures only in perf.json.
. "$(dirname "$0")/lib.sh"
q="$SRC/scenarios/quickstart.lua"
for threads in 1 8 64; do
  "$MMSIM" run "$q" --set threads=$threads --set duration_ms=0.5 --out "$TMP/a$threads" 2>/dev/null
  "$MMSIM" run "$q" --set threads=$threads --set duration_ms=0.5 --out "$TMP/b$threads" 2>/dev/null
  for f in summary.csv results.json config.json; do
    check "$threads threads: $f identical across runs" cmp -s "$TMP/a$threads/$f" "$TMP/b$threads/$f"
  done
done
# Cache sets and line sharing must not depend on where the host heap puts things: the same
# scenario from a path of another length (other allocation sizes before the run) agrees.
mkdir -p "$TMP/a-longer-directory-name-that-shifts-the-host-heap"
cp "$q" "$TMP/a-longer-directory-name-that-shifts-the-host-heap/quickstart.lua"
"$MMSIM" run "$TMP/a-longer-directory-name-that-shifts-the-host-heap/quickstart.lua" \
  --set threads=8 --set duration_ms=0.5 --out "$TMP/moved" 2>/dev/null
check "8 threads: summary.csv independent of the host heap layout" \
  cmp -s "$TMP/a8/summary.csv" "$TMP/moved/summary.csv"
# Every scheme, on mixed faults, mmap and munmap (RCU grace periods, VMA locks): the same
# results twice, and from a path that shifts the host heap.
m="$SRC/tests/scenarios/mixed-vmas.lua"
cp "$m" "$TMP/a-longer-directory-name-that-shifts-the-host-heap/mixed-vmas.lua"
for s in $("$MMSIM" list schemes | awk '{print $1}'); do
  "$MMSIM" run "$m" --set scheme="$s" --out "$TMP/m-$s-a" 2>/dev/null
  "$MMSIM" run "$TMP/a-longer-directory-name-that-shifts-the-host-heap/mixed-vmas.lua" \
    --set scheme="$s" --out "$TMP/m-$s-b" 2>/dev/null
  grep -v '"file"' "$TMP/m-$s-a/results.json" >"$TMP/m-$s-a.json"
  grep -v '"file"' "$TMP/m-$s-b/results.json" >"$TMP/m-$s-b.json"
  check "$s, mixed VMAs: results.json identical across heap layouts (but for the file name)" \
    cmp -s "$TMP/m-$s-a.json" "$TMP/m-$s-b.json"
done
check "perf.json carries the wall-clock time" grep -q '"wall_s"' "$TMP/a8/perf.json"
check "results.json carries none" sh -c "! grep -q wall '$TMP/a8/results.json'"
"$MMSIM" run "$q" --set threads=8 --set duration_ms=0.5 --seed 7 --out "$TMP/s7" 2>/dev/null
check "--seed is recorded in summary.csv" grep -q '^classic,generic-2s,8,8,7,' "$TMP/s7/summary.csv"
check "the resolved config records the seed" grep -q '"seed" : 7' "$TMP/s7/config.json"
done_testing
