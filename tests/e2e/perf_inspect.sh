#!/usr/bin/env bash
# Measures sched-inspect against a 64-worker runtime: the attach time (as the TUI reports it) and
# the CPU the TUI uses at 10 refreshes per second, in a real terminal (tmux). Not part of ctest:
# run it by hand and copy the figures into docs/inspector.md.
#   perf_inspect.sh SCHED_INSPECT SCHEDRT_DEMO [SECONDS [COLUMNS [LINES]]]
set -uo pipefail
inspect=$1 demo=$2 secs=${3:-30} cols=${4:-160} lines=${5:-80}
work=$(mktemp -d /tmp/inspect_perf.XXXXXX)
sock=$work/tmux.sock
tm() { tmux -S "$sock" "$@"; }
"$demo" --workers 64 --connections 2000 --duration $((secs + 30)) -q >/dev/null 2>&1 &
demo_pid=$!
trap 'tm kill-server 2>/dev/null; kill $demo_pid 2>/dev/null; wait; rm -rf "$work"' EXIT
for _ in $(seq 50); do compgen -G "/dev/shm/schedrt.*.$demo_pid.*" >/dev/null && break; sleep 0.1; done
sleep 1
iters=$((secs * 10))
tm -f /dev/null new-session -d -s p -x "$cols" -y "$lines" \
  "LANG=C.UTF-8 TERM=xterm-256color /usr/bin/time -f 'TIME %U %S %e' -o $work/time.txt $inspect $demo_pid -d 1 -n $iters"
sleep 1
attach=$(tm capture-pane -p -t p | grep -o 'attached in [0-9.]* ms')
for _ in $(seq $((secs + 20))); do [[ -s $work/time.txt ]] && break; sleep 1; done
read -r _ user sys elapsed < <(grep TIME "$work/time.txt")
cpu=$(awk -v u="$user" -v s="$sys" -v e="$elapsed" 'BEGIN { printf "%.2f", (u + s) * 100 / e }')
echo "workers: 64, terminal ${cols}x${lines}, refreshes: $iters at 10 Hz over ${elapsed}s"
echo "$attach"
echo "cpu: user ${user}s + sys ${sys}s over ${elapsed}s = ${cpu}% of one core"
