#!/bin/sh
# Builds @NAME@.wasm with Debian's rustc 1.63 (apt-get install rustc cargo
# libstd-rust-dev-wasm32) and writes its sha256 into policy.kdl.
set -eu
cd "$(dirname "$0")"
PATH=/usr/bin:/bin RUSTFLAGS="--remap-path-prefix=$PWD=." \
	cargo build --offline --release --target wasm32-unknown-unknown -q
cp target/wasm32-unknown-unknown/release/@FILE@.wasm @NAME@.wasm
sum=$(sha256sum @NAME@.wasm | cut -d' ' -f1)
sed -i -E "s/^(\s*sha256 \")[0-9a-f]{64}(\")/\1$sum\2/" policy.kdl
echo "@NAME@.wasm $sum"
