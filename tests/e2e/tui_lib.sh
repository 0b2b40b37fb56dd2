# The helpers of sched-inspect's tmux tests (tui_e2e.sh, tui_narrow.sh), sourced after `set -uo pipefail`
# with tmux checked: a work directory and a tmux server per terminal, removed with every process the
# test started (pids) by the EXIT trap, also on failure; waiting for screen content with a deadline,
# never for a fixed time.
work=$(mktemp -d /tmp/inspect_e2e.XXXXXX)
nterm=0
sock=$work/tmux0.sock
# CI has no terminal and maybe no TERM: tmux only needs one for its own server here.
tm() { TERM=${TERM:-xterm-256color} tmux -S "$sock" "$@"; }
pids=()
failures=0

cleanup() {
  for ((i = 0; i <= nterm; i++)); do tmux -S "$work/tmux$i.sock" kill-server 2>/dev/null; done
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
  # Not our children (started in subshells): wait for them by polling.
  for p in "${pids[@]}"; do
    for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; echo "---- screen ----"; screen; echo "----------------"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
screen() { tm capture-pane -p -t e2e; }

# Waits up to $2 seconds (default 10) for the screen to match the extended regex $1.
wait_for() {
  local re=$1 t=${2:-10} i
  for ((i = 0; i < t * 10; i++)); do
    screen | grep -Eq -- "$re" && return 0
    sleep 0.1
  done
  return 1
}

# As wait_for, on the screen's rows joined with single spaces: for text that wraps where the width says.
wait_for_joined() {
  local re=$1 t=${2:-10} i
  for ((i = 0; i < t * 10; i++)); do
    screen | tr -s ' \n' '  ' | grep -Eq -- "$re" && return 0
    sleep 0.1
  done
  return 1
}

# Waits up to $2 seconds (default 10) until the screen no longer matches the extended regex $1.
wait_gone() {
  local re=$1 t=${2:-10} i
  for ((i = 0; i < t * 10; i++)); do
    screen | grep -Eq -- "$re" || return 0
    sleep 0.1
  done
  return 1
}

# Waits up to $2 seconds (default 10) until the screen differs from the text $1.
wait_changed() {
  local before=$1 t=${2:-10} i
  for ((i = 0; i < t * 10; i++)); do
    [[ "$(screen)" != "$before" ]] && return 0
    sleep 0.1
  done
  return 1
}

type_line() { tm send-keys -t e2e -l "$1"; tm send-keys -t e2e Enter; }

# Waits up to $2 seconds (default 10) for process $1 to be gone. Typing before that races with
# the program's last getch(), which may eat the first character of the next command line.
wait_exit() {
  local p=$1 t=${2:-10} i
  for ((i = 0; i < t * 10; i++)); do
    kill -0 "$p" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# Starts a program in the background and waits for it to print "ready" in its log $1; prints its pid.
# Called in $(...), as start_bg.
start_ready() {
  local log=$1 i
  shift
  "$@" >"$log" 2>&1 &
  local p=$!
  for ((i = 0; i < 100; i++)); do
    grep -q '^ready ' "$log" && { echo "$p"; return 0; }
    sleep 0.1
  done
  echo "did not get ready: $*" >&2
  return 1
}

# Starts a program in the background and waits for its metrics segment; prints its pid.
# Called in $(...), a subshell: the caller adds the pid to pids, so cleanup stops it.
start_bg() {
  "$@" >"$work/bg.log" 2>&1 &
  local p=$! i
  for ((i = 0; i < 100; i++)); do
    compgen -G "/dev/shm/schedrt.*.$p.*" >/dev/null && { echo "$p"; return 0; }
    sleep 0.1
  done
  echo "could not start: $*" >&2
  return 1
}

# A fresh shell in a WxH terminal, in the work directory, with a recognisable prompt.
new_term() {
  tm kill-server 2>/dev/null
  # HISTFILE: a shell killed with its server writes its history as it goes, maybe after cleanup's rm -rf.
  # A new server per terminal: reusing a socket right after kill-server races with its exit.
  nterm=$((nterm + 1))
  sock=$work/tmux$nterm.sock
  tm -f /dev/null new-session -d -s e2e -x "$1" -y "$2" "env -i PATH=$PATH TERM=xterm-256color HOME=$work HISTFILE=/dev/null LANG=C.UTF-8 ${3:-} bash --norc --noprofile"
  tm set-option -t e2e -g status off >/dev/null
  type_line "cd $work && PS1='PROMPT\$ '"
  wait_for '^PROMPT\$' 5 || fail "no shell prompt"
  tm send-keys -t e2e C-l
}

# After a quit: the exit status and a sane terminal, printed by the shell itself.
check_restored() {
  local want_rc=$1 what=$2
  type_line 'echo "RC=$? $(stty -a | grep -o -w -- "-\{0,1\}icanon") $(stty -a | grep -o -w -- "-\{0,1\}echo" | head -1)"'
  if wait_for "RC=$want_rc icanon echo" 5; then
    pass "$what: exit $want_rc, terminal restored (icanon echo)"
  else
    fail "$what: expected RC=$want_rc with icanon and echo"
  fi
  screen | grep -q 'sched-inspect  pid' && fail "$what: the TUI is still on screen (alternate screen not left)"
}
