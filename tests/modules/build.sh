#!/usr/bin/env bash
# Build the C test modules in tests/modules/src/ with the real Debian 6.1 kernel
# build system (linux-headers-6.1.0-47-amd64 + linux-kbuild-6.1), record what
# modpost printed, and lay the resulting .ko files out as depmod input trees.
#
# Outputs (all regenerated on every run; nothing else is touched):
#   tests/fixtures/modpost/<build>.txt        whole `make` output (stdout+stderr, in order)
#   tests/fixtures/modpost/<build>.cmd        the make command line + env, exit status, modpost command
#   tests/fixtures/modpost/<build>.Module.symvers   the M= Module.symvers modpost wrote (successful builds)
#   tests/fixtures/modpost/<build>.modules.nsdeps   modpost's -d output (KBUILD_NSDEPS=1 build only)
#   tests/fixtures/modpost-objs/<build>/      modpost inputs kept for builds where modpost failed
#   tests/fixtures/trees/<tree>/              depmod input trees (kernel version 6.1.0-test)
#
# Builds run in $MODPOLICY_KBUILD_DIR (default /tmp/modpolicy-kbuild/<build>), a copy of
# the source dir, so tests/modules/src stays clean. The build path appears in modpost's
# messages and in the recorded modules.order files (the tests substitute it), so it is a
# fixed name, not a temporary directory: keep the default when regenerating fixtures.
#
# Usage: tests/modules/build.sh            (needs root only if the .debs must be installed)
set -euo pipefail

export LC_ALL=C
export TZ=UTC
export KBUILD_BUILD_TIMESTAMP='Mon Jan  1 00:00:00 UTC 2024'
export KBUILD_BUILD_USER=modpolicy
export KBUILD_BUILD_HOST=modpolicy
export SOURCE_DATE_EPOCH=1704067200
# Do not inherit a parent make's job server / flags: -j1 keeps the output order stable.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES KBUILD_EXTRA_SYMBOLS KBUILD_MODPOST_WARN W V C || true

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SRC=$HERE/src
FIX=$REPO/tests/fixtures
MODPOST_OUT=$FIX/modpost
OBJS_OUT=$FIX/modpost-objs
TREES=$FIX/trees

HDR_FLAVOUR=6.1.0-47-amd64
KDIR=/usr/src/linux-headers-$HDR_FLAVOUR
# The kernel build tree's .deb files: the test corpus (tests/README.md), MODPOLICY_CORPUS
# to point at another directory holding them.
CORPUS=${MODPOLICY_CORPUS:-${MODPOLICY_SHARED:-$REPO/../shared}/corpus}
BUILD_ROOT=${MODPOLICY_KBUILD_DIR:-/tmp/modpolicy-kbuild}
KVER=6.1.0-test

