#!/bin/sh
# Installs the Debian packages Corral needs to build, test and benchmark.
# Idempotent and quiet when nothing is missing; every make target that needs
# a package depends on this script (through `make deps`).
#
#   sh scripts/deps.sh          everything (make deps)
#   sh scripts/deps.sh build    only what `make all` and `make install`
#                               need, and cmocka (make deps DEPS=build): the
#                               appliance's build root, where the rest
#                               (browsers, QEMU, Kea...) would be gigabytes
#                               nobody runs.  `make check-unit` runs there
#                               too, but skips its two tests that run Kea.
set -eu
profile=${1:-all}
case $profile in
all | build) ;;
*)
	echo "deps: unknown profile '$profile' (all or build)" >&2
	exit 2
	;;
esac

# One list, grouped by what needs it; the first group is the build profile.
BUILD_PKGS="
build-essential pkg-config
libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev
libcurl4-openssl-dev libinih-dev libyaml-dev libgnutls28-dev
libcmocka-dev
"
PKGS="$BUILD_PKGS
clang-format clang libclang-rt-dev
python3 python3-pytest python3-yaml
curl sqlite3 openssh-client
nginx-light wrk
qemu-system-x86 ovmf ipxe dnsmasq-base busybox-static linux-image-amd64 iproute2 kmod cpio
qemu-system-arm qemu-efi-aarch64
kea-dhcp4-server kea-admin
chromium fonts-dejavu-core
mmdebstrap squashfs-tools zstd debian-archive-keyring
fdisk dosfstools mtools grub-pc-bin grub-efi-amd64-bin qemu-utils bmap-tools
skopeo umoci qemu-user-static binfmt-support arch-test
rpm createrepo-c
"
# The web page's browser tests run on node; Debian's nodejs/npm only when
# this machine has no node of its own.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
[ "$profile" = build ] && PKGS=$BUILD_PKGS

# The browser tests' node modules (playwright-core, pinned by
# package-lock.json; it never downloads a browser: the tests use Debian's
# chromium).  netboot/tests/web/run.sh does the same when they are missing.
web="$(dirname "$0")/../netboot/tests/web"
if [ "$profile" = all ] && [ ! -d "$web/node_modules" ] && command -v npm >/dev/null 2>&1; then
	(cd "$web" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
		echo "deps: npm ci in netboot/tests/web failed (run.sh retries)" >&2
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Package installs must not start system services (nginx is only a benchmark
# reference, started by the benchmark on loopback); policy-rc.d says so.
prc=/usr/sbin/policy-rc.d
made_prc=0
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$prc"
	chmod 755 "$prc"
	made_prc=1
fi
trap '[ $made_prc = 1 ] && rm -f "$prc"' EXIT
apt-get update -q >/dev/null || true
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
# Debian's kea-dhcp4-server enables its system-wide unit when installed
# (policy-rc.d only kept it from starting): corrald runs its own Kea, so
# undo exactly that, by unit name, and only when this run installed it.
case " $missing " in
*" kea-dhcp4-server "*)
	if [ -d /run/systemd/system ]; then
		systemctl stop kea-dhcp4-server.service >/dev/null 2>&1 || true
	fi
	# works without a running systemd too (symlinks and SysV links)
	systemctl disable kea-dhcp4-server.service >/dev/null 2>&1 || true
	;;
esac
