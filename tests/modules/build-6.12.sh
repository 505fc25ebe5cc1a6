#!/usr/bin/env bash
# Build the C test modules in tests/modules/src/ with the real Debian 6.12 kernel
# build system (linux-headers-6.12.118+deb12-amd64 + linux-kbuild-6.12.118+deb12, gcc-12,
# pahole from dwarves), record what modpost printed, and keep modpost's inputs of every
# build, so the tests can run modpolicy on them without the 6.12 packages.
#
# Outputs (all regenerated on every run; nothing else is touched):
#   tests/fixtures/modpost-6.12/<build>.txt   whole `make` output (stdout+stderr, in order)
#   tests/fixtures/modpost-6.12/<build>.cmd   the make command line + env, exit status, modpost command
#   tests/fixtures/modpost-6.12/<build>.Module.symvers   the M= Module.symvers modpost wrote (successful builds)
#   tests/fixtures/modpost-6.12/<build>.modules.nsdeps   modpost's -d output (KBUILD_NSDEPS=1 builds only)
#   tests/fixtures/modpost-objs-6.12/<build>/ modpost's inputs, for every build
#   tests/fixtures/modpost-6.12/kernel/   a kernel build tree's two files the tests use:
#       Module.symvers (the lines of the vmlinux symbols the objects import or export)
#       and include/config/kernel.release (where `check` finds the kernel release)
#
# Each kept object is stripped of debug info (`strip --strip-debug`): modpost reads
# neither DWARF nor its relocations. The script proves it: it runs the recorded modpost
# command again on the kept inputs alone, in the original build directory, and stops
# if modpost's lines differ from those of the build.
#
# Builds run in /tmp/modpolicy-kbuild-6.12/<build> (a copy of the source dir); that fixed
# path is in the recorded output and in modules.order, so the tests substitute it.
#
# Usage: tests/modules/build-6.12.sh   (as root installs the packages if missing)
set -euo pipefail

export LC_ALL=C
export TZ=UTC
export KBUILD_BUILD_TIMESTAMP='Mon Jan  1 00:00:00 UTC 2024'
export KBUILD_BUILD_USER=modpolicy
export KBUILD_BUILD_HOST=modpolicy
export SOURCE_DATE_EPOCH=1704067200
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES KBUILD_EXTRA_SYMBOLS KBUILD_MODPOST_WARN KBUILD_NSDEPS W V C || true

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SRC=$HERE/src
FIX=$REPO/tests/fixtures
MODPOST_OUT=$FIX/modpost-6.12
OBJS_OUT=$FIX/modpost-objs-6.12

KREL=6.12.118+deb12
KDIR=/usr/src/linux-headers-$KREL-amd64
BUILD_ROOT=/tmp/modpolicy-kbuild-6.12

log() { printf '== %s\n' "$*" >&2; }

install_headers() {
	if [ -e "$KDIR/Makefile" ] && [ -x "$KDIR/scripts/mod/modpost" ] && command -v pahole >/dev/null; then
		return
	fi
	log "installing the $KREL kernel build tree (Debian bookworm-security)"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y "linux-kbuild-$KREL" \
		"linux-headers-$KREL-amd64" "linux-headers-$KREL-common" dwarves gcc-12 make binutils
}

# modpost's own lines of a make output
modpost_lines() { grep -E '^(WARNING|ERROR|FATAL): modpost: ' "$1" || true; }

