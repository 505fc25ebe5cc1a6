#!/usr/bin/env bash
# modpolicy's Debian package, end to end, in a throwaway Debian bookworm root:
#
#   tests/e2e/bookworm.sh MODPOLICY_DEB
#
# 1. The root: `debootstrap --variant=minbase` of bookworm from the Debian archive (with
#    kmod, initramfs-tools and a C toolchain), cached as a tarball in
#    ${MODPOLICY_E2E_CACHE:-${XDG_CACHE_HOME:-~/.cache}/modpolicy/e2e} (a new one when the
#    package list or mirror changes); each run unpacks a fresh copy.
# 2. Installing and purging the package leaves the root as it was (every path, type, mode,
#    owner, size and link target, and the diversions).
# 3. Installed, `depmod` is modpolicy (dpkg diverts kmod's /sbin/depmod, the path kmod's
#    package ships, to /usr/lib/modpolicy/kmod/depmod, which is kmod's and runs), and
#    reinstalling kmod does not undo that.
# 4. The real kernel package linux-image-6.1.0-47-cloud-amd64-unsigned (from the corpus),
#    installed by dpkg with its dependencies present: its postinst runs `depmod VERSION`
#    (ours) and initramfs-tools' hook builds an initramfs (`depmod -b`, ours again). Every
#    file under lib/modules/VERSION equals, byte for byte, what kmod's depmod (the diverted
#    binary) writes with `-b` into an identical copy of the tree.
# 5. DKMS-like: tests/e2e/dkms is built against the corpus's linux-headers package with the
#    kernel's own build system, installed into lib/modules/VERSION/updates/dkms, then
#    `depmod -a VERSION`; kmod's `modprobe --show-depends` resolves the module through our
#    artifacts, which again equal kmod's.
# 6. A system policy in /etc/modpolicy/policy.d picks the in-tree provider of a symbol that
#    an updates/ module exports too (kmod's rule picks the updates/ one): modules.symbols,
#    modules.dep and modprobe follow the declared provider.
# 7. `dpkg --purge modpolicy`: no diversion, `depmod` is kmod's, nothing named modpolicy is
#    left, and kmod's depmod writes what ours wrote.
#
# Needs root (chroot, mounts), unshare(1), debootstrap, and the network the first time. Runs
# in a private mount namespace: the root's /proc goes with it, and the host's own depmod
# (the other suites' oracle) is never touched. Ends with `e2e: N passed, 0 failed`; any
# failure stops it with `FAIL: ...` and exit 1.
set -euo pipefail

deb=${1:?usage: tests/e2e/bookworm.sh MODPOLICY_DEB}
deb=$(realpath "$deb")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ "${MODPOLICY_E2E_IN_NAMESPACE:-}" != 1 ]; then
	exec env MODPOLICY_E2E_IN_NAMESPACE=1 unshare --mount --propagation private bash "$0" "$deb"
fi

