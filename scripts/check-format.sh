#!/usr/bin/env bash
# Checks that every C source and header of the project is laid out as .clang-format says
# (clang-format --dry-run). Exit 0 clean, 1 with the offending places listed, 77 when
# clang-format is missing (scripts/setup.sh installs it).
#   scripts/check-format.sh        check
#   scripts/check-format.sh --fix  rewrite the files in place
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v clang-format >/dev/null 2>&1; then
  echo "check-format: clang-format not found: skipped (scripts/setup.sh installs it)"
  exit 77
fi
# The tracked files when this is a git checkout; else every C file of the source folders.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.c' '*.h')
else
  mapfile -t files < <(find include common runtime inspector examples bench tests -name '*.[ch]' | sort)
fi
if ((${#files[@]} == 0)); then
  echo "check-format: no C files found" >&2
  exit 1
fi
if [[ "${1:-}" == --fix ]]; then
  exec clang-format -i "${files[@]}"
fi
out=$(clang-format --dry-run "${files[@]}" 2>&1)
if [[ -n "$out" ]]; then
  grep -E '^[^ ]+:[0-9]+:[0-9]+: warning' <<<"$out" | sed 's/: warning: .*//' | head -50
  echo "check-format: $(grep -c ': warning' <<<"$out") place(s) differ from .clang-format; scripts/check-format.sh --fix rewrites them"
  exit 1
fi
echo "check-format: ${#files[@]} files clean"
