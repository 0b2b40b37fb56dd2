"""What the end-to-end scripts that drive inspect_target share: a failure in the script's own words, and
targets that die with the script (PR_SET_PDEATHSIG), are stopped at its exit (SIGCONT, then SIGTERM) and
leave no stderr log behind."""
import atexit
import ctypes
import os
import signal
import subprocess
import sys
import tempfile

NAME = os.path.splitext(os.path.basename(sys.argv[0]))[0]
CHILDREN = []
LOGS = []  # the targets' stderr files, removed at exit


def fail(msg):
    print(f"{NAME}: FAIL: " + msg, flush=True)
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
    for log in LOGS:
        if os.path.exists(log):
            os.unlink(log)


def die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start(exe, *args, idle, env=None, stderr_pipe=False, preexec=die_with_parent):
    """inspect_target --no-ticker --idle IDLE ARGS, once it said "ready": (the process, the path of its stderr
    log; None with stderr_pipe, when its stderr is the process's pipe)."""
    log = None if stderr_pipe else tempfile.NamedTemporaryFile(prefix=NAME + ".", suffix=".log", delete=False)
    if log:
        LOGS.append(log.name)
    p = subprocess.Popen([exe, "--no-ticker", "--idle", str(idle), *args], stdout=subprocess.PIPE,
                         stderr=log or subprocess.PIPE, env={**os.environ, **(env or {})}, preexec_fn=preexec,
                         text=True)
    CHILDREN.append(p)
    line = p.stdout.readline()
    if not line.startswith("ready"):
        fail(f"target {args} did not get ready: {line!r}")
    return p, log.name if log else None
