#!/usr/bin/python3
"""Reads a schedrt task dump with Python's cbor2 (Debian python3-cbor2) and checks it
against docs/dump-format.md: a library that knows nothing of schedrt must read it.

usage: check_dump.py DUMP [EXPECTED_TASKS]    exit 0 if it conforms
"""
import sys

import cbor2

STATES = {"running", "lifo", "local", "deferred", "injection", "scheduled", "idle", "completing"}
QUEUED = {"lifo", "local", "deferred", "injection"}
ROLES = {"held", "leader", "requester", "missing"}
WSTATES = {None, "starting", "running", "searching", "parked", "stopped"}
REASONS = {None, "polling", "no_safepoint"}
SOURCES = {None, "poll_start", "monitor", "lower_bound"}
WAITS = {"join", "notify", "oneshot", "mutex", "semaphore", "channel_send", "channel_recv"}


def fail(msg):
    print("check_dump: " + msg, file=sys.stderr)
    sys.exit(1)


def need(cond, msg):
    if not cond:
        fail(msg)


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def opt_uint(v):
    return v is None or is_uint(v)


def opt_text(v):
    return v is None or isinstance(v, str)


def check_map(m, spec, what, optional=None):
    need(isinstance(m, dict), what + " is not a map")
    for key, pred in spec.items():
        need(key in m, "%s lacks %r" % (what, key))
        need(pred(m[key]), "%s: bad %r: %r" % (what, key, m[key]))
    for key, pred in (optional or {}).items():
        need(key not in m or pred(m[key]), "%s: bad %r: %r" % (what, key, m.get(key)))


def is_backtrace(b):
    """1.3: a stall backtrace (workers[].backtrace)."""
    check_map(b, {"result": lambda v: isinstance(v, str), "signal": opt_uint, "wait_ns": is_uint,
                  "truncated": lambda v: isinstance(v, bool), "frames": lambda v: isinstance(v, list)},
              "backtrace", {"why": lambda v: isinstance(v, str)})
    need(b["result"] != "ok" or (b["frames"] and b["signal"] is not None), "an ok backtrace has frames")
    need(b["result"] == "ok" or not b["frames"], "only an ok backtrace has frames")
    need(len(b["frames"]) <= 64, "at most 64 frames")
    for f in b["frames"]:
        check_map(f, {"ip": is_uint, "module": opt_text, "module_offset": opt_uint, "symbol": opt_text,
                      "symbol_offset": opt_uint}, "frame")
        need((f["module"] is None) == (f["module_offset"] is None), "a module goes with its offset")
        need((f["symbol"] is None) == (f["symbol_offset"] is None), "a symbol goes with its offset")
    return True


