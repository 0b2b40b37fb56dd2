#!/usr/bin/env python3
"""sched-inspect's OpenMetrics output and `serve`, checked with the real tools.

Usage: openmetrics_e2e.py CASE SCHED_INSPECT INSPECT_TARGET METRICS_DEF_H
CASE:
  format       stat PID / stat --all --format openmetrics through prometheus_client's strict
               OpenMetrics parser: every metric of the list is there, named by the rule
  promtool     `promtool check metrics` on the 0.0.4 dialect (lint clean), and promtool's own
               OpenMetrics parser (tsdb create-blocks-from openmetrics) on the OpenMetrics one
  serve_http   serve's answers: /metrics, 404, 405, HEAD, Accept, bad --listen, SIGINT/SIGTERM
  serve_churn  runtimes that start, exit cleanly, are SIGKILLed (their segment left STALE) and
               come and go while a client scrapes without pause: every scrape is whole
  serve_load   50 runtimes, 100 scrapes per second for 5 s over keep-alive connections
  prometheus   a real Prometheus scrapes serve; its HTTP API answers a worker's local queue depth

Exit 0 and "openmetrics_e2e: ok", 77 (skip) with the reason when a tool is not installed, 1 on
failure. Every process started here is killed at exit, and the parent's death kills them too
(PR_SET_PDEATHSIG), so a test stopped by CTest's timeout leaves no server behind; targets get
SIGTERM, so their segments leave /dev/shm with them. Nothing sleeps to synchronise: waits poll the
effect they wait for under a deadline.
"""
import atexit
import ctypes
import glob
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

DEADLINE_S = 30.0
CHILDREN = []
TMPDIRS = []
STALE_PIDS = []  # targets this test SIGKILLed: their segments are removed at exit


def fail(msg):
    print("openmetrics_e2e: FAIL: " + msg, flush=True)
    sys.exit(1)


def skip(msg):
    print("openmetrics_e2e: SKIP: " + msg, flush=True)
    sys.exit(77)


def check(cond, msg):
    if not cond:
        fail(msg)


@atexit.register
def cleanup():
    for p in CHILDREN:
        if p.poll() is None:
            p.kill()
            p.wait()
    for pid in STALE_PIDS:
        for path in glob.glob("/dev/shm/schedrt.%d.%d.*" % (os.geteuid(), pid)):
            os.unlink(path)
    for d in TMPDIRS:
        shutil.rmtree(d, ignore_errors=True)


def die_with_parent(sig):
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1

    def pre():
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    return pre


def spawn(argv, env=None, sig=signal.SIGKILL, **kw):
    p = subprocess.Popen(argv, env=env, preexec_fn=die_with_parent(sig), text=True, **kw)
    CHILDREN.append(p)
    return p


def wait_until(what, fn, deadline=DEADLINE_S, step=0.05):
    """Polls fn() until it returns something true; fails after the deadline."""
    end = time.monotonic() + deadline
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            fail("timed out waiting for " + what)
        time.sleep(step)


class Target:
    """inspect_target: prints "ready <pid> <segment>" once its segment exists."""

    def __init__(self, exe, *args, timing=False):
        env = dict(os.environ)
        env.pop("SCHEDRT_TIMING", None)
        if timing:
            env["SCHEDRT_TIMING"] = "1"
        self.p = spawn([exe] + list(args), env=env, sig=signal.SIGTERM, stdout=subprocess.PIPE)
        line = self.p.stdout.readline()
        check(line.startswith("ready "), "target did not start: %r" % line)
        self.pid = int(line.split()[1])
        self.segment = line.split()[2]

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        self.p.wait(timeout=DEADLINE_S)
        if sig == signal.SIGKILL:
            STALE_PIDS.append(self.pid)
        else:
            check(not os.path.exists("/dev/shm" + self.segment), "segment %s left behind" % self.segment)


