#!/usr/bin/env bash
# Oversubscription and scaling (issue 10, item 4): the WORKLOADS.md workloads at several worker counts
# (default 1, 2, 4 and 8) for schedrt, Tokio and Go, each runtime with the same count (BENCH_WORKERS for
# schedrt-bench, worker_threads for Tokio, GOMAXPROCS for Go; the busy workloads' background load scales
# with it in all three: 2 x workers yielders for busy1, one chain per worker for busy2). Passes are
# interleaved (every count of every runtime in each pass, the runtimes' order rotating from pass to pass)
# so a change in the machine's load hits all of them alike. Prints every line, then a Markdown table:
# ns/op (median over passes) per workload, count and runtime; schedrt's ratio to the best peer at that
# count; schedrt's ratio to its own 2-worker figure; and the verdict on the goal "at the largest count
# no workload is more than 2x its 2-worker figure, and schedrt stays ahead of the peers at every count".
#
# The peer ports live outside this repository and have their worker count compiled in (NUM_WORKERS = 2,
# numWorkers = 2): this script copies their sources to a scratch folder and builds one binary per count
# with that constant replaced (it fails if the constant is not found, i.e. the ports changed).
#
# Usage: PEERS_DIR=dir bench/scaling.sh [PASSES]   (default 3; run from anywhere)
# Needs: cargo + librust-tokio-dev (offline, Debian's crate registry), golang-go.
# Env: SCALING_WORKERS ("1 2 4 8")  worker counts; 2 must be among them (the baseline of the ratios);
#      SCALING_WORKLOADS (the seven WORKLOADS.md workloads)  a subset to run;
#      SCALING_RUNTIMES ("schedrt tokio go");
#      SCHEDRT_BENCH=path  use this schedrt-bench instead of building build/bench;
#      SCALING_OUT=dir     raw lines, table and setup (default build/bench/scaling-<UTC timestamp>);
#      BENCH_BUILD_DIR     peer builds (default /tmp/schedrt-scaling-peers);
#      BENCH_* timing knobs, passed to every program.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-}
passes=${1:-3}
counts=${SCALING_WORKERS:-1 2 4 8}
workloads=${SCALING_WORKLOADS:-spawn_many_local spawn_many_remote_idle spawn_many_remote_busy1 spawn_many_remote_busy2 ping_pong yield_many chained_spawn}
runtimes=${SCALING_RUNTIMES:-schedrt tokio go}
work=${BENCH_BUILD_DIR:-${TMPDIR:-/tmp}/schedrt-scaling-peers}
die() {
  echo "scaling.sh: $*" >&2
  exit 1
}
[[ " $counts " == *" 2 "* ]] || die "SCALING_WORKERS must include 2 (the baseline of the ratios)"
want() { [[ " $runtimes " == *" $1 "* ]]; }
command -v cargo >/dev/null || export PATH="$HOME/.cargo/bin:$PATH"
if want tokio || want go; then
  [ -n "$peers" ] || die "set PEERS_DIR to the directory of the peer ports (tokio-bench/, go-bench/)"
fi
if want tokio; then
  [ -f "$peers/tokio-bench/src/main.rs" ] || die "$peers/tokio-bench/src/main.rs not found"
  command -v cargo >/dev/null || die "cargo not found (rustup, or apt-get install -y cargo rustc)"
  [ -d /usr/share/cargo/registry ] || die "missing Debian crate registry: apt-get install -y librust-tokio-dev"
fi
if want go; then
  [ -f "$peers/go-bench/main.go" ] || die "$peers/go-bench/main.go not found"
  command -v go >/dev/null || die "go not found (apt-get install -y golang-go)"
fi

if want schedrt && [ -z "${SCHEDRT_BENCH:-}" ]; then
  cmake -S "$root" -B "$root/build/bench" -DCMAKE_BUILD_TYPE=Release -DSCHEDRT_BUILD_INSPECTOR=OFF \
    -DSCHEDRT_BUILD_EXAMPLES=OFF -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$root/build/bench" --target schedrt-bench -j2 >/dev/null
  SCHEDRT_BENCH=$root/build/bench/bench/schedrt-bench
