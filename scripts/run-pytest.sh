#!/bin/sh
# Runs a pytest suite with Debian's Python (it sees python3-pytest) and
# writes "<passed> <failed> <skipped>" to the results file given first, and
# one line "<test id>	<reason>" per skipped test to <results file>.skips
# (from pytest's JUnit XML, which carries each skip's reason).  Arguments
# after the first three go to pytest as they are (--ignore=...).
out=$1; dir=$2; build=$3
shift 3
xml=$(dirname "$out")/$(basename "$out").xml
rm -f "$xml"
: >"$out.skips"
CORRAL_BUILD=$(realpath "$build") /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider \
	--junitxml="$xml" "$@" "$dir"
rc=$?
if [ -f "$xml" ]; then
	/usr/bin/python3 - "$xml" "$out" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
with open(sys.argv[2] + ".skips", "w") as out:
    for case in root.iter("testcase"):
        for s in case.findall("skipped"):
            tid = "%s::%s" % (case.get("classname", ""), case.get("name", ""))
            why = (s.get("message") or s.text or "no reason given").replace("\n", " ")
            out.write("%s\t%s\n" % (tid, why))
open(sys.argv[2], "w").write("%d %d %d\n" % (t - f - sk, f, sk))
PY
else
	echo "0 1 0" >"$out"
fi
exit $rc