V=6.1.0-47-cloud-amd64
corpus=${MODPOLICY_SHARED:-$repo/../shared}/corpus
mirror=${MODPOLICY_E2E_MIRROR:-http://deb.debian.org/debian}
include=kmod,linux-base,initramfs-tools,gcc-12,make,libc6-dev,libelf1,libssl3
cache=${MODPOLICY_E2E_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/modpolicy/e2e}
key=$(printf '%s\n' bookworm minbase "$include" "$mirror" 1 | sha256sum | cut -c1-12)
tarball=$cache/bookworm-$key.tar

passed=0
pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
phase() { echo "== $* ($SECONDS s)"; }

work=$(mktemp -d /tmp/modpolicy-e2e.XXXXXX)
root=$work/root
cleanup() {
	cd /
	umount -R "$root/proc" 2>/dev/null || true
	# Never delete through a mount point.
	if grep -q " $work/" /proc/self/mounts; then
		echo "e2e: left $work in place: still mounted under it" >&2
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT

# In the root, with a clean environment (dpkg's PATH), from /.
in_root() {
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
		DEBIAN_FRONTEND=noninteractive HOME=/root chroot "$root" "$@"
}

# ---------------------------------------------------------------- the root, cached
phase "bookworm root"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -s "$tarball" ]; then
	boot=$cache/root.$$
	rm -rf --one-file-system "$boot"
	echo "debootstrap bookworm from $mirror into $boot (cached as $tarball)"
	t0=$SECONDS
	debootstrap --variant=minbase --include="$include" bookworm "$boot" "$mirror" \
		>"$cache/debootstrap.log" 2>&1 || {
		tail -20 "$cache/debootstrap.log" >&2
		fail "debootstrap failed (log: $cache/debootstrap.log)"
	}
	# kmod's own package, kept to reinstall it later; the rest of apt's cache goes.
	mkdir -p "$boot/root/e2e-debs"
	cp "$boot"/var/cache/apt/archives/kmod_*.deb "$boot/root/e2e-debs/"
	chroot "$boot" apt-get clean
	umount -R "$boot/proc" "$boot/sys" 2>/dev/null || true
	tar -C "$boot" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf --one-file-system "$boot"
	echo "debootstrap and caching took $((SECONDS - t0)) s"
fi
flock -u 9
mkdir "$root"
tar -C "$root" -xf "$tarball"
mount -t proc proc "$root/proc"
mkdir -p "$root/tmp/e2e"
cp "$deb" "$root/tmp/e2e/modpolicy.deb"
echo "root ready ($SECONDS s)"

# Everything on the root's own filesystem that is not dpkg's bookkeeping, logs or scratch:
# path, type, mode, owner, size of files, link target.
snapshot() {
	in_root find / -xdev \( -path /proc -o -path /tmp -o -path /run -o -path /var/lib/dpkg \
		-o -path /var/log -o -path /var/cache/debconf -o -path /var/cache/ldconfig \) -prune \
		-o -type d -printf '%p d %m %u:%g\n' -o -printf '%p %y %m %u:%g %s %l\n' | sort
}
diversions() { in_root dpkg-divert --list | sort; }
# (Output is captured before matching: with pipefail, `grep -q` closing a pipe early would
# fail the writer with SIGPIPE.)
# modpolicy is told from kmod by behaviour: through the link it speaks kmod's command line
# (even `-h` prints kmod's usage), but it also takes its own long options, which kmod
# refuses (`unrecognized option '--no-cache'`, exit 1).
is_modpolicy() { in_root "$1" --no-cache -V >/dev/null 2>&1; }
depmod_is_ours() { is_modpolicy depmod; }

kmod_v=$(in_root depmod -V | sed -n 1p)
[ "$kmod_v" = "kmod version 30" ] || fail "the root's depmod says '$kmod_v', not kmod 30"
[ "$(in_root dpkg-query -S /sbin/depmod)" = "kmod: /sbin/depmod" ] ||
	fail "kmod does not own /sbin/depmod: $(in_root dpkg-query -S /sbin/depmod 2>&1)"
depmod_is_ours && fail "depmod is modpolicy before the package is installed"
div0=$(diversions)

# ---------------------------------------------------------------- install + purge = nothing
phase "install and purge leave the root as it was"
snap0=$work/snapshot.before
snapshot >"$snap0"
in_root dpkg -i /tmp/e2e/modpolicy.deb >"$work/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$work/dpkg.log")"
depmod_is_ours || fail "depmod is not modpolicy after dpkg -i"
in_root dpkg --purge modpolicy >"$work/dpkg.log" 2>&1 || fail "dpkg --purge: $(cat "$work/dpkg.log")"
snapshot >"$work/snapshot.after"
diff -u "$snap0" "$work/snapshot.after" >&2 || fail "install + purge changed the root (above)"
[ "$(diversions)" = "$div0" ] || fail "install + purge left a diversion: $(diversions)"
pass "dpkg -i then dpkg --purge leaves every path and diversion as it was ($(wc -l <"$snap0") paths)"

