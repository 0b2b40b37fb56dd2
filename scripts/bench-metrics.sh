#!/usr/bin/env bash
# Cost of the live metrics, measured three ways in one run:
#  1. schedrt-bench (bench/bench.c: Tokio's rt_multi_threaded workloads) built
#     with metrics compiled OUT and compiled IN, run side by side: RUNS passes,
#     each pass runs every variant (in a rotating order, so machine noise and
#     drift hit all alike); the median ns/op per workload and the ratio to the
#     compiled-out build are printed. Variants: out, in (default: the segment
#     is published), in+timing (SCHEDRT_TIMING=1: per-poll clock and
#     histograms).
#  2. Instruction counts under callgrind (stable on a noisy machine) for the
#     same builds, 1 worker, a fixed number of iterations.
#  3. The reader: one snapshot of a 64-worker segment
#     (tests/stress/stress_metrics_snapshot_cost.c).
#
# Usage: scripts/bench-metrics.sh [RUNS]     (default 5; from anywhere)
# Env:   BENCH_METRICS_OUT=dir   where raw output and the summary go
#                                (default build/bench-metrics/<UTC timestamp>)
#        BENCH_METRICS_BUILD=prefix  build trees <prefix>-off and <prefix>-on
#                                (default build/bench-metrics)
#        BENCH_METRICS_RUNS=0    skip the wall-clock passes (callgrind only)
#        BENCH_METRICS_WORKLOADS="a b"  schedrt-bench workloads (default: all)
#        BENCH_METRICS_CALLGRIND="a b"  workloads for callgrind
#                                (default: spawn_local_empty yield_many chained_spawn ping_pong);
#                                "none" skips callgrind
#        BENCH_* are passed to schedrt-bench as usual.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
out=${BENCH_METRICS_OUT:-$root/build/bench-metrics/$(date -u +%Y%m%dT%H%M%SZ)}
workloads=${BENCH_METRICS_WORKLOADS:-}
cg_workloads=${BENCH_METRICS_CALLGRIND:-spawn_local_empty yield_many chained_spawn ping_pong}
mkdir -p "$out"

