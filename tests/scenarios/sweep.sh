# mmsim sweep: one process per point, merged summary and graph, bad values rejected before
# anything runs, and finished points kept across an interrupt.
. "$(dirname "$0")/lib.sh"
q="$SRC/scenarios/quickstart.lua"
"$MMSIM" sweep "$q" --over threads=1,2,4 --over scheme=classic --set duration_ms=0.3 \
  --jobs 2 --out "$TMP/s" 2>"$TMP/s.err"
check "sweep: exit 0" [ $? -eq 0 ]
check "sweep: summary.csv has a header and 3 rows" [ "$(wc -l < "$TMP/s/summary.csv")" -eq 4 ]
check "sweep: rows in point order" sh -c "cut -d, -f4 '$TMP/s/summary.csv' | tr '\n' ' ' | grep -q '^threads 1 2 4 \$'"
check "sweep: throughput.svg drawn" grep -q '<svg' "$TMP/s/throughput.svg"
check "sweep: results.json has 3 points" [ "$(grep -c '"point" :' "$TMP/s/results.json")" -eq 3 ]
check "sweep: each point has its own directory" [ "$(ls "$TMP/s/points" | wc -l)" -eq 3 ]
"$MMSIM" sweep "$q" --over threads=1,2,4 --set duration_ms=0.3 --jobs 1 --out "$TMP/s1" 2>/dev/null
check "sweep: --jobs 1 and --jobs 2 give the same summary" cmp -s "$TMP/s/summary.csv" "$TMP/s1/summary.csv"

"$MMSIM" sweep "$q" --over threads=1,0 --out "$TMP/bad" 2>"$TMP/bad.err"
check "sweep with a bad value: exit 2" [ $? -eq 2 ]
check "sweep with a bad value: names the point" grep -q 'point threads=0' "$TMP/bad.err"
check "sweep with a bad value: writes nothing" [ ! -e "$TMP/bad" ]

# Interrupt: the first (short) point finishes, the long ones are cut off.
"$MMSIM" sweep "$q" --over threads=1,64,64,64 --set duration_ms=200 --over region_mb=1 \
  --jobs 1 --out "$TMP/int" 2>"$TMP/int.err" &
pid=$!
i=0
while [ ! -s "$TMP/int/summary.csv" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill -INT $pid
wait $pid
rc=$?
check "interrupted sweep: exit 130 (got $rc)" [ "$rc" -eq 130 ]
check "interrupted sweep: the finished point is kept" [ "$(wc -l < "$TMP/int/summary.csv")" -ge 2 ]
check "interrupted sweep: says so" grep -q 'interrupted' "$TMP/int.err"
done_testing