# ---------------------------------------------------------------- installed: depmod is ours
phase "install the package"
in_root dpkg -i /tmp/e2e/modpolicy.deb >"$work/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$work/dpkg.log")"
want="diversion of /sbin/depmod to /usr/lib/modpolicy/kmod/depmod by modpolicy"
grep -qxF "$want" <<<"$(diversions)" || fail "no '$want': $(diversions)"
[ "$(readlink "$root/sbin/depmod")" = /usr/bin/modpolicy ] ||
	fail "/sbin/depmod is $(ls -l "$root/sbin/depmod")"
depmod_is_ours || fail "depmod refuses modpolicy's --no-cache: $(in_root depmod --no-cache -V 2>&1)"
[ "$(in_root depmod -V | sed -n 1p)" = "$kmod_v" ] || fail "depmod -V is not kmod's: $(in_root depmod -V)"
[ "$(in_root /usr/lib/modpolicy/kmod/depmod -V | sed -n 1p)" = "$kmod_v" ] ||
	fail "the diverted depmod is not kmod's"
is_modpolicy /usr/lib/modpolicy/kmod/depmod && fail "the diverted depmod is modpolicy"
pass "dpkg diverts /sbin/depmod to /usr/lib/modpolicy/kmod/depmod (kmod 30, runs), depmod is a link to modpolicy"
for f in /usr/bin/modpolicy /usr/share/modpolicy/policies/kmod.kdl /usr/share/modpolicy/policies/modpost.kdl \
	/usr/share/man/man1/modpolicy.1.gz /usr/share/man/man1/modpolicy-depmod.1.gz \
	/usr/share/man/man5/modpolicy-policy.5.gz /usr/share/bash-completion/completions/modpolicy \
	/usr/share/zsh/vendor-completions/_modpolicy /usr/share/fish/vendor_completions.d/modpolicy.fish; do
	in_root dpkg-query -S "$f" >/dev/null 2>&1 || fail "the package does not ship $f"
	[ -s "$root$f" ] || fail "$f is missing or empty"
done
in_root modpolicy policy show >"$work/show" 2>&1 || fail "policy show: $(cat "$work/show")"
pass "binary, policies, man pages and completions installed; policy show: $(head -1 "$work/show")"

# kmod upgraded (reinstalled) while diverted: its depmod goes to the diverted name.
in_root sh -c 'dpkg -i /root/e2e-debs/kmod_*.deb' >"$work/dpkg.log" 2>&1 ||
	fail "reinstalling kmod: $(cat "$work/dpkg.log")"
[ "$(readlink "$root/sbin/depmod")" = /usr/bin/modpolicy ] || fail "reinstalling kmod replaced the link"
[ "$(in_root /usr/lib/modpolicy/kmod/depmod -V | sed -n 1p)" = "$kmod_v" ] ||
	fail "after reinstalling kmod, the diverted depmod is not kmod's"
pass "reinstalling kmod keeps depmod ours and kmod's at the diverted name"

# ---------------------------------------------------------------- the real kernel package
phase "install $V"
cp "$corpus"/linux-image-"$V"-unsigned_*_amd64.deb "$root/tmp/e2e/"
t0=$SECONDS
in_root sh -c "dpkg -i /tmp/e2e/linux-image-$V-unsigned_*_amd64.deb" >"$work/kernel.log" 2>&1 ||
	fail "dpkg -i linux-image: $(cat "$work/kernel.log")"
echo "dpkg -i linux-image-$V-unsigned: $((SECONDS - t0)) s"
M=lib/modules/$V
[ -s "$root/$M/modules.dep.bin" ] || fail "no $M/modules.dep.bin after the kernel's postinst"
ls "$root"/var/cache/modpolicy/depmod-"$V"-*.cache >/dev/null 2>&1 ||
	fail "no modpolicy cache: the kernel's postinst did not run our depmod"
