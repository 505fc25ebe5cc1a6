#!/bin/sh
# Runs the maintainer scripts (configure, then remove, then purge) against copies of this
# system's dpkg database and /usr (an overlay), in a private mount namespace: nothing outside it
# sees the diversion, and the real /usr/sbin/depmod is never touched. Needs root and
# unshare(1). Checks: after configure, dpkg diverts kmod's depmod (the path dpkg knows)
# to /usr/lib/modpolicy/kmod/depmod, kmod's binary is there, and depmod is a link to
# /usr/bin/modpolicy; after remove, kmod's depmod is back and no diversion is left; purge
# is clean too. tests/e2e/bookworm.sh runs the real package in a Debian root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${MODPOLICY_IN_NAMESPACE:-}" != 1 ]; then
    exec env MODPOLICY_IN_NAMESPACE=1 unshare --mount --propagation private sh "$0" "$@"
fi
work=$(mktemp -d /tmp/modpolicy-maint.XXXXXX)
trap 'cd /; umount -l /usr; umount -l /var/lib/dpkg; rm -rf "$work"' EXIT
cp -a /var/lib/dpkg "$work/dpkg"
mount --bind "$work/dpkg" /var/lib/dpkg
# /usr as a copy-on-write overlay: the scripts' changes land in $work/upper.
mkdir -p "$work/upper" "$work/ovl"
mount -t overlay overlay -o "lowerdir=/usr,upperdir=$work/upper,workdir=$work/ovl" /usr
# Refuse to go on unless both are the copies.
[ "$(stat -c %i /var/lib/dpkg)" = "$(stat -c %i "$work/dpkg")" ] || { echo "not isolated" >&2; exit 1; }
[ "$(stat -f -c %T /usr)" = overlayfs ] || { echo "not isolated: /usr is $(stat -f -c %T /usr)" >&2; exit 1; }
# The helper as installed.
mkdir -p "$work/share"
cp "$here/debian/depmod-divert.sh" "$work/share/"
run() { # script args...: the script with the helper path pointed at the copy
    s=$1; shift
    sed "s#/usr/share/modpolicy/depmod-divert.sh#$work/share/depmod-divert.sh#" "$here/debian/$s" > "$work/$s"
    sh "$work/$s" "$@"
}
before_div=$(dpkg-divert --list | sort)
kmod_v=$(/usr/sbin/depmod -V | head -1)
fail() { echo "FAIL: $*" >&2; exit 1; }

run postinst configure
p=$(dpkg-divert --list | grep 'by modpolicy' | sed -n 's/^diversion of \([^ ]*\) to .*/\1/p')
[ -n "$p" ] || fail "no diversion after configure"
echo "diverted: $(dpkg-divert --list | grep 'by modpolicy')"
[ "$(readlink "$p")" = /usr/bin/modpolicy ] || fail "$p is not a link to /usr/bin/modpolicy"
[ "$(/usr/lib/modpolicy/kmod/depmod -V | head -1)" = "$kmod_v" ] || fail "the diverted depmod is not kmod's"
# configure again (an upgrade) changes nothing.
run postinst configure
[ "$(dpkg-divert --list | grep -c 'by modpolicy')" = 1 ] || fail "second configure"

run prerm remove
[ "$(dpkg-divert --list | sort)" = "$before_div" ] || fail "diversions differ after remove"
[ "$(/usr/sbin/depmod -V | head -1)" = "$kmod_v" ] || fail "kmod's depmod is not back"
[ ! -e /usr/lib/modpolicy/kmod/depmod ] || fail "the diverted depmod is left behind"
run postrm remove
run postrm purge
[ "$(dpkg-divert --list | sort)" = "$before_div" ] || fail "diversions differ after purge"

# A purge after a removal that failed half-way (diversion still there) cleans up too.
run postinst configure
run postrm purge
[ "$(dpkg-divert --list | sort)" = "$before_div" ] || fail "purge left the diversion"
[ "$(/usr/sbin/depmod -V | head -1)" = "$kmod_v" ] || fail "kmod's depmod is not back after purge"
echo "maintainer scripts: 3 passed, 0 failed"
