#!/usr/bin/env python3
"""sched-inspect record / show / plot / replay on a real schedrt-demo run.

Usage: recording_e2e.py CASE SCHED_INSPECT SCHEDRT_DEMO
CASE:
  plot     record 3 s of the demo (per-poll timing on), then `plot`: the SVG has one panel per worker
           of the recording, each with its three series named and drawn; `show --json` and Python's
           cbor2 read the same samples (docs/recording-format.md)
  signals  SIGINT and SIGTERM end an unbounded recording with status 0 and a trailer "signal"
  killed   a SIGKILLed recorder leaves every whole sample readable, and a file cut inside its last
           sample is read up to the one before (show says so); -n COUNT stops at COUNT;
           --no-histograms leaves them out; --force
  exit     the target exiting ends the recording with a message, status 0, trailer "exited"
  replay   show -t in tmux: the live view fed from the file (REPLAY in the header, a row per
           worker), p pauses, + speeds up

Exit 0 and "recording_e2e: ok", 77 when python3-cbor2 (or tmux, for replay) is missing, 1 on
failure. Every process started here dies with the test (PR_SET_PDEATHSIG); the demo gets SIGTERM,
so its segment leaves /dev/shm with it. Waits poll what they wait for, under a deadline.
"""
import atexit
import ctypes
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

DEADLINE_S = 30.0
CHILDREN = []
TMPDIRS = []
SVG = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("recording_e2e: FAIL: " + msg, flush=True)
    sys.exit(1)


def skip(msg):
    print("recording_e2e: SKIP: " + msg, flush=True)
    sys.exit(77)


def check(cond, msg):
    if not cond:
        fail(msg)


@atexit.register
def cleanup():
    for p in reversed(CHILDREN):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    for d in TMPDIRS:
        shutil.rmtree(d, ignore_errors=True)


def die_with_parent(sig):
    libc = ctypes.CDLL(None, use_errno=True)

    def pre():
        libc.prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG
    return pre


def spawn(argv, env=None, **kw):
    p = subprocess.Popen(argv, env=env, preexec_fn=die_with_parent(signal.SIGTERM), text=True, **kw)
    CHILDREN.append(p)
    return p


def wait_until(what, fn, deadline=DEADLINE_S, step=0.05):
    end = time.monotonic() + deadline
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            fail("timed out waiting for " + what)
        time.sleep(step)


def start_demo(demo, *args):
    """The demo, once its metrics segment exists (what record attaches to)."""
    env = dict(os.environ, SCHEDRT_TIMING="1")
    p = spawn([demo, "--workers", "2", "-q"] + list(args), env=env, stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL)
    wait_until("the demo's segment", lambda: glob.glob("/dev/shm/schedrt.%d.%d.*" % (os.geteuid(), p.pid)))
    return p


def read_sequence(path):
    """The recording as Python reads it (docs/recording-format.md): header, samples, trailer or None."""
    import cbor2
    samples, trailer = [], None
    with open(path, "rb") as f:
        dec = cbor2.CBORDecoder(f)
        header = dec.decode()
        while True:
            try:
                item = dec.decode()
            except cbor2.CBORDecodeEOF:
                break
            if "end" in item:
                trailer = item
            else:
                samples.append(item)
    return header, samples, trailer


def show_json(inspect, path):
    r = subprocess.run([inspect, "show", path, "--json"], capture_output=True, text=True, timeout=DEADLINE_S)
    check(r.returncode == 0, "show --json: status %d: %s" % (r.returncode, r.stderr))
    return json.loads(r.stdout)


