#!/bin/sh
# Runs a pytest suite with Debian's Python (it sees python3-pytest) and
# writes "<passed> <failed>" to the results file given first.
out=$1; dir=$2; build=$3
xml=$(dirname "$out")/$(basename "$out").xml
rm -f "$xml"
CORRAL_BUILD=$(realpath "$build") /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	--junitxml="$xml" "$dir"
rc=$?
if [ -f "$xml" ]; then
	/usr/bin/python3 - "$xml" "$out" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
open(sys.argv[2], "w").write("%d %d\n" % (t - f - sk, f))
PY
else
	echo "0 1" >"$out"
fi
exit $rc
