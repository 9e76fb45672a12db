# The micro-scenarios against the presets' own inputs: c2c round trips are two one-way
# transfers of the preset's figure for the pair's relation; false sharing costs more than
# padding; a working set larger than the STLB walks on every access; munmap latency grows
# with the CPUs in the cpumask.  Expected values are read from the preset files.
# The runs that touch user memory keep the invariant checker on (it changes no result).
. "$(dirname "$0")/lib.sh"
P="$SRC/models/hw/presets"
field() { # field PRESET KEY: the number after "KEY =" in the preset file, or in its base
  v=$(sed -n "s/^ *$2 = \([0-9.]*\).*/\1/p" "$P/$1.lua" | head -n 1)
  b=$(sed -n 's/^ *base = "\([^"]*\)".*/\1/p' "$P/$1.lua" | head -n 1)
  if [ -z "$v" ] && [ -n "$b" ]; then field "$b" "$2"; else echo "$v"; fi
}
metric() { # metric DIR COLUMN: that column of summary.csv's data row
  awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i } NR == 2 { print $k }' \
    "$1/summary.csv"
}
same() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d < 0.01 && d > -0.01) }'; }

c2c() { # c2c MACHINE A B KEY
  out="$TMP/c2c-$1-$2-$3"
  "$MMSIM" run "$SRC/scenarios/micro/c2c.lua" --set machine="$1" --set a="$2" --set b="$3" \
    --set rounds=200 --out "$out" 2>/dev/null
  got=$(metric "$out" round_trip_ns)
  # Each hand-off is one CAS on a line the other CPU holds: the transfer, but never less
  # than the uncontended atomic (so SMT pairs can be bound by the atomic's latency).
  want=$(awk -v x="$(field "$1" "$4")" -v c="$(field "$1" rmw_cycles)" \
    -v f="$(field "$1" freq_ghz)" 'BEGIN { r = c / f; printf "%.3f", 2 * (x > r ? x : r) }')
  check "c2c $1 cpus $2,$3 ($4): round_trip_ns $got = 2 x max($4, rmw) ($want)" \
    same "$got" "$want"
}
c2c generic-2s 0 1 llc_ns
c2c generic-2s 0 40 remote_ns
c2c skylake-sp-2s 0 27 llc_ns
c2c skylake-sp-2s 0 28 remote_ns
c2c skylake-sp-2s 0 56 smt_ns
c2c icelake-sp-2s 3 67 smt_ns
c2c icelake-sp-2s 0 63 remote_ns
c2c sapphire-rapids-1s 0 35 llc_ns
c2c sapphire-rapids-1s 0 36 smt_ns
c2c zen4-genoa-2s 0 7 llc_ns
c2c zen4-genoa-2s 0 8 socket_ns
c2c zen4-genoa-2s 0 96 remote_ns
c2c zen4-genoa-2s 5 197 smt_ns

"$MMSIM" run "$SRC/scenarios/micro/c2c.lua" --set a=3 --set b=3 --out "$TMP/same" 2>"$TMP/same.err"
check "c2c with a = b is refused (exit 2)" [ $? -eq 2 ]
check "  ... saying why" grep -q 'given to two tasks' "$TMP/same.err"

for s in 8 64; do
  "$MMSIM" run "$SRC/scenarios/micro/false-sharing.lua" --set stride=$s --set check=true --out "$TMP/fs$s" 2>/dev/null
done
shared=$(metric "$TMP/fs8" ns_per_add)
padded=$(metric "$TMP/fs64" ns_per_add)
check "false sharing: counters in one line cost more per add ($shared ns) than padded ($padded ns)" \
  awk -v a="$shared" -v b="$padded" 'BEGIN { exit !(a > 3 * b) }'
rmw=$(awk -v c="$(field generic-2s rmw_cycles)" -v f="$(field generic-2s freq_ghz)" \
  'BEGIN { printf "%.3f", c / f }')
check "padded: each add is an uncontended atomic ($padded = rmw_cycles / freq = $rmw ns)" \
  same "$padded" "$rmw"

"$MMSIM" run "$SRC/scenarios/micro/tlb.lua" --set check=true --out "$TMP/tlb" 2>/dev/null
check "tlb: exit 0" [ -s "$TMP/tlb/summary.csv" ]
check "tlb: the large working set walks the page tables on every access" \
  same "$(metric "$TMP/tlb" large_walks_per_access)" 1
