#!/usr/bin/env bash
# sched-inspect's TUI end to end, in a real terminal: tmux runs a shell, the test types into it
# and reads the screen with capture-pane.
#   tui_e2e.sh SCHED_INSPECT SCHEDRT_DEMO INSPECT_TARGET
# Checks: a row per worker and the header figures; `d` saves a dump named in the status line and
# the file decodes (sched-inspect show, and python3-cbor2 when present); `t` opens it, its `h` shows
# the viewer's keys and closes back to it, `q` and `Esc` return to the live view; `h` shows the
# help, `s` sorts and its status message expires; `Enter` opens the worker panel (Down steps, the
# figures keep moving under it, the demo's histograms show their percentiles over the run and the
# last refresh and their buckets as bars, `h`/`t` come back to it, `Esc` leaves); `q` quits and the
# terminal is back (stty sane, no alternate screen); resize and 80x24; NO_COLOR; SIGTERM restores
# the terminal; `show -t` with its help, `g`, `Enter`/`Esc` and `q`; `c` before a second dump says so, a
# second `d` compares with the first in the status line and `c` opens the diff screen (its help, Esc);
# the viewer marks a real deadlock and lost wake-up (D, L; under NO_COLOR too), `a` puts them first, then
# alone, and the detail pane says what can wake a task; a stuck worker is highlighted,
# its line keeps the spawn site's line number at 80 columns; a target without SCHEDRT_TIMING gets
# the hint line in the worker panel; a hung target and an exited one get their banners.
# Exit 0 pass, 1 fail, 77 skip (no tmux).
set -uo pipefail

inspect=$1 demo=$2 target=$3
command -v tmux >/dev/null || { echo "SKIP: no tmux"; exit 77; }

# tmux, the work directory, cleanup and the helpers below: tui_lib.sh.
source "$(dirname "$0")/tui_lib.sh"

demo_pid=$(start_bg "$demo" --workers 2 --duration 120 -q) || exit 1
pids+=("$demo_pid")

# ---------------------------------------------------------------- the main walk-through
# 34 rows: the worker panel lists every worker metric, then both histograms and the buckets.
new_term 100 34
type_line "$inspect $demo_pid -d 2"
wait_for "sched-inspect  pid $demo_pid" 10 && pass "attached" || fail "no header"
wait_for 'polls/s [0-9]' 5 && pass "rates shown" || fail "no polls/s figure"
for re in "workers 2 \(run" "alive [0-9]" "inject [0-9]" "heartbeat [0-9]" "steals/s" "spawn/s" "LIVE"; do
  screen | grep -Eq -- "$re" || fail "header lacks /$re/"
done
rows=$(screen | grep -Ec '^ +[01] (running|search|parked|start|stopped|STUCK) ')
[[ $rows == 2 ]] && pass "a row per worker" || fail "expected 2 worker rows, got $rows"
screen | grep -q 'attached in' && pass "attach time: $(screen | grep -o 'attached in [0-9.]* ms')"

tm send-keys -t e2e s
wait_for 'sorted by depth' 3 && pass "s sorts" || fail "s: no 'sorted by depth'"
# Status messages of the live view's keys last 2 s (the live view's tick clears them).
wait_gone 'sorted by depth' 6 && pass "the status line expires" || fail "'sorted by depth' stays"