log() { printf '== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- toolchain
install_headers() {
	if [ -e "$KDIR/Makefile" ] && [ -x "$KDIR/scripts/mod/modpost" ]; then
		return
	fi
	log "installing the 6.1 kernel build tree from $CORPUS"
	local debs=(
		"$CORPUS"/linux-compiler-gcc-12-x86_*.deb
		"$CORPUS"/linux-kbuild-6.1_*.deb
		"$CORPUS"/linux-headers-6.1.0-47-common_*.deb
		"$CORPUS"/linux-headers-6.1.0-47-amd64_*.deb
	)
	if ! dpkg -i "${debs[@]}"; then
		apt-get update
		apt-get install -f -y
		dpkg -i "${debs[@]}"
	fi
	for tool in make gcc-12 strip nm; do
		command -v "$tool" >/dev/null || { apt-get update; apt-get install -y make gcc-12 binutils libelf-dev; break; }
	done
}

# ---------------------------------------------------------------- one M= build
# kbuild <build-id> <src-subdir> [make VAR=value ...]
# Never fails: a modpost error is an expected outcome for the diagnostic builds.
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

	# The modpost command line: kbuild records it in .Module.symvers.cmd on
	# success; after a failure, ask make what it would run (-n runs nothing).
	# Either way only the shell command is kept, with make's `$$` unescaped.
	local mp
	if [ -f "$dir/.Module.symvers.cmd" ]; then
		mp=$(sed -n 's/^cmd_[^ ]* := *//p' "$dir/.Module.symvers.cmd")
	else
		mp=$("${cmd[@]}" -n 2>/dev/null | grep -m1 'scripts/mod/modpost' |
			sed -n "s/.*printf '%s\\\\n' 'cmd_[^ ]* := *\(.*\)' > .*/\1/p" || true)
		mp=${mp//\'\\\'\'/\'}
	fi
	mp=${mp//\$\$/\$}
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
	# modpost -d output (only with KBUILD_NSDEPS=1)
	if [ -f "$dir/modules.nsdeps" ]; then
		cp "$dir/modules.nsdeps" "$MODPOST_OUT/$id.modules.nsdeps"
	fi
	if [ "$rc" -ne 0 ]; then
		log "  make exited $rc (modpost failed, as expected for $id); keeping its inputs"
		local keep=$OBJS_OUT/$id
		mkdir -p "$keep"
		(
			cd "$dir"
			cp modules.order "$keep/"
			local o rel sub base
			for o in $(sed 's/ko$/o/' modules.order); do
				# M= builds list absolute paths under $dir; keep each object at the
				# same place under $keep (a/x.o stays a/x.o).
				rel=${o#"$dir"/}
				sub=$(dirname "$rel")
				base=$(basename "$rel" .o)
				mkdir -p "$keep/$sub"
				cp "$rel" "$keep/$sub/"
				if [ -f "$sub/$base.mod" ]; then cp "$sub/$base.mod" "$keep/$sub/"; fi
				# modpost -m reads the "#SYMVER <sym> <crc>" lines of .<obj>.o.cmd;
				# keep just those lines (the rest is a long, host-specific dep list).
				if [ -f "$sub/.$base.o.cmd" ]; then
					grep '^#SYMVER ' "$sub/.$base.o.cmd" >"$keep/$sub/.$base.o.cmd" || true
				fi
			done
			if [ -f Module.symvers ]; then cp Module.symvers "$keep/"; fi
		)
		local a
		for a in "$@"; do
			case $a in
			KBUILD_EXTRA_SYMBOLS=*) cp "${a#KBUILD_EXTRA_SYMBOLS=}" "$keep/extra.Module.symvers" ;;
			esac
		done
	fi
	return 0
}

# ---------------------------------------------------------------- modpost alone
# modpost_direct <id> <build-id> <modpost flags> [modules.order lines...]
# Runs the real modpost itself, as Makefile.modpost would, on the objects of an earlier
# build (for a build that kbuild stops before modpost, or to run modpost in in-tree
# mode, without -e): the lines given (default: the build's modules.order) with
# s/ko$/o/, from $KDIR. Records <id>.txt (its output) and <id>.cmd.
modpost_direct() {
	local id=$1 from=$2 flags=$3
	shift 3
	local dir=$BUILD_ROOT/$from out rc=0
	out=$(mktemp -d)
	local lines
	if [ $# -gt 0 ]; then lines=$(printf '%s\n' "$@"); else lines=$(cat "$dir/modules.order"); fi
	log "modpost alone $id: $flags on $from"
	# shellcheck disable=SC2086 # $flags is a word list
	(cd "$KDIR" && printf '%s\n' "$lines" | sed 's/ko$/o/' |
		scripts/mod/modpost -m -o "$out/Module.symvers" $flags -i Module.symvers -T -) \
		>"$MODPOST_OUT/$id.txt" 2>&1 || rc=$?
	{
		printf '%s\n' "printf '%s\\n' $(printf '%s ' $lines | sed 's/ $//') | sed 's/ko\$/o/' | scripts/mod/modpost -m -o <tmp>/Module.symvers${flags:+ $flags} -i Module.symvers -T -"
		printf '# cwd: %s\n' "$KDIR"
		printf '# objects: the build %s (tests/fixtures/modpost-objs/%s)\n' "$from" "$from"
		printf '# exit status of modpost: %s\n' "$rc"
	} >"$MODPOST_OUT/$id.cmd"
	rm -rf "$out"
}

# ---------------------------------------------------------------- trees
tree_dir() { printf '%s/%s/lib/modules/%s' "$TREES" "$1" "$KVER"; }

new_tree() {
	local t=$1
	rm -rf "${TREES:?}/$t"
	mkdir -p "$(tree_dir "$t")"
	# A real install always has these two; empty here (nothing is built in).
	: >"$(tree_dir "$t")/modules.builtin"
	: >"$(tree_dir "$t")/modules.builtin.modinfo"
}

# place <tree> <build-id> <module> <dir relative to the tree root>
# Copies the .ko stripped of debug info, as `make modules_install INSTALL_MOD_STRIP=1`
# (and Debian's packaging) does.
place() {
	local t=$1 id=$2 m=$3 rel=$4
	local src=$BUILD_ROOT/$id/$m.ko
	[ -f "$src" ] || { echo "missing $src (build $id failed?)" >&2; exit 1; }
	mkdir -p "$TREES/$t/$rel"
	strip --strip-debug -o "$TREES/$t/$rel/$m.ko" "$src"
	chmod 0644 "$TREES/$t/$rel/$m.ko"
}

# order <tree> <line>...   writes lib/modules/<kver>/modules.order
order() {
	local t=$1
	shift
	printf '%s\n' "$@" >"$(tree_dir "$t")/modules.order"
}

conf() { # conf <tree> <file name> <<EOF ...
	mkdir -p "$TREES/$1/etc/depmod.d"
	cat >"$TREES/$1/etc/depmod.d/$2"
}

# <tree>/Module.symvers: the lines of the real 6.1.0-47-amd64 Module.symvers for
# every vmlinux symbol the tree's modules import (symtab undefs + __versions), so
# `depmod -e -E <tree>/Module.symvers` can check CRCs without the 1.7 MB original.
vmlinux_symvers() {
	local t=$1 ko
	local names
	names=$(mktemp)
	while IFS= read -r -d '' ko; do
		nm -u "$ko" | awk '{print $2}'
		modprobe --dump-modversions "$ko" 2>/dev/null | awk '{print $2}'
	done < <(find "$TREES/$t" -name '*.ko' -print0) | sort -u >"$names"
	awk -F '\t' 'NR == FNR { want[$1] = 1; next } $3 == "vmlinux" && ($2 in want)' \
		"$names" "$KDIR/Module.symvers" >"$TREES/$t/Module.symvers"
	rm -f "$names"
}

# ================================================================ main
start=$(date +%s)
install_headers
mkdir -p "$MODPOST_OUT" "$TREES" "$BUILD_ROOT"
rm -rf "$OBJS_OUT"
rm -f "$MODPOST_OUT"/*.txt "$MODPOST_OUT"/*.cmd "$MODPOST_OUT"/*.Module.symvers "$MODPOST_OUT"/*.modules.nsdeps

# ---- builds (order matters only for ns-missing-import, which reads namespaces' symvers)
kbuild dup-export dup-export
kbuild updates-override-kernel updates-override-kernel
kbuild updates-override-updates updates-override-updates
for v in kernel extra updates vendor external; do
	kbuild "depmod-conf-$v" depmod-conf PRIO_VARIANT="$v"
done
kbuild cycle cycle
kbuild cycles cycles
kbuild devices devices
kbuild namespaces namespaces
kbuild ns-missing-import ns-missing-import KBUILD_EXTRA_SYMBOLS="$BUILD_ROOT/namespaces/Module.symvers"
# Same source with KBUILD_NSDEPS=1 (what `make nsdeps` sets): modpost gets -N and
# -d, so the missing import is only a WARNING and nsbad.ko is produced.
kbuild ns-missing-import-nsdeps ns-missing-import KBUILD_EXTRA_SYMBOLS="$BUILD_ROOT/namespaces/Module.symvers" KBUILD_NSDEPS=1
kbuild diag-gpl-only diag-gpl-only
kbuild diag-no-license diag-no-license
kbuild diag-undefined diag-undefined
kbuild diag-undefined-warn diag-undefined KBUILD_MODPOST_WARN=1
kbuild diag-undefined-many diag-undefined-many
kbuild diag-exported-twice diag-exported-twice
kbuild diag-no-description diag-no-description W=1
# Two modules named x (a/x.o, b/x.o) exporting one symbol: kbuild's modules_check stops
# the build before modpost, so modpost runs alone on the objects: as kbuild runs it for
# an M= build (-e: nothing to say), and in in-tree mode (no -e), both list orders.
kbuild same-name same-name
modpost_direct same-name-external same-name -e
modpost_direct same-name-intree same-name ""
modpost_direct same-name-intree-ba same-name "" "$BUILD_ROOT/same-name/b/x.ko" "$BUILD_ROOT/same-name/a/x.ko"

# ---- trees
log "laying out trees in $TREES"

# dup-export-ab / dup-export-ba: identical modules, modules.order differs.
for t in dup-export-ab dup-export-ba; do
	new_tree "$t"
	for m in dupa dupb dupuser; do place "$t" dup-export "$m" "lib/modules/$KVER/kernel/drivers/dup"; done
done
order dup-export-ab kernel/drivers/dup/dupa.ko kernel/drivers/dup/dupb.ko kernel/drivers/dup/dupuser.ko
order dup-export-ba kernel/drivers/dup/dupb.ko kernel/drivers/dup/dupa.ko kernel/drivers/dup/dupuser.ko

# updates-override
t=updates-override
new_tree $t
place $t updates-override-kernel ovr "lib/modules/$KVER/kernel/drivers/ovr"
place $t updates-override-kernel ovruser "lib/modules/$KVER/kernel/drivers/ovr"
place $t updates-override-updates ovr "lib/modules/$KVER/updates"
place $t updates-override-updates ovrxuser "lib/modules/$KVER/updates"
order $t kernel/drivers/ovr/ovr.ko kernel/drivers/ovr/ovruser.ko

# depmod-conf-*: the same prio copies, different depmod.d configurations.
prio_tree() {
	local t=$1
	new_tree "$t"
	local d="lib/modules/$KVER"
	place "$t" depmod-conf-kernel prio "$d/kernel/drivers/prio"
	place "$t" depmod-conf-kernel priouser "$d/kernel/drivers/prio"
	place "$t" depmod-conf-kernel brokenmod "$d/kernel/drivers/prio"
	place "$t" depmod-conf-extra prio "$d/extra"
	place "$t" depmod-conf-updates prio "$d/updates"
	place "$t" depmod-conf-vendor prio "$d/vendor"
	order "$t" kernel/drivers/prio/prio.ko kernel/drivers/prio/priouser.ko kernel/drivers/prio/brokenmod.ko
}

prio_tree depmod-conf-default
conf depmod-conf-default 00-default.conf <<'EOF'
# No `search` line anywhere: depmod's default search list is just "updates",
# so updates/prio.ko wins over kernel/, extra/ and vendor/.
EOF

prio_tree depmod-conf-search
conf depmod-conf-search search.conf <<'EOF'
# The first directory named wins: extra/ beats updates/, and kernel/ and vendor/
# (not named) get the "built-in" priority, the lowest one here.
search extra updates built-in
EOF

prio_tree depmod-conf-override
conf depmod-conf-override 10-search.conf <<'EOF'
search updates built-in
EOF
conf depmod-conf-override 20-override.conf <<'EOF'
# override beats the search order: vendor/prio.ko wins although updates/ is searched first.
override prio * vendor
# The kernel-version pattern is a POSIX extended regex; this one does not match 6.1.0-test.
override prio 5\.10\..* extra
EOF

prio_tree depmod-conf-exclude
conf depmod-conf-exclude exclude.conf <<'EOF'
search updates extra built-in
# `exclude` compares directory and file basenames: the whole updates/ dir and every
# file named brokenmod.ko are skipped, so extra/prio.ko wins.
exclude updates brokenmod.ko
EOF

prio_tree depmod-conf-external
place depmod-conf-external depmod-conf-external prio "opt/external/prio"
conf depmod-conf-external external.conf <<'EOF'
# @TREE@ stands for the absolute path of (a copy of) this tree: the test
# substitutes it before running depmod, because `external` needs an absolute dir.
search external updates built-in
external 6\.1\.0-.* @TREE@/opt/external
EOF

# cycle
t=cycle
new_tree $t
for m in cyca cycb cyc3a cyc3b cyc3c cycuser; do place $t cycle $m "lib/modules/$KVER/kernel/drivers/cycle"; done
order $t kernel/drivers/cycle/cyca.ko kernel/drivers/cycle/cycb.ko kernel/drivers/cycle/cyc3a.ko \
	kernel/drivers/cycle/cyc3b.ko kernel/drivers/cycle/cyc3c.ko kernel/drivers/cycle/cycuser.ko

# cycles-*: several dependency cycles sharing modules (see src/cycles/Kbuild) in several
# module orders (which module starts a reported cycle depends on the order). kmod 30
# reports each of these; in other orders (mod_loop_k..a) or with both shapes in one
# tree it fails an assertion or reports cycles for ever.
cycles_tree() {
	local t=$1
	shift
	new_tree "$t"
	local m lines=()
	for m in "$@"; do
		place "$t" cycles "$m" "lib/modules/$KVER/kernel/drivers/cycles"
		lines+=("kernel/drivers/cycles/$m.ko")
	done
	order "$t" "${lines[@]}"
}
loops=(mod_loop_a mod_loop_b mod_loop_c mod_loop_d mod_loop_e mod_loop_f mod_loop_g mod_loop_h mod_loop_i mod_loop_j mod_loop_k)
cycles_tree cycles-loops "${loops[@]}"
# modules.order lists none of them: kmod's hash order of the names decides.
cycles_tree cycles-loops-unlisted "${loops[@]}"
order cycles-loops-unlisted kernel/drivers/other.ko
cycles_tree cycles-ring mod_ring_1 mod_ring_2 mod_ring_3 mod_ring_4 mod_ring_5 mod_ring_6
# devices
t=devices
new_tree $t
for m in devtbl devnode blkdev devorphan softdep; do place $t devices $m "lib/modules/$KVER/kernel/drivers/devices"; done
order $t kernel/drivers/devices/devtbl.ko kernel/drivers/devices/devnode.ko kernel/drivers/devices/blkdev.ko \
	kernel/drivers/devices/devorphan.ko kernel/drivers/devices/softdep.ko

# namespaces (+ nsbad.ko from the KBUILD_NSDEPS=1 build, installed like an external module)
t=namespaces
new_tree $t
for m in nsprov nsuser nsunneeded; do place $t namespaces $m "lib/modules/$KVER/kernel/drivers/ns"; done
place $t ns-missing-import-nsdeps nsbad "lib/modules/$KVER/extra"
order $t kernel/drivers/ns/nsprov.ko kernel/drivers/ns/nsuser.ko kernel/drivers/ns/nsunneeded.ko

# diag: the diagnostic builds that still produced a .ko
t=diag
new_tree $t
place $t diag-undefined-warn undef "lib/modules/$KVER/kernel/drivers/diag"
place $t diag-no-description nodesc "lib/modules/$KVER/kernel/drivers/diag"
order $t kernel/drivers/diag/undef.ko kernel/drivers/diag/nodesc.ko

for t in dup-export-ab dup-export-ba updates-override depmod-conf-default depmod-conf-search \
	depmod-conf-override depmod-conf-exclude depmod-conf-external cycle devices namespaces diag \
	cycles-loops cycles-loops-unlisted cycles-ring; do
	vmlinux_symvers "$t"
done

log "done in $(($(date +%s) - start)) s"
