#!/usr/bin/env bash
# sched-inspect's live task list (T, --tasks-every) in tmux at 80x24, against the demo.
#   tui_tasks.sh SCHED_INSPECT SCHEDRT_DEMO INSPECT_TARGET
# Checks: T opens it from the live view (the key is on the function bar); the demo's real task names and
# await points are listed, with the columns that fit 80 columns (at 60 the id goes, the polls stay); the
# head says the pause the refresh cost, and the list refreshes (its refresh number grows, the logger's
# polls grow); the footer names the selected task's whole await point; Enter opens that refresh in the dump
# viewer with the task's details; --tasks-every opens it at the start with its period, and a bad value is
# refused; a stopped target leaves a refresh running, and a SIGTERM then still removes its dump object; a
# target that exits stops the refreshes. Never a file in the output directory, never a dump object left in
# /dev/shm. Exit 0 pass, 1 fail, 77 skip (no tmux).
set -uo pipefail

inspect=$1 demo=$2 target=$3
command -v tmux >/dev/null || { echo "SKIP: no tmux"; exit 77; }

source "$(dirname "$0")/tui_lib.sh"

# Dump objects of process $1 in /dev/shm (a dump requested and never collected).
dump_objects() { compgen -G "/dev/shm/schedrt.*.$1.*.dump.*" | wc -l; }
# The refresh number in the list's head, or empty.
refresh_no() { screen | grep -Eo '\(refresh [0-9]+\)' | grep -Eo '[0-9]+' | head -1; }
# The polls of the task named $1 in the list, or empty.
polls_of() { screen | grep -E "^. +#[0-9]+ +$1 " | awk '{print $5}' | head -1; }
# The pid of the program running in the terminal (the shell's child).
tui_pid() { pgrep -P "$(tm display -p -t e2e '#{pane_pid}')" | head -1; }
# Nothing on disk: the output directory is empty.
out_empty() { [[ -z $(ls -A "$work/out") ]]; }

# Waits (at most $2 s, default 10) for the refresh number to pass $1; the new number on stdout.
next_refresh() {
  local n i t=${2:-10}
  for ((i = 0; i < t * 10; i++)); do
    n=$(refresh_no)
    [[ -n $n && $n -gt $1 ]] && { echo "$n"; return 0; }
    sleep 0.1
  done
  return 1
}

demo_pid=$(start_bg "$demo" --workers 2 --duration 240 -q) || exit 1
pids+=("$demo_pid")
mkdir "$work/out"

# ---------------------------------------------------------------- a bad --tasks-every
for bad in 0.1 0 abc -2 4000; do
  msg=$("$inspect" "$demo_pid" --tasks-every "$bad" 2>&1)
  rc=$?
  if [[ $rc == 2 && $msg == *"--tasks-every: expected seconds from 0.5 to 3600"*"'$bad'"* ]]; then
    pass "--tasks-every $bad refused (status 2)"
  else
    fail "--tasks-every $bad: status $rc, '$msg'"
  fi
done

# ---------------------------------------------------------------- 80x24: T from the live view
new_term 80 24
type_line "$inspect $demo_pid -d 2 -o $work/out"
wait_for "sched-inspect  pid $demo_pid " 10 || fail "80x24: no live view"
screen | tail -1 | grep -q 'T Live' && pass "the function bar names T" || fail "no 'T Live' on the function bar"
tm send-keys -t e2e T
if wait_for "^ tasks of pid $demo_pid \"demo\"  (OK|PARTIAL)  [0-9]+ tasks  [12]/2 workers +every 2\.0s  LIVE" 10; then
  pass "T opens the task list (every 2 s)"
else
  fail "T: no task list head"
fi
wait_for '^! ID +NAME +STATE +FOR +POLLS AWAIT *$' 3 && pass "80x24: id, name, state, for, polls, await" ||
  fail "80x24: the column heads"
# The demo's own tasks and await points, each row whole to the edge.
if wait_for '^  #[0-9]+ +conn-[0-9]+ +(idle|running|local|lifo|injection|scheduled|deferred) +[0-9][0-9a-z.]* +[0-9]+ socket: wait' 10; then
  pass "80x24: the demo's connections and their await point"
else
  fail "80x24: no conn-N row waiting on the socket"
fi
# Sorted by state, the idle flusher can be below the visible rows when many tasks are queued: then the
# count line says it (the dump viewer's tests check the L row itself).
if wait_for '^L +#[0-9]+ +stats-flush-[ab] +idle +[0-9][0-9a-z.]* +[0-9]+ stats: wait' 3; then
  pass "80x24: the seeded lost wake-up is marked L"