# kbuild <build-id> <src-subdir> [make VAR=value ...]
kbuild() {
	local id=$1 srcdir=$2
	shift 2
	local dir=$BUILD_ROOT/$id
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -a "$SRC/$srcdir/." "$dir/"
	local cmd=(make -C "$KDIR" M="$dir" "$@" modules)
	log "build $id: ${cmd[*]}"
	local rc=0
	"${cmd[@]}" >"$MODPOST_OUT/$id.txt" 2>&1 || rc=$?

	local mp
	if [ -f "$dir/.Module.symvers.cmd" ]; then
		mp=$(sed -n 's/^savedcmd_[^ ]* := *//p' "$dir/.Module.symvers.cmd")
	else
		mp=$("${cmd[@]}" -n 2>/dev/null | grep -m1 'scripts/mod/modpost' |
			sed -n "s/.*printf '%s\\\\n' 'savedcmd_[^ ]* := *\(.*\)' > .*/\1/p" || true)
		mp=${mp//\'\\\'\'/\'}
	fi
	mp=${mp//\$\$/\$}
	[ -n "$mp" ] || { echo "$id: no modpost command found" >&2; exit 1; }
	{
		printf '%s\n' "${cmd[*]}"
		printf '# cwd: %s\n' "$dir"
		printf '# env: LC_ALL=%s TZ=%s KBUILD_BUILD_TIMESTAMP=%q KBUILD_BUILD_USER=%s KBUILD_BUILD_HOST=%s SOURCE_DATE_EPOCH=%s\n' \
			"$LC_ALL" "$TZ" "$KBUILD_BUILD_TIMESTAMP" "$KBUILD_BUILD_USER" "$KBUILD_BUILD_HOST" "$SOURCE_DATE_EPOCH"
		printf '# source: tests/modules/src/%s\n' "$srcdir"
		printf '# exit status of make: %s\n' "$rc"
		printf '# modpost (run by make in %s): %s\n' "$KDIR" "$mp"
	} >"$MODPOST_OUT/$id.cmd"
	if [ -f "$dir/Module.symvers" ]; then
		cp "$dir/Module.symvers" "$MODPOST_OUT/$id.Module.symvers"
	fi
	if [ -f "$dir/modules.nsdeps" ]; then
		cp "$dir/modules.nsdeps" "$MODPOST_OUT/$id.modules.nsdeps"
	fi

	# modpost's inputs: modules.order, each <mod>.o (debug info stripped), <mod>.mod,
	# and each member object's .<obj>.o.cmd trimmed to a comment line and its #SYMVER lines.
	local keep=$OBJS_OUT/$id
	rm -rf "$keep"
	mkdir -p "$keep"
	(
		cd "$dir"
		cp modules.order "$keep/"
		local o base m
		for o in $(cat modules.order); do
			base=$(basename "$o" .o)
			strip --strip-debug -o "$keep/$base.o" "$base.o"
			cp "$base.mod" "$keep/"
			for m in $(cat "$base.mod"); do
				m=$(basename "$m" .o)
				# modpost looks for "\n#SYMVER ": a line of its own, never the first.
				{
					echo '# the #SYMVER lines of this file, kept by tests/modules/build-6.12.sh'
					grep '^#SYMVER ' ".$m.o.cmd" || true
				} >"$keep/.$m.o.cmd"
			done
		done
	)
	local a
	for a in "$@"; do
		case $a in
		KBUILD_EXTRA_SYMBOLS=*) cp "${a#KBUILD_EXTRA_SYMBOLS=}" "$keep/extra.Module.symvers" ;;
		esac
	done

	# The kept inputs alone give modpost's lines: run the same command again on them.
	local saved=$BUILD_ROOT/.saved-$id
	rm -rf "$saved"
	mv "$dir" "$saved"
	mkdir -p "$dir"
	cp -a "$keep/." "$dir/"
	rm -f "$dir/extra.Module.symvers"
	local again=$BUILD_ROOT/.again-$id.txt
	(cd "$KDIR" && eval "$mp") >"$again" 2>&1 || true
	if ! diff <(modpost_lines "$MODPOST_OUT/$id.txt") <(modpost_lines "$again"); then
		echo "$id: modpost on the kept inputs printed other lines (above)" >&2
		exit 1
	fi
	rm -rf "$dir" "$again"
	mv "$saved" "$dir"
	return 0
}

start=$(date +%s)
install_headers
mkdir -p "$MODPOST_OUT" "$BUILD_ROOT"
rm -rf "$OBJS_OUT"
rm -f "$MODPOST_OUT"/*.txt "$MODPOST_OUT"/*.cmd "$MODPOST_OUT"/*.Module.symvers "$MODPOST_OUT"/*.modules.nsdeps
mkdir -p "$OBJS_OUT" "$MODPOST_OUT/kernel/include/config"

NS_SYMVERS=$BUILD_ROOT/namespaces/Module.symvers
kbuild dup-export dup-export
kbuild cycle cycle
kbuild namespaces namespaces
kbuild ns-missing-import ns-missing-import KBUILD_EXTRA_SYMBOLS="$NS_SYMVERS"
kbuild ns-missing-import-warn ns-missing-import KBUILD_EXTRA_SYMBOLS="$NS_SYMVERS" KBUILD_MODPOST_WARN=1
kbuild ns-missing-import-nsdeps ns-missing-import KBUILD_EXTRA_SYMBOLS="$NS_SYMVERS" KBUILD_NSDEPS=1
kbuild diag-gpl-only diag-gpl-only
kbuild diag-gpl-only-warn diag-gpl-only KBUILD_MODPOST_WARN=1
kbuild diag-no-license diag-no-license
kbuild diag-no-license-warn diag-no-license KBUILD_MODPOST_WARN=1
kbuild diag-undefined diag-undefined
kbuild diag-undefined-warn diag-undefined KBUILD_MODPOST_WARN=1
kbuild diag-undefined-many diag-undefined-many
kbuild diag-exported-twice diag-exported-twice
kbuild diag-exported-twice-warn diag-exported-twice KBUILD_MODPOST_WARN=1
kbuild diag-no-description diag-no-description
kbuild diag-no-description-w1 diag-no-description W=1
kbuild devices devices
kbuild composite composite
kbuild ns-module ns-module
kbuild ns-string ns-string

# The lines of the kernel's Module.symvers for every vmlinux symbol the kept objects
# import or export, so the tests can pass it as the kernel's symbol file (`--symvers`)
# without the 16 MB original; nothing else in it matters to these builds.
names=$(mktemp)
for o in "$OBJS_OUT"/*/*.o; do
	nm "$o" | awk '$1 == "U" { print $2 } $2 == "T" || $2 == "D" { print $3 }'
done | sort -u >"$names"
awk -F '\t' 'NR == FNR { want[$1] = 1; next } $3 == "vmlinux" && ($2 in want)' \
	"$names" "$KDIR/Module.symvers" >"$MODPOST_OUT/kernel/Module.symvers"
rm -f "$names"
cp "$KDIR/include/config/kernel.release" "$MODPOST_OUT/kernel/include/config/kernel.release"

log "done in $(($(date +%s) - start)) s"
