#!/usr/bin/env bash
# Installs the build into a scratch prefix and builds a consumer twice: with
# pkg-config (static and shared) and with CMake's find_package(schedrt).
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
mkdir -p "$tmp/cm"
cat >"$tmp/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(schedrt 0.1 REQUIRED)
add_executable(consumer $src/consumer.c)
target_link_libraries(consumer schedrt::schedrt)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm/b" >/dev/null
"$tmp/cm/b/consumer"
echo "consumer_test: ok"
