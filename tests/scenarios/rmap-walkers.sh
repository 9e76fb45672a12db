# rmap walker threads (models/mm/vmscan.c, docs/rmap.md).
# Reclaim (tests/scenarios/rmap-reclaim.lua): under every scheme, at several CPU counts
# and seeds, the walker evicts clean page cache pages that faults read back from the
# device, keeps dirty and anonymous ones, and the checker finds the run consistent.
# Locks (scenarios/rmap-walkers.lua, two walkers against a fork-heavy family): with the
# spinlock forms of the anon_vma and i_mmap locks the walkers' trylocks give up more
# often than with the rwsem forms, whose read side the walkers share (the direction of
# the spinlock -> rwsem conversions), and the walkers' read acquisitions show in lock_stat.
# Under a secondary MMU (tests/scenarios/rmap-smmu.lua) both kinds stay checker-clean.
. "$(dirname "$0")/lib.sh"
schemes=$("$MMSIM" list schemes | awk '{print $1}')
ev() { grep -m1 "\"$2\" :" "$1" | sed 's/.*: \([0-9]*\).*/\1/'; }
rc_sc="$SRC/tests/scenarios/rmap-reclaim.lua"
dirty_kept=0
for s in $schemes; do
  for c in 2 8; do
    for seed in 1 2; do
      d="$TMP/rc-$s-$c-$seed"
      "$MMSIM" run "$rc_sc" --set scheme="$s" --set threads=$c --set seed=$seed \
        --set walkers=$(( c > 2 ? 2 : 1 )) --out "$d" 2>"$d.err"
      rc=$?
      check "reclaim, $s, $c CPUs, seed $seed: exit 0 (got $rc)" [ $rc -eq 0 ]
      [ $rc -eq 0 ] || { sed 's/^/# /' "$d.err"; continue; }
      r="$d/results.json"
      check "reclaim, $s, $c CPUs, seed $seed: consistent" \
        grep -q '"verdict" : "consistent"' "$r"
      check "reclaim, $s, $c CPUs, seed $seed: pages evicted ($(ev "$r" reclaim_evicted)) and read back ($(ev "$r" pgcache_read))" \
        [ "$(ev "$r" reclaim_evicted)" -gt 0 -a "$(ev "$r" pgcache_read)" -gt 0 ]
      check "reclaim, $s, $c CPUs, seed $seed: mapped pages unmapped, anonymous ones kept" \
        [ "$(ev "$r" reclaim_unmapped)" -gt 0 -a "$(ev "$r" reclaim_anon_noswap)" -gt 0 ]
      dirty_kept=$((dirty_kept + $(ev "$r" reclaim_dirty_kept)))
    done
  done
done
check "reclaim: dirty page cache pages were kept, not evicted ($dirty_kept)" [ "$dirty_kept" -gt 0 ]
# 32 CPUs: 28 readers and 4 walkers, one scheme per lock generation.
for s in classic pervma-refcount; do
  d="$TMP/rc-$s-32"
  "$MMSIM" run "$rc_sc" --set scheme="$s" --set threads=28 --set walkers=4 --out "$d" \
    2>"$d.err"
  rc=$?
  check "reclaim, $s, 32 CPUs: exit 0 (got $rc)" [ $rc -eq 0 ]
  [ $rc -eq 0 ] || { sed 's/^/# /' "$d.err"; continue; }
  check "reclaim, $s, 32 CPUs: consistent" grep -q '"verdict" : "consistent"' "$d/results.json"
  check "reclaim, $s, 32 CPUs: pages evicted" [ "$(ev "$d/results.json" reclaim_evicted)" -gt 0 ]
done

# Same scenario and seed: byte-identical results.
"$MMSIM" run "$rc_sc" --set walkers=2 --out "$TMP/det1" 2>/dev/null
"$MMSIM" run "$rc_sc" --set walkers=2 --out "$TMP/det2" 2>/dev/null
check "reclaim: same seed, byte-identical results" cmp -s "$TMP/det1/results.json" "$TMP/det2/results.json"

