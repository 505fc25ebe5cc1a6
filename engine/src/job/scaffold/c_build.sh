#!/bin/sh
# Builds @NAME@.wasm (Debian: apt-get install clang lld) and writes its sha256 into
# policy.kdl.
set -eu
cd "$(dirname "$0")"
clang --target=wasm32 -O2 -ffreestanding -nostdlib -Wall -Wextra -Werror \
	-ffile-prefix-map="$PWD"=. -Wl,--no-entry -Wl,--strip-all -Wl,--export-dynamic \
	-I . -o @NAME@.wasm @FILE@.c
sum=$(sha256sum @NAME@.wasm | cut -d' ' -f1)
sed -i -E "s/^(\s*sha256 \")[0-9a-f]{64}(\")/\1$sum\2/" policy.kdl
echo "@NAME@.wasm $sum"
