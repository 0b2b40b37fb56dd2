#!/usr/bin/env bash
# The live view's SPAWN SITES table at 80x24, in tmux (issue 14).
#   tui_sites.sh SCHED_INSPECT SCHEDRT_DEMO INSPECT_TARGET
# The demo (with per-poll timing): the table shows the demo's sites under its two workers with every
# column (alive, spawn/s, polls/s, busy %, latency) inside 80 columns, `S` changes its order, and none of
# its healthy sites is marked a leak suspect while it is watched past the warm-up and five periods. A
# scripted leak (inspect_target --leak: one task a tenth of a second that never ends, beside one that
# ends at once): its site is marked LEAK? in the live view and leak_suspect in `stat --json` within the
# warm-up and five periods, and the sites beside it never are. Exit 0 pass, 1 fail, 77 skip (no tmux).
set -uo pipefail

inspect=$1 demo=$2 target=$3
command -v tmux >/dev/null || { echo "SKIP: no tmux"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3 (the --json check)"; exit 77; }

source "$(dirname "$0")/tui_lib.sh"

# The leak rule's figures (inspector/src/site_model.h): 10 s of warm-up, then five 1 s periods.
mark_within=25

# ---------------------------------------------------------------- the demo's sites
demo_pid=$(SCHEDRT_TIMING=1 start_bg "$demo" --workers 2 --duration 120 -q) || exit 1
pids+=("$demo_pid")
new_term 80 24
type_line "$inspect $demo_pid"
wait_for '^SPAWN SITES' 10 || fail "80x24: no SPAWN SITES table"
wait_for 'demo_tasks\.c:[0-9]+ spawn_conn' 5 || fail "80x24: the demo's connection site is not listed"
if screen | grep -Eq '^SITE +ALIVE +SPAWN/s +POLLS/s +BUSY% +LATENCY *$'; then
  pass "80x24: every column of the table fits"
else
  fail "80x24: the table's column heads are not all there"
fi
nsites=$(screen | grep -Ec '^demo_(tasks|log)\.c:[0-9]+ ')
[ "$nsites" -ge 4 ] && pass "80x24: $nsites of the demo's sites listed" || fail "80x24: only $nsites demo sites listed"
screen | grep -Eq '^  0 ' && screen | grep -Eq '^  1 ' && pass "80x24: both workers above the table" ||
  fail "80x24: the workers' rows are not both shown"
tm send-keys -t e2e S
wait_for 'SPAWN SITES.*by spawn/s' 3 && pass "S sorts the sites by spawn/s" || fail "S: no 'by spawn/s'"
# Healthy sites are never suspects: watched through the warm-up and past five periods.
leaks=0
for ((i = 0; i < mark_within * 4; i++)); do
  screen | grep -q 'LEAK?' && { leaks=1; break; }
  sleep 0.25
done
[ "$leaks" = 0 ] && pass "the demo's healthy sites were never marked (${mark_within} s)" ||
  fail "a healthy demo site was marked a leak suspect"
tm send-keys -t e2e q
wait_for '^PROMPT\$' 5 || fail "q did not leave the live view"

# ---------------------------------------------------------------- a scripted leak
leak_pid=$(start_ready "$work/leak.log" "$target" --workers 2 --leak --idle 5) || exit 1
pids+=("$leak_pid")
"$inspect" stat "$leak_pid" --json -i 1 -c "$mark_within" >"$work/stat.jsonl" 2>"$work/stat.err" &
stat_pid=$!
pids+=("$stat_pid")
new_term 80 24
type_line "$inspect $leak_pid"
wait_for 'inspect_target\.c:[0-9]+ leak_one' 10 || fail "the leak's site is not listed"
if wait_for '^LEAK\? +inspect_target\.c:[0-9]+ leak_one' "$mark_within"; then
  pass "the leaking site is marked LEAK? in the live view"
  wait_for 'leak suspect' 2 && pass "the table's title counts the suspect" || fail "no 'leak suspect' in the title"
else
  fail "the leaking site was not marked within $mark_within s"
fi
screen | grep -E 'churn_one|main' | grep -q 'LEAK?' && fail "a healthy site beside the leak was marked"
wait "$stat_pid"
python3 - "$work/stat.jsonl" <<'PY' && pass "stat --json marks the leak, and only it" || fail "stat --json: see above"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
marked_at = None
for i, r in enumerate(rows):
    for s in r["sites"] or []:
        if s.get("leak_suspect"):
            if s.get("func") != "leak_one":
                sys.exit(f"sample {i}: {s.get('func')} marked")
            marked_at = i if marked_at is None else marked_at
if marked_at is None:
    sys.exit(f"leak_one never marked in {len(rows)} samples")
leak = [s for s in rows[-1]["sites"] if s.get("func") == "leak_one"][0]
assert leak["alive"] == leak["spawned"] and leak["ended"] == 0, leak
print(f"stat --json: leak_one marked at sample {marked_at}, alive {leak['alive']}")
PY
[ "$failures" = 0 ] || exit 1
