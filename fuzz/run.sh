#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), after seeding its corpus from the
# repository's real inputs. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and
# nightly rustc features: the nightly toolchain (`cargo +nightly`) when rustup has one,
# else the default toolchain with RUSTC_BOOTSTRAP=1 (FUZZ_TOOLCHAIN=default forces that).
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# FUZZ_PARALLEL=N runs N targets at a time (default 1; one libFuzzer process each).
# FUZZ_RUNS=N stops each target after N executions (or SECONDS, whichever comes first):
# `FUZZ_RUNS=10000000 FUZZ_PARALLEL=2 fuzz/run.sh 36000` is the long run.
# FUZZ_FORK=N runs each target in libFuzzer's fork mode with N worker processes sharing its
# corpus (executions are counted over all workers); use it when one target is left to run
# and cores are free.
# FUZZ_TRACE_COMPARES=0 builds without comparison tracing: more executions per second on
# targets dominated by it (regex compilation in `depmod_d`), a less guided search.
# FUZZ_TIMEOUT=S reports an input that runs longer than S seconds (default 10; raise it
# when the machine is shared, or a paused run reports its pause as a timeout).
# FUZZ_SANITIZER=address|none|... picks cargo-fuzz's sanitizer (default none: no target
# reaches `unsafe` code of ours, and the C decoders are not instrumented either way, so ASan
# would only slow the search down; panics, overflows with debug assertions, timeouts and
# memory limits are caught without it).
# Seeds go to fuzz/seeds/TARGET (rebuilt each run, read-only for libFuzzer); what the
# fuzzer finds goes to fuzz/corpus/TARGET (kept between runs) and crashes to
# fuzz/artifacts/TARGET. A summary table (executions, exec/s, result) is printed at the
# end and written to fuzz/last-run.txt; the exit status is 1 if any target failed.
set -euo pipefail
cd "$(dirname "$0")"
fuzz_dir=$(pwd)
repo=$(cd .. && pwd)
secs=${1:-60}
shift || true
# Slowest first, so that FUZZ_PARALLEL packs the long run well.
all_targets=(policy depmod_d module_file index_roundtrip module_compressed elf symvers
	policy_guard plugin_output system_map builtin_modinfo modules_order build_assembly)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi
parallel=${FUZZ_PARALLEL:-1}
corpus_dir=${MODPOLICY_CORPUS_DIR:-$repo/target/corpus}

# The toolchain: nightly if rustup has it, else the default one with RUSTC_BOOTSTRAP=1
# (cargo-fuzz passes unstable flags; the instrumentation itself is stable rustc's).
if [ "${FUZZ_TOOLCHAIN:-}" != default ] && cargo +nightly --version >/dev/null 2>&1; then
	toolchain=(+nightly)
else
	toolchain=()
	export RUSTC_BOOTSTRAP=1
fi
cargo "${toolchain[@]}" fuzz --version >/dev/null 2>&1 || {
	echo "fuzz/run.sh: needs cargo-fuzz: cargo install cargo-fuzz --locked" >&2
	exit 2
}
echo "fuzz/run.sh: $(cargo "${toolchain[@]}" --version)${RUSTC_BOOTSTRAP:+ with RUSTC_BOOTSTRAP=1}" >&2

# ---------------------------------------------------------------- seeds
seed() { # seed TARGET FILE...: copies each file (at most 64 KiB) into the target's seeds
	local t=$1
	shift
	mkdir -p "seeds/$t"
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		[ "$(stat -c %s "$f")" -le 65536 ] || continue
		cp "$f" "seeds/$t/$(printf '%s' "$f" | sha1sum | cut -c1-16)-$(basename "$f")"
	done
}
head_seed() { # head_seed TARGET LINES FILE...: the first LINES lines of big text files
	local t=$1 n=$2
	shift 2
	mkdir -p "seeds/$t"
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		head -n "$n" "$f" >"seeds/$t/$(printf '%s' "$f" | sha1sum | cut -c1-16)-$(basename "$f")"
	done
}
rm -rf seeds
mkdir -p seeds corpus
mapfile -t kos < <(find "$repo/tests/fixtures" -name '*.ko' -o -name '*.o' | sort)
if [ -d "$corpus_dir/image-6.1" ]; then
	# A sample of small real modules from the Debian 6.1 tree.
	mapfile -t -O "${#kos[@]}" kos < <(find "$corpus_dir/image-6.1" -name '*.ko' -size -64k | sort | head -n 40)
fi
seed elf "${kos[@]}"
seed module_file "${kos[@]}"
tmpc=$(mktemp -d)
trap 'rm -rf "$tmpc"' EXIT
for k in "${kos[@]:0:12}"; do
	b=$(basename "$k")
	command -v xz >/dev/null && xz -c "$k" >"$tmpc/$b.xz"
	command -v gzip >/dev/null && gzip -c "$k" >"$tmpc/$b.gz"
	command -v zstd >/dev/null && zstd -q -c "$k" >"$tmpc/$b.zst"
done
if [ -d "$corpus_dir/image-6.12" ]; then
	mapfile -t xzs < <(find "$corpus_dir/image-6.12" -name '*.ko.xz' -size -16k | sort | head -n 20)
	for f in "${xzs[@]}"; do cp "$f" "$tmpc/"; done
