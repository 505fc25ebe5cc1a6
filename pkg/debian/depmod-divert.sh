# Shell functions for modpolicy's maintainer scripts (installed as
# /usr/share/modpolicy/depmod-divert.sh). They honour DPKG_ROOT, as dpkg-divert does.
#
# kmod ships depmod as /usr/sbin/depmod, or, on Debian bookworm (merged /usr, kmod 30),
# as /sbin/depmod: the diversion must name the path dpkg knows, or a kmod upgrade would
# write its depmod over the link. modpolicy_divert_depmod diverts that path to
# $MODPOLICY_KMOD_DEPMOD (kmod's depmod moves there) and puts the link in its place;
# modpolicy_undivert_depmod undoes both.
#
# The diverted name keeps the basename `depmod`: kmod's depmod is a link to the
# multi-call /bin/kmod, which picks the tool by argv[0]'s basename and does nothing
# (exit 254) when run as `depmod.kmod`.

MODPOLICY_BIN=/usr/bin/modpolicy
MODPOLICY_KMOD_DEPMOD=/usr/lib/modpolicy/kmod/depmod

# The path of kmod's depmod as dpkg knows it (already diverted by us, or owned by kmod),
# /usr/sbin/depmod when nothing owns either.
modpolicy_depmod_path() {
    for p in /usr/sbin/depmod /sbin/depmod; do
        if [ "$(dpkg-divert --listpackage "$p")" = modpolicy ]; then
            echo "$p"
            return 0
        fi
    done
    for p in /usr/sbin/depmod /sbin/depmod; do
        if dpkg-query -S "$p" >/dev/null 2>&1; then
            echo "$p"
            return 0
        fi
    done
    echo /usr/sbin/depmod
}

modpolicy_divert_depmod() {
    p=$(modpolicy_depmod_path)
    mkdir -p "$DPKG_ROOT${MODPOLICY_KMOD_DEPMOD%/*}"
    dpkg-divert --package modpolicy --add --rename --divert "$MODPOLICY_KMOD_DEPMOD" "$p"
    ln -sfn "$MODPOLICY_BIN" "$DPKG_ROOT$p"
}

modpolicy_undivert_depmod() {
    for p in /usr/sbin/depmod /sbin/depmod; do
        if [ "$(dpkg-divert --listpackage "$p")" = modpolicy ]; then
            if [ -L "$DPKG_ROOT$p" ] && [ "$(readlink "$DPKG_ROOT$p")" = "$MODPOLICY_BIN" ]; then
                rm -f "$DPKG_ROOT$p"
            fi
            dpkg-divert --package modpolicy --remove --rename --divert "$MODPOLICY_KMOD_DEPMOD" "$p"
        fi
    done
    # The directories modpolicy_divert_depmod made (the package ships nothing in them).
    rmdir "$DPKG_ROOT${MODPOLICY_KMOD_DEPMOD%/*}" "$DPKG_ROOT/usr/lib/modpolicy" 2>/dev/null || true
}
