#!/usr/bin/env bash
# channel_mpsc side by side: schedrt-bench, the tokio peer and the Go peer, in
# interleaved passes (each pass runs all three, so machine noise hits them
# alike); prints every line, then the median ns/message of each over the passes.
# Usage: bench/peers/run.sh [PASSES]   (default 5; run from anywhere)
# Needs: apt-get install -y librust-tokio-dev golang-go, cargo on PATH (or ~/.cargo/bin).
# Env: SCHEDRT_BENCH=path (default: build/release/bench/schedrt-bench), BENCH_* timing knobs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
passes=${1:-5}
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
bench=${SCHEDRT_BENCH:-$root/build/release/bench/schedrt-bench}
work=${BENCH_BUILD_DIR:-${TMPDIR:-/tmp}/schedrt-chan-peers}
mkdir -p "$work"
cp -ru "$here/tokio-mpsc" "$here/go-chan" "$work/"
(cd "$work/tokio-mpsc" && cargo build --release --offline --quiet)
(cd "$work/go-chan" && GOFLAGS=-mod=mod GOPROXY=off go build -o go-chan .)
raw=$(mktemp)
for p in $(seq "$passes"); do
  "$bench" channel_mpsc | tee -a "$raw"
  "$work/tokio-mpsc/target/release/tokio-mpsc" | tee -a "$raw"
  GOMAXPROCS=2 "$work/go-chan/go-chan" | tee -a "$raw"
done
echo "median ns/message over $passes passes:"
for rt in schedrt tokio go; do
  awk -v rt="$rt" '$1 == rt { print $4 }' "$raw" | sort -n |
    awk -v rt="$rt" '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "  %-8s %6.1f  (%d passes)\n", rt, m, NR }'
done
rm -f "$raw"
