#!/usr/bin/env python3
"""Forensics (issue 19): stalls classified, read as a user reads them (`sched-inspect stat --json`), and
proven leaks in a dump (`sched-inspect dump`, `show --json`).

Usage: stalls_e2e.py CASE SCHED_INSPECT INSPECT_TARGET
CASE:
  on_cpu   a poll that spins (inspect_target --stuck-ms): every long poll ends ON_CPU
  syscall  a poll blocked in nanosleep (--block-ms): every one ends off CPU, in clock_nanosleep
  on_cpu_crowded, syscall_crowded  the same with the target at nice 10 beside two busy processes per CPU:
           the worker waits for a core most of the time (waits schedstat books only when they end), and so
           does the monitor (a late monitor there is no stopped process)
  process  a poll in progress while the whole process is stopped (SIGSTOP, then SIGCONT): PROCESS
  reports SCHEDRT_STALL_MS=40 and 20 stalls of 150 ms: 10 reports printed on stderr, the rest counted
           in stall_reports_suppressed, exactly (printed + suppressed = the reports due)
  proven   a dump of inspect_target --deadlock --lock-deadlock --lost-wake --lost-joiner: exactly the
           lost waker, its joiner, the three of the join cycle and the two of the lock cycle are proven
           leaked, never the idle tasks waiting on a notify (its waker is there)

Exit 0 and "stalls_e2e: ok", 1 on failure. Targets are stopped at exit (SIGCONT, then SIGTERM), and
die with this process (PR_SET_PDEATHSIG). Waits poll the effect under a deadline.
"""
import atexit
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

DEADLINE_S = 60.0
CHILDREN = []


def fail(msg):
    print("stalls_e2e: FAIL: " + msg, flush=True)
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


def low_priority():
    die_with_parent()
    os.nice(10)


def target(exe, *args, env=None, crowded=False):
    log = tempfile.NamedTemporaryFile(prefix="stalls_e2e.", suffix=".log", delete=False)
    p = subprocess.Popen([exe, "--no-ticker", "--idle", "1", *args], stdout=subprocess.PIPE, stderr=log,
                         env={**os.environ, **(env or {})}, preexec_fn=low_priority if crowded else die_with_parent,
                         text=True)
    CHILDREN.append(p)
    line = p.stdout.readline()
    if not line.startswith("ready"):
        fail(f"target {args} did not get ready: {line!r}")
    return p, log.name


def sample(inspect, pid):
    out = subprocess.run([inspect, "stat", str(pid), "--json", "-i", "0.2", "-c", "1"], capture_output=True,
                         text=True, timeout=30)
    if out.returncode != 0:
        fail(f"stat: {out.returncode}: {out.stderr}")
    return json.loads(out.stdout)


def total(s, field):
    return sum(w.get(field) or 0 for w in s["workers"])


def wait_for(what, fn, deadline=DEADLINE_S):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
    fail(f"timed out waiting for {what}")


def kinds(s):
    return {k: total(s, k) for k in ("stalls_on_cpu", "stalls_syscall", "stalls_process", "long_polls")}


def ended(s):
    return sum(list(kinds(s).values())[:3])


def five_of_a_kind(inspect, exe, args, counter, name, syscalls, crowded=False):
    """Five stalls made by `args`: all five end counted in `counter`, the last one shown as `name`."""
    p, _ = target(exe, *args, "--rest-ms", "20", "--stalls", "5", crowded=crowded)
    s = wait_for("five long polls classified", lambda: (lambda s: s if ended(s) >= 5 else None)(sample(inspect, p.pid)))
    k = kinds(s)
    if k[counter] != 5 or ended(s) != 5:
        fail(f"{args}: {k}")
    last = [w for w in s["workers"] if w[counter]][0]
    if last["stall_kind_name"] != name or last["stall_syscall_name"] not in syscalls:
        fail(f"{args}: the last stall {last['stall_kind_name']} in {last['stall_syscall_name']}")


def case_on_cpu(inspect, exe):
    five_of_a_kind(inspect, exe, ["--stuck-ms", "100"], "stalls_on_cpu", "on CPU", (None,))


def case_syscall(inspect, exe):
    five_of_a_kind(inspect, exe, ["--block-ms", "100"], "stalls_syscall", "off CPU", ("clock_nanosleep", "nanosleep"))


def crowded(inspect, exe, args, counter, name, syscalls):
    """Two busy processes per CPU beside a target at nice 10: its threads, the monitor's too, wait for a
    core most of the time, in waits that schedstat books only once they end."""
    for _ in range(2 * len(os.sched_getaffinity(0))):
        CHILDREN.append(subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=die_with_parent))
    five_of_a_kind(inspect, exe, args, counter, name, syscalls, crowded=True)


