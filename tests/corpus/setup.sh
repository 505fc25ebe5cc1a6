#!/usr/bin/env bash
# Unpack the real Debian kernel trees used by the conformance tests.
#
# Source (read-only): ${MODPOLICY_SHARED:-<repo>/../shared}/corpus, the Debian packages
# listed in tests/README.md.
# Destination:        ${MODPOLICY_CORPUS_DIR:-<repo>/target/corpus}
#
#   <dest>/image-6.1/      dpkg-deb -x of linux-image-6.1.0-47-cloud-amd64-unsigned_*.deb
#   <dest>/image-6.12/     dpkg-deb -x of linux-image-6.12.107+deb12-cloud-amd64-unsigned_*.deb
#   <dest>/headers-6.1/    dpkg-deb -x of linux-headers-6.1.0-47-cloud-amd64_*.deb
#   <dest>/headers-6.12/   dpkg-deb -x of linux-headers-6.12.107+deb12-cloud-amd64_*.deb
#   <dest>/system-map/System.map-<version>   decompressed from system-map/*.xz
#   <dest>/abi/Module.symvers-<abi>           decompressed from abi/*.xz (the ABI gate's
#                                             real Debian ABIs; own stamp, <dest>/abi/.stamp)
#
# Idempotent: a stamp file (<dest>/.stamp) records what was unpacked; when it matches,
# nothing is done. Concurrent callers are serialised with flock(1) on <dest>.lock.
# Exits non-zero with a message on stderr when the shared corpus or a tool is missing.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SHARED=${MODPOLICY_SHARED:-$REPO/../shared}
SRC=$SHARED/corpus
DEST=${MODPOLICY_CORPUS_DIR:-$REPO/target/corpus}

die() { echo "tests/corpus/setup.sh: $*" >&2; exit 1; }

[ -d "$SRC" ] || die "shared corpus directory $SRC is missing (set MODPOLICY_SHARED to the directory that holds corpus/)"
for tool in dpkg-deb xz flock; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done

# One package per unpacked directory: <dir> <glob>.
PACKAGES=(
	"image-6.1 linux-image-6.1.0-47-cloud-amd64-unsigned_*.deb"
	"image-6.12 linux-image-6.12.107+deb12-cloud-amd64-unsigned_*.deb"
	"headers-6.1 linux-headers-6.1.0-47-cloud-amd64_*.deb"
	"headers-6.12 linux-headers-6.12.107+deb12-cloud-amd64_*.deb"
)
MAPS=(System.map-6.1.0-47-cloud-amd64 System.map-6.12.107+deb12-cloud-amd64)

mkdir -p "$DEST"
exec 9>"$DEST.lock"
flock 9

# The stamp names every input (base name) with its size and mtime, so a changed corpus
# re-unpacks, wherever MODPOLICY_SHARED points.
want=$(
	for p in "${PACKAGES[@]}"; do
		set -- $p
		f=$(compgen -G "$SRC/$2" | head -n1) || die "no $2 in $SRC"
		[ -n "$f" ] || die "no $2 in $SRC"
		echo "${f##*/} $(stat -c '%s %Y' "$f")"
	done
	for m in "${MAPS[@]}"; do
		[ -f "$SRC/system-map/$m.xz" ] || die "no system-map/$m.xz in $SRC"
		echo "$m.xz $(stat -c '%s %Y' "$SRC/system-map/$m.xz")"
	done
	echo "layout 1"
)
# The real Debian kernel ABIs (Module.symvers of four ABIs), for `modpolicy abi`: their own
# stamp, so adding them never re-unpacks the trees above.
if [ -d "$SRC/abi" ]; then
	abi_want=$(for f in "$SRC"/abi/*.xz; do echo "${f##*/} $(stat -c '%s %Y' "$f")"; done)
	if ! [ -f "$DEST/abi/.stamp" ] || [ "$(cat "$DEST/abi/.stamp")" != "$abi_want" ]; then
		rm -rf "$DEST/abi" "$DEST/abi.tmp"
		mkdir -p "$DEST/abi.tmp"
		for f in "$SRC"/abi/*.xz; do
			b=${f##*/}
			xz -dc "$f" >"$DEST/abi.tmp/${b%.xz}"
		done
		printf '%s\n' "$abi_want" >"$DEST/abi.tmp/.stamp"
		mv "$DEST/abi.tmp" "$DEST/abi"
	fi
fi

if [ -f "$DEST/.stamp" ] && [ "$(cat "$DEST/.stamp")" = "$want" ]; then
	exit 0
fi

rm -f "$DEST/.stamp"
for p in "${PACKAGES[@]}"; do
	set -- $p
	f=$(compgen -G "$SRC/$2" | head -n1)
	rm -rf "$DEST/$1" "$DEST/$1.tmp"
	dpkg-deb -x "$f" "$DEST/$1.tmp"
	mv "$DEST/$1.tmp" "$DEST/$1"
done
rm -rf "$DEST/system-map"
mkdir -p "$DEST/system-map"
for m in "${MAPS[@]}"; do
	xz -dc "$SRC/system-map/$m.xz" >"$DEST/system-map/$m.tmp"
	mv "$DEST/system-map/$m.tmp" "$DEST/system-map/$m"
done
printf '%s\n' "$want" >"$DEST/.stamp"
