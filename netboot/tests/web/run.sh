#!/bin/sh
# Runs the browser tests (node's test runner, headless Chromium through
# playwright-core, a real corrald per test file) and writes
# "<passed> <failed> <skipped>" to the results file given first (and each
# skip with its reason to <results file>.skips), like scripts/run-pytest.sh.
# The second argument (or CORRAL_BUILD) names the build directory holding
# corrald; default <repo>/build.
#   sh netboot/tests/web/run.sh build/results/web build
out=${1:?usage: run.sh RESULTS_FILE [BUILD_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
build=${2:-${CORRAL_BUILD:-$here/../../../build}}
CORRAL_BUILD=$(cd "$build" 2>/dev/null && pwd) || { echo "web: no build directory $build" >&2; echo "0 1 0" >"$out"; exit 1; }
export CORRAL_BUILD
echo "0 1 0" >"$out" # until the run says otherwise
: >"$out.skips"

if ! command -v node >/dev/null 2>&1; then
	echo "web: node is missing (make deps)" >&2
	exit 1
fi
cd "$here" || exit 1
# The pinned playwright-core from package-lock.json; it never downloads a
# browser (the tests use Debian's /usr/bin/chromium).
if [ ! -d node_modules/playwright-core ]; then
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund || { echo "web: npm ci failed" >&2; exit 1; }
fi

tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
# One test file at a time: each starts its own corrald and Chromium.
conc=""
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] && conc="--test-concurrency=1"
# shellcheck disable=SC2086
node --test $conc --test-reporter=spec --test-reporter-destination=stdout \
	--test-reporter=tap --test-reporter-destination="$tap" ./*.test.mjs
rc=$?
pass=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$tap" | tail -n 1)
fail=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$tap" | tail -n 1)
canc=$(sed -n 's/^# cancelled \([0-9][0-9]*\)$/\1/p' "$tap" | tail -n 1)
skip=$(sed -n 's/^# skipped \([0-9][0-9]*\)$/\1/p' "$tap" | tail -n 1)
todo=$(sed -n 's/^# todo \([0-9][0-9]*\)$/\1/p' "$tap" | tail -n 1)
# "ok N - name # SKIP reason" (and TODO): the reason goes with the name.
sed -n 's/^ *ok [0-9]* - \(.*\) # \(SKIP\|TODO\) *\(.*\)$/web:\1\t\2 \3/p' "$tap" >"$out.skips"
if [ -z "$pass" ] || [ -z "$fail" ]; then
	echo "0 1 0" >"$out"
	exit 1
fi
fail=$((fail + ${canc:-0}))
[ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
# node's "# pass" does not count skips and todos; they are counted apart.
echo "$pass $fail $((${skip:-0} + ${todo:-0}))" >"$out"
exit $rc
