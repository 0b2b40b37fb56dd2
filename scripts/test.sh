#!/usr/bin/env bash
# THE test command. For each preset: configure, build (-j2, keep going), ctest.
#   release  all labels          asan  label unit (ASan+UBSan, gcc)
#   tsan     label stress (clang) minimal  all labels (metrics/taskdump compiled out of the runtime)
# Keeps going after a failure and ends with the line `N passed, N failed` summed over all runs.
# Exit status: 0 only if every preset configured and built, no test failed, and some test ran.
#
# Environment:
#   SCHEDRT_TEST_PRESETS="release asan"  run a subset (default: release asan tsan minimal)
#   SCHEDRT_TEST_WERROR=1                build with warnings as errors (CMAKE_COMPILE_WARNING_AS_ERROR)
#   SCHEDRT_TEST_WARNINGS=0              skip the fresh-compile warnings check (below)
# Warnings: a preset's "warnings" figure counts what its build printed, i.e. only the files it
# recompiled. After the release preset, every file of its compile_commands.json is compiled afresh
# with -Werror by gcc and by clang (scripts/warnings.sh, ~1 min on 2 cores); any warning fails the run.
#   SCHEDRT_TEST_FUZZ_SECONDS=20         then each libFuzzer target for this long (scripts/fuzz.sh); 0: none
# Logs: build/logs/<preset>.{configure,build,test}.log; JUnit: build/<preset>/ctest-junit.xml
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

if ! scripts/setup.sh; then
  echo "test.sh: scripts/setup.sh failed; trying anyway" >&2
fi

read -r -a presets <<<"${SCHEDRT_TEST_PRESETS:-release asan tsan minimal}"
werror=OFF
if [[ "${SCHEDRT_TEST_WERROR:-0}" == 1 ]]; then
  werror=ON
fi
logdir=$root/build/logs
mkdir -p "$logdir"

# Prints "<passed> <failed> <skipped>" from a ctest JUnit file. Skipped: the test asked for
# it (SKIP_RETURN_CODE, SKIP_REGULAR_EXPRESSION) or is DISABLED. Everything else that did not
# pass failed, "Not Run" because its executable is missing (a broken build) included.
junit_counts() {
  /usr/bin/python3 - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET
passed = failed = skipped = 0
for tc in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    status = tc.get("status", "")
    skip = tc.find("skipped")
    why = skip.get("message", "") if skip is not None else ""
    if status == "run" and tc.find("failure") is None and tc.find("error") is None:
        passed += 1
    elif status == "disabled" or why.startswith("SKIP_") or why == "Disabled":
        skipped += 1
    else:
        failed += 1
print(passed, failed, skipped)
PY
}

configure() {
  local preset=$1 log=$logdir/$1.configure.log
  if cmake --preset "$preset" -DCMAKE_COMPILE_WARNING_AS_ERROR=$werror >"$log" 2>&1; then
    return 0
  fi
  if grep -q "does not match the generator used previously" "$log"; then
    echo "test.sh: build/$preset was made by another generator: starting it afresh"
    rm -rf "$root/build/$preset"
    cmake --preset "$preset" -DCMAKE_COMPILE_WARNING_AS_ERROR=$werror >"$log" 2>&1
    return
  fi
  return 1
}

total_pass=0
total_fail=0
total_skip=0
status=0
report=()
t_all=$SECONDS

