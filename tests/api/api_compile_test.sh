#!/usr/bin/env bash
# The public header as a user compiles it (issue 16 item 9):
#  1. README.md's example ("Using the library": a spawn with two options in a compound literal,
#     which a five-parameter macro split into six arguments) builds with -Wall -Wextra -Werror
#     under gcc and clang, C11 and C2x, and prints what it should;
#  2. SCHEDRT_NODISCARD: an ignored result is still an error under -Werror in every mode; a cast
#     to void silences it with clang (any mode) and with C2x's [[nodiscard]] (both compilers);
#     `(void)!` silences GCC's C11 warn_unused_result, as the header says.
# Usage: api_compile_test.sh SOURCE_DIR LIBSCHEDRT_SO
set -euo pipefail
src=$1
lib=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ran=0

# The first C block after the "## Using the library" heading.
awk '/^## Using the library/ { on = 1; next } on && /^```c$/ { inblk = 1; next }
     inblk && /^```$/ { exit } inblk { print }' "$src/README.md" >"$tmp/readme.c"
grep -q 'schedrt_spawn_opts){.name = "hello", .drop = free}' "$tmp/readme.c" || {
  echo "api_compile_test: README's example does not spawn with two options any more:"
  cat "$tmp/readme.c"
  exit 1
}

compilers=()
for cc in gcc clang; do command -v "$cc" >/dev/null && compilers+=("$cc"); done
((${#compilers[@]} > 0)) || { echo "api_compile_test: no compiler"; exit 1; }

cflags=(-Wall -Wextra -Werror -I"$src/include")
for cc in "${compilers[@]}"; do
  for std in c11 c2x; do
    if ! "$cc" -std=$std "${cflags[@]}" "$tmp/readme.c" "$lib" -Wl,-rpath,"$(dirname "$lib")" -o "$tmp/readme" \
      2>"$tmp/err"; then
      echo "api_compile_test: README example, $cc -std=$std: FAILED"
      cat "$tmp/err"
      fail=1
      continue
    fi
    out=$("$tmp/readme")
    if [[ $out != "hello from a task" ]]; then
      echo "api_compile_test: README example, $cc -std=$std: printed '$out'"
      fail=1
    fi
    ran=$((ran + 1))
  done
done

# expect CC STD CODE ok|warn: compiles CODE (a statement in a function) with -Werror.
expect() {
  local cc=$1 std=$2 code=$3 want=$4
  cat >"$tmp/nd.c" <<C
#include <schedrt.h>
void f(schedrt_runtime *rt, schedrt_handle *h) {
  void *res;
  (void)rt; (void)h; (void)res;
  $code;
}
C
  local got=ok
  "$cc" -std="$std" "${cflags[@]}" -c "$tmp/nd.c" -o "$tmp/nd.o" 2>"$tmp/err" || got=warn
  if [[ $got != "$want" ]]; then
    echo "api_compile_test: $cc -std=$std: '$code' gave $got, expected $want"
    cat "$tmp/err"
    fail=1
  fi
  ran=$((ran + 1))
}
ignored='schedrt_join(h, 0, &res)'
for cc in "${compilers[@]}"; do
  for std in c11 c2x; do
    expect "$cc" "$std" "$ignored" warn
    expect "$cc" "$std" "(void)!$ignored" ok
    expect "$cc" "$std" "if ($ignored) {}" ok
  done
  expect "$cc" c2x "(void)$ignored" ok
done
[[ " ${compilers[*]} " == *" clang "* ]] && expect clang c11 "(void)$ignored" ok
# Replacing the marking before the include turns it off.
for cc in "${compilers[@]}"; do
  cflags_save=("${cflags[@]}")
  cflags+=(-DSCHEDRT_NODISCARD=)
  expect "$cc" c11 "$ignored" ok
  cflags=("${cflags_save[@]}")
done

if ((fail)); then
  exit 1
fi
echo "api_compile_test: ok ($ran checks with ${compilers[*]})"
