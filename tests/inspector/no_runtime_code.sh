#!/usr/bin/env bash
# sched-inspect must stand on common/ alone: fails if the binary defines any
# symbol that the runtime's own objects (target schedrt_objects) define.
# External symbols only: an archive member is linked in only through one of
# them, and a file-local name of the runtime may well be the inspector's too.
# Usage: no_runtime_code.sh NM BINARY RUNTIME_OBJECT...
set -euo pipefail
nm=$1
bin=$2
shift 2
# Lines of a symbol are "<value> <type> <name>"; nm also prints file headers.
runtime=$("$nm" --defined-only --extern-only "$@" | awk 'NF == 3 { print $3 }' | sort -u)
binary=$("$nm" --defined-only "$bin" | awk 'NF == 3 { print $3 }' | sort -u)
if ! grep -qx main <<<"$binary" || [[ -z $runtime ]]; then
  echo "no_runtime_code: no symbols read (stripped binary or no objects?)"
  exit 1
fi
found=$(comm -12 <(printf '%s\n' "$runtime") <(printf '%s\n' "$binary"))
if [[ -n $found ]]; then
  echo "no_runtime_code: $(basename "$bin") defines $(wc -l <<<"$found") symbols of the runtime's objects:"
  printf '%s\n' "$found"
  exit 1
fi
echo "no_runtime_code: ok: none of the $(wc -l <<<"$runtime") symbols of the runtime's objects is in $(basename "$bin")"
