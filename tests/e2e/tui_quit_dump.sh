#!/usr/bin/env bash
# Quitting the live view while a `d` is pending (tmux): the dump is waited for and saved as any other, and
# nothing is left behind in /dev/shm.
#   tui_quit_dump.sh SCHED_INSPECT INSPECT_TARGET
# `d` then `q` at once: the runtime answers about one monitor period later (100 ms), so the quit finds the
# request pending. Exit 0 pass, 1 fail, 77 skip (no tmux).
set -uo pipefail

inspect=$1 target=$2
command -v tmux >/dev/null || { echo "SKIP: no tmux"; exit 77; }

source "$(dirname "$0")/tui_lib.sh"

pid=$(start_ready "$work/target.log" "$target" --workers 2 --idle 5) || exit 1
pids+=("$pid")
mkdir "$work/out"
new_term 80 24
type_line "$inspect $pid -o $work/out; echo EXIT=\$?"
wait_for "sched-inspect  pid $pid " 10 || fail "no header"
tm send-keys -t e2e d q
if wait_for '^EXIT=0' 10; then
  pass "q with a dump pending exits 0"
else
  fail "q with a dump pending: no exit 0"
fi
saved=$(compgen -G "$work/out/sched-dump-$pid-*.cbor" | head -1)
if [ -n "$saved" ] && [ -s "$saved" ]; then
  pass "the pending dump was saved ($(basename "$saved"))"
  # The line wraps at 80 columns, mid-path: the rows joined without their breaks.
  screen | tr -d "\n" | grep -qF "last dump saved to $saved" && pass "and named on the way out" ||
    fail "the file is not named on the way out"
  "$inspect" show "$saved" >/dev/null && pass "it opens with show" || fail "show cannot read it"
else
  fail "the pending dump was not saved: $(ls -la "$work/out")"
fi
left=$(compgen -G "/dev/shm/schedrt.*.$pid.*.dump.*" | wc -l)
[ "$left" = 0 ] && pass "no dump object left in /dev/shm" || fail "$left dump object(s) left in /dev/shm"
[ "$failures" = 0 ] || exit 1
