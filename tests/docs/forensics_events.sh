#!/usr/bin/env bash
# docs/forensics.md's worked example of the event ring, run as the document shows it: the block after
# <!-- forensics:events --> with t and i set to inspect_target and sched-inspect; what it prints must be
# the block after <!-- forensics:events-output -->.
#   forensics_events.sh SOURCE_DIR SCHED_INSPECT INSPECT_TARGET
# Exit 0 when they agree, 1 otherwise, 77 (skipped) without jq.
set -euo pipefail
src=$1 i=$2 t=$3
command -v jq >/dev/null || { echo "forensics_events: skipped: jq is not installed"; exit 77; }
doc=$src/docs/forensics.md
block() { awk -v m="<!-- forensics:$1 -->" '$0 == m {want = 1; next}
  want && /^```/ { if (inside) exit; inside = 1; next } inside { print }' "$doc"; }
work=$(mktemp -d /tmp/forensics_events.XXXXXX)
trap 'rm -rf "$work"' EXIT
block events >"$work/example.sh"
block events-output >"$work/want"
[[ -s $work/example.sh && -s $work/want ]] || { echo "forensics_events: the document's blocks were not found"; exit 1; }
# The example stops its target and resumes it at the end; one that fails half-way must not leave it
# stopped (nor its segment behind): the shell running it resumes and ends it on its way out.
guard='pid=; trap '"'"'if [[ -n $pid ]]; then kill -CONT "$pid" || true; kill "$pid" || true; fi 2>/dev/null'"'"' EXIT'
export t i
( cd "$work" && timeout 60 bash -euo pipefail -c "$guard
$(cat "$work/example.sh")" ) >"$work/got"
if ! diff -u "$work/want" "$work/got"; then
  echo "forensics_events: FAIL: the example printed something else"
  exit 1
fi
echo "forensics_events: ok"
