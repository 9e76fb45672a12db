# Every broken scenario in bad/ must fail with exit status 2, a message that names the
# file and line and says what is wrong (its "-- expect:" line), and no results written.
. "$(dirname "$0")/lib.sh"
for f in "$SRC"/tests/scenarios/bad/*.lua; do
  name=$(basename "$f" .lua)
  expect=$(sed -n 's/^-- expect: //p' "$f")
  args=$(sed -n 's/^-- args: //p' "$f")
  out="$TMP/$name"
  # From the scratch directory: a sandbox escape would leave a file there.
  # shellcheck disable=SC2086
  (cd "$TMP" && "$MMSIM" run "$f" $args --out "$out" 2>"$TMP/$name.err" >/dev/null)
  rc=$?
  check "$name: exit status 2 (got $rc)" [ "$rc" -eq 2 ]
  if grep -qF -- "$expect" "$TMP/$name.err"; then ok "$name: says \"$expect\""
  else not_ok "$name: says \"$expect\" (got: $(head -c 300 "$TMP/$name.err"))"; fi
  check "$name: names $f:LINE" grep -qE "$(basename "$f"):[0-9]+:" "$TMP/$name.err"
  check "$name: writes no results" [ ! -e "$out" ]
  # 'mmsim check' must reject the load-time mistakes too
  if ! grep -q '^-- when: run' "$f"; then
    # shellcheck disable=SC2086
    "$MMSIM" check "$f" $args >/dev/null 2>&1
    rc=$?
    check "$name: 'mmsim check' rejects it too" [ "$rc" -eq 2 ]
  fi
done
check "sandbox: os.execute did not run" [ ! -e "$TMP/mmsim-escaped" ]
"$MMSIM" run "$SRC/scenarios/quickstart.lua" --set threads=-1 --out "$TMP/neg" 2>"$TMP/neg.err"
rc=$?
check "--set threads=-1: exit 2" [ "$rc" -eq 2 ]
check "--set threads=-1: names quickstart.lua:LINE" grep -qE 'quickstart.lua:[0-9]+:' "$TMP/neg.err"
"$MMSIM" run "$TMP/missing.lua" 2>/dev/null
check "missing file: exit 2" [ $? -eq 2 ]
"$MMSIM" frobnicate 2>/dev/null
check "unknown command: exit 2" [ $? -eq 2 ]
"$MMSIM" list gizmos 2>/dev/null
check "unknown list: exit 2" [ $? -eq 2 ]
done_testing
