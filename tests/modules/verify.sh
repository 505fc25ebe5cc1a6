#!/usr/bin/env bash
# Run kmod's depmod (the oracle) over a temporary COPY of every tree in
# tests/fixtures/trees and print what it said and wrote. The committed trees are
# never modified. `@TREE@` in etc/depmod.d/*.conf is replaced by the copy's path.
#
# Usage: tests/modules/verify.sh [tree...]      (default: every tree)
#        DEPMOD=/path/to/depmod tests/modules/verify.sh
set -uo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TREES=$(cd "$HERE/../fixtures/trees" && pwd)
DEPMOD=${DEPMOD:-/usr/sbin/depmod}
KVER=6.1.0-test
WORK=$(mktemp -d /tmp/modpolicy-verify.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

if [ $# -eq 0 ]; then
	set -- $(cd "$TREES" && for d in */; do [ -d "$d/lib/modules/$KVER" ] && printf '%s\n' "${d%/}"; done)
fi

for t in "$@"; do
	copy=$WORK/$t
	cp -a "$TREES/$t" "$copy"
	args=(-b "$copy")
	if [ -d "$copy/etc/depmod.d" ]; then
		sed -i "s|@TREE@|$copy|g" "$copy"/etc/depmod.d/*.conf
		args+=(-C "$copy/etc/depmod.d")
	fi
	echo "################ $t: depmod ${args[*]#$WORK/} $KVER"
	"$DEPMOD" "${args[@]}" "$KVER" 2>"$WORK/$t.err"
	rc=$?
	sed "s|$WORK|<copy>|g" "$WORK/$t.err"
	echo "exit status: $rc"
	out=$copy/lib/modules/$KVER
	for f in modules.dep modules.alias modules.softdep modules.symbols modules.devname; do
		[ -s "$out/$f" ] || continue
		echo "--- $f"
		sed "s|$WORK|<copy>|g" "$out/$f"
	done
	if [ -f "$copy/Module.symvers" ]; then
		echo "--- depmod -e -E Module.symvers (symbol check)"
		rm -rf "$WORK/$t.e" && cp -a "$TREES/$t" "$WORK/$t.e"
		eargs=(-b "$WORK/$t.e" -e -E "$WORK/$t.e/Module.symvers")
		if [ -d "$WORK/$t.e/etc/depmod.d" ]; then
			sed -i "s|@TREE@|$WORK/$t.e|g" "$WORK/$t.e"/etc/depmod.d/*.conf
			eargs+=(-C "$WORK/$t.e/etc/depmod.d")
		fi
		"$DEPMOD" "${eargs[@]}" "$KVER" 2>&1 | sed "s|$WORK|<copy>|g"
		echo "exit status: ${PIPESTATUS[0]}"
	fi
done