# Lock forms: spinlock walkers give up more often than rwsem walkers.
wk="$SRC/scenarios/rmap-walkers.lua"
contended() { # anon_vma_lock i_mmap_lock seed
  d="$TMP/wk-$1-$2-$3"
  "$MMSIM" run "$wk" --set anon_vma_lock=$1 --set i_mmap_lock=$2 --set seed=$3 --out "$d" \
    2>"$d.err" || { sed 's/^/# /' "$d.err" >&2; echo -1; return; }
  grep -q '"verdict" : "consistent"' "$d/results.json" || { echo -1; return; }
  ev "$d/results.json" rmap_walk_contended
}
for seed in 1 2 3; do
  rr=$(contended rwsem rwsem $seed)
  ss=$(contended spinlock spinlock $seed)
  sr=$(contended spinlock rwsem $seed)
  rs=$(contended rwsem spinlock $seed)
  check "locks, seed $seed: every run consistent ($rr $ss $sr $rs)" \
    [ "$rr" -ge 0 -a "$ss" -ge 0 -a "$sr" -ge 0 -a "$rs" -ge 0 ]
  check "locks, seed $seed: both spinlocks: more walks give up than with both rwsems ($ss > $rr)" \
    [ "$ss" -gt "$rr" ]
  check "locks, seed $seed: anon_vma spinlock alone: more give up ($sr > $rr)" [ "$sr" -gt "$rr" ]
  check "locks, seed $seed: i_mmap spinlock alone: more give up ($rs > $rr)" [ "$rs" -gt "$rr" ]
done
# Migration walks block on the locks instead of giving up: with the spinlock forms the
# two walkers (and fork and exit) contend on them more than with the rwsem forms.
rmap_contentions() { # results.json: contentions of the anon_vma and i_mmap lock classes
  python3 -c "
import json
ls={c['class']:c for c in json.load(open('$1'))['results']['lock_stat']}
print(sum(c['write']['contentions'] + c.get('read', {'contentions': 0})['contentions']
          for k, c in ls.items() if 'anon_vma' in k or 'i_mmap' in k))"
}
for seed in 1 2; do
  for l in rwsem spinlock; do
    d="$TMP/mg-$l-$seed"
    "$MMSIM" run "$wk" --set kind=migrate --set anon_vma_lock=$l --set i_mmap_lock=$l \
      --set seed=$seed --out "$d" 2>"$d.err" || sed 's/^/# /' "$d.err"
  done
  check "migrate locks, seed $seed: both runs consistent, folios migrated" \
    sh -c "grep -q '\"verdict\" : \"consistent\"' '$TMP/mg-rwsem-$seed/results.json' &&
           grep -q '\"verdict\" : \"consistent\"' '$TMP/mg-spinlock-$seed/results.json'"
  cr=$(rmap_contentions "$TMP/mg-rwsem-$seed/results.json")
  cs=$(rmap_contentions "$TMP/mg-spinlock-$seed/results.json")
  check "migrate locks, seed $seed: spinlock forms contend more than rwsem forms ($cs > $cr)" \
    [ "$cs" -gt "$cr" ]
done
r="$TMP/wk-rwsem-rwsem-1/results.json"
# lock_stat: the rwsem forms are taken for read by the walks; the spinlock forms exist.
check "locks: lock_stat has anon_vma and i_mmap read acquisitions under rwsem" \
  python3 -c "
import json,sys
ls={c['class']:c for c in json.load(open('$r'))['results']['lock_stat']}
sys.exit(0 if ls['&anon_vma->rwsem']['read']['acquisitions'] > 0 and
         ls['&mapping->i_mmap_rwsem']['read']['acquisitions'] > 0 else 1)"
check "locks: lock_stat has the spinlock forms under spinlock" \
  python3 -c "
import json,sys
ls={c['class']:c for c in json.load(open('$TMP/wk-spinlock-spinlock-1/results.json'))['results']['lock_stat']}
sys.exit(0 if '&anon_vma->lock' in ls and '&mapping->i_mmap_lock' in ls and
         '&anon_vma->rwsem' not in ls else 1)"
# Under a secondary MMU: try_to_unmap and try_to_migrate invalidate its translations
# (the checker flags any shadow entry to a page the mm no longer maps there).
sm="$SRC/tests/scenarios/rmap-smmu.lua"
for k in reclaim migrate; do
  for sl in true false; do
    d="$TMP/smmu-$k-$sl"
    "$MMSIM" run "$sm" --set kind=$k --set sleeps=$sl --out "$d" 2>"$d.err"
    rc=$?
    check "secondary MMU, $k, sleeps=$sl: exit 0 (got $rc)" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || { sed 's/^/# /' "$d.err"; continue; }
    r="$d/results.json"
    check "secondary MMU, $k, sleeps=$sl: consistent" grep -q '"verdict" : "consistent"' "$r"
    moved=$(( $(ev "$r" reclaim_unmapped) + $(ev "$r" migrated) ))
    check "secondary MMU, $k, sleeps=$sl: pages unmapped or moved ($moved), every invalidation reached it" \
      [ "$moved" -gt 0 -a "$(ev "$r" smmu_invalidate)" -eq "$(ev "$r" mmu_notifier_invalidate)" ]
  done
done
done_testing