[ -s "$root/boot/initrd.img-$V" ] || fail "no initramfs: $(cat "$work/kernel.log")"
pass "dpkg -i linux-image-$V-unsigned: the postinst ran modpolicy's depmod, initramfs built"

# Every file under lib/modules/VERSION against kmod's depmod -b on an identical copy (the
# artifacts removed from the copy first, so kmod writes each one).
same_as_kmod() { # what
	rm -rf "$root/tmp/kmod"
	mkdir -p "$root/tmp/kmod/lib/modules"
	cp -a "$root/$M" "$root/tmp/kmod/lib/modules/"
	find "$root/tmp/kmod/$M" -maxdepth 1 -name 'modules.*' ! -name modules.order \
		! -name modules.builtin ! -name modules.builtin.modinfo -delete
	in_root /usr/lib/modpolicy/kmod/depmod -b /tmp/kmod "$V" >"$work/kmod.out" 2>&1 ||
		fail "kmod's depmod failed: $(cat "$work/kmod.out")"
	[ ! -s "$work/kmod.out" ] || echo "kmod's depmod said: $(head -5 "$work/kmod.out")"
	diff -r --no-dereference "$root/$M" "$root/tmp/kmod/$M" >&2 ||
		fail "$1: lib/modules/$V differs from kmod's (above)"
	n=$(find "$root/$M" -maxdepth 1 -name 'modules.*' | wc -l)
	pass "$1: all $(find "$root/$M" -type f | wc -l) files under $M byte-identical to kmod's depmod -b ($n modules.* files)"
	rm -rf "$root/tmp/kmod"
}
same_as_kmod "kernel postinst"

in_root lsinitramfs "/boot/initrd.img-$V" >"$work/initrd.list" 2>/dev/null || fail "lsinitramfs failed"
echo "initramfs: $(wc -l <"$work/initrd.list") entries, $(grep -c '\.ko$' "$work/initrd.list") modules"
if grep modpolicy "$work/initrd.list" >&2; then
	fail "the initramfs holds modpolicy files (above): depmod -b wrote them into its tree"
fi
pass "the initramfs built through our depmod -b holds nothing of modpolicy's"

# ---------------------------------------------------------------- DKMS-like
phase "DKMS-like build into updates/"
for p in linux-compiler-gcc-12-x86 linux-kbuild-6.1 linux-headers-6.1.0-47-common "linux-headers-$V"; do
	cp "$corpus/${p}"_*.deb "$root/tmp/e2e/"
done
t0=$SECONDS
in_root sh -c "dpkg -i /tmp/e2e/linux-compiler-gcc-12-x86_*.deb /tmp/e2e/linux-kbuild-6.1_*.deb \
	/tmp/e2e/linux-headers-6.1.0-47-common_*.deb /tmp/e2e/linux-headers-${V}_*.deb" \
	>"$work/headers.log" 2>&1 || fail "installing the headers: $(cat "$work/headers.log")"
