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
  backtrace  with SCHEDRT_STALL_BACKTRACE=1 and a 50 ms watchdog, the spinner's watchdog dump holds the
           stuck worker's native backtrace: `show` names spinner_task (a static function: from the
           program's ELF symbol table), `show --json` has it under analysis.stuck_workers[].backtrace, the
           dump conforms (tests/data/check_dump.py), and the target catches the backtrace signal
  backtrace_off  the same without the switch: no backtrace in the dump, no handler for any
           real-time signal from SIGRTMIN up (/proc/PID/status SigCgt)
  proven   a dump of inspect_target --deadlock --lock-deadlock --lost-wake --lost-joiner: exactly the
           lost waker, its joiner, the three of the join cycle and the two of the lock cycle are proven
           leaked, never the idle tasks waiting on a notify (its waker is there)
  proven_handles  a dump of inspect_target --handle-leak: the task waiting on a notify only it holds
           is proven leaked (show --json, show's report); the one held outside and the idle tasks not

Exit 0 and "stalls_e2e: ok", 1 on failure. Targets are stopped at exit (SIGCONT, then SIGTERM), and
die with this process (PR_SET_PDEATHSIG). Waits poll the effect under a deadline.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from e2e_target import CHILDREN, die_with_parent, fail, start

DEADLINE_S = 60.0


def low_priority():
    die_with_parent()
    os.nice(10)


def target(exe, *args, env=None, crowded=False):
    return start(exe, *args, idle=1, env=env, preexec=low_priority if crowded else die_with_parent)


def sample(inspect, pid):
    out = subprocess.run([inspect, "stat", str(pid), "--json", "-i", "0.2", "-c", "1"], capture_output=True,
                         text=True, timeout=30)
    if out.returncode != 0:
        fail(f"stat: {out.returncode}: {out.stderr}")
    return json.loads(out.stdout)


def total(s, field):
    return sum(w.get(field) or 0 for w in s["workers"])


def wait_for(what, fn, deadline=DEADLINE_S, seen=lambda: ""):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
    fail(f"timed out waiting for {what}{seen()}")


def kinds(s):
    return {k: total(s, k) for k in ("stalls_on_cpu", "stalls_syscall", "stalls_process", "long_polls")}


def ended(s):
    return sum(list(kinds(s).values())[:3])


def five_of_a_kind(inspect, exe, args, counter, name, syscalls, crowded=False):
    """Five stalls made by `args`: all five end counted in `counter`, the last one shown as `name`.

    Crowded, a short poll whose thread lost its core for long_poll_ms is a stall too, on CPU (it
    wanted to run): then on-CPU stalls beyond the five are allowed, and nothing else."""
    p, _ = target(exe, *args, "--rest-ms", "20", "--stalls", "5", crowded=crowded)
    extra = "stalls_on_cpu" if crowded else None
    wrong = [kind for kind in ("stalls_on_cpu", "stalls_syscall", "stalls_process") if kind not in (counter, extra)]

    def settled(s):
        k = kinds(s)
        return s if k[counter] >= 5 or any(k[kind] for kind in wrong) or (not crowded and ended(s) >= 5) else None

    last = {}

    def look():
        last["s"] = sample(inspect, p.pid)
        return settled(last["s"])

    s = wait_for("five long polls classified", look, seen=lambda: f": {kinds(last['s'])}" if last else "")
    k = kinds(s)
    if k[counter] != 5 or any(k[kind] for kind in wrong) or (not crowded and ended(s) != 5):
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
    # The kind is the on_cpu cases' to check: here the first report comes 40 ms into a poll, too little
    # evidence on a machine loaded enough to hold the monitor up (loaded runs have failed here on the kind).
    if "spinner" not in printed[0] or not re.search(r"\): (on CPU|off CPU|process stalled)", printed[0]):
        fail(f"a report names the task and the kind: {printed[0]!r}")


def proven_in_dump(inspect, pid):
    """A dump of pid through `dump`, as `show --json` and `show` read it, and the names of its proven leaked
    tasks."""
    with tempfile.TemporaryDirectory() as tmp:
        f = os.path.join(tmp, "d.cbor")
        out = subprocess.run([inspect, "dump", str(pid), "-o", f], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            fail(f"dump: {out.returncode}: {out.stderr}")
        out = subprocess.run([inspect, "show", f, "--json"], capture_output=True, text=True, timeout=60)
        doc = json.loads(out.stdout)
        text = subprocess.run([inspect, "show", f], capture_output=True, text=True, timeout=60).stdout
    names = {t["id"]: t.get("name") for t in doc["tasks"]}
    return doc, text, {names.get(i) for i in doc["analysis"]["proven_leaked"]["tasks"]}


def case_proven(inspect, exe):
    p, _ = target(exe, "--deadlock", "--lock-deadlock", "--lost-wake", "--lost-joiner")
    doc, text, proven = proven_in_dump(inspect, p.pid)
    want = {"lost-waker", "lost-joiner", "cycle-a", "cycle-b", "cycle-c", "lock-a", "lock-b"}
    if proven != want:
        fail(f"proven leaked {sorted(map(str, proven))}, want {sorted(want)}")
    if doc["analysis"]["counts"]["proven_leaked"] != len(want):
        fail(f"counts.proven_leaked {doc['analysis']['counts']['proven_leaked']}")
    if sum(s["tasks"] for s in doc["analysis"]["proven_leaked"]["by_spawn_site"]) != len(want):
        fail("the per-site counts do not add up")
    if "proven leaked: 7" not in text:
        fail("show's report does not say: proven leaked: 7\n" + text)


def case_proven_handles(inspect, exe):
    """A notify that only its waiter holds is proven leaked through `dump`, `show` and `show --json`; one
    held outside the runtime, and the idle tasks' notify that nobody gave holders, are not."""
    p, _ = target(exe, "--handle-leak")
    doc, text, proven = proven_in_dump(inspect, p.pid)
    if proven != {"orphan-waiter"}:
        fail(f"proven leaked {sorted(map(str, proven))}, want ['orphan-waiter']")
    if "proven leaked: 1" not in text:
        fail("show's report does not say: proven leaked: 1\n" + text)
    # The one-shot exposition too (node_exporter's textfile collector): the leaking site's gauge is 1.
    for fmt in ("openmetrics", "prometheus"):
        out = subprocess.run([inspect, "stat", str(p.pid), "--format", fmt, "--leak-check", "1"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            fail(f"stat --format {fmt} --leak-check: {out.returncode}: {out.stderr}")
        rows = [l for l in out.stdout.splitlines() if l.startswith("schedrt_site_proven_leaked{")]
        if sum(float(l.rsplit(" ", 1)[1]) for l in rows) != 1:
            fail(f"stat --format {fmt}: proven leaked per site {rows}, want 1 in all")
    out = subprocess.run([inspect, "stat", str(p.pid), "--leak-check", "1"], capture_output=True, text=True,
                         timeout=60)
    if out.returncode != 2 or "--leak-check needs --format" not in out.stderr:
        fail(f"stat --leak-check without --format: {out.returncode} {out.stderr!r}")


BT_SIGNAL = 61  # SIGRTMAX - 3 on Linux with glibc (SIGRTMAX is 64)
CHECK_DUMP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "check_dump.py")


def caught_signals(pid):
    """The signals the process has a handler for (/proc/PID/status SigCgt)."""
    with open(f"/proc/{pid}/status") as f:
        mask = int(next(l for l in f if l.startswith("SigCgt:")).split()[1], 16)
    return {s for s in range(1, 65) if mask & (1 << (s - 1))}


def show(inspect, f, *args):
    out = subprocess.run([inspect, "show", f, *args], capture_output=True, text=True, timeout=60)
    if out.returncode:
        fail(f"show {f} {args}: {out.returncode} {out.stderr}")
    return out.stdout


def watchdog_dump(inspect, exe, env, want_ok):
    """A spinner stuck 300 ms at a time under a 50 ms watchdog: a watchdog dump as show prints it (text,
    JSON), with the target's caught signals and stderr. want_ok: the first dump whose backtrace was
    answered, among the first four (on a loaded machine a preempted thread may miss the 50 ms wait once);
    else the first dump."""
    with tempfile.TemporaryDirectory() as tmp:
        p, log = target(exe, "--stuck-ms", "300", "--rest-ms", "50",
                        env={"SCHEDRT_WATCHDOG_MS": "50", "SCHEDRT_DUMP_DIR": tmp, **env})
        caught = caught_signals(p.pid)
        docs = {}

        def ok_bt(doc):
            return any(w.get("backtrace", {}).get("result") == "ok" for w in doc["workers"])

        def enough():
            time.sleep(0.05)  # the directory is polled: a dump has no signal to wait on
            for name in sorted(os.listdir(tmp)):
                if name.endswith(".cbor") and name not in docs:
                    docs[name] = json.loads(show(inspect, os.path.join(tmp, name), "--json"))
            if not docs:
                return None
            if not want_ok:
                return min(docs)
            good = [n for n in sorted(docs) if ok_bt(docs[n])]
            return good[0] if good else (len(docs) >= 4 and min(docs))

        name = wait_for("a watchdog dump", enough)
        p.terminate()
        p.wait(30)
        f = os.path.join(tmp, name)
        text = show(inspect, f)
        conform = subprocess.run(["/usr/bin/python3", CHECK_DUMP, f], capture_output=True, text=True)
        if conform.returncode:
            fail(f"the watchdog dump does not conform: {conform.stderr}")
    with open(log) as lf:
        err = lf.read()
    os.unlink(log)
    return text, docs[name], caught, err


def case_backtrace(inspect, exe):
    text, doc, caught, err = watchdog_dump(inspect, exe, {"SCHEDRT_STALL_BACKTRACE": "1"}, True)
    if BT_SIGNAL not in caught:
        fail(f"the switch is on, but the target catches no signal {BT_SIGNAL}: {sorted(caught)}")
    if not re.search(r"saved to .*; backtrace of \d+ frames", err):
        fail("the watchdog's line on stderr does not mention the backtrace:\n" + err)
    raw = [w["backtrace"] for w in doc["workers"] if "backtrace" in w]
    if len(raw) != 1 or raw[0]["result"] != "ok" or raw[0]["signal"] != BT_SIGNAL:
        fail(f"one worker carries an ok backtrace taken with signal {BT_SIGNAL}: {raw}")
    stuck = [s for s in doc["analysis"]["stuck_workers"] if s["backtrace"]]
    if len(stuck) != 1:
        fail(f"analysis.stuck_workers has one backtrace: {doc['analysis']['stuck']}")
    frames = stuck[0]["backtrace"]["frames"]
    names = [f["function"] for f in frames]
    spin = [f for f in frames if f["function"] == "spinner_task"]
    if not spin or spin[0]["source"] != "elf" or not spin[0]["module"].endswith("inspect_target"):
        fail(f"no frame named spinner_task from inspect_target's symbol table: {frames}")
    if "schedrt__worker_main" not in names:
        fail(f"the stack reaches the worker's main: {names}")
    if not re.search(r"backtrace \(signal %d, answered in [0-9.]+ ms, \d+ frames\):\n(?:.*\n)*?\s+#\d+\s+spinner_task\+0x"
                     % BT_SIGNAL, text):
        fail("show does not print the backtrace with spinner_task:\n" + text)


def case_backtrace_off(inspect, exe):
    text, doc, caught, err = watchdog_dump(inspect, exe, {}, False)
    rt = {s for s in caught if s >= 34}  # SIGRTMIN (glibc keeps 32 and 33 for itself)
    if rt:
        fail(f"the switch is off, but the target catches real-time signals {sorted(rt)}")
    if any("backtrace" in w for w in doc["workers"]):
        fail("the switch is off, but the dump has a backtrace")
    if any(s.get("backtrace") for s in doc["analysis"]["stuck_workers"]) or "backtrace" in text:
        fail("the switch is off, but show prints a backtrace:\n" + text)
    if not doc["analysis"]["stuck_workers"]:
        fail("the watchdog dump shows no stuck worker")


CASES = {"on_cpu": case_on_cpu, "syscall": case_syscall, "process": case_process, "reports": case_reports,
         "proven": case_proven, "proven_handles": case_proven_handles, "on_cpu_crowded": case_on_cpu_crowded, "syscall_crowded": case_syscall_crowded,
         "backtrace": case_backtrace, "backtrace_off": case_backtrace_off}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in CASES:
        print(__doc__)
        sys.exit(2)
    CASES[sys.argv[1]](sys.argv[2], sys.argv[3])
    print("stalls_e2e: ok", flush=True)