prefix=${BENCH_METRICS_BUILD:-$root/build/bench-metrics}
case $prefix in /*) ;; *) prefix=$root/$prefix ;; esac
[ -n "${BENCH_METRICS_RUNS:-}" ] && runs=$BENCH_METRICS_RUNS

build() { # name metrics(ON|OFF)
  local name=$1 metrics=$2
  local dir=$prefix-$name
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSCHEDRT_ENABLE_METRICS="$metrics" \
    -DSCHEDRT_BUILD_INSPECTOR=OFF -DSCHEDRT_BUILD_EXAMPLES=OFF -DSCHEDRT_BUILD_BENCH=ON \
    -DBUILD_TESTING=OFF >"$out/cmake-$name.log" 2>&1
  cmake --build "$dir" -j"$(nproc)" --target schedrt-bench schedrt_static >>"$out/cmake-$name.log" 2>&1
}
echo "building (logs in $out)..." >&2
build off OFF
build on ON
bench_off=$prefix-off/bench/schedrt-bench
bench_on=$prefix-on/bench/schedrt-bench
# The reader benchmark, built by hand so that no other test area's CMake is involved.
snapcost=$prefix-on/stress_metrics_snapshot_cost
${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -I"$root/tests/support" -I"$root/common/include" -I"$root/include" \
  "$root/tests/stress/stress_metrics_snapshot_cost.c" "$root/tests/support/shm_fixture.c" \
  "$prefix-on/runtime/libschedrt.a" -lpthread -lrt -o "$snapcost"

run_variant() { # variant pass
  case $1 in
  out) env -u SCHEDRT_TIMING "$bench_off" $workloads ;;
  in) env -u SCHEDRT_TIMING -u SCHEDRT_METRICS "$bench_on" $workloads ;;
  in+timing) env -u SCHEDRT_METRICS SCHEDRT_TIMING=1 "$bench_on" $workloads ;;
  esac | awk -v v="$1" -v p="$2" '$1 == "schedrt" { print v, p, $2, $4 }'
}

raw=$out/raw.txt
: >"$raw"
variants=(out in in+timing)
for ((p = 1; p <= runs; p++)); do
  echo "pass $p/$runs" >&2
  for ((k = 0; k < ${#variants[@]}; k++)); do
    v=${variants[$(((k + p) % ${#variants[@]}))]}
    run_variant "$v" "$p" >>"$raw"
  done
done

summary=$out/summary.md
{
  echo "## Metrics overhead: schedrt-bench, metrics compiled out vs in"
  echo
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(uname -sr)"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $runs passes, median ns/op per variant; gcc $(gcc -dumpfullversion), CMake Release"
  echo
  [ "$runs" -gt 0 ] && echo "| workload | out (ns/op) | in (ns/op) | in/out | in+timing (ns/op) | timing/out |"
  [ "$runs" -gt 0 ] && echo "|---|---:|---:|---:|---:|---:|"
  [ "$runs" -gt 0 ] && awk '
    function median(key,   n, i, j, t, a) {
      n = split(vals[key], a, " ")
      for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $4 != "DNF" { vals[$1 "|" $3] = vals[$1 "|" $3] " " $4; if (!($3 in seen)) { seen[$3] = 1; order[++nw] = $3 } }
    END {
      for (i = 1; i <= nw; i++) {
        w = order[i]; o = median("out|" w); n = median("in|" w); t = median("in+timing|" w)
        r1 = o > 0 ? n / o : 0; r2 = o > 0 ? t / o : 0
        printf "| %s | %.1f | %.1f | %.3f | %.1f | %.3f |\n", w, o, n, r1, t, r2
        if (r1 > 0) { g1 += log(r1); c1++ } if (r2 > 0) { g2 += log(r2); c2++ }
      }
      if (c1 && c2) printf "| **geometric mean** | | | **%.3f** | | **%.3f** |\n", exp(g1 / c1), exp(g2 / c2)
    }' "$raw"
  echo
  if [ "$cg_workloads" != none ] && command -v valgrind >/dev/null; then
    echo "## Instruction counts (callgrind, 1 worker, 20 iterations after 2 warm-ups, whole program)"
    echo
    echo "Per workload: each build under"
    echo "\`valgrind --tool=callgrind --callgrind-out-file=F <build>/bench/schedrt-bench <workload>\` with"
    echo "BENCH_WORKERS=1 BENCH_WARMUP_ITERS=2 BENCH_WARMUP_MS=0 BENCH_MIN_ITERS=20 BENCH_MAX_ITERS=20 BENCH_MIN_MS=0."
    echo
    echo "| workload | out (Ir) | in (Ir) | in/out | in - out (Ir) | in+timing (Ir) | timing/out |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for w in $cg_workloads; do
      declare -A ir=()
      for v in out in in+timing; do
        f=$out/callgrind.$w.$v
        bin=$bench_on
        extra=()
        [ "$v" = out ] && bin=$bench_off
        [ "$v" = in+timing ] && extra=(SCHEDRT_TIMING=1)
        env -u SCHEDRT_TIMING -u SCHEDRT_METRICS "${extra[@]}" BENCH_WORKERS=1 BENCH_WARMUP_ITERS=2 BENCH_WARMUP_MS=0 \
          BENCH_MIN_ITERS=20 BENCH_MAX_ITERS=20 BENCH_MIN_MS=0 \
          valgrind --tool=callgrind --callgrind-out-file="$f" "$bin" "$w" >/dev/null 2>"$f.log" || true
        ir[$v]=$(awk '/^(summary|totals):/ { print $2; exit }' "$f" 2>/dev/null || echo 0)
      done
      awk -v w="$w" -v o="${ir[out]:-0}" -v n="${ir[in]:-0}" -v t="${ir[in+timing]:-0}" \
        'BEGIN { printf "| %s | %d | %d | %.4f | %d | %d | %.4f |\n", w, o, n, (o ? n / o : 0), n - o, t, (o ? t / o : 0) }'
      unset ir
    done
    echo
  fi
  echo "## Reader: one snapshot of a 64-worker segment"
  echo
  echo '```'
  "$snapcost"
  echo '```'
} | tee "$summary"
echo "raw lines: $raw; summary: $summary" >&2