mkdir -p "$root/usr/src/e2e-1.0"
cp "$here"/dkms/Kbuild "$here"/dkms/*.c "$root/usr/src/e2e-1.0/"
in_root make -C "/lib/modules/$V/build" M=/usr/src/e2e-1.0 modules >"$work/build.log" 2>&1 ||
	fail "building tests/e2e/dkms: $(cat "$work/build.log")"
echo "headers installed and modules built: $((SECONDS - t0)) s"
mkdir -p "$root/$M/updates/dkms"
install -m 644 "$root/usr/src/e2e-1.0/e2euser.ko" "$root/$M/updates/dkms/"
in_root depmod -a "$V" || fail "depmod -a $V"
in_root modprobe -S "$V" --show-depends e2euser >"$work/deps" 2>&1 || fail "modprobe: $(cat "$work/deps")"
printf 'insmod /lib/modules/%s/kernel/lib/crc-itu-t.ko \ninsmod /lib/modules/%s/updates/dkms/e2euser.ko \n' \
	"$V" "$V" >"$work/deps.want"
diff -u "$work/deps.want" "$work/deps" >&2 || fail "modprobe --show-depends e2euser (above)"
pass "out-of-tree e2euser.ko in updates/dkms, depmod -a: modprobe --show-depends resolves it through crc-itu-t.ko"
same_as_kmod "after the DKMS install"

# ---------------------------------------------------------------- a system policy decides
phase "system policy: the provider of crc_itu_t"
install -m 644 "$root/usr/src/e2e-1.0/e2ecrc.ko" "$root/$M/updates/dkms/"
in_root depmod -a "$V" || fail "depmod -a $V"
provider() { sed -n 's/^alias symbol:crc_itu_t \(.*\)/\1/p' "$root/$M/modules.symbols"; }
[ "$(provider)" = e2ecrc ] || fail "without a policy the provider of crc_itu_t is '$(provider)', not e2ecrc"
same_as_kmod "a duplicate export in updates/, kmod's rules"
mkdir -p "$root/etc/modpolicy/policy.d"
cat >"$root/etc/modpolicy/policy.d/50-e2e.kdl" <<'EOF'
version 1
provider "crc_itu_t" {
    prefer "kernel/**"
    reason "the in-tree CRC stays the provider"
}
EOF
in_root modpolicy policy show >"$work/show" 2>&1 || fail "policy show: $(cat "$work/show")"
grep -q /etc/modpolicy/policy.d/50-e2e.kdl "$work/show" || fail "policy show does not list the file: $(cat "$work/show")"
in_root depmod -a "$V" || fail "depmod -a $V with the policy"
[ "$(provider)" = crc_itu_t ] || fail "with the policy the provider of crc_itu_t is '$(provider)', not crc_itu_t"
grep -qxF "updates/dkms/e2euser.ko: kernel/lib/crc-itu-t.ko" "$root/$M/modules.dep" ||
	fail "modules.dep: $(grep e2euser "$root/$M/modules.dep")"
in_root modprobe -S "$V" --show-depends e2euser >"$work/deps" 2>&1 || fail "modprobe: $(cat "$work/deps")"
diff -u "$work/deps.want" "$work/deps" >&2 || fail "modprobe --show-depends e2euser with the policy (above)"
pass "/etc/modpolicy/policy.d/50-e2e.kdl: crc_itu_t from kernel/lib/crc-itu-t.ko, not updates/dkms/e2ecrc.ko (kmod's pick)"
rm -r "$root/etc/modpolicy"
in_root depmod -a "$V" || fail "depmod -a $V"
[ "$(provider)" = e2ecrc ] || fail "the policy removed, the provider is '$(provider)', not e2ecrc"
rm -rf "$work/ours"
cp -a "$root/$M" "$work/ours"

# ---------------------------------------------------------------- purge: kmod is back
phase "purge"
in_root dpkg --purge modpolicy >"$work/dpkg.log" 2>&1 || fail "dpkg --purge: $(cat "$work/dpkg.log")"
[ "$(diversions)" = "$div0" ] || fail "diversions after purge: $(diversions)"
[ "$(readlink "$root/sbin/depmod")" = /bin/kmod ] || fail "/sbin/depmod is $(ls -l "$root/sbin/depmod")"
depmod_is_ours && fail "depmod is still modpolicy"
[ "$(in_root depmod -V | sed -n 1p)" = "$kmod_v" ] || fail "depmod -V after purge"
left=$(in_root find / -xdev \( -path /proc -o -path /tmp \) -prune -o -name '*modpolicy*' -print)
[ -z "$left" ] || fail "left after purge: $left"
pass "dpkg --purge: no diversion, /sbin/depmod -> /bin/kmod again, nothing named modpolicy left"
in_root depmod -a "$V" || fail "kmod's depmod -a $V"
diff -r --no-dereference "$work/ours" "$root/$M" >&2 || fail "kmod's depmod -a after purge differs from ours (above)"
pass "kmod's depmod -a after purge rewrites exactly what ours wrote"

echo "e2e: $passed passed, 0 failed ($SECONDS s)"
