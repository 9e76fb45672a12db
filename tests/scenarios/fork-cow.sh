# fork, copy-on-write and exit under the checker: clean at 1, 4 and 16 CPUs, with several
# seeds, under every scheme and both anon_vma locks, with every child exited and every
# page freed at the end; the injected COW that reuses a shared page is caught.  And 6.4's
# per-VMA lock abort on a VMA without anon_vma, and racing anon_vma_prepare calls.
. "$(dirname "$0")/lib.sh"
fc="$SRC/tests/scenarios/fork-cow.lua"
json_int() { sed -n "s/.*\"$1\" : \([0-9]*\).*/\1/p" "$2" | head -1; }
for c in 1 4 16; do
  for seed in 1 2 3; do
    d="$TMP/c$c-$seed"
    "$MMSIM" run "$fc" --set threads=$c --set seed=$seed --out "$d" 2>"$d.err"
    check "fork-cow, $c CPUs, seed $seed: exit 0" [ $? -eq 0 ]
    check "fork-cow, $c CPUs, seed $seed: consistent (every page freed after exit)" \
      grep -q '"verdict" : "consistent"' "$d/results.json"
    forks=$(json_int fork "$d/results.json")
    exits=$(json_int exit_mmap "$d/results.json")
    check "fork-cow, $c CPUs, seed $seed: $((c * 3)) forks, each child exited ($forks, $exits)" \
      [ "${forks:-0}" -eq $((c * 3)) ] && [ "${exits:-0}" -eq $((c * 3)) ]
    copies=$(json_int fault_cow_copy "$d/results.json")
    reuses=$(json_int fault_cow_reuse "$d/results.json")
    check "fork-cow, $c CPUs, seed $seed: COW copies ($copies) and reuses ($reuses)" \
      [ "${copies:-0}" -gt 0 ] && [ "${reuses:-0}" -gt 0 ]
  done
done
# The child's loads are verified too: per round the parent reads the region twice and the
# child twice (4 tasks x 3 rounds x 4 reads x 32 pages).
check "fork-cow, 4 CPUs: parent and child loads verified" \
  [ "$(json_int loads_verified "$TMP/c4-1/results.json")" -eq 1536 ]
"$MMSIM" run "$fc" --set threads=4 --set seed=1 --out "$TMP/again" 2>/dev/null
check "fork-cow, 4 CPUs: same seed, byte-identical results" \
  cmp -s "$TMP/c4-1/results.json" "$TMP/again/results.json"
for s in classic spf pervma pervma-refcount rcu rcu-drop; do
  for lock in rwsem spinlock; do
    "$MMSIM" run "$fc" --set threads=4 --set scheme=$s --set anon_vma_lock=$lock \
      --out "$TMP/s$s$lock" 2>"$TMP/s$s$lock.err"
    check "fork-cow under $s, anon_vma_lock=$lock: exit 0 and consistent" \
      grep -q '"verdict" : "consistent"' "$TMP/s$s$lock/results.json"
  done
done
check "anon_vma_lock=spinlock is in the resolved config" \
  grep -q '"anon_vma_lock" : "spinlock"' "$TMP/sclassicspinlock/results.json"
for c in 1 4; do
  "$MMSIM" run "$fc" --set threads=$c --set inject=cow-no-copy --out "$TMP/inj$c" \
    2>"$TMP/inj$c.err"
  rc=$?
  check "inject=cow-no-copy, $c CPUs: exit status 3 (got $rc)" [ "$rc" -eq 3 ]
  check "inject=cow-no-copy, $c CPUs: report names load-returns-last-store" \
    grep -q "address-space invariant violated: load-returns-last-store" "$TMP/inj$c.err"
  check "inject=cow-no-copy, $c CPUs: the report shows fork sharing the page" \
    grep -q 'fork shares pfn [0-9]*, write-protected' "$TMP/inj$c.err"
done

av="$SRC/tests/scenarios/anon-vma-first-fault.lua"
"$MMSIM" run "$av" --set scheme=pervma --out "$TMP/av64" 2>"$TMP/av64.err"
check "pervma first faults: exit 0" [ $? -eq 0 ]
aborts=$(json_int vma_lock_no_anon_vma "$TMP/av64/results.json")
check "pervma: faults on VMAs without anon_vma abort to mmap_lock ($aborts)" [ "${aborts:-0}" -gt 0 ]
check "pervma: later faults succeed under the VMA lock" \
  [ "$(json_int vma_lock_success "$TMP/av64/results.json")" -gt 0 ]
