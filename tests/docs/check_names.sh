#!/usr/bin/env bash
# The documents name only what exists:
#   check_names.sh SOURCE_DIR SCHED_INSPECT
# 1. every `sched-inspect WORD` in README.md, docs/*.md (code spans and code blocks) and the man page is a
#    command that `sched-inspect --help` lists (docs/shm-protocol.md once named a `sched-inspect gc`);
# 2. every path into the repository (a name under one of its top-level directories) in the prose and
#    code spans of those documents exists; a pattern (`runtime/src/dump*.c`) must match a file. Code
#    blocks are left out of this check: they hold captures cut at the terminal's edge and trees whose
#    paths are relative to their branch.
# Exit 0 when all is well, 1 with one line per name that does not exist.
set -uo pipefail

src=$1 inspect=$2
cd "$src" || exit 1
docs=(README.md docs/*.md)
man=(docs/man/*.1)
# Each bad name adds a line here (the checks run in pipelines' subshells).
found=$(mktemp /tmp/check_names.XXXXXX)
trap 'rm -f "$found"' EXIT

# The commands, from the program itself: the words that start the lines under "Commands:".
commands=$("$inspect" --help | awk '/^Commands:/ {on = 1; next} on && /^$/ {exit}
  on && /^  [^ ]/ { print $1; for (i = 2; i < NF; i++) if ($i == "|") print $(i + 1) }' |
  grep -E '^[a-z]+$' | sort -u)
[[ -n $commands ]] || { echo "check_names: no commands in '$inspect --help'"; exit 1; }

# Code spans of the prose, and code blocks, of a Markdown file, one per line ("file:line: text").
code_of() {
  awk -v f="$1" '
    /^```/ { block = !block; next }
    block { sub(/#.*/, ""); print f ":" NR ": " $0; next }
    { line = $0
      while (match(line, /`[^`]+`/)) { print f ":" NR ": " substr(line, RSTART + 1, RLENGTH - 2); line = substr(line, RSTART + RLENGTH) } }
  ' "$1"
}

# Prose and code spans, without the code blocks.
prose_of() { awk -v f="$1" '/^```/ { block = !block; next } !block { print f ":" NR ": " $0 }' "$1"; }

# 1. Commands.
{
  for d in "${docs[@]}"; do code_of "$d"; done
  # The man page: its synopsis lines and bold spans.
  for m in "${man[@]}"; do
    awk -v f="$m" '/^\.B sched-inspect / || /\\fBsched-inspect / { gsub(/\\f[BIRP]/, ""); print f ":" NR ": " $0 }' "$m"
  done
} | grep -E '(^|[^A-Za-z-])sched-inspect [a-z]+' | while IFS= read -r hit; do
  where=${hit%%: *}
  text=${hit#*: }
  # One space: a command line; the live view's header ("sched-inspect  pid 42") has two.
  for word in $(grep -oE '(^|[^A-Za-z-])sched-inspect [a-z]+' <<<"$text" | awk '{print $NF}'); do
    grep -qx -- "$word" <<<"$commands" || { echo "$where: sched-inspect $word: no such command"; echo x >>"$found"; }
  done
done

# 2. Paths into the repository.
tops=$(git ls-files 2>/dev/null | cut -d/ -f1 | sort -u | while read -r t; do [[ -d $t ]] && echo "$t"; done)
[[ -n $tops ]] || tops=$(find . -mindepth 1 -maxdepth 1 -type d ! -name '.*' ! -name build -printf '%f\n')
tops_re=$(paste -sd'|' <<<"$tops" | sed 's/\./\\./g')
for d in "${docs[@]}"; do prose_of "$d"; done |
  grep -oE "^[^:]+:[0-9]+: |(^|[^A-Za-z0-9_./-])($tops_re)/[A-Za-z0-9_./*-]*[A-Za-z0-9_*]" |
  while IFS= read -r tok; do
    if [[ $tok =~ ^[^:]+:[0-9]+:\ $ ]]; then
      where=${tok%: }
      continue
    fi
    path=$(sed -E 's/^[^A-Za-z.]//' <<<"$tok")
    [[ $path == */target/* ]] && continue # cargo's output, built by the benchmarks
    compgen -G "$path" >/dev/null || { echo "$where: $path: no such file in the repository"; echo x >>"$found"; }
  done

bad=$(wc -l <"$found")
if ((bad)); then
  echo "check_names: $bad name(s) in the documents do not exist"
  exit 1
fi
echo "check_names: ok"
