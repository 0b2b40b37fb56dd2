#!/usr/bin/env bash
# Installs the Debian packages schedrt needs to build, test and demo, and only those that are
# missing: a fast no-op when everything is there. Safe to run any number of times.
set -euo pipefail

packages=(
  build-essential     # gcc, make, libc headers; gcc's libasan/libubsan/liblsan come with it
  cmake               # >= 3.25 for CMakePresets.json version 6
  clang               # the tsan preset (GCC's TSan warns on atomic_thread_fence)
  libclang-rt-14-dev  # clang's sanitizer runtimes (only recommended by clang-14)
  clang-format        # scripts/check-format.sh (the format_check test)
  pkg-config
  libcbor-dev         # task dumps, inspector
  libunwind-dev       # stall backtraces in watchdog dumps (without it the runtime is built without them)
  libdw-dev           # sched-inspect: names of a stall backtrace's frames (elfutils; optional too)
  libncurses-dev      # sched-inspect (ncursesw)
  libcriterion-dev    # unit tests
  libjansson-dev      # sched-inspect JSON output
  libmicrohttpd-dev   # sched-inspect serve (HTTP for Prometheus); without it serve is left out
  libseccomp-dev      # sched-inspect: syscall names of workers stalled off CPU
  prometheus          # promtool and a Prometheus for the OpenMetrics tests (they run their own
                      # on a free loopback port; Debian also enables its service on :9090)
  python3-prometheus-client  # its strict OpenMetrics parser checks the exposition in tests
  python3             # /usr/bin/python3 for test helpers (not a pyenv python: it lacks cbor2)
  python3-cbor2       # decoding task dumps in tests
  jq                  # docs/offline-analysis.md's jq programs (the docs_offline_analysis test)
  tmux                # end-to-end TUI tests
  valgrind
  time                # /usr/bin/time: CPU of a command in tests/e2e/perf_record.sh and perf_inspect.sh
  curl                # a real HTTP client for the example server's tests (tests/examples/net_e2e.py)
  wrk                 # bench/http_compare.sh
)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup.sh: dpkg-query not found: not a Debian system; install the equivalents of: ${packages[*]}" >&2
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup.sh: installing missing packages: ${missing[*]}"
sudo=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "setup.sh: not root and no sudo: install them by hand: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
