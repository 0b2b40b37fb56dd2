#!/usr/bin/env bash
# schedrt-bench side by side with the peer ports (tokio, Go, OpenMP), in one
# run: RUNS passes, each = schedrt-bench, the peers' run.sh (all peers), then
# schedrt-bench again with SCHEDRT_TIMING=1, so that machine noise hits every
# runtime alike. All lines go through the peers' summarize.sh (median over
# passes); then two Markdown tables and the setup are printed:
#  - the ratio table: ns/op per runtime, schedrt / best peer (the faster of
#    Tokio and Go) and its verdict against issue 10's goal (at most 0.5x the
#    best peer; "ahead" below 1, "BEHIND" above), with schedrt's range over
#    the passes;
#  - the latency table: the timed pass's ns/op, what timing costs (timed /
#    untimed ns/op) and the schedule latency p50/p99 (woken or spawned to
#    polled, from the runtime's sched_latency histograms; schedrt-bench prints
#    them as `schedrt-lat <workload> <p50_ns> <p99_ns>` lines).
#
# The peer ports are not part of this repository: PEERS_DIR names their
# directory, which must hold run.sh (prints `<runtime> <workload>
# <median_ns_per_iter> <ns_per_op>` lines, as schedrt-bench does) and
# summarize.sh (reads such lines, prints the medians over passes).
#
# Usage: PEERS_DIR=dir bench/compare.sh [RUNS]   (default 3; run from anywhere)
# Needs the peers' toolchains (apt-get install -y librust-tokio-dev golang-go
#   libomp5-14; cargo on PATH or in ~/.cargo/bin).
# Env: BENCH_* timing knobs (passed to every program);
#      SCHEDRT_BENCH=path  use this schedrt-bench instead of building build/bench;
#      COMPARE_OUT=dir     where raw lines, summary and tables go
#                          (default build/bench/compare-<UTC timestamp>);
#      COMPARE_TIMING=0    skip the timed schedrt pass (and the latency table).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-}
runs=${1:-3}
timing=${COMPARE_TIMING:-1}
[ -n "$peers" ] || { echo "compare.sh: set PEERS_DIR to the directory of the peer ports (run.sh, summarize.sh)" >&2; exit 1; }
[ -x "$peers/run.sh" ] || { echo "compare.sh: $peers/run.sh not found" >&2; exit 1; }
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"

if [ -z "${SCHEDRT_BENCH:-}" ]; then
  cmake -S "$root" -B "$root/build/bench" -DCMAKE_BUILD_TYPE=Release -DSCHEDRT_BUILD_INSPECTOR=OFF \
    -DSCHEDRT_BUILD_EXAMPLES=OFF -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$root/build/bench" --target schedrt-bench -j2 >/dev/null
  SCHEDRT_BENCH=$root/build/bench/bench/schedrt-bench
fi
out=${COMPARE_OUT:-$root/build/bench/compare-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
raw=$out/raw.txt
: >"$raw"

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //') (family $(grep -m1 'cpu family' /proc/cpuinfo | sed 's/.*: //') model $(grep -m1 '^model[[:space:]]' /proc/cpuinfo | sed 's/.*: //'), $(grep -m1 'cpu MHz' /proc/cpuinfo | sed 's/.*: //; s/\..*//') MHz), $(uname -sr)"
  echo "busiest other processes (top, 1 s): $(top -b -n 2 -d 1 -o %CPU -w 200 | awk '/^top -/ { n++ } n == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 >= 5 { printf "%s %s%%; ", $12, $9 }')"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "schedrt: $(git -C "$root" describe --always --dirty 2>/dev/null || echo 'no commit yet'), sources sha256 $(cat "$root"/runtime/src/* "$root"/include/* | sha256sum | cut -c1-12), gcc $(gcc -dumpfullversion), CMake Release (-O3), static libschedrt"
  echo "rustc: $(rustc --version 2>/dev/null || echo '?'); tokio: $(dpkg-query -W -f '${Version}' librust-tokio-dev 2>/dev/null || echo '?') (librust-tokio-dev)"
  echo "go: $(go version 2>/dev/null | cut -d' ' -f3- || echo '?')"
  echo "libgomp: gcc $(gcc -dumpfullversion); libomp: $(dpkg-query -W -f '${Version}' libomp5-14 2>/dev/null || echo 'absent')"
  echo "knobs: $(env | grep -E '^BENCH_' | tr '\n' ' ' || true)"
} | tee "$out/setup.txt" >&2