elif wait_for 'need attention: ([1-9][0-9]* lost wake-up|L [1-9])' 3; then
  pass "80x24: the seeded lost wake-up is counted (its row is below the visible ones)"
else
  fail "80x24: no L row for stats-flush, and no lost wake-up counted"
fi
if wait_for '^ list [0-9.]+[a-z]+ old \(refresh [0-9]+\): pause [0-9.]+(ns|us|ms|s), answered in [0-9.]+[a-z]+' 5; then
  pass "the head says the pause: $(screen | grep -Eo 'pause [0-9.]+[a-z]+' | head -1)"
else
  fail "no pause figure in the head"
fi
screen | sed 's/…/./g' | awk 'length > 80 { bad = 1 } END { exit bad }' || fail "80x24: a row passes 80 columns"
n1=$(refresh_no)
if [[ -n $n1 ]] && n2=$(next_refresh "$n1"); then
  pass "the list refreshes by itself: refresh $n1, then $n2"
else
  fail "the refresh number did not grow from '${n1:-none}'"
fi

# Sorted by polls, the demo's logger (polled for every record) comes first, its count growing.
for _ in 1 2 3 4 5; do tm send-keys -t e2e s; done
wait_for 'sorted by polls' 3 || fail "s: no 'sorted by polls'"
wait_for '^  #[0-9]+ +logger ' 5 || fail "by polls: no logger row on top"
p1=$(polls_of logger)
n=$(refresh_no)
next_refresh "${n:-0}" >/dev/null
p2=$(polls_of logger)
if [[ -n $p1 && -n $p2 && $p2 -gt $p1 ]]; then
  pass "the logger's polls grow: $p1, then $p2"
else
  fail "the logger's polls did not grow ('$p1', then '$p2')"
fi
# The footer: the selected (top) task's await point whole, with its line, and its spawn site.
if wait_for '^ await "log: wait for records" at [^ ]*demo_log\.c:[0-9]+ *$' 3 &&
  wait_for '^ spawned at [^ ]*demo_log\.c:[0-9]+ \(demo_spawn_logger\) *$' 3; then
  pass "the footer names the selected task's await point and spawn site"
else
  fail "no await point / spawn site of the logger in the footer"
fi

# Enter: this refresh in the dump viewer, the selected task's details open.
tm send-keys -t e2e Down
tm send-keys -t e2e Enter
if wait_for "^ dump of pid $demo_pid \"demo\"  (OK|PARTIAL)" 5 && wait_for '^ task #[0-9]+ "[^"]+"' 3; then
  pass "Enter opens the refresh in the viewer with the task's details"
  screen | head -1 | grep -q 'in memory [0-9:]* *$' || fail "the viewer's title does not say the dump is in memory"
else
  fail "Enter: no viewer with details"
fi
tm send-keys -t e2e Escape Escape
wait_for "^ tasks of pid $demo_pid " 3 || fail "Esc did not come back to the list"

# p pauses: the head says PAUSED and the refresh number stays.
tm send-keys -t e2e p
if wait_for 'every 2\.0s  PAUSED *$' 3; then
  # One already in flight when p came may still land, no more: two periods and a half pass without another.
  n=$(refresh_no)
  next_refresh "$((n + 1))" 5 >/dev/null && fail "paused, the list still refreshes" || pass "p pauses the refreshes"
else
  fail "p: no PAUSED"
fi
tm send-keys -t e2e p

# 60 columns: the id goes, the polls stay, nothing passes the edge.
tm resize-window -t e2e -x 60 -y 20
if wait_for '^! NAME +STATE +FOR +POLLS AWAIT *$' 3; then
  pass "60x20: the id dropped first"
else
  fail "60x20: the column heads"
fi
screen | sed 's/…/./g' | awk 'length > 60 { bad = 1 } END { exit bad }' || fail "60x20: a row passes 60 columns"
tm resize-window -t e2e -x 80 -y 24

# Esc: back to the live view; the refreshes stop and what was in flight is collected.
tm send-keys -t e2e Escape
wait_for "sched-inspect  pid $demo_pid " 3 || fail "Esc: not back in the live view"
for ((i = 0; i < 50; i++)); do [[ $(dump_objects "$demo_pid") == 0 ]] && break; sleep 0.1; done
[[ $(dump_objects "$demo_pid") == 0 ]] && pass "no dump object left after the list closed" ||
  fail "dump objects left in /dev/shm: $(compgen -G "/dev/shm/schedrt.*.$demo_pid.*.dump.*")"
