#!/usr/bin/env bash
# The system tools the tests need, in one list for `tests/run.sh` and `.ci/run`.
#
#   tests/deps.sh [--fuzz]           install what is missing (as root, with apt-get); where
#                                    that is impossible, name what is missing and the command
#                                    that installs it, and exit 1
#   tests/deps.sh --check [--fuzz]   only name what is missing (exit 1 if anything is)
#
# --fuzz adds what `fuzz/run.sh` needs from the system (a C++ compiler for libFuzzer; zstd
# for compressed seeds). The Rust side of fuzzing (a nightly toolchain or RUSTC_BOOTSTRAP,
# cargo-fuzz) is handled by `.ci/run` and `fuzz/run.sh`; so is cargo-deb, which the Debian
# package's end-to-end test (tests/e2e/bookworm.sh) builds the package with.
#
# Package names are Debian bookworm's (the distribution the oracles come from: kmod 30).
set -euo pipefail

check=0
fuzz=0
for a in "$@"; do
	case "$a" in
	--check) check=1 ;;
	--fuzz) fuzz=1 ;;
	*) echo "usage: $0 [--check] [--fuzz]" >&2; exit 2 ;;
	esac
done

# package | what must exist (a command on PATH, or an absolute path) | what it is for
required=(
	"kmod|/usr/sbin/depmod|kmod 30's depmod, the oracle of the conformance tests"
	"xz-utils|xz|unpacking the corpus, compressed test modules"
	"util-linux|flock|serialising the corpus unpacking"
	"dpkg|dpkg-deb|unpacking the corpus's .deb files"
	"e2fsprogs|chattr|the read-only output directory test (chattr +i)"
	"mount|mount|the read-only bind mount and full-disk (tmpfs) tests"
	"binutils|objcopy|rewriting __versions into extended modversions (conformance ext_modversions)"
	"clang|clang|building the C example plugins (plugins/build.sh)"
	"lld|wasm-ld|linking the C example plugins to wasm32"
	"rustc|/usr/bin/rustc|Debian's rustc 1.63, building the Rust example plugins"
	"cargo|/usr/bin/cargo|Debian's cargo, building the Rust example plugins"
	"libstd-rust-dev-wasm32|/usr/lib/rustlib/wasm32-unknown-unknown|the wasm32 std for Debian's rustc"
	"debootstrap|/usr/sbin/debootstrap|the Debian bookworm root of the package's end-to-end test (tests/e2e)"
	"chromium|/usr/bin/chromium|the HTML report's browser tests (tests/html, headless)"
)
if [ $fuzz = 1 ]; then
	required+=(
		"g++|c++|compiling libFuzzer (libfuzzer-sys)"
		"zstd|zstd|zstd-compressed fuzz seeds"
	)
fi

missing() { # prints "package|path|why" for each missing entry
	local row pkg what
	for row in "${required[@]}"; do
		IFS='|' read -r pkg what _ <<<"$row"
		case "$what" in
		/*) [ -e "$what" ] && continue ;;
		*) command -v "$what" >/dev/null 2>&1 && continue ;;
		esac
		echo "$row"
	done
}

mapfile -t miss < <(missing)
[ ${#miss[@]} -eq 0 ] && exit 0

pkgs=()
for row in "${miss[@]}"; do
	IFS='|' read -r pkg _ _ <<<"$row"
	pkgs+=("$pkg")
done

if [ $check = 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "tests/deps.sh: installing ${pkgs[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
	mapfile -t miss < <(missing)
	[ ${#miss[@]} -eq 0 ] && exit 0
	echo "tests/deps.sh: still missing after apt-get install:" >&2
else
	echo "tests/deps.sh: missing:" >&2
fi
for row in "${miss[@]}"; do
	IFS='|' read -r pkg what why <<<"$row"
	echo "  $what (Debian package $pkg): $why" >&2
done
echo "Install them with: sudo apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
exit 1
