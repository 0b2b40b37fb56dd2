#!/usr/bin/env python3
"""The event ring (issue 19 item 1), read as a user reads it: `sched-inspect events`.

Usage: events_e2e.py CASE SCHED_INSPECT INSPECT_TARGET
CASE:
  stopped  a target run with SCHEDRT_EVENTS=1 and a scripted task polled 5 times (inspect_target --script
           5) is stopped (SIGSTOP); `events --json` then holds exactly 5 polls of that task, each start
           followed by its end, in time order and in ring order, its spawn with its site, and the text
           output names it; --last keeps only the newest events; the process is still stopped after
  errors   exit statuses and messages: a target without SCHEDRT_EVENTS (1, "keeps no events"), no such
           process (4), a bad --last or no PID (2); --help

Exit 0 and "events_e2e: ok", 1 on failure. Targets are stopped at exit (SIGCONT, then SIGTERM), and die
with this process (PR_SET_PDEATHSIG).
"""
import atexit
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile

CHILDREN = []


def fail(msg):
    print("events_e2e: FAIL: " + msg, flush=True)
    sys.exit(1)


@atexit.register
def cleanup():
    for p in CHILDREN:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def target(exe, *args, env=None):
    log = tempfile.NamedTemporaryFile(prefix="events_e2e.", suffix=".log", delete=False)
    p = subprocess.Popen([exe, "--no-ticker", "--idle", "2", *args], stdout=subprocess.PIPE, stderr=log,
                         env={**os.environ, **(env or {})}, preexec_fn=die_with_parent, text=True)
    CHILDREN.append(p)
    line = p.stdout.readline()
    if not line.startswith("ready"):
        fail(f"target {args} did not get ready: {line!r}")
    return p


def run(inspect, *args):
    return subprocess.run([inspect, *args], capture_output=True, text=True, timeout=30)


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def case_stopped(inspect, exe):
    p = target(exe, "--workers", "2", "--script", "5", env={"SCHEDRT_EVENTS": "1"})
    p.send_signal(signal.SIGSTOP)
    # Our child: waitpid reports it stopped (WUNTRACED), no polling.
    _, status = os.waitpid(p.pid, os.WUNTRACED)
    if not os.WIFSTOPPED(status) or proc_state(p.pid) != "T":
        fail("the target did not stop")
    out = run(inspect, "events", str(p.pid), "--json")
    if out.returncode != 0:
        fail(f"events --json: {out.returncode}: {out.stderr}")
    doc = json.loads(out.stdout)
    rings = doc["rings"]
    if len(rings) != 3 or not rings[-1].get("other") or rings[0].get("worker") != 0:
        fail(f"rings: {[{k: r.get(k) for k in ('worker', 'other')} for r in rings]}")
    spawns = [e for r in rings for e in r["events"]
              if e["kind"] == "spawn" and e.get("task_site", {}).get("name") == "scripted"]
    if len(spawns) != 1:
        fail(f"spawns of the scripted task: {spawns}")
    tid = spawns[0]["task"]
    if spawns[0]["task_site"]["func"] != "main" or "inspect_target.c" not in spawns[0]["task_site"]["file"]:
        fail(f"the spawn's site: {spawns[0]['task_site']}")
    polls = []
    for r in rings[:-1]:
        seqs = [e["seq"] for e in r["events"]]
        if seqs != sorted(seqs) or (seqs and seqs[-1] - seqs[0] + 1 != len(seqs)):
            fail(f"worker {r['worker']}: seqs not consecutive: {seqs}")
        if r["lost"] != r["written"] - len(r["events"]):
            fail(f"worker {r['worker']}: lost {r['lost']}, written {r['written']}, {len(r['events'])} shown")
        times = [e["time_ns"] for e in r["events"]]
        if times != sorted(times):
            fail(f"worker {r['worker']}: times not in order")
        polls += [e for e in r["events"] if e.get("task") == tid and e["kind"] in ("poll_start", "poll_end")]
    polls.sort(key=lambda e: e["time_ns"])
    kinds = [e["kind"] for e in polls]
    if kinds != ["poll_start", "poll_end"] * 5:
        fail(f"the scripted task's polls: {kinds}")
    if spawns[0]["time_ns"] > polls[0]["time_ns"]:
        fail("the first poll comes before the spawn")
    text = run(inspect, "events", str(p.pid))
    if text.returncode != 0 or f'task {tid} [scripted @ ' not in text.stdout or "other threads:" not in text.stdout:
        fail(f"events (text): {text.returncode}: {text.stdout}{text.stderr}")
    # --last: the seconds before the newest event, a subset ending with it.
    newest = doc["newest_ns"]
    last = run(inspect, "events", str(p.pid), "--json", "--last", "0.000001")
    if last.returncode != 0:
        fail(f"--last: {last.returncode}: {last.stderr}")
    kept = [e for r in json.loads(last.stdout)["rings"] for e in r["events"]]
    if not kept or any(newest - e["time_ns"] > 1000 for e in kept) or len(kept) >= sum(
            len(r["events"]) for r in rings):
        fail(f"--last 0.000001 kept {len(kept)} events")
    if proc_state(p.pid) != "T":
        fail("the target was resumed by the reads")


def case_errors(inspect, exe):
    p = target(exe, "--workers", "1", env={"SCHEDRT_EVENTS": "0"})
    out = run(inspect, "events", str(p.pid))
    if out.returncode != 1 or "keeps no events" not in out.stderr or "SCHEDRT_EVENTS=1" not in out.stderr:
        fail(f"events off: {out.returncode}: {out.stderr}")
    dead = subprocess.Popen(["true"])
    dead.wait()
    out = run(inspect, "events", str(dead.pid))
    if out.returncode != 4:
        fail(f"no such process: {out.returncode}: {out.stderr}")
    for args in (["--last", "0"], ["--last", "x"], ["--last", "-1"], []):
        out = run(inspect, "events", *([str(p.pid)] if args else []), *args)
        if out.returncode != 2 or "Try" not in out.stderr:
            fail(f"events {args}: {out.returncode}: {out.stderr}")
    out = run(inspect, "events", "--help")
    if out.returncode != 0 or "--last SECONDS" not in out.stdout:
        fail(f"--help: {out.returncode}: {out.stdout}")
    if any(len(line) > 80 for line in out.stdout.splitlines()):
        fail("--help is wider than 80 columns")


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    case, inspect, exe = sys.argv[1:]
    {"stopped": case_stopped, "errors": case_errors}[case](inspect, exe)
    print("events_e2e: ok", flush=True)


if __name__ == "__main__":
    main()
