#!/usr/bin/env bash
# sched-inspect's TUI in the terminals an operator has: 80x24 and 60x20 (and a 28-column one), in tmux.
#   tui_narrow.sh SCHED_INSPECT SCHEDRT_DEMO INSPECT_TARGET
# Checks that what matters is never cut: the dump's status line wraps to its end (2/2 workers, the pause),
# the comparison of two dumps too, the last dump's findings, the help's lines, the status of a `d` whose
# -o DIR went away (refused before any request: no dump object in /dev/shm), the pid in the header at
# any width, the function bar's last key; the worker panel names its state and scrolls (PgDn); the dump
# viewer's footer names the selected task's whole await point; a stuck worker says STUCK in its row and
# its explanation in full. And the live view's smaller promises: the header says PAUSED, not LIVE, while
# paused; `r` says "reversed"; a refresh rate brought back from 10 s to 0.1 s applies at once; a hung
# target shows no busy figure. Exit 0 pass, 1 fail, 77 skip (no tmux).
set -uo pipefail

inspect=$1 demo=$2 target=$3
command -v tmux >/dev/null || { echo "SKIP: no tmux"; exit 77; }

source "$(dirname "$0")/tui_lib.sh"

# The row of the screen that matches the extended regex $1 (the first).
row_of() { screen | grep -E -m1 -- "$1"; }

# Dump objects of process $1 left in /dev/shm (a dump requested and never collected).
dump_objects() { compgen -G "/dev/shm/schedrt.*.$1.*.dump.*" | wc -l; }

demo_pid=$(start_bg "$demo" --workers 2 --duration 240 -q) || exit 1
pids+=("$demo_pid")

# ---------------------------------------------------------------- 80x24: the live view
new_term 80 24
mkdir "$work/out"
type_line "$inspect $demo_pid -d 2 -o $work/out"
wait_for "sched-inspect  pid $demo_pid " 10 || fail "80x24: no header"
wait_for 'polls/s [0-9]' 5 || fail "80x24: no rates"

tm send-keys -t e2e p
if wait_for ' PAUSED *$' 3; then
  pass "paused: the header says PAUSED"
  row_of "sched-inspect  pid" | grep -q 'LIVE' && fail "paused: the header still says LIVE"
else
  fail "paused: no PAUSED in the header"
fi
tm send-keys -t e2e p
wait_for ' LIVE *$' 3 && pass "resumed: LIVE again" || fail "resumed: no LIVE in the header"

tm send-keys -t e2e r
wait_for 'sorted by worker, reversed' 3 && pass "r says reversed" || fail "r: no 'reversed' in the status line"

# A rate brought back from 10 s to 0.1 s applies at once, not at the refresh due under 10 s.
for _ in 1 2 3 4 5 6 7; do tm send-keys -t e2e -- -; done
wait_for 'refresh every 10.0 s' 3 || fail "-: no 'refresh every 10.0 s'"
# The refresh that was due (within 0.2 s) comes; after it the next is 10 s away.
wait_changed "$(row_of 'heartbeat')" 3 || fail "no refresh after the rate went to 10 s"
before=$(row_of 'heartbeat')
for _ in 1 2 3 4 5 6 7; do tm send-keys -t e2e +; done
wait_for 'refresh every 0.1 s' 3 || fail "+: no 'refresh every 0.1 s'"
for ((i = 0; i < 20; i++)); do [[ "$(row_of 'heartbeat')" != "$before" ]] && break; sleep 0.1; done
if [[ "$(row_of 'heartbeat')" != "$before" ]]; then
  pass "the rate set back to 0.1 s applies at once"
else
  fail "the figures stayed frozen 2 s after + set the rate back to 0.1 s"
fi
tm send-keys -t e2e +

# The help: its lines wrap under their text, none is cut.
tm send-keys -t e2e h
if wait_for 'keys of the live view' 3; then
  screen | grep -Eq '^ +busy, running\)$' && pass "80x24: the help wraps its long lines" ||
    fail "80x24: the help's sort line is cut (no 'busy, running)' row)"
  screen | grep -Eq 'STUCK\.$' || fail "80x24: the help's stuck note is cut"
else
  fail "h: no help"
