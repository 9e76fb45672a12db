# Valid scenarios load, with defaults filled in and overrides applied: each good/<name>.lua
# lists the lines its resolved configuration must contain ("-- expect:").  Every shipped
# scenario must load too.
. "$(dirname "$0")/lib.sh"
for f in "$SRC"/tests/scenarios/good/*.lua; do
  name=$(basename "$f" .lua)
  args=$(sed -n 's/^-- args: //p' "$f")
  # shellcheck disable=SC2086
  "$MMSIM" check "$f" $args >"$TMP/$name.json" 2>"$TMP/$name.err"
  check "$name: loads (exit 0)" [ $? -eq 0 ]
  sed -n 's/^-- expect: //p' "$f" > "$TMP/$name.expect"
  while IFS= read -r want; do
    check "$name: resolved config has $want" grep -qF -- "$want" "$TMP/$name.json"
  done < "$TMP/$name.expect"
done
for f in "$SRC"/scenarios/*.lua; do
  "$MMSIM" check "$f" >/dev/null 2>"$TMP/err"
  check "shipped scenario $(basename "$f") loads" [ $? -eq 0 ]
done
"$MMSIM" run "$SRC/tests/scenarios/good/helpers.lua" --out "$TMP/run" 2>/dev/null
check "helpers.lua runs" [ $? -eq 0 ]
check "the run writes config.json with the resolved configuration" \
  grep -q '"duration_ms" : 1.5' "$TMP/run/config.json"
check "mmsim list scenarios names quickstart" sh -c "'$MMSIM' list scenarios | grep -q quickstart"
check "mmsim list machines names generic-2s" sh -c "'$MMSIM' list machines | grep -q generic-2s"
check "mmsim --help documents every command" sh -c "'$MMSIM' --help | grep -q 'sweep FILE.lua --over'"
# Machine presets a user writes: derived from a shipped one with `base`, strict like the rest.
m="$SRC/tests/machines"
"$MMSIM" check "$SRC/tests/scenarios/good/defaults.lua" --set machine="$m/derived-1s.lua" \
  >"$TMP/derived.json" 2>"$TMP/derived.err"
check "a derived preset loads by path" [ $? -eq 0 ]
check "a derived preset is recorded by its path" grep -q 'derived-1s.lua' "$TMP/derived.json"
"$MMSIM" run "$SRC/tests/scenarios/good/defaults.lua" --set machine="$m/derived-1s.lua" \
  --set cpus=192 --out "$TMP/d96" 2>/dev/null
check "a derived preset has its own topology (1 socket: 192 CPUs)" [ $? -eq 0 ]
"$MMSIM" run "$SRC/tests/scenarios/good/defaults.lua" --set machine="$m/derived-1s.lua" \
  --set cpus=193 --out "$TMP/d97" 2>"$TMP/d97.err"
check "... and not 193" grep -q "'cpus' = 193 must be in \\[1, 192\\]" "$TMP/d97.err"
"$MMSIM" check "$SRC/tests/scenarios/good/defaults.lua" --set machine="$m/cycle-a.lua" 2>"$TMP/cyc.err" >/dev/null
check "a base cycle is an error (exit 2)" [ $? -eq 2 ]
check "... that says so" grep -q "'base' chain deeper" "$TMP/cyc.err"
"$MMSIM" check "$SRC/tests/scenarios/good/defaults.lua" --set machine="$m/typo.lua" 2>"$TMP/typo.err" >/dev/null
check "a typo in a derived preset's sub-table is an error" grep -q "unknown machine field 'cache.l2_kb'" "$TMP/typo.err"
done_testing
