#!/usr/bin/env bash
# THE first command: builds the release preset's demo and inspector, runs the demo and
# watches it live with sched-inspect.
#
#   scripts/demo.sh [demo args...]
#
# On a terminal: schedrt-demo runs in the background (its output goes to
# build/release/schedrt-demo.log) and sched-inspect attaches to it in the foreground;
# quitting sched-inspect stops the demo with SIGINT. Without a terminal, or when
# sched-inspect could not be built, the demo runs in the foreground for --duration
# seconds (default 10, unless the arguments give one). Extra arguments go to the demo.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
bdir=$root/build/release
demo=$bdir/examples/schedrt-demo
inspect=$bdir/inspector/sched-inspect

scripts/setup.sh

mkdir -p "$root/build/logs"
log=$root/build/logs/release.configure.log
if ! cmake --preset release >"$log" 2>&1; then
  cat "$log" >&2
  echo "demo.sh: configuring the release preset failed" >&2
  exit 1
fi
cmake --build --preset release --target schedrt-demo
have_inspect=0
if cmake --build --preset release --target sched-inspect; then
  have_inspect=1
else
  echo "demo.sh: sched-inspect did not build: running the demo on its own" >&2
fi
if [[ ! -x "$demo" ]]; then
  echo "demo.sh: $demo is missing after the build" >&2
  exit 1
fi
[[ -x "$inspect" ]] || have_inspect=0

if [[ $have_inspect == 0 || ! -t 0 || ! -t 1 ]]; then
  args=("$@")
  has_duration=0
  for a in "${args[@]}"; do
    [[ "$a" == -d || "$a" == --duration || "$a" == --duration=* ]] && has_duration=1
  done
  ((has_duration)) || args=(--duration 10 "${args[@]}")
  echo "demo.sh: running $demo ${args[*]}"
  exec "$demo" "${args[@]}"
fi

# Job control puts the demo in its own process group with SIGINT at its default
# disposition (a script's background jobs otherwise ignore SIGINT), and hands the
# terminal to sched-inspect alone.
set -m
demo_log=$bdir/schedrt-demo.log
# The watchdog: a poll longer than 150 ms (the demo's slowest queries) makes the
# runtime save a dump by itself; `sched-inspect list` shows them afterwards.
export SCHEDRT_WATCHDOG_MS=${SCHEDRT_WATCHDOG_MS:-150}
export SCHEDRT_DUMP_DIR=${SCHEDRT_DUMP_DIR:-$root/build/demo-dumps}
mkdir -p -m 700 "$SCHEDRT_DUMP_DIR"
"$demo" "$@" >"$demo_log" 2>&1 &
demo_pid=$!

stop_demo() {
  kill -0 "$demo_pid" 2>/dev/null || return 0
  kill -INT "$demo_pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$demo_pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "demo.sh: the demo ignored SIGINT for 5 s: sending SIGTERM" >&2
  kill -TERM "$demo_pid" 2>/dev/null || true
}
trap stop_demo EXIT

# Give the demo a moment to publish its metrics segment
# (/dev/shm/schedrt.<uid>.<pid>.<starttime>.<n>, docs/shm-protocol.md) before attaching.
for _ in $(seq 50); do
  if ! kill -0 "$demo_pid" 2>/dev/null; then
    echo "demo.sh: the demo exited early; its output ($demo_log):" >&2
    cat "$demo_log" >&2
    wait "$demo_pid" || true
    exit 1
  fi
  compgen -G "/dev/shm/schedrt.*.$demo_pid.*" >/dev/null && break
  sleep 0.1
done

inspect_rc=0
"$inspect" "$demo_pid" || inspect_rc=$?

stop_demo
demo_rc=0
wait "$demo_pid" || demo_rc=$?
trap - EXIT
tail -n 4 "$demo_log"
echo "demo.sh: demo (pid $demo_pid) exited with status $demo_rc; its full output is in $demo_log"
if compgen -G "$SCHEDRT_DUMP_DIR/*.cbor" >/dev/null; then
  echo "demo.sh: the watchdog's dumps of slow polls are in $SCHEDRT_DUMP_DIR (sched-inspect show FILE)"
fi
exit "$inspect_rc"
