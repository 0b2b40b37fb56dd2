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
  watchdog a target run with SCHEDRT_EVENTS=1 and a 50 ms watchdog whose spinner holds its worker 300 ms:
           `show` on the watchdog dump (waited for on the target's stderr, where the runtime announces it)
           prints an EVENTS section whose stuck worker's last poll line is the spinner's poll_start, named
           from the dump's task list with its spawn site; `show --json` has the raw events key (format 1.4)
           and analysis.events with the same event named; a watchdog dump of a target with events off has
           neither

Exit 0 and "events_e2e: ok", 1 on failure. Targets are stopped at exit (SIGCONT, then SIGTERM), and die
with this process (PR_SET_PDEATHSIG).
"""
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

from e2e_target import fail, start


def target(exe, *args, env=None, stderr_pipe=False):
    return start(exe, *args, idle=2, env=env, stderr_pipe=stderr_pipe)[0]


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


def announced_dump(p, deadline_s=30):
    """The path of the first watchdog dump p announces on its stderr ("... dump (N tasks) saved to PATH")."""
    buf, end = "", time.monotonic() + deadline_s
    fd = p.stderr.fileno()
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], end - time.monotonic())
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk.decode(errors="replace")
        m = re.search(r"dump \(\d+ tasks\) saved to (\S+\.cbor)", buf)
        if m:
            return m.group(1)
    fail(f"no watchdog dump announced: {buf!r}")


def watchdog_show(inspect, exe, events):
    """show and show --json of the first watchdog dump of a stuck spinner, events on or off."""
    with tempfile.TemporaryDirectory() as tmp:
        p = target(exe, "--workers", "2", "--stuck-ms", "300", "--rest-ms", "50", stderr_pipe=True,
                   env={"SCHEDRT_EVENTS": "1" if events else "0", "SCHEDRT_WATCHDOG_MS": "50",
                        "SCHEDRT_DUMP_DIR": tmp})
        path = announced_dump(p)
        p.terminate()
        p.wait(30)
        text = run(inspect, "show", path)
        js = run(inspect, "show", path, "--json")
        if text.returncode or js.returncode:
            fail(f"show: {text.returncode} {text.stderr} / --json: {js.returncode} {js.stderr}")
    return text.stdout, json.loads(js.stdout)


def case_watchdog(inspect, exe):
    text, doc = watchdog_show(inspect, exe, True)
    if doc["version"] != [1, 4] or "events" not in doc:
        fail(f"a 1.4 dump with events: version {doc['version']}, keys {sorted(doc)}")
    w = doc["meta"]["workers_missing"]
    spinner = [t for t in doc["tasks"] if t["name"] == "spinner"]
    if len(w) != 1 or len(spinner) != 1 or doc["workers"][w[0]]["current_task"] != spinner[0]["id"]:
        fail(f"the dump shows the spinner stuck: missing {w}, spinner {spinner}")
    w, sid = w[0], spinner[0]["id"]
    raw = [r for r in doc["events"]["rings"] if r["worker"] == w]
    if len(raw) != 1 or not any(e[2] == 2 and e[3] == sid for e in raw[0]["events"]):
        fail(f"the raw events of worker {w} hold no poll_start (kind 2) of task {sid}: {raw}")
    rings = [r for r in doc["analysis"]["events"]["rings"] if r.get("worker") == w]
    polls = [e for e in rings[0]["events"] if e["kind"] in ("poll_start", "poll_end")] if rings else []
    if not polls or polls[-1]["kind"] != "poll_start" or polls[-1]["task"] != sid:
        fail(f"worker {w}'s last poll event is not the spinner's start: {polls[-3:]}")
    if polls[-1].get("task_name") != "spinner" or "inspect_target.c" not in polls[-1]["task_site"]["file"]:
        fail(f"the poll_start is not named from the dump's tasks: {polls[-1]}")
    if not doc["analysis"]["events"]["rings"][-1].get("other"):
        fail("the last ring is not the other threads'")
    # The text: the stuck worker's section ends with that poll_start (and any events after it that are
    # not polls), in the line format of `sched-inspect events`.
    m = re.search(r"\nEVENTS \(the last 2\.00s before the watchdog fired.*\n((?:.*\n)*)", text)
    if not m:
        fail("show prints no EVENTS section:\n" + text)
    section = re.split(r"\n(?=worker \d+:|other threads:)", "\n" + m.group(1))
    mine = [s for s in section if s.startswith(f"worker {w}:")]
    lines = [l for l in (mine[0].splitlines() if mine else []) if re.search(r" poll_(start|end) ", l)]
    if not lines or not re.fullmatch(rf" +-?[0-9.]+ #\d+ +poll_start +task {sid} \"spinner\" "
                                     rf"\[.*inspect_target\.c:\d+\]", lines[-1]):
        fail(f"worker {w}'s last poll line in show: {lines[-1:]}\n{text}")
    if "other threads:" not in m.group(1):
        fail("show's EVENTS has no other threads' ring")
    text, doc = watchdog_show(inspect, exe, False)
    if "events" in doc or "events" in doc["analysis"] or "\nEVENTS" in text:
        fail("events off: the dump, its analysis or show has events")


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    case, inspect, exe = sys.argv[1:]
    {"stopped": case_stopped, "errors": case_errors, "watchdog": case_watchdog}[case](inspect, exe)
    print("events_e2e: ok", flush=True)


if __name__ == "__main__":
    main()
