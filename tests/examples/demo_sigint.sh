#!/usr/bin/env bash
# The demo as a user runs it: start, wait for its "attach with" line, SIGINT,
# and expect a clean exit, a summary with requests served, and no shm left.
# Usage: demo_sigint.sh DEMO [metrics]   ("metrics": the build publishes a segment)
set -u
demo=$1
metrics=${2:-}
out=$(mktemp)
pid=
# Whatever happens, no demo is left running and no temp file behind.
trap 'rm -f "$out"; [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null' EXIT
"$demo" --workers 2 --connections 50 >"$out" 2>&1 &
pid=$!
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
kill -INT "$pid"
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if kill -0 "$pid" 2>/dev/null; then
  echo "demo still running 5 s after SIGINT"; kill -KILL "$pid"; exit 1
fi
wait "$pid"
rc=$?
pid=
cat "$out"
[ "$rc" -eq 0 ] || { echo "demo exited with $rc"; exit 1; }
# SIGINT may come before the first request: the summary is what must be there
# (example_demo_duration checks that requests are served).
grep -Eq "served [0-9]+ requests" "$out" || { echo "no shutdown summary"; exit 1; }
left=$(ls /dev/shm | grep "^schedrt\.$(id -u)\.$pid\." || true)
[ -z "$left" ] || { echo "left behind in /dev/shm: $left"; exit 1; }
echo "demo_sigint: ok"
