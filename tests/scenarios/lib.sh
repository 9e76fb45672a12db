# Shared helpers for the scenario tests: TAP output and a scratch directory.
# $MMSIM and $MMSIM_SOURCE_DIR come from meson's test environment.
set -u
: "${MMSIM:?run through meson test}"
: "${MMSIM_SOURCE_DIR:?run through meson test}"
SRC=$MMSIM_SOURCE_DIR
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...
  desc=$1; shift
  if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
done_testing() { echo "1..$n"; [ "$failed" -eq 0 ]; }
