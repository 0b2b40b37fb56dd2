#!/usr/bin/env bash
# sched-inspect's events screen (e) in tmux at 80x24, against inspect_target.
#   tui_events.sh SCHED_INSPECT INSPECT_TARGET
# Checks: the live view's help lists e; with SCHEDRT_EVENTS=1, e opens the screen: its title, the count
# line, the column heads, rows in the line format of `sched-inspect events` after their ring (the spinner's
# polls named by their spawn site), the function bar on the last row; it refreshes (the count of events
# kept changes) and scrolls (PgUp says so in the title, End follows the newest again); Esc goes back to
# the live view. With SCHEDRT_EVENTS=0, e says how to turn events on. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail

inspect=$1 target=$2
command -v tmux >/dev/null || { echo "SKIP: no tmux"; exit 77; }

source "$(dirname "$0")/tui_lib.sh"

# The "N events kept" count of the screen, or empty.
kept() { screen | sed -n 2p | grep -Eo '[0-9]+ events kept' | grep -Eo '^[0-9]+'; }

# ---------------------------------------------------------------- events on
pid=$(start_ready "$work/on.log" env SCHEDRT_EVENTS=1 "$target" --workers 2 --idle 2 --stuck-ms 20 \
  --rest-ms 50) || exit 1
pids+=("$pid")
new_term 80 24
type_line "$inspect $pid -d 5"
wait_for "sched-inspect  pid $pid " 10 || fail "80x24: no live view"
tm send-keys -t e2e h
wait_for '^  e +the newest events of the target' 5 && pass "the live view's help lists e" ||
  fail "the help does not list e"
tm send-keys -t e2e q
wait_for "sched-inspect  pid $pid " 5 || fail "the help did not close"
tm send-keys -t e2e e
if wait_for "^ events of pid $pid \"target\"  \(newest at the bottom\)" 5; then
  pass "e opens the events screen"
else
  fail "e: no events screen"
fi
wait_for '^ 3 rings of 4096: [0-9]+ events kept, [0-9]+ written, [0-9]+ overwritten' 3 &&
  pass "the count line: 2 workers' rings and the other threads'" || fail "no count line"
wait_for '^RING +SECONDS #SEQ +KIND +ARGUMENTS' 3 && pass "the column heads" || fail "no column heads"
if wait_for '^w[01] +-[0-9]+\.[0-9]{6} #[0-9]+ +poll_(start|end) +task [0-9]+ \[spinner @ tests/e2e/inspect_t' 5; then
  pass "the spinner's polls, named by their spawn site, in the line format of events"
else
  fail "no poll row of the spinner"
fi
wait_for '^other +-[0-9]+\.[0-9]{6} #[0-9]+ +(wake|stall|spawn) ' 5 && pass "the other threads' ring" ||
  fail "no row of the other threads' ring"
screen | tail -1 | grep -Eq '^h Help +Esc Back *$' && pass "the function bar on row 24" ||
  fail "no function bar on the last row"
rows=$(screen | wc -l)
wide=$(screen | awk 'length > 80' | wc -l)
[[ $rows -le 24 && $wide == 0 ]] && pass "fits 80x24" || fail "$rows rows, $wide wider than 80"
# Waits (at most $2 s) until the count of events kept differs from $1.
kept_changed() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [[ -n $(kept) && $(kept) != "$1" ]] && return 0
    sleep 0.1
  done
  return 1
}
n=$(kept)
if [[ -n $n ]] && kept_changed "$n" 5; then
  pass "it refreshes ($n events kept, then $(kept))"
else
  fail "the events did not refresh ($n kept)"
fi
tm send-keys -t e2e PPage
wait_for "^ events of pid $pid \"target\"  \(scrolled: End follows the newest\)" 3 && pass "PgUp scrolls back" ||
  fail "PgUp: the title does not say scrolled"
# End as the terminal's terminfo says (kend): tmux's own End sequence is another terminal's.
tm send-keys -t e2e -l "$(tput -T xterm-256color kend)"
wait_for "^ events of pid $pid \"target\"  \(newest at the bottom\)" 3 && pass "End follows the newest" ||
  fail "End: not following the newest"
tm send-keys -t e2e Escape
wait_for "sched-inspect  pid $pid " 5 && pass "Esc: back to the live view" || fail "Esc did not go back"
tm send-keys -t e2e q
check_restored 0 "q from the live view"

# ---------------------------------------------------------------- events off
off=$(start_ready "$work/off.log" env SCHEDRT_EVENTS=0 "$target" --workers 1 --idle 2) || exit 1
pids+=("$off")
new_term 80 24
type_line "$inspect $off"
wait_for "sched-inspect  pid $off " 10 || fail "events off: no live view"
tm send-keys -t e2e e
if wait_for '^ events are off: start the program with SCHEDRT_EVENTS=1' 5; then
  pass "events off: the screen says how to turn them on"
else
  fail "events off: no message"
fi
tm send-keys -t e2e q q
check_restored 0 "q q with events off"

echo
if ((failures)); then
  echo "tui_events: $failures failure(s)"
  exit 1
fi
echo "tui_events: all passed"
