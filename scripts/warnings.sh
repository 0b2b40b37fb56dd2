#!/usr/bin/env bash
# Warnings of a fresh compile. An incremental build prints the warnings of the files it recompiles
# only, so a count taken from its log says 0 once everything was built. This compiles every
# translation unit of a build's compile_commands.json again, as the build would (same compiler, same
# flags, -Werror added, the object thrown away: the build tree is not touched), and with --clang also
# with clang (-fsyntax-only: clang's warnings all come from its front end) with the same flags.
#
# Usage: scripts/warnings.sh BUILD_DIR [--clang] [-j N]
# Prints every diagnostic, then "warnings: <cc> N (F files)[, clang N (F files)]"; exit 1 when any
# file failed, 0 otherwise.
set -euo pipefail
build=${1:?usage: scripts/warnings.sh BUILD_DIR [--clang] [-j N]}
shift
clang=0
jobs=2
while (($#)); do
  case $1 in
  --clang) clang=1 ;;
  -j) jobs=$2; shift ;;
  *) echo "warnings.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -f $build/compile_commands.json ]] || { echo "warnings.sh: no $build/compile_commands.json" >&2; exit 2; }
if ((clang)) && ! command -v clang >/dev/null; then
  echo "warnings.sh: clang not found: only the build's compiler" >&2
  clang=0
fi
exec /usr/bin/python3 - "$build/compile_commands.json" "$clang" "$jobs" <<'PY'
import json, os, shlex, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

db, use_clang, jobs = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
entries = json.load(open(db))

def argv_of(e):
    args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
    if "-o" in args:
        i = args.index("-o")
        args = args[:i] + args[i + 2:]
    return args

def compile_one(job):
    tool, e = job
    args = argv_of(e)
    if tool == "clang":
        # gcc-only flags would make clang fail for the wrong reason: none are used by the presets.
        args = ["clang"] + args[1:] + ["-fsyntax-only"]
    else:
        args = args + ["-o", os.devnull]
    r = subprocess.run(args + ["-Werror"], cwd=e["directory"], capture_output=True, text=True)
    return tool, e["file"], r.returncode, r.stderr

tools = ["cc"] + (["clang"] if use_clang else [])
jobs_list = [(t, e) for t in tools for e in entries]
counts = {t: [0, 0] for t in tools}
with ThreadPoolExecutor(max_workers=jobs) as ex:
    for tool, f, rc, err in ex.map(compile_one, jobs_list):
        n = err.count("warning:") + err.count("error:")
        if rc != 0:
            sys.stdout.write(err)
            counts[tool][0] += max(n, 1)
            counts[tool][1] += 1
name = {"cc": os.path.basename(argv_of(entries[0])[0]) if entries else "cc", "clang": "clang"}
print("warnings: " + ", ".join("%s %d (%d files)" % (name[t], counts[t][0], counts[t][1]) for t in tools)
      + " in a fresh compile of %d files" % len(entries))
sys.exit(1 if any(c[1] for c in counts.values()) else 0)
PY
