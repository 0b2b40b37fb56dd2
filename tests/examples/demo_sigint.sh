#!/usr/bin/env bash
# The demo as a user runs it: start, wait for its "attach with" line, then
# SIGINT (Ctrl-C) and, in a second run, SIGHUP (its terminal closed), and
# expect a clean exit, a summary with requests served, and no shm left.
# Usage: demo_sigint.sh DEMO [metrics]   ("metrics": the build publishes a segment)
set -u
demo=$1
metrics=${2:-}
out=$(mktemp)
pid=
started=()
# Whatever happens, no demo is left running, and no temp file or segment of
# theirs behind (a demo that died of its signal leaves its segment: the failure).
cleanup() {
  rm -f "$out"
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  for p in "${started[@]}"; do rm -f /dev/shm/schedrt."$(id -u)"."$p".* /tmp/schedrt-demo-report."$p".txt; done
}
trap cleanup EXIT

one() { # SIGNAL
  local sig=$1
  # Emptied here, not by the redirection below: that one runs in the forked child, maybe
  # after the loop below has already read the previous run's "attach with" line.
  : >"$out"
  "$demo" --workers 2 --connections 50 >>"$out" 2>&1 &
  pid=$!
  started+=("$pid")
  for _ in $(seq 1 100); do
    grep -q "attach with" "$out" && break
    # Polls the demo's own output for its start line; there is no other signal.
    sleep 0.05
  done
  grep -q "attach with" "$out" || { echo "demo did not start"; cat "$out"; exit 1; }
  if [ "$metrics" = metrics ]; then
    [ -n "$(ls /dev/shm | grep "^schedrt\.$(id -u)\.$pid\." 2>/dev/null)" ] || {
      echo "no metrics segment for pid $pid while the demo runs"; ls -l /dev/shm; exit 1; }
  fi
  kill -"$sig" "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "demo still running 5 s after SIG$sig"; kill -KILL "$pid"; exit 1
  fi
  wait "$pid"
  local rc=$? gone=$pid
  pid=
  cat "$out"
  [ "$rc" -eq 0 ] || { echo "demo exited with $rc after SIG$sig"; exit 1; }
  # The signal may come before the first request: the summary is what must be there
  # (example_demo_duration checks that requests are served).
  grep -Eq "served [0-9]+ requests" "$out" || { echo "no shutdown summary after SIG$sig"; exit 1; }
  local left
  left=$(ls /dev/shm | grep "^schedrt\.$(id -u)\.$gone\." || true)
  [ -z "$left" ] || { echo "left behind in /dev/shm after SIG$sig: $left"; exit 1; }
  # The blocking pool's report export writes a file while the demo runs: gone at exit too.
  [ ! -e "/tmp/schedrt-demo-report.$gone.txt" ] || {
    echo "left behind after SIG$sig: /tmp/schedrt-demo-report.$gone.txt"; exit 1; }
}

one INT
one HUP
echo "demo_sigint: ok"