fi

# One peer binary per worker count: the source with its constant replaced. Rebuilt when the port's
# source is newer than the binary.
mkdir -p "$work/bin"
if want tokio; then
  rm -rf "$work/tokio-bench/src" "$work/tokio-bench/.cargo"
  mkdir -p "$work/tokio-bench"
  cp -r "$peers/tokio-bench/Cargo.toml" "$peers/tokio-bench/src" "$peers/tokio-bench/.cargo" "$work/tokio-bench/"
  chmod -R u+w "$work/tokio-bench"
  for n in $counts; do
    bin=$work/bin/tokio-bench-w$n
    [ "$bin" -nt "$peers/tokio-bench/src/main.rs" ] && continue
    sed "s/^const NUM_WORKERS: usize = 2;/const NUM_WORKERS: usize = $n;/" "$peers/tokio-bench/src/main.rs" \
      >"$work/tokio-bench/src/main.rs"
    grep -q "^const NUM_WORKERS: usize = $n;" "$work/tokio-bench/src/main.rs" ||
      die "tokio-bench: 'const NUM_WORKERS: usize = 2;' not found in $peers/tokio-bench/src/main.rs"
    echo "scaling.sh: building tokio-bench for $n workers" >&2
    (cd "$work/tokio-bench" && cargo build --release --offline --quiet)
    cp "$work/tokio-bench/target/release/tokio-bench" "$bin"
  done
fi
if want go; then
  mkdir -p "$work/go-bench"
  cp "$peers/go-bench/go.mod" "$work/go-bench/"
  chmod u+w "$work/go-bench/go.mod"
  for n in $counts; do
    bin=$work/bin/go-bench-w$n
    [ "$bin" -nt "$peers/go-bench/main.go" ] && continue
    sed "s/^\tnumWorkers = 2 /\tnumWorkers = $n /" "$peers/go-bench/main.go" >"$work/go-bench/main.go"
    grep -q "^	numWorkers = $n " "$work/go-bench/main.go" ||
      die "go-bench: 'numWorkers = 2' not found in $peers/go-bench/main.go"
    echo "scaling.sh: building go-bench for $n workers" >&2
    (cd "$work/go-bench" && GOFLAGS=-mod=mod GOPROXY=off go build -o "$bin" .)
  done
fi

out=${SCALING_OUT:-$root/build/bench/scaling-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
raw=$out/raw.txt
: >"$raw"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(uname -sr)"
  echo "busiest other processes (top, 1 s): $(top -b -n 2 -d 1 -o %CPU -w 200 | awk '/^top -/ { n++ } n == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 >= 5 { printf "%s %s%%; ", $12, $9 }')"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "schedrt: $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?'), $SCHEDRT_BENCH"
  echo "rustc: $(rustc --version 2>/dev/null || echo '?'); tokio: $(dpkg-query -W -f '${Version}' librust-tokio-dev 2>/dev/null || echo '?'); go: $(go version 2>/dev/null | cut -d' ' -f3 || echo '?')"
  echo "worker counts: $counts; passes: $passes; knobs: $(env | grep -E '^BENCH_' | tr '\n' ' ' || true)"
} | tee "$out/setup.txt" >&2

# run RUNTIME N: one program's lines, the runtime renamed RUNTIME/wN. A failing program (schedrt-bench
# exits 3 on a hang after printing DNF) does not stop the run.
run() {
  local rt=$1 n=$2
  case $rt in
    schedrt) BENCH_WORKERS=$n "$SCHEDRT_BENCH" "${wls[@]}" ;;
    tokio) "$work/bin/tokio-bench-w$n" "${wls[@]}" ;;
    go) GOMAXPROCS=$n "$work/bin/go-bench-w$n" "${wls[@]}" ;;
  esac | awk -v n="$n" 'NF == 4 { $1 = $1 "/w" n; print; fflush() }' | tee -a "$raw" ||
    echo "scaling.sh: $rt at $n workers failed" >&2
}

