# Golden outputs with simulated time in them: each golden/<name>.lua's summary.csv must
# equal golden/<name>.expected.  Regenerate on purpose with MMSIM_UPDATE_GOLDEN=1.
. "$(dirname "$0")/lib.sh"
for f in "$SRC"/tests/scenarios/golden/*.lua; do
  name=$(basename "$f" .lua)
  "$MMSIM" run "$f" --out "$TMP/$name" 2>/dev/null
  check "$name: exit 0" [ $? -eq 0 ]
  if [ "${MMSIM_UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$TMP/$name/summary.csv" "${f%.lua}.expected"
  fi
  if cmp -s "$TMP/$name/summary.csv" "${f%.lua}.expected"; then ok "$name: matches the golden summary"
  else not_ok "$name: differs from golden:"; diff "${f%.lua}.expected" "$TMP/$name/summary.csv" | sed 's/^/# /'; fi
done
done_testing
