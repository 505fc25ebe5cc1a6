#!/usr/bin/env bash
# Totals the output of a test run (cargo test's `test result:` lines, the `SKIPPED:` lines
# of tests/support's `skip`, libtest's `... ignored` lines) into one closing line:
#
#   tests: N passed, M failed, K skipped
#
#   tests/tally.sh LOG
#
# A test that skipped (all or part of itself, `SKIPPED: <test>: <why>`) counts as skipped,
# not passed; an `#[ignore]`d test counts as skipped. With CI=true, every skipped or ignored
# test must be listed with a reason in tests/ci-skips.txt (`<test>: <why>`): the names of
# those that are not are printed and the exit status is 1.
set -euo pipefail
log=${1:?usage: tests/tally.sh LOG}
allow="$(cd "$(dirname "$0")" && pwd)/ci-skips.txt"

read -r passed failed ignored < <(awk '/^test result: /{
	for (i = 1; i <= NF; i++) {
		w = $(i + 1); sub(/[;,.]$/, "", w)
		if (w == "passed") p += $i
		if (w == "failed") f += $i
		if (w == "ignored") g += $i
	}} END { print p + 0, f + 0, g + 0 }' "$log")

# Names: SKIPPED lines may share a line with the harness's output (they are written by the
# test threads, the harness writes from its own), so they are matched anywhere in a line.
mapfile -t skipped < <(grep -ao 'SKIPPED: [^: ]*:' "$log" | sed 's/^SKIPPED: //; s/:$//' | sort -u)
mapfile -t ignored_names < <(sed -n 's/^test \([^ ]*\) \.\.\. ignored.*/\1/p' "$log" | sed 's/.*:://' | sort -u)

passed=$((passed - ${#skipped[@]}))
[ "$passed" -ge 0 ] || passed=0
total_skipped=$((${#skipped[@]} + ignored))

status=0
if [ "${CI:-}" = true ]; then
	for name in "${skipped[@]}" "${ignored_names[@]}"; do
		[ -n "$name" ] || continue
		if ! grep -Eq "^${name}:[[:space:]]*[^[:space:]]" "$allow" 2>/dev/null; then
			echo "tally: $name was skipped, and tests/ci-skips.txt gives no reason for CI to skip it" >&2
			status=1
		fi
	done
	if [ "$ignored" -gt "${#ignored_names[@]}" ]; then
		echo "tally: $((ignored - ${#ignored_names[@]})) ignored test(s) not named in the log (quiet output): run them, or name them" >&2
		status=1
	fi
fi
echo "tests: ${passed} passed, ${failed} failed, ${total_skipped} skipped"
exit $status
