#!/usr/bin/env bash
# Runs every test: the example plugins' own tests (plugins/build.sh), unit tests beside the
# code, the conformance suite against kmod's depmod on the real Debian trees and the fixture
# trees, and the other integration suites (tests/README.md). Arguments go to `cargo test`
# (e.g. `tests/run.sh --test bad_input`).
#
# First, tests/deps.sh installs the system tools the tests need when it can (as root, with
# apt-get), or stops at once naming what is missing and the command that installs it. The
# Debian kernel corpus (${MODPOLICY_SHARED:-../shared}/corpus, see tests/README.md) is
# unpacked on demand by tests/corpus/setup.sh.
#
# Every suite runs even when one fails (--no-fail-fast); the last line totals them
# (tests/tally.sh): `tests: N passed, M failed, K skipped`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# (Chained with &&: inside a `||` list, `set -e` does not stop the group at a failure.)
{
	# With MODPOLICY_NO_CORPUS=1 the tests that need the corpus skip themselves.
	{ [ "${MODPOLICY_NO_CORPUS:-}" = 1 ] || bash tests/corpus/setup.sh; } &&
		# The example plugins, from source (C: clang + wasm-ld; Rust: Debian rustc 1.63),
		# into target/plugins/ where tests/plugins finds them.
		bash plugins/build.sh &&
		cargo test --workspace --release --locked --no-fail-fast "$@"
} 2>&1 | tee "$log" || status=$?
bash tests/tally.sh "$log" || status=1
exit "$status"
