# Every registered scheme (as `mmsim list schemes` prints the registry) on mixed faults,
# mmap and munmap over overlapping and disjoint VMAs, at 2, 8 and 64 CPUs and several
# seeds: the run ends with no violation (RCU use after grace period, lock order, deadlock)
# and the end-of-run address-space check is clean.  Nothing here names a scheme.
. "$(dirname "$0")/lib.sh"
schemes=$("$MMSIM" list schemes | awk '{print $1}')
ev() { # ev RESULTS NAME: the run's total of event NAME (its first occurrence)
  grep -m1 "\"$2\" :" "$1" | sed 's/.*: \([0-9]*\).*/\1/'
}
check "the registry lists schemes" [ -n "$schemes" ]
for s in $schemes; do
  for cpus in 2 8 64; do
    for seed in 1 2 3; do
      d="$TMP/$s-$cpus-$seed"
      "$MMSIM" run "$SRC/tests/scenarios/mixed-vmas.lua" --set scheme="$s" \
        --set threads=$cpus --seed $seed --out "$d" 2>"$d.err"
      rc=$?
      check "$s, $cpus CPUs, seed $seed: exit 0 (got $rc)" [ $rc -eq 0 ]
      [ $rc -eq 0 ] || sed 's/^/# /' "$d.err"
      check "$s, $cpus CPUs, seed $seed: check verdict consistent" \
        grep -q '"verdict" : "consistent"' "$d/results.json"
      # A scheme that tries a per-VMA lock first must succeed with it some of the time,
      # and every abort or retry must have gone on to the mmap_lock path.
      r="$d/results.json"
      tries=$(( $(ev "$r" vma_lock_success) + $(ev "$r" vma_lock_abort) + $(ev "$r" vma_lock_retry) ))
      check "$s, $cpus CPUs, seed $seed: per-VMA attempts succeed or fall back" \
        [ "$tries" -eq 0 -o \( "$(ev "$r" vma_lock_success)" -gt 0 -a \
          "$(ev "$r" mmap_lock_fallback)" -ge $(( $(ev "$r" vma_lock_abort) + $(ev "$r" vma_lock_retry) )) \) ]
      # A scheme that speculates must succeed some of the time, and every abort but a lost
      # PTE race (the fault is then resolved) must have gone on to the mmap_lock path.
      spf_aborts=0
      for why in odd unmapped vma_copy access_error no_table pte_map_lock_seq1 \
                 pte_map_lock_pmd pte_map_lock_ptl pte_map_lock_seq2 nomem anon; do
        spf_aborts=$(( spf_aborts + $(ev "$r" spf_abort_$why) ))
      done
      check "$s, $cpus CPUs, seed $seed: speculative attempts succeed or fall back" \
        [ $(( spf_aborts + $(ev "$r" spf_abort_pte_race) )) -eq 0 -o \
          \( "$(ev "$r" spf_success)" -gt 0 -a \
             "$(ev "$r" mmap_lock_fallback)" -ge $spf_aborts \) ]
      # A scheme that tries RCU alone first: every fault completed in exactly one tier,
      # and every fallback from Tier 0 has a reason.
      t0=$(ev "$r" rcu_fault_tier0)
      later=$(( $(ev "$r" rcu_fault_pervma) + $(ev "$r" rcu_fault_classic) ))
      faults=$(sed -n '/"fault_latency_ns"/,/"count"/s/.*"count" : \([0-9]*\).*/\1/p' "$r" |
        head -n1)
      reasons=0
      for why in no_vma vma_locked pgtable nowait seq stale reenter anon_vma; do
        reasons=$(( reasons + $(ev "$r" rcu_fallback_$why) ))
      done
      check "$s, $cpus CPUs, seed $seed: RCU tiers hold every fault ($t0+$later of $faults)" \
        [ $((t0 + later)) -eq 0 -o \
          \( $((t0 + later)) -eq "$faults" -a "$t0" -gt 0 -a "$reasons" -eq "$later" \) ]
      check "$s, $cpus CPUs, seed $seed: some munmaps ran" grep -q '"munmap" : [1-9]' "$d/results.json"
    done
  done
done
done_testing