def case_on_cpu_crowded(inspect, exe):
    # A spinner that waits for its core most of the time wanted to run: on CPU, never off CPU.
    crowded(inspect, exe, ["--stuck-ms", "100"], "stalls_on_cpu", "on CPU", (None,))


def case_syscall_crowded(inspect, exe):
    # A poll asleep in nanosleep on a crowded core (its monitor waiting for the core too) is still off
    # CPU in that syscall, not a stopped process, nor on CPU once it wakes to a queue for the core.
    crowded(inspect, exe, ["--block-ms", "100"], "stalls_syscall", "off CPU", ("clock_nanosleep", "nanosleep"))


def case_process(inspect, exe):
    # A spinner that spins 1 s at a time with 1 ms between: a stop lands inside a poll but for one
    # chance in a thousand; then another try.
    p, _ = target(exe, "--stuck-ms", "1000", "--rest-ms", "1")
    for attempt in range(3):
        before = kinds(sample(inspect, p.pid))
        os.kill(p.pid, signal.SIGSTOP)
        time.sleep(2.5)  # the stall itself: the process stays stopped this long (not a synchronisation)
        os.kill(p.pid, signal.SIGCONT)
        s = wait_for("the stopped poll's end", lambda: (lambda s: s if ended(s) >= before["long_polls"] + 1
                                                        else None)(sample(inspect, p.pid)), 15)
        k = kinds(s)
        if k["stalls_process"] > before["stalls_process"]:
            if k["stalls_syscall"] != before["stalls_syscall"]:
                fail(f"a stopped process: also an off-CPU stall: {before} -> {k}")
            return
    fail(f"three stops of the whole process, no PROCESS stall: {k}")


def case_reports(inspect, exe):
    # 150 ms: a report at 40 and one at 80 are due for each (a busy host may delay the monitor's
    # samples by tens of ms; the count of reports due says how many there were).
    p, log = target(exe, "--stuck-ms", "150", "--rest-ms", "10", "--stalls", "20", env={"SCHEDRT_STALL_MS": "40"})
    s = wait_for("twenty stalls ended", lambda: (lambda s: s if ended(s) >= 20 else None)(sample(inspect, p.pid)))
    due = total(s, "stall_reports")
    suppressed = s["global"]["stall_reports_suppressed"]
    with open(log) as f:
        printed = [l for l in f if re.search(r"^schedrt: target: worker \d+ (still )?stalled", l)]
    os.unlink(log)
    if due < 20:
        fail(f"20 stalls of 150 ms past a 40 ms threshold made only {due} reports due")
    if len(printed) != 10:
        fail(f"{len(printed)} reports printed in the first minute, want 10:\n" + "".join(printed))
    if suppressed != due - 10:
        fail(f"suppressed {suppressed}, want {due} due - 10 printed")
    if "spinner" not in printed[0] or "on CPU" not in printed[0]:
        fail(f"a report names the task and the kind: {printed[0]!r}")


def case_proven(inspect, exe):
    p, _ = target(exe, "--deadlock", "--lock-deadlock", "--lost-wake", "--lost-joiner")
    with tempfile.TemporaryDirectory() as tmp:
        f = os.path.join(tmp, "d.cbor")
        out = subprocess.run([inspect, "dump", str(p.pid), "-o", f], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            fail(f"dump: {out.returncode}: {out.stderr}")
        out = subprocess.run([inspect, "show", f, "--json"], capture_output=True, text=True, timeout=60)
        doc = json.loads(out.stdout)
        text = subprocess.run([inspect, "show", f], capture_output=True, text=True, timeout=60).stdout
    names = {t["id"]: t.get("name") for t in doc["tasks"]}
    proven = {names.get(i) for i in doc["analysis"]["proven_leaked"]["tasks"]}
    want = {"lost-waker", "lost-joiner", "cycle-a", "cycle-b", "cycle-c", "lock-a", "lock-b"}
    if proven != want:
        fail(f"proven leaked {sorted(map(str, proven))}, want {sorted(want)}")
    if doc["analysis"]["counts"]["proven_leaked"] != len(want):
        fail(f"counts.proven_leaked {doc['analysis']['counts']['proven_leaked']}")
    if sum(s["tasks"] for s in doc["analysis"]["proven_leaked"]["by_spawn_site"]) != len(want):
        fail("the per-site counts do not add up")
    if "proven leaked: 7" not in text:
        fail("show's report does not say: proven leaked: 7\n" + text)


CASES = {"on_cpu": case_on_cpu, "syscall": case_syscall, "process": case_process, "reports": case_reports,
         "proven": case_proven, "on_cpu_crowded": case_on_cpu_crowded, "syscall_crowded": case_syscall_crowded}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in CASES:
        print(__doc__)
        sys.exit(2)
    CASES[sys.argv[1]](sys.argv[2], sys.argv[3])
    print("stalls_e2e: ok", flush=True)