def samples_in_file(inspect, path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return 0
    r = subprocess.run([inspect, "show", path, "--json"], capture_output=True, text=True, timeout=DEADLINE_S)
    return json.loads(r.stdout)["samples"] if r.returncode == 0 else 0


def case_plot(inspect, demo, work):
    d = start_demo(demo, "--duration", "60")
    rec, svg = os.path.join(work, "r.cbor"), os.path.join(work, "r.svg")
    r = subprocess.run([inspect, "record", str(d.pid), "-i", "50ms", "--duration", "3s", "-o", rec],
                       capture_output=True, text=True, timeout=DEADLINE_S)
    check(r.returncode == 0, "record: status %d: %s" % (r.returncode, r.stderr))
    check("ended: duration" in r.stderr, "record's last words: %r" % r.stderr)
    check(os.stat(rec).st_mode & 0o077 == 0, "the recording is readable by others")
    js = show_json(inspect, rec)
    header, samples, trailer = read_sequence(rec)
    check(header["format"] == "schedrt-recording" and header["version"][0] == 1, "header: %r" % header.get("format"))
    check(header["pid"] == d.pid and header["timing"] is True, "header pid/timing")
    check(trailer == {"end": "duration", "samples": len(samples)}, "trailer: %r" % trailer)
    check(js["samples"] == len(samples) and 55 <= len(samples) <= 62,
          "3 s at 50 ms: %d samples (show: %d)" % (len(samples), js["samples"]))
    nworkers = len(js["workers"])
    check(nworkers == 2 and all(len(s["workers"]) == 2 for s in samples), "2 workers in every sample")
    wnames = [m["name"] for m in header["metrics"] if m["scope"] == "worker" and m["kind"] != "histogram"]
    check(all(len(w["values"]) == len(wnames) for s in samples for w in s["workers"] if "values" in w),
          "every worker's values follow the descriptors")
    polls = wnames.index("polls")
    check(samples[-1]["workers"][0]["values"][polls] > samples[0]["workers"][0]["values"][polls],
          "worker 0 polled nothing during the recording")
    check(sum(w["polls"] for w in js["workers"]) > 0, "show counts no polls")
    check(all(0 <= w["busy_pct"] <= 100 for w in js["workers"]), "busy %% out of range: %r" % js["workers"])

    r = subprocess.run([inspect, "plot", rec, "-o", svg], capture_output=True, text=True, timeout=DEADLINE_S)
    check(r.returncode == 0, "plot: status %d: %s" % (r.returncode, r.stderr))
    root = ET.parse(svg).getroot()
    check(root.tag == SVG + "svg", "not an SVG document: %s" % root.tag)
    panels = [g for g in root.iter(SVG + "g") if g.get("class") == "panel"]
    check(len(panels) == nworkers, "%d panels for %d workers" % (len(panels), nworkers))
    for i, g in enumerate(panels):
        check(g.get("id") == "worker-%d" % i, "panel %d is %r" % (i, g.get("id")))
        check(g.find(SVG + "title").text == "worker %d" % i, "panel %d's title" % i)
        series = {p.get("data-series"): p for p in g.iter(SVG + "polyline")}
        for name in ("local_queue_depth", "busy_pct", "inject_depth"):
            check(name in series, "panel %d has no %s series" % (i, name))
            points = series[name].get("points").split()
            check(len(points) >= 10, "panel %d: %s has %d points" % (i, name, len(points)))
            check(series[name].find(SVG + "title") is not None, "panel %d: %s has no title" % (i, name))
    # A recording is not a dump, and a dump is not a recording.
    r = subprocess.run([inspect, "plot", "/dev/null", "-o", svg], capture_output=True, text=True)
    check(r.returncode == 1 and "not a recording" in r.stderr, "plot of /dev/null: %r" % r.stderr)


def case_signals(inspect, demo, work):
    d = start_demo(demo, "--duration", "60")
    for sig in (signal.SIGINT, signal.SIGTERM):
        rec = os.path.join(work, "sig%d.cbor" % sig)
        p = spawn([inspect, "record", str(d.pid), "-i", "20ms", "-o", rec], stderr=subprocess.PIPE)
        wait_until("5 samples in the file", lambda: samples_in_file(inspect, rec) >= 5)
        p.send_signal(sig)
        _, err = p.communicate(timeout=DEADLINE_S)
        check(p.returncode == 0, "record after signal %d: status %d: %s" % (sig, p.returncode, err))
        _, samples, trailer = read_sequence(rec)
        check(trailer == {"end": "signal", "samples": len(samples)}, "trailer after %d: %r" % (sig, trailer))
        check(show_json(inspect, rec)["ended"] == "signal", "show's ended")


def case_killed(inspect, demo, work):
    d = start_demo(demo, "--duration", "60")
    rec = os.path.join(work, "k.cbor")
    p = spawn([inspect, "record", str(d.pid), "-i", "20ms", "-o", rec], stderr=subprocess.DEVNULL)
    wait_until("5 samples in the file", lambda: samples_in_file(inspect, rec) >= 5)
    p.kill()
    p.wait()
    _, samples, trailer = read_sequence(rec)
    js = show_json(inspect, rec)
    check(trailer is None and js["ended"] is None, "a killed recorder wrote a trailer")
    check(js["samples"] == len(samples) >= 5, "show %d, cbor2 %d samples" % (js["samples"], len(samples)))
    # Cut inside the last sample: the ones before stand, and show says what it left out.
    size = os.path.getsize(rec)
    with open(rec, "r+b") as f:
        f.truncate(size - 7)
    r = subprocess.run([inspect, "show", rec], capture_output=True, text=True, timeout=DEADLINE_S)
    check(r.returncode == 0, "show of a cut file: %d: %s" % (r.returncode, r.stderr))
    check("incomplete sample" in r.stderr, "show did not say the end was cut: %r" % r.stderr)
    check(show_json(inspect, rec)["samples"] == len(samples) - 1, "a cut last sample still counted")
    # Cut inside the header: an error with a message, status 1.
    with open(rec, "r+b") as f:
        f.truncate(40)
    r = subprocess.run([inspect, "show", rec], capture_output=True, text=True, timeout=DEADLINE_S)
    check(r.returncode == 1 and "truncated" in r.stderr, "show of a cut header: %d %r" % (r.returncode, r.stderr))
    # -n COUNT: exactly that many.
    rec = os.path.join(work, "n.cbor")
    r = subprocess.run([inspect, "record", str(d.pid), "-i", "10ms", "-n", "7", "--no-histograms", "-o", rec],
                       capture_output=True, text=True, timeout=DEADLINE_S)
    check(r.returncode == 0, "record -n 7: %s" % r.stderr)
    header, samples, trailer = read_sequence(rec)
    check(len(samples) == 7 and trailer["end"] == "count", "-n 7: %d samples, %r" % (len(samples), trailer))
    check(header["timing"] is False and not any("histograms" in w for s in samples for w in s["workers"]),
          "--no-histograms: histograms recorded")
    # The replay needs a terminal; an interval below 10 ms is a usage error.
    r = subprocess.run([inspect, "show", rec, "-t"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    check(r.returncode == 2 and "needs a terminal" in r.stderr, "show -t without a terminal: %r" % r.stderr)
    r = subprocess.run([inspect, "record", str(d.pid), "-i", "5ms", "-o", os.path.join(work, "x.cbor")],
                       capture_output=True, text=True)
    check(r.returncode == 2 and "10ms" in r.stderr and not os.path.exists(os.path.join(work, "x.cbor")),
          "-i 5ms: %d %r" % (r.returncode, r.stderr))
    # An existing file is refused without --force, and replaced with it.
    r = subprocess.run([inspect, "record", str(d.pid), "-n", "1", "-o", rec], capture_output=True, text=True)
    check(r.returncode == 1 and "--force" in r.stderr, "an existing file: %d %r" % (r.returncode, r.stderr))
    r = subprocess.run([inspect, "record", str(d.pid), "-n", "2", "-o", rec, "--force"], capture_output=True,
                       text=True)
    check(r.returncode == 0 and len(read_sequence(rec)[1]) == 2, "--force: %r" % r.stderr)


def case_exit(inspect, demo, work):
    d = start_demo(demo, "--duration", "2")
    rec = os.path.join(work, "e.cbor")
    r = subprocess.run([inspect, "record", str(d.pid), "-i", "50ms", "-o", rec], capture_output=True, text=True,
                       timeout=DEADLINE_S)
    check(r.returncode == 0, "record of an exiting target: status %d: %s" % (r.returncode, r.stderr))
    check("exited" in r.stderr, "no word of the exit: %r" % r.stderr)
    _, samples, trailer = read_sequence(rec)
    check(trailer == {"end": "exited", "samples": len(samples)} and len(samples) >= 5, "trailer %r" % trailer)
    check(samples[-1]["liveness"] in ("EXITING", "STALE") or samples[-1]["seg_state"] == 2,
          "the last sample is not the exit: %r" % samples[-1]["liveness"])


def case_replay(inspect, demo, work):
    if not shutil.which("tmux"):
        skip("tmux is not installed (scripts/setup.sh installs it)")
    d = start_demo(demo, "--duration", "60")
    rec = os.path.join(work, "p.cbor")
    r = subprocess.run([inspect, "record", str(d.pid), "-i", "50ms", "-n", "60", "-o", rec], capture_output=True,
                       text=True, timeout=DEADLINE_S)
    check(r.returncode == 0, "record: %s" % r.stderr)
    sock = os.path.join(work, "tmux.sock")
    env = dict(os.environ, TERM=os.environ.get("TERM") or "xterm-256color")
    tm = lambda *a: subprocess.run(["tmux", "-S", sock] + list(a), env=env, capture_output=True, text=True)
    atexit.register(lambda: tm("kill-server"))
    tm("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "24", "%s show %s -t -d 2; sleep 30" % (inspect, rec))
    screen = lambda: tm("capture-pane", "-p", "-t", "e2e").stdout
    wait_until("the replay's header", lambda: "REPLAY 1x" in screen())
    s = screen()
    check("pid %d" % d.pid in s, "the header names another pid:\n" + s)
    check(all(any(l.startswith("  %d " % w) for l in s.splitlines()) for w in (0, 1)), "no row per worker:\n" + s)
    tm("send-keys", "-t", "e2e", "p")
    wait_until("PAUSED", lambda: "PAUSED" in screen())
    tm("send-keys", "-t", "e2e", "p")
    tm("send-keys", "-t", "e2e", "+")
    wait_until("2x", lambda: "REPLAY 2x" in screen())
    wait_until("the end of the recording", lambda: "end of the recording" in screen(), deadline=15)
    tm("send-keys", "-t", "e2e", "q")
    wait_until("the replay to quit", lambda: "REPLAY" not in screen())


def main():
    if len(sys.argv) != 4:
        fail("usage: recording_e2e.py CASE SCHED_INSPECT SCHEDRT_DEMO")
    case, inspect, demo = sys.argv[1:]
    try:
        import cbor2  # noqa: F401
    except ImportError:
        skip("python3-cbor2 is not installed (scripts/setup.sh installs it)")
    work = tempfile.mkdtemp(prefix="recording_e2e.")
    TMPDIRS.append(work)
    cases = {"plot": case_plot, "signals": case_signals, "killed": case_killed, "exit": case_exit,
             "replay": case_replay}
    if case not in cases:
        fail("unknown case " + case)
    cases[case](inspect, demo, work)
    print("recording_e2e: ok", flush=True)


if __name__ == "__main__":
    main()