tm send-keys -t e2e d
if wait_for 'saved to \./sched-dump-'"$demo_pid"'-[0-9-]+\.cbor' 15; then
  file=$(screen | grep -Eo 'sched-dump-'"$demo_pid"'-[0-9-]+\.cbor' | head -1)
  pass "d saved $file"
  # The demo's seeded bug: two flushers share one waker slot, so one of them is a lost wake-up.
  if screen | grep -Eq '^ ! last dump: 1 lost wake-up: #[0-9]+ "stats-flush-[ab]" idle [0-9.]+[a-z]+ at [^ ]*demo_tasks\.c:[0-9]+'; then
    pass "the live view names the dump's lost wake-up"
  else
    fail "no '! last dump: 1 lost wake-up' line for the demo's seeded bug"
  fi
  if "$inspect" show "$work/$file" >"$work/show.txt" 2>&1 && grep -q 'TASKS BY AWAIT POINT' "$work/show.txt"; then
    pass "the dump decodes (sched-inspect show)"
  else
    fail "sched-inspect show $file: $(head -3 "$work/show.txt")"
  fi
  if /usr/bin/python3 -c 'import cbor2' 2>/dev/null; then
    if /usr/bin/python3 -c 'import cbor2,sys; d=cbor2.load(open(sys.argv[1],"rb")); d=getattr(d,"value",d); assert d["format"]=="schedrt-dump", d["format"]' "$work/$file"; then
      pass "the dump decodes (python3 cbor2)"
    else
      fail "cbor2 could not decode $file"
    fi
  fi
  dump_file=$work/$file
  tm send-keys -t e2e t
  wait_for "dump of pid $demo_pid" 5 && pass "t opens the dump viewer" || fail "t: no viewer"
  wait_for 'await|idle|running' 2 || fail "viewer shows no tasks"
  # The help is the one of the screen it was opened from, and closes back to it.
  tm send-keys -t e2e h
  if wait_for 'keys of the dump viewer' 3; then
    pass "h in the t viewer shows the viewer's keys"
    screen | grep -q 'group tasks by await point' || fail "the viewer's help lacks the g key"
    screen | grep -q 'take a task dump' && fail "the viewer's help lists the live view's keys"
  else
    fail "h in the t viewer: no viewer help"
  fi
  tm send-keys -t e2e x
  wait_for "dump of pid $demo_pid" 3 && pass "the help closes back to the viewer" ||
    fail "closing the help did not return to the viewer"
  tm send-keys -t e2e Enter
  tm send-keys -t e2e q
  wait_for "sched-inspect  pid $demo_pid" 5 && pass "q leaves the viewer" || fail "q did not leave the viewer"
  tm send-keys -t e2e t
  wait_for "dump of pid $demo_pid" 5 || fail "t: no viewer the second time"
  tm send-keys -t e2e Escape
  wait_for "sched-inspect  pid $demo_pid" 5 && pass "Esc leaves the viewer" || fail "Esc did not leave the viewer"

  # Comparing: one dump is not enough; a second d compares with the first, c opens the diff.
  tm send-keys -t e2e c
  wait_for 'compare needs two dumps: press d once more' 3 && pass "c after one dump says what it needs" ||
    fail "c after one dump: no hint"
  tm send-keys -t e2e d
  if wait_for 'vs the previous dump \(c compares\): [0-9]+ new lost wake-ups?, [0-9]+ stalled' 15; then
    pass "a second d compares with the first: $(screen | grep -Eo 'vs the previous dump[^;]*' | head -1)"
    tm send-keys -t e2e c
    if wait_for 'diff of the last two dumps' 5 && wait_for '^HEADLINES' 3; then
      pass "c opens the diff screen"
      screen | grep -q "Two dumps of pid $demo_pid" || fail "the diff screen lacks its first line"
      tm send-keys -t e2e h
      wait_for 'keys of the diff screen' 3 && pass "h in the diff screen shows its keys" || fail "diff screen: no help"
      tm send-keys -t e2e x
      wait_for 'diff of the last two dumps' 3 || fail "the help did not close back to the diff screen"
      tm send-keys -t e2e Escape
      wait_for "sched-inspect  pid $demo_pid" 3 && pass "Esc leaves the diff screen" || fail "Esc: the diff stays"
    else
      fail "c after two dumps: no diff screen"
    fi
  else
    fail "the second d: no comparison in the status line"
  fi
else
  fail "d: no 'saved to ./sched-dump-$demo_pid-...cbor' in the status line"
fi

tm send-keys -t e2e h
wait_for 'keys of the live view' 3 && pass "h shows the help" || fail "h: no help"
screen | grep -q 'take a task dump' || fail "help lacks the d key"
tm send-keys -t e2e x
wait_for "sched-inspect  pid $demo_pid" 3 || fail "the help did not close"

