#!/usr/bin/env bash
# Runs every test: the example plugins' own tests (plugins/build.sh), unit tests beside the code, the conformance suite against kmod's
# depmod on the real Debian trees and the fixture trees, and the bad-input suite.
# Needs kmod's depmod (apt-get install kmod) and ../shared/corpus (unpacked on demand by
# tests/corpus/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/corpus/setup.sh
# The example plugins, from source (C: clang + wasm-ld; Rust: Debian rustc 1.63), into
# target/plugins/ where tests/plugins finds them.
bash plugins/build.sh
exec cargo test --workspace --release --locked "$@"
