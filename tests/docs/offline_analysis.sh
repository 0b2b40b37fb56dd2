#!/usr/bin/env bash
# docs/offline-analysis.md's two programs, on a dump of schedrt-demo run with per-poll timing: the Python
# one (cbor2 on the CBOR file) and the jq one (on `sched-inspect show --json`) must print the same two
# lines, and those must name an await point of the dump and a busiest worker with some poll time.
# Then the recording section's two programs on a 3 s recording of the same demo: the same busiest worker
# with the same busy %.
#   offline_analysis.sh SOURCE_DIR SCHED_INSPECT SCHEDRT_DEMO
# Exit 0 when they agree, 1 otherwise, 77 (skipped) when python3-cbor2 or jq is missing.
set -euo pipefail
src=$1 inspect=$2 demo=$3
py=/usr/bin/python3 # Debian's, with python3-cbor2 (a pyenv python lacks it)
"$py" -c 'import cbor2' 2>/dev/null || { echo "offline_analysis: skipped: python3-cbor2 is not installed"; exit 77; }
command -v jq >/dev/null || { echo "offline_analysis: skipped: jq is not installed"; exit 77; }

work=$(mktemp -d /tmp/offline_analysis.XXXXXX)
demo_pid=
cleanup() {
  # SIGTERM: the demo removes its segment on the way out.
  [[ -n $demo_pid ]] && kill "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The two programs, as the document shows them.
doc=$src/docs/offline-analysis.md
block() { awk -v m="<!-- offline-analysis:$1 -->" '$0 == m {want = 1; next}
  want && /^```/ { if (inside) exit; inside = 1; next } inside { print }' "$doc"; }
block python >"$work/longest_wait.py"
block jq >"$work/longest_wait.sh"
[[ -s $work/longest_wait.py && -s $work/longest_wait.sh ]] || { echo "offline_analysis: the document's programs were not found"; exit 1; }
block recording-python >"$work/busiest.py"
block recording-jq >"$work/busiest.sh"
[[ -s $work/busiest.py && -s $work/busiest.sh ]] || { echo "offline_analysis: the recording programs were not found"; exit 1; }

SCHEDRT_TIMING=1 "$demo" --workers 2 --duration 60 -q >"$work/demo.log" 2>&1 &
demo_pid=$!
# The dump can be asked for once the segment is there; a fresh demo has no waits yet: dump until one
# has idle tasks with an await point and poll-time histograms (bounded: 20 tries).
ok=
for i in $(seq 1 20); do
  rm -f "$work/d.cbor"
  if "$inspect" dump "$demo_pid" -o "$work/d.cbor" >/dev/null 2>&1 || [[ -s $work/d.cbor ]]; then
    if "$inspect" show "$work/d.cbor" --json | jq -e '([.tasks[] | select(.state == "idle" and .await != null)] | length > 0)
        and ([.workers[].poll_time // [] | add // 0] | add > 0)' >/dev/null; then
      ok=1
      break
    fi
  fi
  sleep 0.5 # the demo's tasks need time to start waiting; nothing to wait on but the clock
done
[[ -n $ok ]] || { echo "offline_analysis: no dump with waiting tasks and poll times after 20 tries"; exit 1; }

from_py=$("$py" "$work/longest_wait.py" "$work/d.cbor")
from_jq=$(PATH=$(dirname "$inspect"):$PATH DUMP=$work/d.cbor bash "$work/longest_wait.sh")
echo "python: $from_py"
echo "jq:     $from_jq"
[[ $from_py == "$from_jq" ]] || { echo "offline_analysis: the two programs disagree"; exit 1; }
grep -Eq '^longest wait: .+ \(.+:[0-9]+\) [0-9]+ ns, [1-9][0-9]* tasks waiting there$' <<<"$from_py" ||
  { echo "offline_analysis: no longest wait line"; exit 1; }
grep -Eq '^busiest worker: [01] \([1-9][0-9]* ns of polls at least\)$' <<<"$from_py" ||
  { echo "offline_analysis: no busiest worker with poll time"; exit 1; }
"$inspect" record "$demo_pid" -i 50ms --duration 3s -o "$work/r.cbor" 2>"$work/record.log" ||
  { cat "$work/record.log"; echo "offline_analysis: record failed"; exit 1; }
rec_py=$("$py" "$work/busiest.py" "$work/r.cbor")
rec_jq=$(PATH=$(dirname "$inspect"):$PATH REC=$work/r.cbor bash "$work/busiest.sh")
echo "python: $rec_py"
echo "jq:     $rec_jq"
[[ $rec_py == "$rec_jq" ]] || { echo "offline_analysis: the recording programs disagree"; exit 1; }
grep -Eq '^busiest worker over the recording: [01] \(([1-9][0-9]?|100)% busy\)$' <<<"$rec_py" ||
  { echo "offline_analysis: no busiest worker with some busy time in the recording"; exit 1; }
echo "offline_analysis: ok"