def run(argv, ok=(0,)):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=DEADLINE_S)
    check(r.returncode in ok, "%s: exit %d\nstdout: %s\nstderr: %s" % (" ".join(argv), r.returncode,
                                                                      r.stdout[-2000:], r.stderr))
    return r


def list_metrics(metrics_def):
    """The one list, read from metrics_def.h: (id, kind, unit, scope) of every metric."""
    text = open(metrics_def).read()
    out = []
    for macro, scope in (("SCHEDRT_WSLOT_METRICS_2_0", "worker"), ("SCHEDRT_WSLOT_METRICS_MORE", "worker"),
                         ("SCHEDRT_GLOBAL_METRICS", "global"), ("SCHEDRT_HIST_METRICS", "worker")):
        m = re.search(r"#define %s\(X\)(.*?)\n\n" % macro, text, re.S)
        check(m, "no %s in %s" % (macro, metrics_def))
        for mid, kind, unit in re.findall(r"X\((\w+),\s*(COUNTER|GAUGE|HISTOGRAM),\s*\d+,\s*\w+,\s*\"(\w*)\"",
                                          m.group(1)):
            out.append((mid, kind, unit, scope))
    check(len(out) >= 20, "read only %d metrics from %s" % (len(out), metrics_def))
    return out


def family_name(mid, unit, scope):
    """The naming rule of docs/inspector.md: schedrt_[worker_]<id>, ns -> _seconds."""
    base = mid
    if unit == "ns":
        base = re.sub(r"_ns$", "", base) + "_seconds"
    return "schedrt_" + ("worker_" if scope == "worker" else "") + base


def parse_om(text):
    try:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    except ImportError:
        skip("python3-prometheus-client is not installed (apt-get install python3-prometheus-client)")
    try:
        return {f.name: f for f in text_string_to_metric_families(text)}
    except Exception as e:  # the parser's own words say what is wrong
        fail("the OpenMetrics parser refused the exposition: %s\n%s" % (e, text[:3000]))


def samples_of(fam, pid):
    return [s for s in fam.samples if s.labels.get("pid") == str(pid)]


# ------------------------------------------------------------------ cases