fi
seed module_compressed "$tmpc"/*
seed module_file "$tmpc"/*
mapfile -t symvers < <(find "$repo/tests/fixtures" -name Module.symvers | sort)
seed symvers "${symvers[@]}"
[ -d "$corpus_dir" ] && head_seed symvers 300 $(find "$corpus_dir" -name Module.symvers 2>/dev/null | head -n 2)
head_seed system_map 300 $(find "$corpus_dir" -path '*System.map*' -type f 2>/dev/null | head -n 2)
printf 'ffffffff81000000 T _text\nffffffff81e00000 R __ksymtab_printk\nbad line\n' >"$tmpc/System.map"
seed system_map "$tmpc/System.map"
seed modules_order $(find "$repo/tests/fixtures" -name modules.order | sort)
# build_assembly: the objects that exist, a NUL, then modules.order.
mkdir -p seeds/build_assembly
printf 'vmlinux.o\ndrivers/a.o\ndrivers/a.ko\nb/x.o\nc/x.o\n\0drivers/a.o\nb/x.o\nc/x.o\nmissing.o\n' >seeds/build_assembly/objects
printf 'kernel/m.ko\n\0kernel/m.ko\n../outside.o\n' >seeds/build_assembly/ko
seed builtin_modinfo $(find "$repo/tests/fixtures" "$corpus_dir/image-6.1" -name modules.builtin.modinfo 2>/dev/null | sort)
seed depmod_d $(find "$repo/tests/fixtures" -path '*depmod.d*' -type f | sort)
seed policy "$repo"/policies/*.kdl $(find "$repo/tests" -name '*.kdl' | sort)
# policy_guard reads at most 64 bytes (libFuzzer keeps the start of longer seeds).
seed policy_guard "$repo"/policies/*.kdl $(find "$repo/tests" -name '*.kdl' | sort)
mkdir -p seeds/plugin_output
printf 'finding\tdup-check\twarn\tdupa\tdup_shared_fn\tduplicate \\t export\n' >seeds/plugin_output/one
printf 'finding\tx\tdeny\t-\t-\tm\nfinding\ty-2\tallow\tmod\t-\tmsg\n' >seeds/plugin_output/two
# .bin indexes written by our own depmod (if built), and a few records for the builder.
bin=$repo/target/release/modpolicy
[ -x "$bin" ] || bin=$repo/target/debug/modpolicy
if [ -x "$bin" ]; then
	cp -a "$repo/tests/fixtures/trees/devices" "$tmpc/tree"
	"$bin" depmod -b "$tmpc/tree" 6.1.0-test >/dev/null 2>&1 || true
	seed index_roundtrip "$tmpc"/tree/lib/modules/6.1.0-test/*.bin
fi
mkdir -p seeds/index_roundtrip
printf 'pci:v00008086d*\xffe1000e\xff\x01\xfesymbol:dup_shared_fn\xffdupa\xff\x00\xfesymbol:dup_shared_fn\xffdupb\xff\x00' >seeds/index_roundtrip/records

# ---------------------------------------------------------------- run
sanitizer=${FUZZ_SANITIZER:-none}
trace_flag=()
[ "${FUZZ_TRACE_COMPARES:-1}" = 0 ] && trace_flag=(--no-trace-compares)
build_t0=$SECONDS
cargo "${toolchain[@]}" fuzz build -s "$sanitizer" --debug-assertions "${trace_flag[@]}" >&2
echo "fuzz/run.sh: targets built in $((SECONDS - build_t0)) s" >&2
# Built once: the runs below use these binaries, so editing the sources meanwhile is safe.
bindir=$fuzz_dir/target/$(rustc "${toolchain[@]}" -vV | sed -n 's/^host: //p')/release

run_one() { # run_one TARGET: prints "TARGET RUNS SECONDS STATUS"
	local t=$1 max_len=8192
	# Module images need room for real section tables; text formats are fastest small;
	# policy_guard compares with kdl, whose error recovery is exponential past 64 bytes.
	case $t in elf | module_*) max_len=65536 ;; policy_guard) max_len=64 ;; esac
	mkdir -p "corpus/$t" "artifacts/$t"
	local log=$fuzz_dir/artifacts/$t/last.log
	local status=ok t0=$SECONDS
	"$bindir/$t" "corpus/$t" "seeds/$t" \
		-max_total_time="$secs" -max_len="$max_len" -rss_limit_mb=2048 -timeout="${FUZZ_TIMEOUT:-10}" \
		${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} ${FUZZ_FORK:+-fork="$FUZZ_FORK"} -print_final_stats=1 -artifact_prefix="$fuzz_dir/artifacts/$t/" >"$log" 2>&1 || status=FAILED
	local runs
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	# Fork mode prints no final stats: its last progress line (`#N: cov: ...`) counts all.
	[ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9][0-9]*\): .*/\1/p' "$log" | tail -n 1)
	echo "$t ${runs:-0} $((SECONDS - t0)) $status"
}

results=$(mktemp)
running=0
for t in "${targets[@]}"; do
	run_one "$t" >>"$results" &
	running=$((running + 1))
	if [ "$running" -ge "$parallel" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait || true

{
	printf '%-18s %14s %10s %10s  %s\n' target executions seconds exec/s result
	sort "$results" | while read -r t runs s st; do
		printf '%-18s %14s %10s %10s  %s\n' "$t" "$runs" "$s" "$((runs / (s > 0 ? s : 1)))" "$st"
	done
} | tee last-run.txt
rm -f "$results"
if grep -q FAILED last-run.txt; then
	echo "fuzz/run.sh: a target failed; see fuzz/artifacts/TARGET/last.log and the crash files beside it" >&2
	exit 1
fi
