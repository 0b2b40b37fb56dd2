#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan) and runs each for a
# bounded time on a copy of its seed corpus (fuzz/corpus/<target>/ plus fuzz/regressions/<target>/).
#   scripts/fuzz.sh                    20 s per target (what scripts/test.sh runs in CI)
#   scripts/fuzz.sh --seconds 600      longer
#   scripts/fuzz.sh --seconds 60 dump_read control   some targets only
# A crash leaves its input in build/fuzz/findings/<target>/crash-*: copy it to
# fuzz/regressions/<target>/ (the normal test builds replay that directory: fuzz_replay_<target>)
# and fix the code. Exit 0: no finding; 1: a target crashed, leaked or timed out; 77: no clang
# or libFuzzer here (skipped, with the reason).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

seconds=20
targets=()
while (($#)); do
  case $1 in
  --seconds)
    seconds=${2:?--seconds needs a number}
    shift 2
    ;;
  -h | --help)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    targets+=("$1")
    shift
    ;;
  esac
done
((${#targets[@]})) || targets=(dump_read segment control recording)

if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz.sh: clang not found: skipped (scripts/setup.sh installs clang and libclang-rt-14-dev)"
  exit 77
fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }' |
  clang -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then
  echo "fuzz.sh: clang cannot link -fsanitize=fuzzer (libclang-rt-14-dev missing?): skipped"
  exit 77
fi

logdir=$root/build/logs
mkdir -p "$logdir"
echo "==== [fuzz] configure and build"
if ! cmake --preset fuzz >"$logdir/fuzz.configure.log" 2>&1; then
  cat "$logdir/fuzz.configure.log"
  echo "fuzz.sh: configure FAILED"
  exit 1
fi
if ! cmake --build --preset fuzz >"$logdir/fuzz.build.log" 2>&1; then
  tail -40 "$logdir/fuzz.build.log"
  echo "fuzz.sh: build FAILED"
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
summary=()
for t in "${targets[@]}"; do
  bin=$root/build/fuzz/fuzz/fuzz_$t
  if [[ ! -x $bin ]]; then
    echo "fuzz.sh: no target fuzz_$t"
    status=1
    continue
  fi
  # The fuzzer adds what it finds to its first directory: a scratch copy, not the repository's.
  work=$root/build/fuzz/corpus-work/$t findings=$root/build/fuzz/findings/$t
  mkdir -p "$work" "$findings"
  cp -n "$root"/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  seeds=("$work" "$root/fuzz/corpus/$t")
  [[ -d $root/fuzz/regressions/$t ]] && seeds+=("$root/fuzz/regressions/$t")
  echo "==== [fuzz] $t for ${seconds}s"
  log=$logdir/fuzz.$t.log
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$findings/" -print_final_stats=1 "${seeds[@]}" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  if ((rc != 0)); then
    status=1
    tail -30 "$log"
    summary+=("$(printf '%-10s FAILED (exit %s, %s runs): input in %s' "$t" "$rc" "$runs" "$findings")")
  else
    summary+=("$(printf '%-10s ok, %s runs in %ss' "$t" "$runs" "$seconds")")
  fi
done
echo "==== [fuzz] summary"
printf '  %s\n' "${summary[@]}"
exit $status