for i in $(seq 1 "$runs"); do
  echo "compare.sh: pass $i/$runs" >&2
  # A failing program (a hang makes schedrt-bench print DNF and exit 3) does not stop the comparison.
  "$SCHEDRT_BENCH" | tee -a "$raw" || echo "compare.sh: schedrt-bench failed (status $?)" >&2
  "$peers/run.sh" | tee -a "$raw" || echo "compare.sh: run.sh failed (status $?)" >&2
  if [ "$timing" != 0 ]; then
    # The same program with per-poll timing: its ns/op as `schedrt+timing`, the latency lines as they come.
    SCHEDRT_TIMING=1 "$SCHEDRT_BENCH" | awk '$1 == "schedrt" { $1 = "schedrt+timing" } { print; fflush() }' |
      tee -a "$raw" || echo "compare.sh: schedrt-bench (SCHEDRT_TIMING=1) failed (status $?)" >&2
  fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/setup.txt" >&2

"$peers/summarize.sh" <"$raw" | tee "$out/summary.txt"

# The ratio table: ns/op (median over passes). best peer = the faster of tokio
# and go, the two ports that run every workload as specified (a DNF is slower
# than any figure). The OpenMP columns are for information only: the spawner
# is a team member that also runs tasks, and both OpenMP runtimes run tasks
# inline past a queue limit; ping_pong and busy2 are approximations there
# (marked ~). The range is schedrt's per-pass ns/op, from the raw lines.
wl="spawn_many_local spawn_many_remote_idle spawn_many_remote_busy1 spawn_many_remote_busy2 ping_pong yield_many chained_spawn spawn_local_empty wake_remote spawn_blocking_roundtrip channel_mpsc"
awk -v wl="$wl" '
  FNR == NR {
    if (NF == 4 && $1 == "schedrt" && $4 != "DNF") {
      k = $2; v = $4 + 0
      if (!(k in lo) || v < lo[k]) lo[k] = v
      if (!(k in hi) || v > hi[k]) hi[k] = v
    }
    next
  }
  { name[$1 " " $2] = $4 }
  END {
    n = split(wl, w, " ")
    np = split("tokio go omp-gomp omp-llvm", p, " ")
    print "| workload | schedrt | tokio | go | omp-gomp | omp-llvm | best peer | ours / best | goal <= 0.5 | schedrt range |"
    print "|---|---:|---:|---:|---:|---:|---|---:|---|---|"
    for (i = 1; i <= n; i++) {
      k = w[i]; ours = ("schedrt " k in name) ? name["schedrt " k] : "-"
      approx = (k == "ping_pong" || k == "spawn_many_remote_busy2")
      best = ""; bv = 0; dnf = 0; line = "| " k " | " ours
      for (j = 1; j <= np; j++) {
        v = ("" p[j] " " k in name) ? name[p[j] " " k] : "-"
        omp = (p[j] ~ /^omp/)
        line = line " | " ((omp && approx && v != "-") ? "~" v : v)
        if (!omp && v == "DNF") dnf = 1
        if (v != "-" && v != "DNF" && !omp && (best == "" || v + 0 < bv)) { best = p[j]; bv = v + 0 }
      }
      ok = (ours != "-" && ours != "DNF")
      ratio = (best != "" && ok) ? sprintf("%.2f", ours / bv) : "-"
      verdict = !ok ? (ours == "DNF" ? "BEHIND (DNF)" : "-") : best == "" ? (dnf ? "met (peers DNF)" : "no peer") : ours / bv <= 0.5 ? "met" : ours / bv <= 1 ? "ahead, not met" : "BEHIND"
      rng = (k in lo) ? lo[k] "-" hi[k] : "-"
      print line " | " (best == "" ? "-" : best) " | " ratio " | " verdict " | " rng " |"
    }
  }' "$raw" "$out/summary.txt" | tee "$out/table.md"

# The latency table, from the timed pass (SCHEDRT_TIMING=1): timed / untimed is what timing costs.
if [ "$timing" != 0 ]; then
  echo
  awk -v wl="$wl" '
    { op[$1 " " $2] = $4; p50[$1 " " $2] = $3 }
    END {
      n = split(wl, w, " ")
      print "| workload | schedrt ns/op | with SCHEDRT_TIMING=1 | timed / untimed | sched latency p50 (ns) | p99 (ns) |"
      print "|---|---:|---:|---:|---:|---:|"
      for (i = 1; i <= n; i++) {
        k = w[i]; a = ("schedrt " k in op) ? op["schedrt " k] : "-"; b = ("schedrt+timing " k in op) ? op["schedrt+timing " k] : "-"
        r = (a != "-" && a != "DNF" && b != "-" && b != "DNF") ? sprintf("%.2f", b / a) : "-"
        l = "schedrt-lat " k
        print "| " k " | " a " | " b " | " r " | " ((l in p50) ? p50[l] : "-") " | " ((l in op) ? op[l] : "-") " |"
      }
    }' "$out/summary.txt" | tee "$out/latency.md"
fi
echo "compare.sh: raw lines, summary, tables and setup in $out" >&2
