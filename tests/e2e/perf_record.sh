#!/usr/bin/env bash
# Measures what one sample of `sched-inspect record` costs: CPU time (getrusage of the recorder, through
# /usr/bin/time) over COUNT samples at 100 per second against a running schedrt-demo, for each worker
# count, with the latency histograms (the demo runs with per-poll timing: two 62-bucket histograms per
# worker in every sample, the most a sample holds) and without (--no-histograms). Not part of ctest: run
# it by hand and copy the figures into docs/performance.md.
#   perf_record.sh SCHED_INSPECT SCHEDRT_DEMO [COUNT [WORKERS...]]
set -uo pipefail
inspect=$1 demo=$2 count=${3:-6000}
shift 3 2>/dev/null || shift $#
workers=("${@:-2}")
((${#workers[@]})) || workers=(2)
work=$(mktemp -d /tmp/record_perf.XXXXXX)
demo_pid=
trap '[[ -n $demo_pid ]] && kill $demo_pid 2>/dev/null; wait; rm -rf "$work"' EXIT
for w in "${workers[@]}"; do
  "$demo" --workers "$w" --duration $((count / 100 + 60)) -q >/dev/null 2>&1 &
  demo_pid=$!
  for _ in $(seq 50); do compgen -G "/dev/shm/schedrt.*.$demo_pid.*" >/dev/null && break; sleep 0.1; done
  for hist in "" --no-histograms; do
    /usr/bin/time -f 'TIME %U %S %e' -o "$work/time.txt" \
      "$inspect" record "$demo_pid" -i 10ms -n "$count" $hist -o "$work/r.cbor" --force 2>/dev/null
    read -r _ user sys elapsed < <(grep TIME "$work/time.txt")
    size=$(stat -c %s "$work/r.cbor")
    awk -v u="$user" -v s="$sys" -v e="$elapsed" -v n="$count" -v b="$size" -v w="$w" -v h="${hist:-histograms}" 'BEGIN {
      printf "%d workers, %s: %d samples in %.1fs: user %.2fs + sys %.2fs = %.0f us per sample, ", w, h, n, e, u, s, (u + s) * 1e6 / n
      printf "%.0f bytes per sample; at -i 100ms: %.3f%% of one core, %.1f MB per hour\n", b / n, (u + s) * 1e6 / n / 1000, b / n * 36000 / 1e6 }'
  done
  kill "$demo_pid" 2>/dev/null
  wait "$demo_pid" 2>/dev/null
  demo_pid=
done
uptime
