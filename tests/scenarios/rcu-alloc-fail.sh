# GFP_NOWAIT failures and full-RCU faults (scenario field gfp_nowait_fail).  A scheme that
# allocates under RCU alone with GFP_NOWAIT (rcu) must fall back whenever the allocation
# fails: with gfp_nowait_fail = 1 no fault that allocates completes in Tier 0, yet the run
# is as correct as ever; with 0 no Tier-0 attempt fails to allocate.  The knob is recorded
# in the resolved configuration, and a run is the same twice.
. "$(dirname "$0")/lib.sh"
ev() { # ev RESULTS NAME: the run's total of event NAME (its first occurrence)
  grep -m1 "\"$2\" :" "$1" | sed 's/.*: \([0-9]*\).*/\1/'
}
run() { # run NAME ARGS...: mixed faults, mmap and munmap under the checker
  name=$1; shift
  "$MMSIM" run "$SRC/tests/scenarios/mixed-vmas.lua" --set scheme=rcu --set threads=8 "$@" \
    --out "$TMP/$name" 2>"$TMP/$name.err"
  check "$name: exit 0" [ $? -eq 0 ]
  check "$name: check verdict consistent" \
    grep -q '"verdict" : "consistent"' "$TMP/$name/results.json"
}
run fail1 --set gfp_nowait_fail=1
r="$TMP/fail1/results.json"
check "gfp_nowait_fail = 1 is in the resolved config" grep -q '"gfp_nowait_fail" : 1' "$r"
check "gfp_nowait_fail = 1: allocations failed ($(ev "$r" pgalloc_nowait_fail))" \
  [ "$(ev "$r" pgalloc_nowait_fail)" -gt 0 ]
check "gfp_nowait_fail = 1: each failure is a Tier-0 fallback" \
  [ "$(ev "$r" rcu_fallback_nowait)" -eq "$(ev "$r" pgalloc_nowait_fail)" ]
# Faults that complete in Tier 0 are then only those that allocate nothing: zero-page
# read faults and spurious ones; no page was allocated under RCU alone.
check "gfp_nowait_fail = 1: every allocating fault fell back" \
  [ "$(ev "$r" fault_anon)" -gt 0 -a "$(ev "$r" rcu_fault_tier0)" -le "$(ev "$r" fault_zero_page)" ]
run fail0 --set gfp_nowait_fail=0
r="$TMP/fail0/results.json"
check "gfp_nowait_fail = 0: no allocation failed" [ "$(ev "$r" pgalloc_nowait_fail)" -eq 0 ]
check "gfp_nowait_fail = 0: no fallback for allocation" [ "$(ev "$r" rcu_fallback_nowait)" -eq 0 ]
check "gfp_nowait_fail = 0: faults complete in Tier 0" [ "$(ev "$r" rcu_fault_tier0)" -gt 0 ]
# In between, the draws come from each task's own stream: the run is deterministic.
run half-a --set gfp_nowait_fail=0.5
run half-b --set gfp_nowait_fail=0.5
a="$TMP/half-a/results.json"
check "gfp_nowait_fail = 0.5: some allocations fail, some do not" \
  [ "$(ev "$a" pgalloc_nowait_fail)" -gt 0 -a \
    "$(ev "$a" rcu_fault_tier0)" -gt "$(ev "$TMP/fail1/results.json" rcu_fault_tier0)" ]
check "gfp_nowait_fail = 0.5: the same run twice" \
  cmp -s "$TMP/half-a/summary.csv" "$TMP/half-b/summary.csv"
done_testing
