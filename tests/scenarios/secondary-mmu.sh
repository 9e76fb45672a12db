# MMU notifiers and the KVM-like secondary MMU (scenarios/secondary-mmu.lua): checker
# clean under every scheme with sleeping and non-sleeping callbacks; invalidations reach
# the subscriber and the vCPUs map pages; a start without its end (inject =
# "notifier-missing-end") and an install without the invalidation check (inject =
# "secondary-mmu-no-retry") are caught with exit status 3.
. "$(dirname "$0")/lib.sh"
schemes=$("$MMSIM" list schemes | awk '{print $1}')
ev() { grep -m1 "\"$2\" :" "$1" | sed 's/.*: \([0-9]*\).*/\1/'; }
sc="$SRC/scenarios/secondary-mmu.lua"
for s in $schemes; do
  for sl in true false; do
    d="$TMP/$s-$sl"
    "$MMSIM" run "$sc" --set scheme="$s" --set sleeps=$sl --out "$d" 2>"$d.err"
    rc=$?
    check "$s, sleeps=$sl: exit 0 (got $rc)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || sed 's/^/# /' "$d.err"
    r="$d/results.json"
    check "$s, sleeps=$sl: verdict consistent" grep -q '"verdict" : "consistent"' "$r"
    check "$s, sleeps=$sl: invalidations ran" [ "$(ev "$r" mmu_notifier_invalidate)" -gt 0 ]
    check "$s, sleeps=$sl: each reached the secondary MMU" \
      [ "$(ev "$r" smmu_invalidate)" -eq "$(ev "$r" mmu_notifier_invalidate)" ]
    check "$s, sleeps=$sl: the vCPUs mapped pages and zaps removed some" \
      [ "$(ev "$r" smmu_fault)" -gt 0 -a "$(ev "$r" smmu_spte_zap)" -gt 0 ]
  done
  # The error path that forgets invalidate_range_end: caught at the end of mprotect.
  d="$TMP/$s-missing-end"
  "$MMSIM" run "$sc" --set scheme="$s" --set inject=notifier-missing-end --out "$d" 2>"$d.err"
  rc=$?
  check "$s, notifier-missing-end: exit 3 (got $rc)" [ $rc -eq 3 ]
  check "$s, notifier-missing-end: names the broken invariant and the path" \
    grep -q 'mmu-notifier-start-end-balance' "$d.err"
  check "$s, notifier-missing-end: names mprotect's -ENOMEM path" \
    grep -q 'mprotect (-ENOMEM path)' "$d.err"
done
# Without a subscriber the notifier calls do nothing, so the same bug is invisible and the
# results are those of a kernel without notifiers.
"$MMSIM" run "$SRC/tests/scenarios/mixed-vmas.lua" --set inject=notifier-missing-end \
  --out "$TMP/nosub-inject" 2>/dev/null
check "no subscriber: notifier-missing-end has nothing to break (exit 0)" [ $? -eq 0 ]
"$MMSIM" run "$SRC/tests/scenarios/mixed-vmas.lua" --out "$TMP/nosub" 2>/dev/null
check "no subscriber: results identical with and without the injection" \
  cmp -s "$TMP/nosub/summary.csv" "$TMP/nosub-inject/summary.csv"
# Installing without mmu_invalidate_seq / in_progress: a stale translation, caught.
caught=0 bad=0
for s in $schemes; do
  for shape in "threads=4 vcpus=2" "threads=8 vcpus=4"; do
    # shellcheck disable=SC2046
    "$MMSIM" run "$sc" --set scheme="$s" --set inject=secondary-mmu-no-retry \
      $(for kv in $shape; do printf -- '--set %s ' "$kv"; done) \
      --out "$TMP/noretry" 2>"$TMP/noretry.err"
    rc=$?
    [ $rc -eq 3 ] && grep -q 'secondary-mmu-maps-live-page' "$TMP/noretry.err" && caught=$((caught + 1))
    [ $rc -eq 0 -o $rc -eq 3 ] || bad=$((bad + 1))
    rm -rf "$TMP/noretry"
  done
done
check "secondary-mmu-no-retry: the checker catches a stale translation ($caught runs)" [ $caught -gt 0 ]
check "secondary-mmu-no-retry: every run ends in 0 or 3" [ $bad -eq 0 ]
# Deterministic, and independent of where the host heap puts the shadow tables.
# fork: the parent's pages write-protected, then copied on write, with a secondary MMU
# mapping them: every change bracketed by notifiers, no stale secondary translation.
for s in $("$MMSIM" list schemes | awk '{print $1}'); do
  d="$TMP/fork-$s"
  "$MMSIM" run "$sc" --set scheme=$s --set fork=true --out "$d" 2>"$d.err"
  check "fork + COW under $s with a secondary MMU: exit 0, consistent" \
    grep -q '"verdict" : "consistent"' "$d/results.json"
  check "fork + COW under $s: real pages were copied on write" \
    [ "$(grep -m1 '"fault_cow_copy" :' "$d/results.json" | sed 's/.*: \([0-9]*\).*/\1/')" -gt 0 ]
done
mkdir -p "$TMP/a-longer-directory-name-that-shifts-the-host-heap"
cp "$sc" "$TMP/a-longer-directory-name-that-shifts-the-host-heap/secondary-mmu.lua"
for s in classic pervma; do
  "$MMSIM" run "$sc" --set scheme=$s --out "$TMP/det-$s-a" 2>/dev/null
  "$MMSIM" run "$TMP/a-longer-directory-name-that-shifts-the-host-heap/secondary-mmu.lua" \
    --set scheme=$s --out "$TMP/det-$s-b" 2>/dev/null
  grep -v '"file"' "$TMP/det-$s-a/results.json" >"$TMP/det-$s-a.json"
  grep -v '"file"' "$TMP/det-$s-b/results.json" >"$TMP/det-$s-b.json"
  check "$s: results.json identical across runs and heap layouts" \
    cmp -s "$TMP/det-$s-a.json" "$TMP/det-$s-b.json"
done
# THP and khugepaged next to the secondary MMU: huge faults (the vCPUs translate the
# subpage of a huge PMD), splits by DONTNEED and mprotect, and collapses, each inside an
# invalidation, with the checker clean.
for c in write-lock read-swapin pmd-seq invalid-pte; do
  d="$TMP/thp-$c"
  "$MMSIM" run "$sc" --set threads=3 --set cpus=4 --set pages=1024 --set thp=always \
    --set collapse=$c --set khugepaged_scan_sleep_ms=0.02 --set duration_ms=2 \
    --out "$d" 2>"$d.err"
  rc=$?
  check "thp=always, collapse=$c: exit 0 (got $rc)" [ $rc -eq 0 ]
  [ $rc -eq 0 ] || sed 's/^/# /' "$d.err"
  check "thp=always, collapse=$c: verdict consistent" \
    grep -q '"verdict" : "consistent"' "$d/results.json"
  ncol=$(sed -n 's/.*"collapses" : \([0-9]*\).*/\1/p' "$d/results.json" | sort -n | tail -1)
  check "thp=always, collapse=$c: khugepaged collapsed ranges ($ncol)" [ "${ncol:-0}" -gt 0 ]
  check "thp=always, collapse=$c: huge PMDs were mapped" \
    [ "$(ev "$d/results.json" thp_fault_alloc)" -gt 0 ]
done
done_testing