check "tlb: the small one never walks" same "$(metric "$TMP/tlb" small_walks_per_access)" 0
check "tlb: a walk makes the access slower" awk -v a="$(metric "$TMP/tlb" large_ns_per_access)" \
  -v b="$(metric "$TMP/tlb" small_ns_per_access)" 'BEGIN { exit !(a > b + 4) }'

"$MMSIM" sweep "$SRC/scenarios/micro/shootdown.lua" --over mask=1,2,4,8,16 --jobs 2 --set check=true \
  --out "$TMP/sd" 2>/dev/null
check "shootdown: sweep finished, 5 rows" [ "$(wc -l < "$TMP/sd/summary.csv")" -eq 6 ]
prev=0
i=0
for mask in 1 2 4 8 16; do
  i=$((i + 1))
  row=$(awk -F, -v r=$((i + 1)) 'NR == 1 { for (j = 1; j <= NF; j++) c[$j] = j }
    NR == r { print $c["munmap_ns"], $c["ipis_per_munmap"] }' "$TMP/sd/summary.csv")
  set -- $row
  check "shootdown mask=$mask: $2 IPIs per munmap (= mask - 1)" same "$2" $((mask - 1))
  check "shootdown mask=$mask: munmap_ns $1 > $prev (grows with the cpumask)" \
    awk -v a="$1" -v b="$prev" 'BEGIN { exit !(a > b) }'
  prev=$1
done

# Readers translating through their TLBs while the region is unmapped and remapped: the
# MMU checks every translation, so a stale one to a freed page would exit with status 3.
"$MMSIM" run "$SRC/tests/scenarios/tlb-race.lua" --out "$TMP/race" 2>"$TMP/race.err"
check "tlb-race: no stale translation used (exit $?)" [ -s "$TMP/race/summary.csv" ]
event() { # event DIR NAME: the run's total of an event (first occurrence in results.json)
  sed -n "s/^ *\"$2\" : \([0-9]*\),*$/\1/p" "$1/results.json" | head -n 1
}
check "tlb-race: readers hit their TLBs ($(event "$TMP/race" dtlb_hit) hits)" \
  [ "$(event "$TMP/race" dtlb_hit)" -gt 0 ]
check "tlb-race: munmaps and zero-page COWs sent IPIs ($(event "$TMP/race" tlb_shootdown_ipi))" \
  [ "$(event "$TMP/race" tlb_shootdown_ipi)" -gt 0 ]
check "tlb-race: readers faulted once the range was gone" \
  awk -v f="$(metric "$TMP/race" sigsegv_per_reader)" 'BEGIN { exit !(f > 0) }'
check "tlb-race: address space consistent" grep -q '"verdict" : "consistent"' "$TMP/race/results.json"

nm=$("$MMSIM" list machines | wc -l)
check "list machines: the 5 presets, one line each ($nm)" [ "$nm" -ge 5 ]
for p in generic-2s skylake-sp-2s icelake-sp-2s sapphire-rapids-1s zen4-genoa-2s; do
  check "list machines: $p has a description" sh -c "'$MMSIM' list machines | grep -q '^$p  *[0-9a-z]'"
done
# A user preset in Lua, no recompiling; and a typo in one is refused with its name.
mkdir -p "$TMP/presets"
sed -e 's/name = "icelake-sp-2s"/name = "my-box"/' -e 's/llc_ns = 51/llc_ns = 70/' \
  "$P/icelake-sp-2s.lua" > "$TMP/presets/my-box.lua"
MMSIM_MACHINE_PATH="$TMP/presets" "$MMSIM" run "$SRC/scenarios/micro/c2c.lua" \
  --set machine=my-box --set rounds=50 --out "$TMP/mine" 2>/dev/null
check "a user preset from MMSIM_MACHINE_PATH is used (round trip 140 ns)" \
  same "$(metric "$TMP/mine" round_trip_ns)" 140
sed -e 's/llc_ns = 51/llc_nss = 51/' "$P/icelake-sp-2s.lua" > "$TMP/presets/typo.lua"
MMSIM_MACHINE_PATH="$TMP/presets" "$MMSIM" run "$SRC/scenarios/micro/c2c.lua" \
  --set machine=typo --out "$TMP/typo" 2>"$TMP/typo.err"
check "a preset with an unknown field is refused (exit 2)" [ $? -eq 2 ]
check "  ... naming the field" grep -q "coherence.llc_nss" "$TMP/typo.err"
done_testing