def case_format(inspect, target_exe, metrics_def):
    t = Target(target_exe, "--workers", "2", "--name", 'q"uote\\d', timing=True)
    t2 = Target(target_exe, "--workers", "1")
    out = run([inspect, "stat", str(t.pid), "--format", "openmetrics"]).stdout
    check(out.endswith("# EOF\n"), "no '# EOF' at the end")
    fams = parse_om(out)
    for mid, kind, unit, scope in list_metrics(metrics_def):
        name = family_name(mid, unit, scope)
        check(name in fams, "family %s (metric %s) missing; families: %s" % (name, mid, sorted(fams)))
        f = fams[name]
        check(f.type == kind.lower(), "%s: type %s, want %s" % (name, f.type, kind.lower()))
        check(f.unit == ("seconds" if unit == "ns" else ""), "%s: unit %r" % (name, f.unit))
        ss = samples_of(f, t.pid)
        check(ss, "%s has no sample of pid %d" % (name, t.pid))
        for s in ss:
            check(s.labels["runtime"] == 'q"uote\\d', "runtime label %r" % s.labels["runtime"])
            check(s.labels["comm"] == "inspect_target", "comm label %r" % s.labels["comm"])
            check(s.labels["runtime_index"] == "0", "runtime_index %r" % s.labels["runtime_index"])
            check(("worker" in s.labels) == (scope == "worker"), "%s: worker label on %s" % (name, s))
        if kind == "COUNTER":
            check(all(s.name == name + "_total" for s in ss), "%s: counter samples %s" % (name, ss[:2]))
        if kind == "HISTOGRAM":
            for w in ("0", "1"):
                b = [s for s in ss if s.labels["worker"] == w and s.name == name + "_bucket"]
                check(b and b[-1].labels["le"] == "+Inf", "%s worker %s: no +Inf bucket" % (name, w))
                les = [float(s.labels["le"]) for s in b]
                check(les == sorted(les) and len(les) >= 10, "%s: bounds %s" % (name, les))
    # ns became seconds: busy time below the process's age, not a count of nanoseconds.
    busy = samples_of(fams["schedrt_worker_busy_seconds"], t.pid)
    check(all(0 <= s.value < 600 for s in busy), "busy seconds not in seconds: %s" % busy)
    # With per-poll timing the polls of worker 0 show up in its poll_time histogram.
    inf = [s.value for s in samples_of(fams["schedrt_worker_poll_time_seconds"], t.pid)
           if s.labels["le"] == "+Inf"]
    check(sum(inf) > 0, "poll_time histogram empty under SCHEDRT_TIMING=1: %s" % inf)
    # Only PID's runtimes.
    check(not samples_of(fams["schedrt_worker_polls"], t2.pid), "stat PID exposed another process")
    # --all: both, and the runtime without timing has no histogram (zeros would say "no polls").
    fams = parse_om(run([inspect, "stat", "--all", "--format", "openmetrics"]).stdout)
    for x in (t, t2):
        check(samples_of(fams["schedrt_worker_polls"], x.pid), "--all lacks pid %d" % x.pid)
    check(not samples_of(fams["schedrt_worker_poll_time_seconds"], t2.pid), "histogram without TIMING")
    check(len(samples_of(fams["schedrt_worker_polls"], t2.pid)) == 1, "t2 has one worker")
    # Bad use: clear error, documented status.
    r = run([inspect, "stat", str(t.pid), "--format", "openmetrics", "-i", "1"], ok=(2,))
    check("-i, -c and -h do not apply" in r.stderr, r.stderr)
    r = run([inspect, "stat", "--all"], ok=(2,))
    check("--all needs --format openmetrics" in r.stderr, r.stderr)
    r = run([inspect, "stat", str(t.pid), "--format", "yaml"], ok=(2,))
    check("expected text, json, openmetrics or prometheus" in r.stderr, r.stderr)
    t.stop()
    r = run([inspect, "stat", str(t.pid), "--format", "openmetrics"], ok=(4,))
    check(r.stdout == "", "output for a missing pid: %r" % r.stdout)
    t2.stop()


def case_promtool(inspect, target_exe, metrics_def):
    promtool = shutil.which("promtool")
    if not promtool:
        skip("promtool is not installed (apt-get install prometheus)")
    t = Target(target_exe, "--workers", "2", timing=True)
    for what in (["--all"], [str(t.pid)]):
        prom = run([inspect, "stat"] + what + ["--format", "prometheus"]).stdout
        check("# TYPE schedrt_worker_polls_total counter" in prom, "0.0.4 dialect: counter TYPE line")
        check("# EOF" not in prom and "# UNIT" not in prom, "0.0.4 dialect with OpenMetrics lines")
        r = subprocess.run([promtool, "check", "metrics"], input=prom, capture_output=True, text=True,
                           timeout=DEADLINE_S)
        check(r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "",
              "promtool check metrics: exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
    # A broken exposition does fail it (the check above is not vacuous).
    bad = prom.replace("# TYPE schedrt_worker_polls_total counter", "# TYPE schedrt_worker_polls_total gauge")
    r = subprocess.run([promtool, "check", "metrics"], input=bad, capture_output=True, text=True)
    check(r.returncode != 0, "promtool accepted a gauge named _total")
    # promtool's OpenMetrics parser (the one Prometheus scrapes with) wants timestamps for a backfill.
    om = run([inspect, "stat", str(t.pid), "--format", "openmetrics"]).stdout
    now = int(time.time())
    stamped = "".join(l if l.startswith("#") else l.rstrip("\n") + " %d\n" % now for l in om.splitlines(True))
    d = tempfile.mkdtemp(prefix="om_promtool_")
    TMPDIRS.append(d)
    src = os.path.join(d, "in.om")
    open(src, "w").write(stamped)
    r = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", src, os.path.join(d, "blocks")],
                       capture_output=True, text=True, timeout=DEADLINE_S)
    check(r.returncode == 0, "promtool's OpenMetrics parser: %s%s" % (r.stdout, r.stderr))
    t.stop()