fi
tm send-keys -t e2e x
wait_for "sched-inspect  pid $demo_pid " 3 || fail "the help did not close"

# A dump: its status line wraps, and ends with the pause (a PARTIAL dump, when the demo's slow query holds a
# worker past the deadline, says more and wraps into more rows: the end must still be there).
tm send-keys -t e2e d
if wait_for 'dump (OK|PARTIAL): saved to' 15 && wait_for_joined '[12]/2 workers.* bytes, pause [0-9.]+[a-z]+\) d Dump' 3; then
  pass "80x24: the dump's status line is whole: $(screen | tr -s ' \n' '  ' | grep -Eo '[12]/2 workers.* bytes, pause [0-9.]+[a-z]+\)' | head -1)"
else
  fail "80x24: the dump's status line is cut"
fi
# The demo's seeded lost wake-up, named under the table to its end.
wait_for 'last dump: 1 lost wake-up: #[0-9]+ "stats-flush-[ab]"' 3 || fail "80x24: no last-dump line"
screen | tr -s ' \n' '  ' | grep -Eq '\(t shows it\)' && pass "80x24: the last dump's findings are whole" ||
  fail "80x24: the last dump's findings are cut"
tm send-keys -t e2e d
if wait_for 'vs the previous dump \(c compares\):' 15 && wait_for_joined 'bytes, pause [0-9.]+[a-z]+\) d Dump' 5; then
  pass "80x24: the comparison and the dump's status are whole"
else
  fail "80x24: the second dump's status line is cut"
fi

# The dump viewer: the selected task's whole await point in the footer.
tm send-keys -t e2e t
if wait_for "dump of pid $demo_pid" 5; then
  tm send-keys -t e2e a
  wait_for 'attention first' 3 || fail "viewer: a did not put attention first"
  tm send-keys -t e2e Down
  if wait_for '^ await "[^"]+" at [^ ]*demo_tasks\.c:[0-9]+ *$' 3; then
    pass "80x24: the viewer's footer names the selected task's await point"
  else
    fail "80x24: no await point in the viewer's footer"
  fi
  screen | grep -Eq '^L +#[0-9]+ +stats-flush-[ab] +idle +[^ ]+ +stats: wait' ||
    fail "80x24: the lost wake-up's row shows no await label"
  tm send-keys -t e2e q
  wait_for "sched-inspect  pid $demo_pid " 3 || fail "q did not leave the viewer"
else
  fail "t: no viewer"
fi

# The worker panel: the state by name, and PgDn scrolls the metrics.
tm send-keys -t e2e Home
tm send-keys -t e2e Enter
if wait_for "worker [01] of pid $demo_pid" 3; then
  screen | grep -Eq '^ state +(starting|running|searching|parked|stopped) ' && pass "the worker panel names the state" ||
    fail "the worker panel shows the state as a number"
  first=$(screen | grep -Eo 'meaning [0-9]+-[0-9]+/[0-9]+' | head -1)
  tm send-keys -t e2e NPage
  if [[ -n $first ]] && wait_for 'meaning [0-9]+-[0-9]+/[0-9]+' 2 && wait_gone "$first" 3; then
    pass "PgDn scrolls the worker panel: $first, then $(screen | grep -Eo 'meaning [0-9-]+/[0-9]+' | head -1)"
  else
    fail "the worker panel does not scroll (${first:-no range shown})"
  fi
  tm send-keys -t e2e NPage NPage NPage
  wait_for 'meaning [0-9]+-([0-9]+)/\1 *$' 3 && pass "PgDn reaches the last metrics" || fail "PgDn: never at the end"
  tm send-keys -t e2e Escape
  wait_for "sched-inspect  pid $demo_pid " 3 || fail "Esc: the panel stays"
else
  fail "Enter: no worker panel"
fi

# -o DIR gone since the start: `d` refuses at once, before any request, and says so in full.
mv "$work/out" "$work/out.gone"
n_before=$(dump_objects "$demo_pid")
tm send-keys -t e2e d
if wait_for 'dump failed: cannot create' 5 && wait_for 'no dump was asked for *$' 3; then
  pass "80x24: the -o error is whole"
else
  fail "80x24: no whole 'dump failed ... no dump was asked for'"