# The worker panel sits on the live view: Up/Down are its own, other keys are the live view's.
tm send-keys -t e2e Home
tm send-keys -t e2e Enter
if wait_for "worker [01] of pid $demo_pid" 3; then
  pass "Enter opens the worker panel"
  w=$(screen | grep -Eo "worker [01] of pid" | head -1 | cut -d' ' -f2)
  tm send-keys -t e2e Down
  wait_for "worker $((1 - w)) of pid $demo_pid" 3 && pass "Down steps to the other worker" ||
    fail "Down: still worker $w"
  # The snapshots go on under the panel (the live view's timed work runs below the top screen).
  wait_for '^ polls +[0-9]+' 3 || fail "the worker panel shows no polls counter"
  wait_changed "$(screen)" 5 && pass "the worker panel's figures move" || fail "the worker panel is frozen"
  # The demo runs with SCHEDRT_CFG_TIMING: both histograms, over the whole run and the last refresh
  # (known from the second snapshot taken while the panel is open), then the buckets as bars.
  dur='[>=0-9.m]*[0-9](ns|us|ms|s)'
  if wait_for "^ poll_time +whole run +[0-9.]+[kMG]? +$dur +$dur +$dur +$dur" 5 &&
    wait_for "^ +last $dur +[0-9.]+[kMG]? +($dur|-) +($dur|-) +($dur|-) +($dur|-)" 5; then
    pass "the worker panel shows poll_time's p50/p90/p99/max over the run and the last refresh"
  else
    fail "the worker panel: no poll_time percentiles over the run and the last refresh"
  fi
  screen | grep -Eq "^ sched_latency +whole run +[0-9.]+[kMG]? +$dur" || fail "the worker panel: no sched_latency row"
  if wait_for "poll_time buckets +run +last" 3 && screen | grep -Eq -- "<$dur +█+"; then
    pass "the worker panel draws the buckets as bars labelled with their bounds"
  else
    fail "the worker panel: no bucket bars"
  fi
  tm send-keys -t e2e h
  wait_for 'keys of the live view' 3 && pass "h in the worker panel shows the live view's keys" ||
    fail "h in the worker panel: no help"
  tm send-keys -t e2e x
  wait_for "worker [01] of pid $demo_pid" 3 && pass "the help closes back to the worker panel" ||
    fail "closing the help did not return to the worker panel"
  if [[ -n ${dump_file:-} ]]; then
    tm send-keys -t e2e t
    wait_for "dump of pid $demo_pid" 5 || fail "t in the worker panel: no viewer"
    tm send-keys -t e2e q
    wait_for "worker [01] of pid $demo_pid" 3 && pass "q in the viewer returns to the worker panel" ||
      fail "q in the viewer opened from the worker panel did not return to it"
  fi
  tm send-keys -t e2e Escape
  wait_for "sched-inspect  pid $demo_pid" 3 && pass "Esc closes the worker panel" || fail "Esc: the panel stays"
else
  fail "Enter: no worker panel"
fi

tm send-keys -t e2e p
wait_for 'PAUSED' 3 && pass "p pauses" || fail "p: no PAUSED banner"
tm send-keys -t e2e p
tm send-keys -t e2e +
wait_for 'refresh every 0.1 s' 3 && pass "+ speeds up" || fail "+: no rate message"

tm send-keys -t e2e q
check_restored 0 "q"

# ---------------------------------------------------------------- 80x24 and resize
new_term 80 24
type_line "$inspect $demo_pid -d 2"
wait_for "sched-inspect  pid $demo_pid" 10 || fail "80x24: no header"
wait_for 'polls/s [0-9]' 5 || fail "80x24: no rates"
for col in 'STATE' 'DEPTH' 'QUEUE' 'HISTORY' 'polls/s' 'steals/s' 'parks/s' 'BUSY%' 'TASK'; do
  screen | grep -q -- "$col" || fail "80x24: column $col missing"
done
screen | grep -Eq 'd *Dump.*c *Diff.*q *Quit' || fail "80x24: function bar cut (or no c Diff)"
pass "80x24 shows every column and the function bar"
tm resize-window -t e2e -x 60 -y 16
sleep 0.5
wait_for "sched-inspect  pid $demo_pid" 3 && pass "resized to 60x16" || fail "60x16: no header"
tm resize-window -t e2e -x 120 -y 40
sleep 0.5
wait_for 'HISTORY' 3 && pass "resized to 120x40" || fail "120x40: no table"
tm send-keys -t e2e q
check_restored 0 "q after resize"

# ---------------------------------------------------------------- NO_COLOR and -n
new_term 80 24 "NO_COLOR=1"
# -n 30 at 0.1 s: on screen for 3 s (a loaded machine's captures may be that far apart), then it quits by
# itself.
type_line "$inspect $demo_pid -d 1 -n 30"
wait_for "sched-inspect  pid $demo_pid" 10 || fail "NO_COLOR: no header"
for ((i = 0; i < 150; i++)); do screen | grep -q "sched-inspect  pid" || break; sleep 0.1; done
check_restored 0 "NO_COLOR with -n 5"

