#!/bin/sh
# Function and file length check, run by `make lint` (scripts/lint.sh).
#
#   scripts/funclen.sh [FILE...]
#
# Lists every C function longer than FUNCLEN_MAX lines (default 120) as
#   file:line: N lines: name
# and every C file longer than FILELEN_MAX lines (default 1200) as
#   file: N lines: file over 1200
# and exits 1 if it found either.  Without arguments it reads every C source
# and header git knows of or would add (new files count too).
#
# It reads the repository's clang-format layout (.clang-format, Linux braces),
# not C in general: a function body opens with a line that is only "{" at
# column 0 right after a line ending in ")", and closes with the next line
# that is only "}" at column 0.  A function counts from the first line of its
# signature (the last line before the "{" that starts at column 0) to its
# closing brace, both included.  Struct and array initialisers never match
# (their "{" ends the "= {" line; their close is "};"); neither do struct
# definitions ("struct x {" on one line).  Comments and string literals are
# blanked first, and lines continued with a backslash (macro bodies) are
# never a function's open.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
fmax=${FUNCLEN_MAX:-120}
lmax=${FILELEN_MAX:-1200}

if [ $# -gt 0 ]; then
	files="$*"
elif git rev-parse --git-dir >/dev/null 2>&1; then
	files=$(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')
else
	files=$(find . -name '*.c' -o -name '*.h' | sed 's|^\./||')
fi

# One awk over all files.  Per line: blank comments and literals
# (cstrip.awk, as lint.sh's banned-function check does), then track
#   sig   - line number where the current top-level declaration began
#   text  - that declaration's text so far (for the name)
#   infn  - inside a function body, opened at line `sig`
prog='
function report_file(   n) {
	if (FNR_last > lmax) {
		printf "%s: %d lines: file over %d\n", fname, FNR_last, lmax
		nfile++
	}
}
function name_of(s,   t, i, j) {
	# Drop attributes, then take the identifier right before the first "(".
	gsub(/__attribute__[ \t]*\(\([^)]*\)\)/, "", s)
	i = index(s, "(")
	if (i == 0) return "?"
	t = substr(s, 1, i - 1)
	sub(/[ \t]+$/, "", t)
	j = match(t, /[A-Za-z_][A-Za-z0-9_]*$/)
	return j ? substr(t, j) : "?"
}
FNR == 1 {
	if (NR > 1) report_file()
	fname = FILENAME; incomment = 0; infn = 0; sig = 0; text = ""
	prevcont = 0; last = ""
}
{
	FNR_last = FNR
	out = cstrip($0)
	cont = prevcont
	prevcont = ($0 ~ /\\[ \t]*$/)
	if (cont || out ~ /^[ \t]*#/) next     # macro bodies, preprocessor lines
	if (infn) {
		if (out ~ /^}[ \t]*$/) {
			len = FNR - sig + 1
			if (len > fmax) {
				printf "%s:%d: %d lines: %s\n", fname, sig, len, name
				nfunc++
			}
			infn = 0; sig = 0; text = ""
		}
		next
	}
	if (out ~ /^[ \t]*$/) next
	if (out ~ /^{[ \t]*$/ && last ~ /\)[ \t]*$/ && sig) {
		infn = 1; name = name_of(text)
		next
	}
	if (out ~ /^[^ \t]/) { sig = FNR; text = out } else text = text " " out
	last = out
}
END {
	if (NR > 0) report_file()
	if (nfunc > 0) print "funclen: " nfunc " function(s) over " fmax " lines"
	if (nfile > 0) print "funclen: " nfile " file(s) over " lmax " lines"
	exit (nfunc + nfile > 0)
}'

nfiles=0
real=""
for f in $files; do
	[ -f "$f" ] || continue
	real="$real $f"
	nfiles=$((nfiles + 1))
done
[ -n "$real" ] || exit 0
# shellcheck disable=SC2086 # the list is split on purpose
awk -v fmax="$fmax" -v lmax="$lmax" "$(cat scripts/cstrip.awk)$prog" $real
