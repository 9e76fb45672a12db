# Direction, not numbers: faulters that fault in their own VMAs while one task maps and
# unmaps elsewhere complete more faults under per-VMA locks, speculative faults or
# RCU-only faults than under classic, where every fault queues on mmap_lock behind the writer
# (scenarios/writer-vs-faulters.lua).
. "$(dirname "$0")/lib.sh"
col() { # col FILE NAME: the value of column NAME in the data row of summary.csv FILE
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
                        NR == 2 { print $c }' "$1"
}
for s in classic spf pervma pervma-refcount rcu rcu-drop; do
  "$MMSIM" run "$SRC/scenarios/writer-vs-faulters.lua" --set scheme=$s --set check=true \
    --out "$TMP/$s" 2>"$TMP/$s.err"
  check "$s: exit 0" [ $? -eq 0 ]
done
base=$(col "$TMP/classic/summary.csv" faults_per_s)
for s in spf pervma pervma-refcount rcu rcu-drop; do
  fps=$(col "$TMP/$s/summary.csv" faults_per_s)
  check "$s: faulters complete more faults/s than under classic ($fps vs $base)" \
    awk -v a="$fps" -v b="$base" 'BEGIN { exit !(a > b) }'
  echo "# $s: fault p99 $(col "$TMP/$s/summary.csv" fault_p99_ns) ns, max $(col "$TMP/$s/summary.csv" fault_max_ns) ns;" \
    "classic: p99 $(col "$TMP/classic/summary.csv" fault_p99_ns) ns, max $(col "$TMP/classic/summary.csv" fault_max_ns) ns"
done
done_testing
