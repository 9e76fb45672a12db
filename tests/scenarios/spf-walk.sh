# spf's two page-walk variants.  With interrupts disabled the walk needs no RCU for page
# tables (they are freed at once): a munmap's flush IPI to a walking CPU waits until the
# walk enables interrupts again, and the run stays checker-clean.
. "$(dirname "$0")/lib.sh"
ev() { grep -m1 "\"$2\" :" "$1" | sed 's/.*: \([0-9]*\).*/\1/'; }
for cpus in 2 8 64; do
  for seed in 1 2 3; do
    d="$TMP/mixed-$cpus-$seed"
    "$MMSIM" run "$SRC/tests/scenarios/mixed-vmas.lua" --set scheme=spf --set spf_walk=irqs-off \
      --set threads=$cpus --seed $seed --out "$d" 2>"$d.err"
    rc=$?
    check "irqs-off walk, mixed VMAs, $cpus CPUs, seed $seed: exit 0 (got $rc)" [ $rc -eq 0 ]
    check "irqs-off walk, $cpus CPUs, seed $seed: consistent" \
      grep -q '"verdict" : "consistent"' "$d/results.json"
  done
done
q="$SRC/scenarios/quickstart.lua"
for w in rcu irqs-off; do
  "$MMSIM" run "$q" --set scheme=spf --set spf_walk=$w --set threads=16 --out "$TMP/$w" 2>/dev/null
  check "quickstart, spf_walk=$w: consistent" grep -q '"verdict" : "consistent"' "$TMP/$w/results.json"
done
check "irqs-off: page tables freed at once by default" grep -q '"pt_free" : "immediate"' "$TMP/irqs-off/config.json"
check "rcu walk: page tables freed by RCU" grep -q '"pt_free" : "rcu"' "$TMP/rcu/config.json"
check "irqs-off: some flush IPIs waited for a walk to enable interrupts" \
  [ "$(ev "$TMP/irqs-off/results.json" tlb_ipi_irqs_off)" -gt 0 ]
check "rcu walk: no flush IPI ever waits" [ "$(ev "$TMP/rcu/results.json" tlb_ipi_irqs_off)" -eq 0 ]
check "both walks speculate successfully" \
  [ "$(ev "$TMP/irqs-off/results.json" spf_success)" -gt 0 -a "$(ev "$TMP/rcu/results.json" spf_success)" -gt 0 ]
done_testing