class Serve:
    def __init__(self, inspect, *args):
        self.p = spawn([inspect, "serve", "--listen", "127.0.0.1:0"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
        line = self.p.stdout.readline()
        m = re.match(r"serving http://127\.0\.0\.1:(\d+)/metrics", line)
        check(m, "serve did not start: %r %s" % (line, self.p.stderr.read() if self.p.poll() is not None else ""))
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d/metrics" % self.port

    def get(self, path="/metrics", method="GET", headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=DEADLINE_S)
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read().decode()
        c.close()
        return r.status, r.getheader("Content-Type"), r.getheader("Allow"), body

    def scrape(self):
        status, ctype, _, body = self.get()
        check(status == 200, "scrape: %d %s" % (status, body[:200]))
        return parse_om(body)

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            fail("serve did not stop on signal %d" % sig)
        err = self.p.stderr.read()
        check(rc == 0, "serve exit %d after signal %d: %s" % (rc, sig, err))
        check("stopped" in err, "serve said nothing on stopping: %r" % err)


def skipped(fams, reason):
    return [s.value for s in fams["sched_inspect_targets_skipped"].samples if s.labels["reason"] == reason][0]


def case_serve_http(inspect, target_exe, metrics_def):
    t = Target(target_exe, "--workers", "2")
    s = Serve(inspect)
    status, ctype, _, body = s.get()
    check(status == 200 and ctype == "application/openmetrics-text; version=1.0.0; charset=utf-8",
          "GET /metrics: %d %r" % (status, ctype))
    fams = parse_om(body)
    check(len(samples_of(fams["schedrt_worker_local_queue_depth"], t.pid)) == 2, "queue depth of 2 workers")
    check(fams["sched_inspect_targets"].samples[0].value >= 1, "sched_inspect_targets")
    # A scraper that knows only the 0.0.4 format gets it; Prometheus's own Accept gets OpenMetrics.
    status, ctype, _, body = s.get(headers={"Accept": "text/plain;version=0.0.4;q=1,*/*;q=0.1"})
    check(status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8", "0.0.4: %r" % ctype)
    check("# EOF" not in body and "# TYPE schedrt_worker_polls_total counter" in body, "0.0.4 body")
    prom_accept = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
                   "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
    status, ctype, _, body = s.get(headers={"Accept": prom_accept})
    check(ctype.startswith("application/openmetrics-text; version=1.0.0"), "Prometheus's Accept: %r" % ctype)
    status, ctype, _, body = s.get(method="HEAD")
    check(status == 200 and body == "", "HEAD: %d %r" % (status, body[:50]))
    for path in ("/", "/metricsx", "/metrics/", "/favicon.ico"):
        status, _, _, body = s.get(path)
        check(status == 404, "GET %s: %d" % (path, status))
    status, _, allow, _ = s.get(method="POST")
    check(status == 405 and allow == "GET, HEAD", "POST: %d Allow %r" % (status, allow))
    s.stop(signal.SIGINT)
    s = Serve(inspect)
    s.stop(signal.SIGTERM)
    for bad, want in (("nohost", 2), ("1.2.3.4", 2), ("[::1:9", 2), ("127.0.0.1:65536", 2),
                      ("192.0.2.1:9464", 1)):
        r = run([inspect, "serve", "--listen", bad], ok=(want,))
        check(r.stderr.count("\n") <= 2 and "serve" in r.stderr, "bad --listen %s: %r" % (bad, r.stderr))
    r = run([inspect, "serve", "--max-targets", "0"], ok=(2,))
    check("--max-targets" in r.stderr, r.stderr)
    r = run([inspect, "serve", "--help"])
    check("--listen ADDR:PORT" in r.stdout and "127.0.0.1:9464" in r.stdout, "serve --help")
    t.stop()


def case_serve_churn(inspect, target_exe, metrics_def):
    keep = Target(target_exe, "--workers", "1", "--idle", "0")
    s = Serve(inspect)
    fams = s.scrape()
    check(samples_of(fams["schedrt_worker_polls"], keep.pid), "the kept target is not in the scrape")
    # Exits between scrapes: cleanly (segment removed), and by SIGKILL (segment left, STALE).
    a = Target(target_exe, "--workers", "1", "--idle", "0")
    b = Target(target_exe, "--workers", "1", "--idle", "0")
    fams = s.scrape()
    for x in (a, b):
        check(samples_of(fams["schedrt_worker_polls"], x.pid), "new target %d missing" % x.pid)
    a.stop(signal.SIGTERM)
    b.stop(signal.SIGKILL)
    check(os.path.exists("/dev/shm" + b.segment), "a SIGKILLed target's segment should stay (STALE)")
    fams = s.scrape()
    for x in (a, b):
        check(not samples_of(fams["schedrt_worker_polls"], x.pid), "exited target %d still exposed" % x.pid)
    check(samples_of(fams["schedrt_worker_polls"], keep.pid), "the kept target went missing")
    check(skipped(fams, "gone") >= 1, "the SIGKILLed runtime is not counted as gone")
    fams = s.scrape()  # the stale segment is not counted again, nor reopened
    check(skipped(fams, "gone") == 0, "a stale segment counted as gone at every scrape")
    # Churn while a client scrapes without pause: runtimes exit during scrapes; every answer is whole.
    stop = threading.Event()
    results = []

    def scraper():
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=DEADLINE_S)
        while not stop.is_set():
            c.request("GET", "/metrics")
            r = c.getresponse()
            results.append((r.status, r.read().decode()))
    th = threading.Thread(target=scraper)
    th.start()
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 6 and n < 30:
        x = Target(target_exe, "--workers", "1", "--idle", "0")
        x.stop(signal.SIGKILL if n % 3 == 0 else signal.SIGTERM)
        n += 1
    stop.set()
    th.join(DEADLINE_S)
    check(len(results) >= 10, "only %d scrapes during the churn" % len(results))
    needle = 'schedrt_worker_polls_total{pid="%d",' % keep.pid
    for i, (status, body) in enumerate(results):
        check(status == 200, "a scrape during the churn answered %d: %s" % (status, body[:200]))
        check(body.endswith("# EOF\n") and needle in body, "scrape %d during the churn: cut or lacking the "
              "kept target" % i)
        if i % 50 == 0:  # the strict parser on a sample: it costs more than the scrape
            parse_om(body)
    s.stop()
    keep.stop()
    print("churn: %d runtimes came and went during %d scrapes" % (n, len(results)))


def case_serve_load(inspect, target_exe, metrics_def):
    targets = [Target(target_exe, "--workers", "1", "--idle", "0", "--no-ticker") for _ in range(50)]
    pids = {str(t.pid) for t in targets}
    s = Serve(inspect)
    fams = s.scrape()
    seen = {x.labels["pid"] for x in fams["schedrt_worker_polls"].samples}
    check(pids <= seen, "first scrape lacks %d of the 50" % len(pids - seen))
    # 100 scrapes per second for 5 s: 4 keep-alive clients, each paced to 25/s on an absolute schedule.
    rate, seconds, clients = 100, 5, 4
    errors, done, sizes = [], [0] * clients, []
    start = time.monotonic() + 0.1

    def client(i):
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=DEADLINE_S)
        per = rate // clients
        for k in range(per * seconds):
            delay = start + (k + i / clients) / per - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing the load generator, not waiting for the server
            c.request("GET", "/metrics")
            r = c.getresponse()
            body = r.read()
            if r.status != 200 or not body.endswith(b"# EOF\n"):
                errors.append((r.status, body[-200:]))
                continue
            done[i] += 1
            if k % 25 == 0:
                sizes.append(body)
    ths = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(DEADLINE_S * 2)
    took = time.monotonic() - start
    total = sum(done)
    check(not errors, "%d failed scrapes, first: %s" % (len(errors), errors[:1]))
    check(total == rate * seconds, "%d of %d scrapes" % (total, rate * seconds))
    # Kept up: 500 scrapes in not much more than 5 s (a server falling behind makes the schedule slip).
    check(took < seconds * 1.5, "%d scrapes took %.2fs: below 100/s" % (total, took))
    for body in sizes:
        fams = parse_om(body.decode())
        seen = {x.labels["pid"] for x in fams["schedrt_worker_polls"].samples}
        check(pids <= seen, "a scrape under load lacks %d of the 50 runtimes" % len(pids - seen))
    s.stop()
    for t in targets:
        t.stop()
    print("load: %d scrapes of 50 runtimes in %.2fs (%.0f/s), %d bytes each" %
          (total, took, total / took, len(sizes[0])))


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def api(port, path):
    import json
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return json.loads(r.read().decode())
    except (OSError, ValueError):
        return None


def case_prometheus(inspect, target_exe, metrics_def):
    prom = shutil.which("prometheus")
    if not prom:
        skip("prometheus is not installed (apt-get install prometheus)")
    t = Target(target_exe, "--workers", "2")
    s = Serve(inspect)
    d = tempfile.mkdtemp(prefix="om_prometheus_")
    TMPDIRS.append(d)
    cfg = os.path.join(d, "prometheus.yml")
    open(cfg, "w").write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                         "scrape_configs:\n  - job_name: schedrt\n"
                         "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % s.port)
    for attempt in range(3):  # the free port may be taken by someone else before Prometheus binds it
        port = free_port()
        p = spawn([prom, "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(d, "data"),
                   "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "prometheus.log"), "w"))
        end = time.monotonic() + DEADLINE_S
        while p.poll() is None and time.monotonic() < end:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % port, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.1)
        if p.poll() is None:
            break
    check(p.poll() is None, "prometheus did not start: %s" % open(os.path.join(d, "prometheus.log")).read())
    q = urllib.parse.quote('schedrt_worker_local_queue_depth{pid="%d"}' % t.pid)

    def answered():
        j = api(port, "/api/v1/query?query=" + q)
        return j and j["status"] == "success" and len(j["data"]["result"]) == 2 and j
    j = wait_until("Prometheus to scrape serve", answered)
    res = j["data"]["result"]
    check(sorted(r["metric"]["worker"] for r in res) == ["0", "1"], "workers: %s" % res)
    for r in res:
        check(r["metric"]["job"] == "schedrt" and r["metric"]["comm"] == "inspect_target", "labels %s" % r)
        check(float(r["value"][1]) >= 0, "value %s" % r)
    # The scrape was clean: target healthy, no error from Prometheus's parser.
    tj = api(port, "/api/v1/targets")
    act = tj["data"]["activeTargets"]
    check(len(act) == 1 and act[0]["health"] == "up" and act[0]["lastError"] == "", "target: %s" % act)
    # Counters arrive as counters: rate() over two scrapes works on the _total series.
    q2 = urllib.parse.quote('schedrt_worker_parks_total{pid="%d"}' % t.pid)
    j = api(port, "/api/v1/query?query=" + q2)
    check(j and len(j["data"]["result"]) == 2, "parks_total: %s" % j)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=DEADLINE_S)
    s.stop()
    t.stop()


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(2)
    case, inspect, target_exe, metrics_def = sys.argv[1:]
    cases = {"format": case_format, "promtool": case_promtool, "serve_http": case_serve_http,
             "serve_churn": case_serve_churn, "serve_load": case_serve_load, "prometheus": case_prometheus}
    check(case in cases, "unknown case " + case)
    cases[case](inspect, target_exe, metrics_def)
    print("openmetrics_e2e: ok", flush=True)


if __name__ == "__main__":
    main()