# ---------------------------------------------------------------- SIGTERM
new_term 80 24
type_line "$inspect $demo_pid -d 5"
wait_for "sched-inspect  pid $demo_pid" 10 || fail "sigterm: no header"
# The shell's child in the pane is sched-inspect.
ipid=$(pgrep -n -P "$(tm display-message -p -t e2e '#{pane_pid}')")
[[ -n $ipid ]] || fail "sigterm: no sched-inspect process under the pane's shell"
kill -TERM "$ipid"
wait_exit "$ipid" 5 || fail "sigterm: sched-inspect still runs"
check_restored 143 "SIGTERM"

# ---------------------------------------------------------------- SIGSEGV (the crash path)
new_term 80 24
type_line "$inspect $demo_pid -d 5"
wait_for "sched-inspect  pid $demo_pid" 10 || fail "sigsegv: no header"
ipid=$(pgrep -n -P "$(tm display-message -p -t e2e '#{pane_pid}')")
kill -SEGV "$ipid"
wait_exit "$ipid" 5 || fail "sigsegv: sched-inspect still runs"
check_restored 139 "SIGSEGV"

# ---------------------------------------------------------------- show -t
if [[ -n ${dump_file:-} ]]; then
  new_term 100 30
  type_line "$inspect show -t $dump_file"
  wait_for "dump of pid $demo_pid" 5 && pass "show -t opens the viewer" || fail "show -t: no viewer"
  tm send-keys -t e2e h
  wait_for 'keys of the dump viewer' 3 && pass "show -t: h shows the viewer's keys" || fail "show -t: h, no help"
  screen | grep -q 'quit when it was opened with show -t' || fail "show -t: the help lacks q"
  tm send-keys -t e2e x
  wait_for "dump of pid $demo_pid" 3 || fail "show -t: the help did not close back to the viewer"
  tm send-keys -t e2e g
  wait_for 'all tasks, sorted by state' 3 && pass "g flattens the list" || fail "g: no flat list"
  tm send-keys -t e2e Enter
  wait_for ' task #[0-9]+ ' 3 && pass "Enter shows a task" || fail "Enter: no task details"
  tm send-keys -t e2e Escape
  wait_gone ' task #[0-9]+ ' 3 && pass "Esc closes the task details" || fail "Esc: the task details stay"
  screen | grep -q "dump of pid $demo_pid" || fail "show -t: Esc on the details left the viewer"
  tm send-keys -t e2e q
  check_restored 0 "q in show -t"
fi

# ---------------------------------------------------------------- the viewer's marks
# A real deadlock (three tasks awaiting each other's join handles) and a lost wake-up (a task that dropped
# its only waker), next to a notify waiter that is fine; under NO_COLOR the marks must still show.
wpid=$(start_ready "$work/waits.log" "$target" --workers 2 --idle 1 --no-ticker --deadlock --lost-wake) || exit 1
pids+=("$wpid")
if "$inspect" dump "$wpid" -o "$work/waits.cbor" >"$work/waits_dump.txt" 2>&1; then
  new_term 100 30 "NO_COLOR=1"
  type_line "$inspect show -t $work/waits.cbor"
  if wait_for 'need attention: 1 lost wake-up, 3 deadlocked, 0 stuck' 5; then
    pass "the viewer counts what needs attention"
  else
    fail "the viewer: no attention count"
  fi
  n=$(screen | grep -Ec '^D +#[0-9]+ +cycle-[abc] ')
  [[ $n == 3 ]] && pass "the three deadlocked tasks are marked D" || fail "expected 3 rows marked D, got $n"
  screen | grep -Eq '^L +#[0-9]+ +lost-waker ' && pass "the lost wake-up is marked L" || fail "lost-waker not marked L"
  screen | grep -Eq '^ +#[0-9]+ +idle-0 ' && pass "the notify waiter has no mark" || fail "idle-0: marked or missing"
  screen | grep -Eq '^! [-+] idle +3 +await "join-next" at [^ ]*inspect_target\.c:[0-9]+ ' ||
    fail "the deadlocked group is not marked, or its site lost its line number"
  tm send-keys -t e2e a
  wait_for 'sorted by state; attention first' 3 && pass "a: attention first" || fail "a: not attention first"
  tm send-keys -t e2e a
  if wait_for 'sorted by state; attention only' 3 && wait_gone 'idle-0' 3; then
    pass "a again: attention only (the notify waiter is gone)"
  else
    fail "a again: not attention only"
  fi
  screen | grep -Eq '^L +#[0-9]+ +lost-waker ' || fail "attention only: the lost wake-up is gone"
  tm send-keys -t e2e g
  wait_for '^D #[0-9]+ +cycle-a ' 3 && pass "g: the flat list keeps the marks" || fail "flat list: no D mark"
  tm send-keys -t e2e Enter
  if wait_for ' can be woken by: ' 3 && wait_for '(DEADLOCK: one of 3 tasks|LOST WAKE-UP: idle)' 3; then
    pass "Enter: the detail pane says what can wake the task and why it needs attention"
  else
    fail "Enter: no wakers or attention line in the detail pane"
  fi
  tm send-keys -t e2e q
  check_restored 0 "q in the viewer with marks"