"$MMSIM" run "$av" --set scheme=pervma-refcount --out "$TMP/av615" 2>"$TMP/av615.err"
check "pervma-refcount first faults: exit 0" [ $? -eq 0 ]
check "pervma-refcount: no abort for a missing anon_vma (vmf_anon_prepare)" \
  [ "$(json_int vma_lock_no_anon_vma "$TMP/av615/results.json")" -eq 0 ]
check "pervma-refcount: anon_vma prepared once per VMA (16)" \
  [ "$(json_int anon_vma_prepare "$TMP/av615/results.json")" -eq 16 ]
# Racing first writes to one fresh VMA: one anon_vma published, the losers' freed.
pr="$SRC/tests/scenarios/anon-vma-prepare-race.lua"
for s in classic pervma pervma-refcount rcu spf; do
  "$MMSIM" run "$pr" --set scheme=$s --out "$TMP/pr$s" 2>"$TMP/pr$s.err"
  check "prepare race under $s: exit 0 and consistent" \
    grep -q '"verdict" : "consistent"' "$TMP/pr$s/results.json"
  won=$(json_int anon_vma_prepare "$TMP/pr$s/results.json")
  lost=$(json_int anon_vma_prepare_lost "$TMP/pr$s/results.json")
  check "prepare race under $s: one anon_vma published ($won), racers lost ($lost)" \
    [ "${won:-0}" -eq 1 ] && [ "${lost:-0}" -gt 0 ]
done
# rmap walks (idle page tracking) racing fork, COW, munmap and exit, under every scheme.
rs="$SRC/tests/scenarios/rmap-storm.lua"
for s in classic spf pervma pervma-refcount rcu rcu-drop; do
  for lock in rwsem spinlock; do
    d="$TMP/rs$s$lock"
    "$MMSIM" run "$rs" --set scheme=$s --set anon_vma_lock=$lock --out "$d" 2>"$d.err"
    check "rmap-storm under $s, anon_vma_lock=$lock: exit 0 and consistent" \
      grep -q '"verdict" : "consistent"' "$d/results.json"
    check "rmap-storm under $s, anon_vma_lock=$lock: workers forked and the tracker walked" \
      [ "$(json_int fork "$d/results.json")" -gt 0 ] && grep -q '"idle_walks"' "$d/results.json"
  done
  check "rmap-storm under $s: rmap walks took the anon_vma rwsem shared" \
    grep -qE '&anon_vma->rwsem-R: +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[1-9]' \
    "$TMP/rs${s}rwsem/lock_stat.txt"
done
# fork of file mappings: the child shares the page cache through the shared mapping and
# gets copy-on-write copies of the private one.
ff="$SRC/tests/scenarios/fork-file.lua"
for s in $("$MMSIM" list schemes | awk '{print $1}'); do
  for cpus in 1 4 16; do
    d="$TMP/ff$s$cpus"
    "$MMSIM" run "$ff" --set scheme=$s --set threads=$cpus --out "$d" 2>"$d.err"
    check "fork-file under $s at $cpus CPUs: exit 0 and consistent" \
      grep -q '"verdict" : "consistent"' "$d/results.json"
  done
done
# fork with THP (thp = "always", regions of 4 MiB so that 2 MiB-aligned ranges exist):
# the parent's huge PMDs are split before the range is copied, and the checker stays
# clean (mapcounts over the fork tree, the anon_vma rmap, memcg and the LRU).
for c in 1 4; do
  d="$TMP/thp-$c"
  "$MMSIM" run "$fc" --set threads=$c --set thp=always --set pages=1024 --out "$d" 2>"$d.err"
  check "fork-cow with thp=always, $c CPUs: exit 0 and consistent" \
    grep -q '"verdict" : "consistent"' "$d/results.json"
  huge=$(json_int thp_fault_alloc "$d/results.json")
  split=$(json_int thp_split_pmd "$d/results.json")
  check "fork-cow with thp=always, $c CPUs: huge PMDs mapped ($huge) and split by fork ($split)" \
    [ "${huge:-0}" -gt 0 ] && [ "${split:-0}" -gt 0 ]
done
# The rmap storm with THP: page_idle walks huge folios through the PMD, fork splits them.
for s in classic pervma-refcount; do
  d="$TMP/rs-thp-$s"
  "$MMSIM" run "$rs" --set scheme=$s --set thp=always --set pages=1024 --out "$d" 2>"$d.err"
  check "rmap-storm with thp=always under $s: exit 0 and consistent" \
    grep -q '"verdict" : "consistent"' "$d/results.json"
  check "rmap-storm with thp=always under $s: huge PMDs mapped and split by fork" \
    [ "$(json_int thp_fault_alloc "$d/results.json")" -gt 0 ] && \
    [ "$(json_int thp_split_pmd "$d/results.json")" -gt 0 ]
done
done_testing
