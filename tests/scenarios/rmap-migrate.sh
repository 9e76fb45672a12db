# Migration by rmap walker threads (tests/scenarios/rmap-migrate.lua; models/mm/migrate.c):
# under every scheme, at 2, 8 and 32 CPUs and several seeds, with anonymous, shared and
# private file memory, fork children alive and mprotect, MADV_DONTNEED and munmap racing:
# every run is checker-clean (every load reads what was stored before the frame moved,
# no migration entry is left), folios migrate in every run, and faults wait on migration
# entries.  A remove_migration_ptes that forgets a mapping (inject =
# "migration-skip-child") is caught with exit status 3.  Anonymous writers under
# continuous migration (rmap-migrate-anon.lua) make SPF and the rcu schemes' Tier 0
# meet migration entries and leave them to the locked path.
. "$(dirname "$0")/lib.sh"
schemes=$("$MMSIM" list schemes | awk '{print $1}')
ev() { grep -m1 "\"$2\" :" "$1" | sed 's/.*: \([0-9]*\).*/\1/'; }
sc="$SRC/tests/scenarios/rmap-migrate.lua"
waits=0
for s in $schemes; do
  for c in 2 8 32; do
    for seed in 1 2; do
      d="$TMP/$s-$c-$seed"
      w=$(( c > 2 ? 2 : 1 ))
      "$MMSIM" run "$sc" --set scheme="$s" --set threads=$((c - w)) --set walkers=$w \
        --set seed=$seed --out "$d" 2>"$d.err"
      rc=$?
      check "migrate, $s, $c CPUs, seed $seed: exit 0 (got $rc)" [ $rc -eq 0 ]
      [ $rc -eq 0 ] || { sed 's/^/# /' "$d.err"; continue; }
      r="$d/results.json"
      check "migrate, $s, $c CPUs, seed $seed: consistent" \
        grep -q '"verdict" : "consistent"' "$r"
      check "migrate, $s, $c CPUs, seed $seed: folios migrated ($(ev "$r" migrated))" \
        [ "$(ev "$r" migrated)" -gt 0 ]
      waits=$((waits + $(ev "$r" migration_entry_wait)))
    done
  done
done
check "migrate: faults waited on migration entries ($waits)" [ "$waits" -gt 0 ]
"$MMSIM" run "$sc" --set walkers=2 --set threads=4 --out "$TMP/det1" 2>/dev/null
"$MMSIM" run "$sc" --set walkers=2 --set threads=4 --out "$TMP/det2" 2>/dev/null
check "migrate: same seed, byte-identical results" cmp -s "$TMP/det1/results.json" "$TMP/det2/results.json"
# Private anonymous writers under continuous migration: the lockless paths meet entries.
an="$SRC/tests/scenarios/rmap-migrate-anon.lua"
for s in spf rcu rcu-drop; do
  d="$TMP/anon-$s"
  "$MMSIM" run "$an" --set scheme=$s --out "$d" 2>"$d.err"
  rc=$?
  check "anon writers, $s: exit 0 (got $rc)" [ $rc -eq 0 ]
  [ $rc -eq 0 ] || { sed 's/^/# /' "$d.err"; continue; }
  r="$d/results.json"
  check "anon writers, $s: consistent, faults waited on entries" \
    sh -c "grep -q '\"verdict\" : \"consistent\"' '$r' && [ $(ev "$r" migration_entry_wait) -gt 0 ]"
  if [ $s = spf ]; then nonp=$(ev "$r" spf_abort_nonpresent); else nonp=$(ev "$r" rcu_fallback_nonpresent); fi
  check "anon writers, $s: the lockless path left migration entries to the locked one ($nonp)" [ "$nonp" -gt 0 ]
done
for s in classic pervma-refcount; do
  d="$TMP/inject-$s"
  "$MMSIM" run "$sc" --set scheme=$s --set inject=migration-skip-child --out "$d" 2>"$d.err"
  rc=$?
  check "migration-skip-child, $s: exit 3 (got $rc)" [ $rc -eq 3 ]
  check "migration-skip-child, $s: a migration entry of no migration is reported" \
    grep -qE "migration entry (0x[0-9a-f]+ )?for pfn [0-9]+,? (at 0x[0-9a-f]+, )?which is not being migrated" "$d.err"
done
# THP-backed memory under both walker kinds: huge PMDs, their splits, and the walkers.
for k in reclaim migrate; do
  d="$TMP/thp-$k"
  "$MMSIM" run "$SRC/tests/scenarios/thp-walkers.lua" --set kind=$k --out "$d" 2>"$d.err"
  check "THP with $k walkers: exit 0 and consistent" \
    grep -q '"verdict" : "consistent"' "$d/results.json"
  check "THP with $k walkers: huge pages were faulted" \
    [ "$(grep -m1 '"thp_fault_alloc" :' "$d/results.json" | sed 's/.*: \([0-9]*\).*/\1/')" -gt 0 ]
done
done_testing
