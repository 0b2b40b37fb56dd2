#!/usr/bin/env bash
# docs/api.md against include/schedrt.h: every schedrt_ name the header declares (functions, types,
# macros; schedrt__ ones are internal) must appear in the reference, and every schedrt_ name the
# reference gives must exist in the header (no stale entries). The CMake targets are checked by name.
set -euo pipefail
root=$1
header=$root/include/schedrt.h
doc=$root/docs/api.md
names() { grep -oE '\bschedrt_[a-z][a-z0-9_]*' "$1" | sort -u; }
# Comments stripped: a name only mentioned in a comment is not an export.
declared=$(sed -e 's#/\*.*\*/##' -e '/^ *\/\?\*/d' "$header" | grep -oE '\bschedrt_[a-z][a-z0-9_]*' | sort -u)
documented=$(sed 's/schedrt::schedrt_[a-z]*//g' "$doc" | grep -oE '\bschedrt_[a-z][a-z0-9_]*' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$documented"))
stale=$(comm -13 <(echo "$declared") <(echo "$documented"))
status=0
if [[ -n $missing ]]; then
  echo "api_doc_check: in include/schedrt.h but not in docs/api.md:" $missing
  status=1
fi
if [[ -n $stale ]]; then
  echo "api_doc_check: in docs/api.md but not declared in include/schedrt.h:" $stale
  status=1
fi
for target in schedrt::schedrt schedrt::schedrt_shared schedrt::schedrt_static; do
  if ! grep -qF "\`$target\`" "$doc"; then
    echo "api_doc_check: the CMake target $target is not documented"
    status=1
  fi
done
n=$(echo "$declared" | wc -l)
if ((n < 100)); then
  echo "api_doc_check: only $n names found in the header: the extraction is broken"
  status=1
fi
((status == 0)) && echo "api_doc_check: ok ($n names)"
exit $status
