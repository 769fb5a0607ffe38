#!/bin/sh
# `make lint`: three checks over Corral's C code, all always run.
#
#  1. Layout: `clang-format --dry-run --Werror` with the repository's
#     .clang-format over lib, netboot/corrald, netboot/corral, netboot/hook, netboot/tests/unit, netboot/tests/cli-unit and netboot/fuzz.
#  2. Banned functions (scripts/banned.txt): every C file in the tree, tracked
#     or new (but not ignored), is searched for calls to them; each hit is
#     printed as file:line.
#  3. Length (scripts/funclen.sh): no function over 120 lines, no C file over
#     1,200 lines; each one over is printed as file:line.
#
# Exits 1 if any check finds something, 2 if a tool is missing.
# Run from anywhere; paths are relative to the repository top.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
status=0

# ---- 1. clang-format -------------------------------------------------------

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
	echo "lint: $CLANG_FORMAT not found (run 'make deps')" >&2
	exit 2
fi

# The globs that match nothing stay literal; keep only real files.
files=""
for f in lib/*.c lib/*.h lib/tests/*.c bench/*.c netboot/corrald/*.c netboot/corrald/*.h netboot/corral/*.c netboot/corral/*.h netboot/hook/*.c netboot/tests/unit/*.c netboot/tests/unit/*.h netboot/tests/cli-unit/*.c netboot/tests/cli-unit/*.h \
	netboot/fuzz/*.c netboot/fuzz/*.h test-vm/vbmc/*.c test-vm/vbmc/*.h test-vm/vbmc/tests/*.c image-builder/src/*.c image-builder/src/*.h image-builder/tests/*.c firmware/*.c; do
	[ -f "$f" ] && files="$files $f"
done

nbad=0
for f in $files; do
	# --Werror turns every difference into an error with file:line:col;
	# show the first few of each file, not pages of them.
	if ! out=$("$CLANG_FORMAT" --dry-run --Werror --style=file "$f" 2>&1); then
		printf '%s\n' "$out" | grep ': error:' | head -n 5
		n=$(printf '%s\n' "$out" | grep -c ': error:')
		[ "$n" -gt 5 ] && echo "$f: ... $((n - 5)) more"
		nbad=$((nbad + 1))
	fi
done
nfiles=$(echo $files | wc -w)
if [ "$nbad" -gt 0 ]; then
	echo "lint: clang-format: $nbad of $nfiles files need formatting" \
		"(see above; 'clang-format -i FILE' fixes one)"
	status=1
else
	echo "lint: clang-format: $nfiles files ok"
fi

# ---- 2. banned functions ---------------------------------------------------

# Names from banned.txt: first word of every line that is not a comment.
names=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/banned.txt | awk '{ print $1 }' |
	paste -sd '|' -)
if [ -z "$names" ]; then
	echo "lint: scripts/banned.txt lists no names" >&2
	exit 2
fi

# Every C source and header git knows of or would add (new files count too).
if git rev-parse --git-dir >/dev/null 2>&1; then
	csrcs=$(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')
else
	csrcs=$(find . -name '*.c' -o -name '*.h' | sed 's|^\./||')
fi

# Blank out comments, string and character literals (keeping line numbers),
# so "never call strcpy()" in a comment or a log message is not a hit.
strip_c="$(cat scripts/cstrip.awk)
{ print cstrip(\$0) }"

# A call: the name as a whole word (not a member like ops->system or
# x.gets), optional blanks, then "(".
pattern="(^|[^A-Za-z0-9_.>])($names)[[:space:]]*\\("

hits=0
for f in $csrcs; do
	[ -f "$f" ] || continue
	found=$(awk "$strip_c" "$f" | grep -nE "$pattern") || continue
	# One line per offending source line: file:line: the names it calls.
	printf '%s\n' "$found" | while IFS= read -r line; do
		lno=${line%%:*}
		calls=$(printf '%s\n' "${line#*:}" | grep -oE "$pattern" |
			sed -E "s/^[^A-Za-z_]*//; s/[[:space:]]*\\(\$//" | paste -sd ',' -)
		echo "$f:$lno: banned: $calls: $(sed -n "${lno}p" "$f" | sed 's/^[[:space:]]*//')"
	done
	hits=$((hits + $(printf '%s\n' "$found" | wc -l)))
done
if [ "$hits" -gt 0 ]; then
	echo "lint: $hits line(s) call banned functions (scripts/banned.txt says what to use)"
	status=1
else
	echo "lint: banned functions: $(echo $csrcs | wc -w) files ok"
fi

# ---- 3. function and file length -------------------------------------------

if sh scripts/funclen.sh; then
	echo "lint: length: functions within 120 lines, files within 1200"
else
	[ $? -eq 1 ] || exit 2
	status=1
fi

exit $status