def main():
    path = sys.argv[1]
    raw = open(path, "rb").read()
    need(raw[:3] == b"\xd9\xd9\xf7", "does not start with the self-describe tag 55799")
    # cbor2 drops tag 55799 by itself (older versions hand back a CBORTag).
    d = cbor2.loads(raw)
    if isinstance(d, cbor2.CBORTag):
        need(d.tag == 55799, "unexpected tag %d" % d.tag)
        d = d.value
    need(isinstance(d, dict), "top level is not a map")
    need(d.get("format") == "schedrt-dump", "format name")
    need(isinstance(d.get("version"), list) and d["version"][0] == 1, "version major 1")
    meta = d["meta"]
    check_map(meta, {
        "runtime": lambda v: isinstance(v, str), "runtime_version": lambda v: isinstance(v, str),
        "pid": is_uint, "proc_starttime": is_uint,
        "boot_id": lambda v: isinstance(v, bytes) and len(v) == 16,
        "started_mono_ns": is_uint, "nworkers": is_uint,
        "source": lambda v: v in ("api", "control", "watchdog"),
        "label": opt_text, "nonce": lambda v: isinstance(v, bytes) and len(v) == 16,
        "status": lambda v: v in ("OK", "PARTIAL"), "deadline_ms": is_uint,
        "requested_mono_ns": is_uint, "taken_mono_ns": is_uint, "taken_realtime_ns": is_uint,
        "gather_ns": is_uint, "pause_ns": is_uint,
        "workers_covered": lambda v: isinstance(v, list) and all(map(is_uint, v)),
        "workers_missing": lambda v: isinstance(v, list) and all(map(is_uint, v)),
        "task_count": is_uint,
    }, "meta", {"gather_rounds": is_uint})
    minor = d["version"][1]
    bounds = d.get("histogram_bounds_ns")
    need(bounds is None or (isinstance(bounds, list) and all(map(is_uint, bounds)) and len(bounds) <= 64),
         "histogram_bounds_ns")
    n = meta["nworkers"]
    need(sorted(meta["workers_covered"] + meta["workers_missing"]) == list(range(n)), "covered + missing")
    need((meta["status"] == "OK") == (not meta["workers_missing"]), "status vs missing workers")
    need(len(d["workers"]) == n, "one entry per worker")
    for i, w in enumerate(d["workers"]):
        check_map(w, {
            "index": lambda v, i=i: v == i, "role": lambda v: v in ROLES, "state": lambda v: v in WSTATES,
            "reason": lambda v: v in REASONS,
            "local_queue": is_uint, "lifo": lambda v: v in (0, 1), "deferred": opt_uint,
            "current_task": opt_uint, "running_ns": opt_uint, "running_ns_source": lambda v: v in SOURCES,
        }, "worker %d" % i, {
            "tid": opt_uint, "held_ns": is_uint,
            "poll_time": lambda v: bounds is not None and len(v) == len(bounds) and all(map(is_uint, v)),
            "sched_latency": lambda v: bounds is not None and len(v) == len(bounds) and all(map(is_uint, v)),
            "backtrace": lambda v: minor >= 3 and is_backtrace(v),
        })
        if minor >= 1:
            need("held_ns" in w and "tid" in w, "worker %d: a 1.1 dump has tid and held_ns" % i)
        need((w["role"] == "missing") == (i in meta["workers_missing"]), "worker %d role" % i)
    check_map(d["injection"], {"depth": is_uint}, "injection")
    spawn, awaits = d["spawn_sites"], d["await_sites"]
    for s in spawn:
        check_map(s, {"file": opt_text, "line": is_uint, "func": opt_text}, "spawn site")
    for s in awaits:
        check_map(s, {"label": opt_text, "file": opt_text, "line": is_uint}, "await site")
    tasks = d["tasks"]
    need(len(tasks) == meta["task_count"], "task_count")
    ids = set()
    for t in tasks:
        check_map(t, {
            "id": is_uint, "name": opt_text, "state": lambda v: v in STATES, "worker": opt_uint,
            "position": opt_uint, "spawn": lambda v: is_uint(v) and v < len(spawn),
            "await": lambda v: v is None or (is_uint(v) and v < len(awaits)),
            "polls": is_uint, "age_ns": is_uint, "state_ns": opt_uint,
        }, "task", {
            "wakers": is_uint, "timers": is_uint, "timer_in_ns": is_uint, "wait": lambda v: v in WAITS,
            "wait_for": is_uint, "wait_object": is_uint, "lost_wake": lambda v: v is True,
            "holders": lambda v: isinstance(v, list) and len(v) % 2 == 0 and len(v) <= 16 and all(map(is_uint, v)),
            "holders_more": is_uint,
        })
        if minor >= 1:
            need("wakers" in t and "timers" in t, "task %d: a 1.1 dump says who can wake it" % t["id"])
            need(("timer_in_ns" in t) == (t["timers"] > 0), "timer_in_ns iff timers")
            if t.get("wait") in ("mutex", "semaphore") and minor >= 2:
                # 1.2: wait_for names the only holder, when exactly one task holds it.
                h = t.get("holders", [])
                need(("wait_for" in t) == (len(h) == 2 and h[0] != 0 and "holders_more" not in t),
                     "task %d: wait_for iff one holder" % t["id"])
                need("wait_for" not in t or t["wait_for"] == h[0], "wait_for is the holder")
            else:
                need(("wait_for" in t) == (t.get("wait") == "join"), "wait_for iff wait join")
            need(("holders" in t) <= (t.get("wait") in ("mutex", "semaphore")), "holders only for a mutex or semaphore")
            need(t.get("lost_wake") is None or (t["state"] == "idle" and t["wakers"] == 0 and t["timers"] == 0),
                 "task %d: lost_wake only for an idle task nothing can wake" % t["id"])
        need(t["id"] not in ids, "duplicate task id %d" % t["id"])
        ids.add(t["id"])
        need((t["state"] in QUEUED) == (t["position"] is not None), "position iff queued")
    ev = d.get("events")
    if ev is not None:
        # 1.4: a watchdog dump's event rings.
        need(minor >= 4, "events in a dump older than 1.4")
        check_map(ev, {"window_ns": is_uint, "copied_mono_ns": is_uint, "ring_size": is_uint,
                       "max_per_ring": is_uint, "rings": lambda v: isinstance(v, list) and len(v) <= n + 1},
                  "events")
        for r in ev["rings"]:
            check_map(r, {"worker": lambda v: v is None or (is_uint(v) and v < n), "written": is_uint,
                          "lost": is_uint, "torn": is_uint, "cut": is_uint,
                          "events": lambda v: isinstance(v, list) and len(v) <= ev["max_per_ring"]}, "event ring")
            need(all(isinstance(e, list) and len(e) >= 5 and all(map(is_uint, e)) and 1 <= e[2] <= 255
                     for e in r["events"]), "an event is [seq, time_mono_ns, kind, a, b]")
            seqs = [e[0] for e in r["events"]]
            need(seqs == sorted(set(seqs)), "events oldest first")
            need(not seqs or seqs[-1] < r["written"], "an event's seq is below written")
        need(len({r["worker"] for r in ev["rings"]}) == len(ev["rings"]), "one ring per worker")
    if len(sys.argv) > 2:
        need(len(tasks) == int(sys.argv[2]), "expected %s tasks, found %d" % (sys.argv[2], len(tasks)))
    print("check_dump: ok: %d tasks, %d workers, %d spawn sites" % (len(tasks), n, len(spawn)))


main()