for preset in "${presets[@]}"; do
  t0=$SECONDS
  bdir=$root/build/$preset
  echo "==== [$preset] configure"
  if ! configure "$preset"; then
    cat "$logdir/$preset.configure.log"
    echo "test.sh: [$preset] configure FAILED"
    report+=("$(printf '%-8s CONFIGURE FAILED (%ss)' "$preset" $((SECONDS - t0)))")
    status=1
    continue
  fi

  echo "==== [$preset] build"
  build_state=ok
  # -k: one broken target must not hide the results of all the others.
  if ! cmake --build --preset "$preset" -- -k 2>&1 | tee "$logdir/$preset.build.log"; then
    build_state=FAILED
    status=1
    echo "test.sh: [$preset] build FAILED (running the tests that did build)"
  fi
  warnings=$(grep -c 'warning:' "$logdir/$preset.build.log" || true)

  echo "==== [$preset] test"
  junit=$bdir/ctest-junit.xml
  rm -f "$junit"
  ctest --preset "$preset" --output-junit "$junit" 2>&1 | tee "$logdir/$preset.test.log"
  ctest_rc=${PIPESTATUS[0]}
  if [[ -s "$junit" ]] && counts=$(junit_counts "$junit"); then
    read -r p f s <<<"$counts"
  else
    # No JUnit file: ctest itself failed (e.g. a broken CTestTestfile).
    p=0 f=0 s=0
    if ((ctest_rc != 0)); then
      f=1
      echo "test.sh: [$preset] ctest failed (exit $ctest_rc) without a JUnit report"
    fi
  fi
  if ((ctest_rc != 0 && f == 0)); then
    f=1
    echo "test.sh: [$preset] ctest exited $ctest_rc although no test was counted as failed"
  fi
  if ((p + f + s == 0)); then
    echo "test.sh: [$preset] WARNING: no tests for this preset"
  fi
  ((total_pass += p, total_fail += f, total_skip += s))
  ((f == 0)) || status=1
  report+=("$(printf '%-8s build %-6s warnings %-3s passed %-4s failed %-3s skipped %-3s (%ss)' \
    "$preset" "$build_state" "$warnings" "$p" "$f" "$s" $((SECONDS - t0)))")

  # Zero warnings under gcc and clang at -Wall -Wextra -Werror, counted on a fresh compile of every
  # file (the build above may have recompiled few of them).
  if [[ $preset == release && "${SCHEDRT_TEST_WARNINGS:-1}" != 0 ]]; then
    t0=$SECONDS
    echo "==== [release] warnings (fresh compile, gcc and clang, -Werror)"
    if scripts/warnings.sh "$bdir" --clang >"$logdir/warnings.log" 2>&1; then
      wstate=ok
    else
      wstate=FAILED
      status=1
      ((total_fail += 1))
      cat "$logdir/warnings.log"
    fi
    report+=("$(printf '%-8s %s: %s (%ss)' warnings "$wstate" "$(tail -1 "$logdir/warnings.log")" $((SECONDS - t0)))")
  fi
done

# The libFuzzer targets, a bounded run each (docs/security.md). SCHEDRT_TEST_FUZZ_SECONDS=0 skips them.
fuzz_seconds=${SCHEDRT_TEST_FUZZ_SECONDS:-20}
if ((fuzz_seconds > 0)); then
  t0=$SECONDS
  scripts/fuzz.sh --seconds "$fuzz_seconds" 2>&1 | tee "$logdir/fuzz.log"
  fuzz_rc=${PIPESTATUS[0]}
  case $fuzz_rc in
  0) fuzz_state="ok" ;;
  77)
    fuzz_state="skipped (no clang/libFuzzer)"
    ((total_skip += 1))
    ;;
  *)
    fuzz_state="FAILED (scripts/fuzz.sh exit $fuzz_rc; inputs in build/fuzz/findings/)"
    ((total_fail += 1))
    status=1
    ;;
  esac
  report+=("$(printf '%-8s %s, %ss per target (%ss)' fuzz "$fuzz_state" "$fuzz_seconds" $((SECONDS - t0)))")
fi

echo
echo "==== summary (${#presets[@]} presets, $((SECONDS - t_all))s)"
printf '  %s\n' "${report[@]}"
if ((total_pass + total_fail == 0)); then
  echo "test.sh: no test ran"
  status=1
fi
if ((total_skip > 0)); then
  echo "skipped: $total_skip"
fi
echo "$total_pass passed, $total_fail failed"
exit $status