tm send-keys -t e2e q
check_restored 0 "q after the task list"
out_empty && pass "no file in the output directory" || fail "files in the output directory: $(ls "$work/out")"

# ---------------------------------------------------------------- --tasks-every, and SIGTERM mid-refresh
new_term 80 24
type_line "$inspect $demo_pid --tasks-every 0.5 -o $work/out"
if wait_for "^ tasks of pid $demo_pid .* every 0\.5s  LIVE" 10 && wait_for '\(refresh [0-9]+\)' 5; then
  pass "--tasks-every 0.5 starts with the list open"
else
  fail "--tasks-every: no task list at the start"
fi
n1=$(refresh_no)
n2=$(next_refresh "${n1:-0}") && n3=$(next_refresh "$n2") && pass "every 0.5 s: refresh $n1, $n2, $n3" ||
  fail "--tasks-every 0.5: no refreshes after ${n1:-none}"
# A stopped target cannot answer: the next refresh stays in flight (the list ages past a second). A stop
# that lands while the runtime is still finishing the previous answer makes the next request BUSY instead
# (no refresh in flight): then the target runs again until a refresh succeeds, and is stopped anew. On a
# loaded machine an answer takes 200 ms of the 500 ms period, so three stops all landed in one once: six.
in_flight=0
for ((attempt = 0; attempt < 6 && !in_flight; attempt++)); do
  kill -STOP "$demo_pid"
  # (Joined: after a slow refresh the head says so and wraps.)
  if wait_for_joined ' list [1-9][0-9]*\.[0-9]+s old \(refresh [0-9]+\)[^!]*; refreshing ! ID' 8; then
    in_flight=1
  else
    kill -CONT "$demo_pid"
    n0=$(refresh_no)
    next_refresh "${n0:-0}" >/dev/null
  fi
done
if ((in_flight)); then
  ipid=$(tui_pid)
  kill -TERM "$ipid"
  # Off the screen, it is waiting for the answer to collect the object: the target has to run to give it.
  wait_gone "^ tasks of pid $demo_pid " 5 || fail "SIGTERM: the list stays on the screen"
  kill -CONT "$demo_pid"
  wait_exit "$ipid" 10 || fail "the inspector did not exit after SIGTERM"
  check_restored 143 "SIGTERM mid-refresh"
  # A later request is answered after the abandoned one: once it is, that one's object existed.
  msg=$("$inspect" dump "$demo_pid" -o "$work/later.cbor" 2>&1)
  rc=$?
  [[ $rc == 0 || $rc == 3 ]] || fail "a dump after the SIGTERM failed (status $rc): $msg"
  if [[ $(dump_objects "$demo_pid") == 0 ]]; then
    pass "SIGTERM mid-refresh: the refresh's dump object was removed"
  else
    fail "SIGTERM mid-refresh left $(compgen -G "/dev/shm/schedrt.*.$demo_pid.*.dump.*")"
  fi
else
  fail "no refresh in flight shown while the target was stopped (6 stops)"
fi
out_empty && pass "--tasks-every: no file in the output directory" || fail "files in the output directory: $(ls "$work/out")"

# ---------------------------------------------------------------- a target that exits
tpid=$(start_bg "$target" --workers 2 --exit-after 4000) || exit 1
pids+=("$tpid")
new_term 80 24
type_line "$inspect $tpid --tasks-every 0.5 -o $work/out"
wait_for "^ tasks of pid $tpid \"target\"  OK" 10 || fail "exiting target: no list"
wait_for '^. +#[0-9]+ +idle-[0-9]+ +idle .* wait-notify' 3 || fail "exiting target: no idle-N task waiting on wait-notify"
if wait_for 'every 0\.5s  EXITED *$' 10 && wait_for 'refresh failed .*(exited|gone|shut)' 3; then
  pass "a target that exits: EXITED, the refreshes stop and say why"
  wait_for '^. +#[0-9]+ +idle-[0-9]+ ' 1 && pass "the last list stays" || fail "the last list is gone"
else
  fail "a target that exits: no EXITED / failed refresh"
fi
[[ $(dump_objects "$tpid") == 0 ]] || fail "the exited target's dump objects are left"
tm send-keys -t e2e q
wait_for "sched-inspect  pid $tpid " 3 || fail "q did not go back to the live view"
tm send-keys -t e2e q
check_restored 0 "q q after the target exited"
out_empty || fail "files in the output directory: $(ls "$work/out")"

echo
if ((failures)); then
  echo "tui_tasks: $failures failure(s)"
  exit 1
fi
echo "tui_tasks: all passed"