read -r -a rts <<<"$runtimes"
read -r -a wls <<<"$workloads"
for p in $(seq 1 "$passes"); do
  echo "scaling.sh: pass $p/$passes" >&2
  for n in $counts; do
    for ((i = 0; i < ${#rts[@]}; i++)); do
      run "${rts[(i + p - 1) % ${#rts[@]}]}" "$n"
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/setup.txt" >&2

# Table. best peer = the faster of Tokio and Go at that count; DNF counts as slower than any figure.
awk -v counts="$counts" -v workloads="$workloads" '
  function med(k,   c, i, j, t, v) {
    c = cnt[k]
    for (i = 1; i <= c; i++) v[i] = val[k, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++)
      if ((v[i] == "DNF" && v[j] != "DNF") || (v[i] != "DNF" && v[j] != "DNF" && v[j] + 0 < v[i] + 0)) { t = v[i]; v[i] = v[j]; v[j] = t }
    if (c == 0) return "-"
    if (c % 2) return v[(c + 1) / 2]
    if (v[c / 2] == "DNF" || v[c / 2 + 1] == "DNF") return "DNF"
    return sprintf("%.1f", (v[c / 2] + v[c / 2 + 1]) / 2)
  }
  function range(k,   i, lo, hi, x) {
    lo = ""; hi = ""
    for (i = 1; i <= cnt[k]; i++) {
      x = val[k, i]; if (x == "DNF") { hi = "DNF"; continue }
      if (lo == "" || x + 0 < lo) lo = x + 0
      if (hi != "DNF" && (hi == "" || x + 0 > hi)) hi = x + 0
    }
    return lo == "" ? "DNF" : lo "-" hi
  }
  NF == 4 { k = $1 " " $2; cnt[k]++; val[k, cnt[k]] = $4 }
  END {
    nc = split(counts, c, " "); nw = split(workloads, w, " ")
    maxn = c[1]; for (j = 1; j <= nc; j++) if (c[j] + 0 > maxn + 0) maxn = c[j]
    print "| workload | workers | schedrt | tokio | go | best peer | schedrt / best | schedrt / its 2-worker | schedrt range |"
    print "|---|---:|---:|---:|---:|---|---:|---:|---|"
    for (i = 1; i <= nw; i++) {
      base = med("schedrt/w2 " w[i])
      for (j = 1; j <= nc; j++) {
        n = c[j]; ours = med("schedrt/w" n " " w[i]); to = med("tokio/w" n " " w[i]); g = med("go/w" n " " w[i])
        best = "-"; bv = 0
        if (to != "-" && to != "DNF") { best = "tokio"; bv = to + 0 }
        if (g != "-" && g != "DNF" && (best == "-" || g + 0 < bv)) { best = "go"; bv = g + 0 }
        ok = (ours != "-" && ours != "DNF")
        r = (ok && best != "-") ? sprintf("%.2f", ours / bv) : (ok && (to == "DNF" || g == "DNF") ? "ahead (peers DNF)" : "-")
        s = (ok && base != "-" && base != "DNF") ? sprintf("%.2f", ours / base) : "-"
        print "| " w[i] " | " n " | " ours " | " to " | " g " | " best " | " r " | " s " | " range("schedrt/w" n " " w[i]) " |"
        if (ok && best != "-" && ours / bv > 1) behind = behind " " w[i] "@" n "(" sprintf("%.2f", ours / bv) ")"
        if (!ok) behind = behind " " w[i] "@" n "(" ours ")"
        if (n == maxn && s != "-" && s + 0 > 2) collapse = collapse " " w[i] "(" s "x)"
        if (n == maxn && s == "-") collapse = collapse " " w[i] "(no figure)"
      }
    }
    print ""
    print "Goal 1, at " maxn " workers no workload above 2x its 2-worker figure: " (collapse == "" ? "met" : "NOT met:" collapse)
    print "Goal 2, schedrt ahead of the best peer at every count: " (behind == "" ? "met" : "NOT met, behind at:" behind)
  }' "$raw" | tee "$out/table.md"
echo "scaling.sh: raw lines, table and setup in $out" >&2
