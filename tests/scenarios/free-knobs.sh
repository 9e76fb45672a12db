# The vma_free and pt_free knobs: every scheme runs checker-clean when asked to free
# through RCU, the resolved choice is recorded, and RCU frees really go through grace
# periods (callbacks run) where the scheme alone would free at once.
. "$(dirname "$0")/lib.sh"
rcu_callbacks() { # the run's RCU callbacks invoked (0 when RCU did not run)
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'].get('rcu'); \
print(r['callbacks'] if r else 0)" "$1"
}
for s in $("$MMSIM" list schemes | awk '{print $1}'); do
  d="$TMP/$s"
  "$MMSIM" run "$SRC/tests/scenarios/mixed-vmas.lua" --set scheme="$s" --set threads=8 \
    --set vma_free=rcu --set pt_free=rcu --out "$d" 2>"$d.err"
  rc=$?
  check "$s with vma_free=rcu, pt_free=rcu: exit 0 (got $rc)" [ $rc -eq 0 ]
  check "$s: check verdict consistent" grep -q '"verdict" : "consistent"' "$d/results.json"
  check "$s: the resolved knobs are recorded" \
    grep -q '"vma_free" : "rcu"' "$d/config.json"
done
q="$SRC/scenarios/quickstart.lua"
"$MMSIM" run "$q" --set threads=4 --out "$TMP/default" 2>/dev/null
check "classic by default frees at once" grep -q '"vma_free" : "immediate"' "$TMP/default/config.json"
check "classic by default runs no RCU callback" [ "$(rcu_callbacks "$TMP/default/results.json")" -eq 0 ]
for knob in vma_free pt_free; do
  "$MMSIM" run "$q" --set threads=4 --set $knob=rcu --out "$TMP/$knob" 2>/dev/null
  check "classic with $knob=rcu: RCU callbacks run" \
    [ "$(rcu_callbacks "$TMP/$knob/results.json")" -gt 0 ]
done
"$MMSIM" run "$q" --set threads=4 --set scheme=pervma-refcount --set vma_free=rcu \
  --out "$TMP/refcnt-rcu" 2>/dev/null
check "pervma-refcount may free through RCU instead of reuse" \
  grep -q '"verdict" : "consistent"' "$TMP/refcnt-rcu/results.json"
done_testing