fi
[[ $(dump_objects "$demo_pid") == "$n_before" ]] && pass "no dump object left in /dev/shm" ||
  fail "a dump was requested for a directory that is gone"

# ---------------------------------------------------------------- 60x20, and 28 columns
tm resize-window -t e2e -x 60 -y 20
wait_for "pid $demo_pid " 3 || fail "60x20: the pid is cut"
mv "$work/out.gone" "$work/out"
tm send-keys -t e2e d
if wait_for 'saved to' 15 && wait_for_joined 'bytes, pause [0-9.]+[a-z]+\) d Dump' 3; then
  pass "60x20: the dump's status line is whole"
else
  fail "60x20: the dump's status line is cut"
fi
screen | tail -1 | grep -Eq 'h Help +q Quit *$' && pass "60x20: the function bar keeps h and q" ||
  fail "60x20: the function bar is cut"
# Every worker row has its figures whole: the numbers right-aligned under their headers, nothing past
# the edge (a cut figure would leave a row ending in the middle of a column).
rows=$(screen | grep -Ec '^ +[01] (running|search|parked|start|stopped|STUCK) ')
[[ $rows == 2 ]] && pass "60x20: a row per worker" || fail "60x20: expected 2 worker rows, got $rows"
tm resize-window -t e2e -x 28 -y 20
if wait_for "^ pid $demo_pid " 3; then
  pass "28 columns: the pid is whole: $(screen | head -1)"
else
  fail "28 columns: the pid is cut"
fi
tm send-keys -t e2e q
check_restored 0 "q at 28 columns"

# ---------------------------------------------------------------- 60x20: the dump viewer
file=$(compgen -G "$work/out/sched-dump-$demo_pid-*.cbor" | head -1)
if [[ -n $file ]]; then
  new_term 60 20
  type_line "$inspect show -t $file"
  if wait_for "dump of pid $demo_pid" 5; then
    tm send-keys -t e2e Down
    if wait_for '^ await "[^"]+" at [^ ]+\.c:[0-9]+ *$' 3; then
      pass "60x20: the viewer's footer keeps the site's line number"
    else
      fail "60x20: the viewer's footer is cut"
    fi
    screen | grep -Eq '^! [-+] ' || screen | grep -Eq '^  [-+] ' || fail "60x20: no group rows"
    screen | grep -E '^. [-+] ' | grep -Evq 'longest [0-9.]+[a-z]+ *$|…|~ *$' &&
      fail "60x20: a group row is cut"
  else
    fail "60x20: show -t: no viewer"
  fi
  tm send-keys -t e2e q
  check_restored 0 "q in the viewer at 60x20"
else
  fail "no dump in $work to open"
fi

# ---------------------------------------------------------------- 80x24: stuck and hung
tpid=$(start_bg env -u SCHEDRT_TIMING "$target" --workers 2 --stuck-ms 900) || exit 1
pids+=("$tpid")
new_term 80 24
type_line "$inspect $tpid -d 1 --stuck-ms 50"
wait_for "sched-inspect  pid $tpid " 10 || fail "stuck: no header"
if wait_for '^ +[01] STUCK ' 10; then
  pass "80x24: the stuck worker's row says STUCK"
else
  fail "80x24: no STUCK in the worker rows"
fi
# Its explanation, whole: the task and its site, or why they are not known yet.
if wait_for '^   ("spinner" spawned at [^ ]*\.c:[0-9]+|not named yet: .* d dumps now) *$' 5; then
  pass "80x24: the stuck worker's explanation is whole"
else
  fail "80x24: the stuck worker's explanation is cut"
fi
kill -STOP "$tpid"
if wait_for 'TARGET HUNG' 5; then
  wait_for 'busy - ' 3 && pass "hung: no busy figure" || fail "hung: a busy figure is shown ($(screen | grep -Eo 'busy [^ ]+'))"
else
  fail "no HUNG banner"
fi
kill -CONT "$tpid"
tm send-keys -t e2e q
check_restored 0 "q after the hung target"

echo
if ((failures)); then
  echo "tui_narrow: $failures failure(s)"
  exit 1
fi
echo "tui_narrow: all passed"
