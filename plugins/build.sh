#!/usr/bin/env bash
# Builds every example plugin from source into target/plugins/NAME.wasm, and runs their
# native unit tests (the checks built for the host, no wasm involved).
#
#   plugins/build.sh                  build and test
#   plugins/build.sh --no-test        build only
#   plugins/build.sh --update-hashes  also write each artifact's sha256 into the
#                                     `sha256` line of plugins/examples/NAME/policy.kdl
#
# Toolchains (Debian packages, see plugins/README.md): clang + lld (wasm-ld) for C;
# rustc + cargo + libstd-rust-dev-wasm32 (rustc 1.63) for Rust. Builds are reproducible:
# source paths are remapped, so the hashes do not depend on where the checkout is.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/target/plugins"
test=1
update=0
for a in "$@"; do
	case "$a" in
	--no-test) test=0 ;;
	--update-hashes) update=1 ;;
	*) echo "usage: $0 [--no-test] [--update-hashes]" >&2; exit 2 ;;
	esac
done

# The toolchains, named with their Debian packages when missing (tests/deps.sh installs
# them for the test suite).
miss=()
command -v clang >/dev/null 2>&1 || miss+=(clang)
command -v wasm-ld >/dev/null 2>&1 || miss+=(lld)
[ -x /usr/bin/rustc ] || miss+=(rustc)
[ -x /usr/bin/cargo ] || miss+=(cargo)
[ -d /usr/lib/rustlib/wasm32-unknown-unknown ] || miss+=(libstd-rust-dev-wasm32)
if [ ${#miss[@]} -gt 0 ]; then
	echo "plugins/build.sh: missing toolchain packages: ${miss[*]}" >&2
	echo "Install them with: sudo apt-get install -y --no-install-recommends ${miss[*]}" >&2
	exit 1
fi
mkdir -p "$out"

cflags=(--target=wasm32 -O2 -ffreestanding -nostdlib -Wall -Wextra -Werror
	-ffile-prefix-map="$root"=. -Wl,--no-entry -Wl,--strip-all -Wl,--export-dynamic
	-I "$root/plugins/sdk-c")

# C plugins: plugins/examples/NAME/NAME_WITH_UNDERSCORES.c
for dir in "$root"/plugins/examples/*/; do
	name="$(basename "$dir")"
	src="$dir/${name//-/_}.c"
	[ -f "$src" ] || continue
	clang "${cflags[@]}" -o "$out/$name.wasm" "$src"
	if [ $test = 1 ] && [ -f "$dir/test.c" ]; then
		clang -Wall -Wextra -I "$root/plugins/sdk-c" -o "$root/target/plugins/$name-test" "$dir/test.c"
		"$root/target/plugins/$name-test"
	fi
done

# Rust plugins: the workspace in plugins/, Debian's cargo and rustc 1.63.
(
	cd "$root/plugins"
	export PATH=/usr/bin:/bin CARGO_TARGET_DIR="$root/target/plugins-build"
	export RUSTFLAGS="--remap-path-prefix=$root=."
	cargo build --locked --offline --release --target wasm32-unknown-unknown -q
	if [ $test = 1 ]; then
		cargo test --locked --offline --release -q
	fi
)
for dir in "$root"/plugins/examples/*/; do
	name="$(basename "$dir")"
	[ -f "$dir/Cargo.toml" ] || continue
	cp "$root/target/plugins-build/wasm32-unknown-unknown/release/${name//-/_}.wasm" "$out/$name.wasm"
done

for dir in "$root"/plugins/examples/*/; do
	name="$(basename "$dir")"
	sum="$(sha256sum "$out/$name.wasm" | cut -d' ' -f1)"
	policy="$dir/policy.kdl"
	if [ $update = 1 ] && [ -f "$policy" ]; then
		sed -i -E "s/^(\s*sha256 \")[0-9a-f]{64}(\")/\1$sum\2/" "$policy"
	fi
	if [ -f "$policy" ] && ! grep -q "$sum" "$policy"; then
		echo "warning: $policy does not name the sha256 of target/plugins/$name.wasm ($sum); run plugins/build.sh --update-hashes" >&2
	fi
	echo "target/plugins/$name.wasm  $sum"
done
