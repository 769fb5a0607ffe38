#!/bin/sh
# Downloads Debian packages with apt itself, from one suite and one
# architecture's lists, into OUTDIR.  apt checks the suite's Release file
# against Debian's archive keyring and each .deb against the hashes of the
# signed lists, so a file that lands in OUTDIR is what Debian published.
#
# The host's apt state is neither read nor written: the sources list, the
# package lists and apt's cache live under STATEDIR, dpkg's status is empty
# and the host's pinning is ignored.  The mirror is the host's own, read
# at run time from /etc/apt/sources.list.d/debian.sources (or
# /etc/apt/sources.list); CORRAL_APT_MIRROR=URL overrides it.
#
# A package already in OUTDIR with the right hash is not fetched again.
# Prints the path of each package's .deb, one a line.
#
# usage: firmware/apt-download.sh STATEDIR SUITE ARCH OUTDIR PACKAGE[=VERSION]...
set -eu

[ $# -ge 5 ] || { echo "usage: $0 STATEDIR SUITE ARCH OUTDIR PACKAGE..." >&2; exit 2; }
state=$1 suite=$2 arch=$3 out=$4
shift 4

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "apt-download: $keyring missing (debian-archive-keyring)" >&2; exit 1; }

# The first archive (not security) URI the host's apt uses.
mirror=${CORRAL_APT_MIRROR:-}
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
	mirror=$(awk '
		function flush() {
			if (uri != "" && types ~ /(^| )deb( |$)/ && suites !~ /-security/ && found == "")
				found = uri
			uri = ""; types = ""; suites = ""
		}
		/^[ \t]*$/ { flush(); next }
		/^URIs:/ { uri = $2 }
		/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
		/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
		END { flush(); print found }' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
	mirror=$(awk '$1 == "deb" {
		i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
		if ($(i + 1) !~ /-security/) { print $i; exit } }' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || { echo "apt-download: no Debian mirror in the host's apt sources" >&2; exit 1; }

dir=$state/$suite-$arch
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$out"
printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$suite" >"$dir/sources.list"
: >"$dir/status"

pkgs=$*
set -- -q -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
	-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
	-o Dir::State::Lists="$dir/lists" -o Dir::State::Status="$dir/status" \
	-o Dir::Cache="$dir/cache" -o APT::Architecture="$arch" -o APT::Architectures="$arch" \
	-o Acquire::Languages=none
# apt downloads as the unprivileged _apt user when run as root: let it write.
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$out" "$dir/lists/partial" "$dir/cache/archives/partial"
fi
# Lists fetched in the last ten minutes are reused (one caller fetching in
# two steps); older ones are fetched again.
if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*InRelease' -mmin -10 2>/dev/null)" ]; then
	apt-get "$@" update >"$dir/apt.log" 2>&1 || {
		cat "$dir/apt.log" >&2
		echo "apt-download: apt-get update of $suite/$arch failed" >&2
		exit 1
	}
fi
# shellcheck disable=SC2086
(cd "$out" && apt-get "$@" download $pkgs) >"$dir/apt.log" 2>&1 || {
	cat "$dir/apt.log" >&2
	echo "apt-download: apt-get download $pkgs ($suite/$arch) failed" >&2
	exit 1
}
# The file apt wrote for each package (its name as apt spells it: the
# epoch's colon as %3a), one a line on stdout.
for p in $pkgs; do
	apt-cache "$@" show --no-all-versions "$p" | awk -v out="$out" '
		/^Package:/ { n = $2 } /^Version:/ { v = $2 } /^Architecture:/ { a = $2 }
		END { sub(/:/, "%3a", v); f = out "/" n "_" v "_" a ".deb"; print f }'
done | while read -r f; do
	[ -f "$f" ] || { echo "apt-download: $f missing after download" >&2; exit 1; }
	echo "$f"
done
