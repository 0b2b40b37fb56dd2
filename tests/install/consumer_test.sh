#!/usr/bin/env bash
# Installs the build into a scratch prefix and builds a consumer: with pkg-config (static and
# shared) and with CMake's find_package(schedrt): the shared library (schedrt::schedrt), the
# static one (COMPONENTS static), and the shared library again where neither pkg-config nor
# libcbor's .pc can be found (the shared library needs neither; the static component then
# must fail to be found, not break the package).
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc=$(dirname "$(find "$tmp/prefix" -name schedrt.pc | head -1)")
export PKG_CONFIG_PATH=$pc
cc -std=c11 "$src/consumer.c" $(pkg-config --cflags --libs schedrt) -Wl,-rpath,"$(pkg-config --variable=libdir schedrt)" -o "$tmp/shared"
"$tmp/shared"
cc -std=c11 "$src/consumer.c" $(pkg-config --cflags schedrt) "$(pkg-config --variable=libdir schedrt)/libschedrt.a" \
  $(pkg-config --libs-only-l --static schedrt | sed 's/-lschedrt//') -o "$tmp/static"
"$tmp/static"
# cmake_consumer DIR TARGET [COMPONENTS...] [-- cmake args]: a project linking TARGET.
cmake_project() {
  local dir=$1 target=$2 comps=$3
  mkdir -p "$dir"
  cat >"$dir/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(schedrt 0.1 REQUIRED $comps)
add_executable(consumer $src/consumer.c)
target_link_libraries(consumer $target)
CM
}
cmake_project "$tmp/cm" schedrt::schedrt ""
cmake -S "$tmp/cm" -B "$tmp/cm/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm/b" >/dev/null
"$tmp/cm/b/consumer"
ldd "$tmp/cm/b/consumer" >"$tmp/ldd"  # into a file: grep -q would cut the pipe under pipefail
grep -q "libschedrt.so.0 => $tmp/prefix" "$tmp/ldd" || {
  echo "consumer_test: schedrt::schedrt is not the installed shared library:"
  ldd "$tmp/cm/b/consumer"
  exit 1
}

cmake_project "$tmp/cms" schedrt::schedrt_static "COMPONENTS static"
cmake -S "$tmp/cms" -B "$tmp/cms/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cms/b" >/dev/null
"$tmp/cms/b/consumer"
ldd "$tmp/cms/b/consumer" >"$tmp/ldd"
if grep -q libschedrt "$tmp/ldd"; then
  echo "consumer_test: schedrt::schedrt_static linked the shared library"
  exit 1
fi

# No pkg-config at all, and none that could find libcbor.pc: the shared library still works.
empty=$tmp/no-pc
mkdir -p "$empty"
for how in -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON -DPKG_CONFIG_EXECUTABLE=/bin/false; do
  rm -rf "$tmp/cmn"
  cmake_project "$tmp/cmn" schedrt::schedrt ""
  env -u PKG_CONFIG_PATH PKG_CONFIG_LIBDIR="$empty" \
    cmake -S "$tmp/cmn" -B "$tmp/cmn/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" "$how" >"$tmp/cmn.log" 2>&1 || {
    echo "consumer_test: find_package(schedrt) failed without libcbor's .pc ($how):"
    cat "$tmp/cmn.log"
    exit 1
  }
  cmake --build "$tmp/cmn/b" >/dev/null
  "$tmp/cmn/b/consumer"
  if [[ "$(pkg-config --print-requires-private schedrt)" == *libcbor* ]]; then
    rm -rf "$tmp/cmn"
    cmake_project "$tmp/cmn" schedrt::schedrt_static "COMPONENTS static"
    if env -u PKG_CONFIG_PATH PKG_CONFIG_LIBDIR="$empty" \
      cmake -S "$tmp/cmn" -B "$tmp/cmn/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" "$how" >"$tmp/cmn.log" 2>&1; then
      echo "consumer_test: COMPONENTS static was found without libcbor ($how)"
      exit 1
    fi
    grep -q "needs libcbor" "$tmp/cmn.log" || {
      echo "consumer_test: the static component's absence is not explained:"
      cat "$tmp/cmn.log"
      exit 1
    }
  fi
done
echo "consumer_test: ok"
