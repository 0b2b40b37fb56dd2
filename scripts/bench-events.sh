#!/usr/bin/env bash
# Cost of the event ring (SCHEDRT_EVENTS=1) against events off, per event, on
# schedrt-bench's workloads (bench/bench.c), 1 worker:
#  1. callgrind, events on: the events written (calls of the functions that
#     write one event each: schedrt__ev_put_slow, schedrt__ev_wake_slow,
#     schedrt__ev_other_slow, and, timing off, schedrt__m_poll_begin_timed and
#     schedrt__m_timing_end for a poll's start and end) and the instructions; events off: the
#     instructions. Their difference per event.
#  2. CPU time (user + sys of the whole process, /usr/bin/time), RUNS
#     passes alternating off and on; the medians' difference per event (CPU
#     time, not wall time: on a loaded machine the wall clock counts the
#     time the threads waited for a core).
#
# Usage: scripts/bench-events.sh [RUNS]   (default 5; from anywhere)
# Env:   BENCH_EVENTS_BIN=path   schedrt-bench to run (default: the metrics-on
#                                tree of scripts/bench-metrics.sh,
#                                build/bench-metrics-on/bench/schedrt-bench)
#        BENCH_EVENTS_WORKLOADS="a b"  (default: spawn_local_empty yield_many
#                                chained_spawn ping_pong)
#        BENCH_EVENTS_ITERS=N    iterations under callgrind (default 20, after 2 warm-ups)
#        BENCH_EVENTS_CPU_S=S    seconds of CPU a pass aims at (default 1): its
#                                iterations are scaled from a probe of 50; the
#                                events of a pass are callgrind's, scaled by the
#                                iteration counts
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
bin=${BENCH_EVENTS_BIN:-$root/build/bench-metrics-on/bench/schedrt-bench}
workloads=${BENCH_EVENTS_WORKLOADS:-spawn_local_empty yield_many chained_spawn ping_pong}
iters=${BENCH_EVENTS_ITERS:-20}
cpu_s=${BENCH_EVENTS_CPU_S:-1}
[ -x "$bin" ] || { echo "bench-events: no $bin (run scripts/bench-metrics.sh first, or set BENCH_EVENTS_BIN)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/bench-events.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export BENCH_WORKERS=1 BENCH_WARMUP_ITERS=2 BENCH_WARMUP_MS=0 BENCH_MIN_ITERS=$iters BENCH_MAX_ITERS=$iters BENCH_MIN_MS=0
unset SCHEDRT_TIMING

ir() { # on|off workload -> total Ir; with on, also the events in $tmp/events
  local out=$tmp/cg.$1.$2
  if [ "$1" = on ]; then
    SCHEDRT_EVENTS=1 valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$out" "$bin" "$2" >/dev/null 2>&1
    # The calls of the event functions, from every caller.
    awk '/^cfn=/ { ev = ($0 ~ /schedrt__ev_(put|wake|other)_slow|schedrt__m_(poll_begin_timed|timing_end)/) } /^calls=/ { if (ev) { split($1, c, "="); n += c[2] } ev = 0 }
         END { print n + 0 }' "$out" >"$tmp/events.$2"
  else
    env -u SCHEDRT_EVENTS valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$2" >/dev/null 2>&1
  fi
  awk '/^summary:/ { print $2 }' "$out"
}

cpu() { # on|off workload -> user+sys seconds of cpu_iters iterations
  if [ "$1" = on ]; then export SCHEDRT_EVENTS=1; else unset SCHEDRT_EVENTS; fi
  BENCH_MIN_ITERS=$cpu_iters BENCH_MAX_ITERS=$cpu_iters /usr/bin/time -f "%U %S" "$bin" "$2" 2>&1 >/dev/null |
    tail -1 | awk '{ printf "%.3f\n", $1 + $2 }'
  unset SCHEDRT_EVENTS
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "| workload | events ($iters + 2 iterations) | Ir off | Ir on | Ir per event | iterations | CPU s off (median of $runs) | CPU s on | ns per event |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for w in $workloads; do
  cpu_iters=50
  probe=$(cpu off "$w")
  cpu_iters=$(awk -v p="$probe" -v s="$cpu_s" 'BEGIN { n = p > 0 ? int(50 * s / p) : 5000; print n < 50 ? 50 : n }')
  off=$(ir off "$w")
  on=$(ir on "$w")
  ev=$(cat "$tmp/events.$w")
  : >"$tmp/cpu.off"
  : >"$tmp/cpu.on"
  for r in $(seq 1 "$runs"); do
    cpu off "$w" >>"$tmp/cpu.off"
    cpu on "$w" >>"$tmp/cpu.on"
  done
  coff=$(median <"$tmp/cpu.off")
  con=$(median <"$tmp/cpu.on")
  awk -v w="$w" -v ev="$ev" -v off="$off" -v on="$on" -v coff="$coff" -v con="$con" -v i="$iters" \
    -v ci="$cpu_iters" 'BEGIN { cev = ev * (ci + 2) / (i + 2)
    printf "| %s | %d | %d | %d | %.1f | %d | %.2f | %.2f | %.1f |\n", w, ev, off, on, ev ? (on - off) / ev : 0,
      ci, coff, con, cev ? (con - coff) * 1e9 / cev : 0 }'
done
