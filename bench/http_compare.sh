#!/usr/bin/env bash
# wrk against three equivalent minimal HTTP/1.1 servers, side by side: examples/http_server.c on
# schedrt, bench/peers/tokio-http (tokio::net) and bench/peers/go-http (package net, hand-written
# loop); same response bytes, same parsing rules, 2 workers each (--workers 2, worker_threads 2,
# GOMAXPROCS=2), no idle deadline. Passes are interleaved (schedrt, tokio, go, schedrt, ...) so a
# change in the machine's load hits all three alike; each run starts a fresh server, warms it up,
# then measures. Prints one line per run, then the medians over the passes.
#
# Usage: bench/http_compare.sh [BUILD_DIR]     (default build/release; builds schedrt-http there)
# Knobs: PASSES (3), DURATION (10s), WARMUP (2s), CONNS ("100 1000"), WRK_THREADS (2),
#        SERVERS ("schedrt tokio go"), BENCH_BUILD_DIR (peer builds, default /tmp/schedrt-http-peers)
# Needs: wrk; for the peers, cargo + librust-tokio-dev (offline, Debian's crate registry) and
# golang-go. A peer that cannot be built is skipped with a message.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
work=${BENCH_BUILD_DIR:-${TMPDIR:-/tmp}/schedrt-http-peers}
passes=${PASSES:-3}
duration=${DURATION:-10s}
warmup=${WARMUP:-2s}
conns=${CONNS:-100 1000}
wrk_threads=${WRK_THREADS:-2}
servers=${SERVERS:-schedrt tokio go}
mkdir -p "$work"

command -v wrk >/dev/null || { echo "http_compare: wrk not found (apt-get install wrk)" >&2; exit 1; }
# 1000 connections: each end of each one is an fd, and wrk and the servers inherit this limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) >= 2100 )) || { echo "http_compare: fd limit $(ulimit -n) is too low for 1000 connections" >&2; exit 1; }

cmake --build "$build" --target schedrt-http >/dev/null
declare -A cmd
cmd[schedrt]="$build/examples/schedrt-http --port 0 --workers 2 --idle-timeout-ms 0"
if (cd "$root/bench/peers/tokio-http" && CARGO_TARGET_DIR="$work/tokio-target" cargo build --release --offline --quiet); then
  cmd[tokio]="$work/tokio-target/release/tokio-http --port 0 --workers 2"
else
  echo "http_compare: cannot build the Tokio peer (cargo, librust-tokio-dev): skipped" >&2
fi
if (cd "$root/bench/peers/go-http" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$work/go-http" .); then
  cmd[go]="env GOMAXPROCS=2 $work/go-http -port 0"
else
  echo "http_compare: cannot build the Go peer (golang-go): skipped" >&2
fi

pid=
out=$(mktemp)
trap 'rm -f "$out"; [ -n "$pid" ] && kill "$pid" 2>/dev/null; true' EXIT

start() { # NAME -> sets pid, port
  ${cmd[$1]} >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    # The server's own "listening on" line is the only sign it is ready.
    port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$out" | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "http_compare: $1 did not start: $(cat "$out")" >&2
  exit 1
}

stop() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
}

echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) before"
echo "# wrk -t$wrk_threads -c<conns> -d$duration --latency (after a $warmup warm-up), $passes passes"
results=$(mktemp)
for pass in $(seq 1 "$passes"); do
  for c in $conns; do
    for s in $servers; do
      [ -n "${cmd[$s]:-}" ] || continue
      start "$s"
      url="http://127.0.0.1:$port/"
      # A failed run is reported (with the server's last words) and left out of the medians.
      w=
      if ! w=$(wrk -t"$wrk_threads" -c"$c" -d"$warmup" "$url" 2>&1) ||
        ! w=$(wrk -t"$wrk_threads" -c"$c" -d"$duration" --latency "$url" 2>&1); then
        printf '%-8s pass %d  %4d conns  FAILED: %s; server: %s\n' "$s" "$pass" "$c" \
          "$(tail -1 <<<"${w:-no output from wrk}")" "$(kill -0 "$pid" 2>/dev/null && echo running || echo exited) $(tail -2 "$out" | tr '\n' ' ')"
        stop
        continue
      fi
      stop
      rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$w")
      p99=$(awk '$1 == "99%" {print $2}' <<<"$w")
      errs=$(grep -E 'Socket errors|Non-2xx' <<<"$w" | tr -s ' ' | tr '\n' ';' || true)
      printf '%-8s pass %d  %4d conns  %10s req/s  p99 %9s  %s\n' "$s" "$pass" "$c" "$rps" "$p99" "$errs"
      echo "$s $c $rps $p99" >>"$results"
    done
  done
done
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) after"
echo "# medians over $passes passes:"
/usr/bin/env python3 - "$results" <<'EOF'
import statistics, sys
def ms(v):  # wrk prints 1.23ms, 456.78us, 1.02s
    for suf, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if v.endswith(suf):
            return float(v[: -len(suf)]) * f
    return float("nan")
rows = {}
for line in open(sys.argv[1]):
    s, c, rps, p99 = line.split()
    rows.setdefault((int(c), s), []).append((float(rps), ms(p99)))
print("| connections | server | requests/s (median) | p99 latency (median) |")
print("|---:|---|---:|---:|")
for (c, s), v in sorted(rows.items(), key=lambda kv: (kv[0][0], ["schedrt", "tokio", "go"].index(kv[0][1]))):
    print("| %d | %s | %.0f | %.2f ms |" % (c, s, statistics.median(r for r, _ in v), statistics.median(p for _, p in v)))
EOF
rm -f "$results"