else
  fail "dump of the deadlocked target: $(head -3 "$work/waits_dump.txt")"
fi
kill -TERM "$wpid" 2>/dev/null

# ---------------------------------------------------------------- stuck, hung, exited
# Without SCHEDRT_TIMING (whatever our environment says): no histograms.
tpid=$(start_bg env -u SCHEDRT_TIMING "$target" --workers 2 --stuck-ms 900) || exit 1
pids+=("$tpid")
new_term 100 30
type_line "$inspect $tpid -d 1 --stuck-ms 50"
wait_for "sched-inspect  pid $tpid" 10 || fail "stuck: no header"
if wait_for 'worker [01] stuck .* on task #[0-9]+' 10; then
  pass "a stuck worker is named: $(screen | grep -Eo 'worker [01] stuck [^#]*#[0-9]+' | head -1)"
else
  fail "stuck: no stuck line"
fi
# The runtime names the long poll itself; at 80 columns the spawn site is shortened, not cut: the
# line ends with its line number.
tm resize-window -t e2e -x 80 -y 24
if wait_for '"spinner" spawned at [^ ]*\.c:[0-9]+ *$' 10; then
  pass "at 80 columns the stuck line keeps the spawn site's line: $(screen | grep -Eo 'spawned at .*' | head -1)"
else
  fail "stuck: at 80 columns the spawn site's line number is cut"
fi
tm resize-window -t e2e -x 100 -y 30
tm send-keys -t e2e Enter
if wait_for "worker [01] of pid $tpid" 3; then
  wait_for 'histograms off: start the target with SCHEDRT_TIMING=1 in its environment' 3 &&
    pass "without timing the worker panel says how to turn the histograms on" ||
    fail "the worker panel of a target without timing: no hint line"
  screen | grep -q 'poll_time buckets' && fail "the worker panel of a target without timing draws buckets"
  tm send-keys -t e2e Escape
  wait_for "sched-inspect  pid $tpid" 3 || fail "Esc: the panel of the target without timing stays"
else
  fail "Enter: no worker panel for the target without timing"
fi
tm send-keys -t e2e d
wait_for 'saved to' 10 || fail "stuck: the dump was not saved"
if wait_for '"spinner" spawned at [^ ]*inspect_target.c:[0-9]+' 8; then
  pass "after a dump the stuck line names the task and its spawn site"
else
  fail "stuck: no task name/spawn site after the dump"
fi
kill -STOP "$tpid"
wait_for 'TARGET HUNG' 5 && pass "HUNG banner" || fail "no HUNG banner for a stopped target"
kill -CONT "$tpid"
wait_for 'LIVE *$' 5 || fail "LIVE again after SIGCONT"
kill -TERM "$tpid"
wait_for 'TARGET EXITED' 5 && pass "EXITED banner, last data kept" || fail "no EXITED banner"
screen | grep -Eq '^ +[01] ' || fail "exited: the worker rows are gone"
tm send-keys -t e2e q
check_restored 0 "q after the target exited"

echo
if ((failures)); then
  echo "tui_e2e: $failures failure(s)"
  exit 1
fi
echo "tui_e2e: all passed"
