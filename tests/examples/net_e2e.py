#!/usr/bin/env python3
"""End-to-end tests of the I/O examples (schedrt-echo, schedrt-http) with real clients.

Usage: net_e2e.py CASE SERVER [SCHED_INSPECT]
CASE: echo | http_basic | http_bad_input | http_idle | http_disconnect | http_emfile | http_inspect

Each case starts the server on an ephemeral port (it prints "listening on 127.0.0.1:PORT"),
talks to it over loopback, then stops it with SIGTERM and expects a clean exit: status 0 and
no "still allocated" (every connection task completed or was dropped and freed). Nothing
here sleeps to synchronise: clients block on the server's answers, and the few waits for a
server-side effect poll that effect under a deadline. Prints "net_e2e: ok" on success.
"""
import atexit
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

DEADLINE_S = 20.0  # any single wait; generous, the machine may be loaded
SERVERS = []  # started and not yet stopped: killed at exit, so a failed case leaves no server behind


@atexit.register
def kill_servers():
    for p in SERVERS:
        if p.poll() is None:
            p.kill()
            p.wait()


def fail(msg):
    print("net_e2e: FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Server:
    """The example server as a child process, its stderr collected by a thread."""

    def __init__(self, argv, nofile=None):
        def limits():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  preexec_fn=limits, text=True)
        SERVERS.append(self.p)
        self.err_lines = []
        self.err_cond = threading.Condition()
        self.err_thread = threading.Thread(target=self._read_err, daemon=True)
        self.err_thread.start()
        line = self.p.stdout.readline()  # blocks until the server listens
        check(line.startswith("listening on 127.0.0.1:"), "no 'listening on' line, got %r" % line)
        self.port = int(line.rsplit(":", 1)[1])
        self.out = line + self.p.stdout.readline()  # the pid line

    def _read_err(self):
        for line in self.p.stderr:
            with self.err_cond:
                self.err_lines.append(line)
                self.err_cond.notify_all()

    def wait_stderr(self, needle, timeout=DEADLINE_S):
        with self.err_cond:
            ok = self.err_cond.wait_for(lambda: any(needle in l for l in self.err_lines), timeout)
        check(ok, "the server never said %r; stderr: %s" % (needle, "".join(self.err_lines)))
        return next(l for l in self.err_lines if needle in l)

    def cpu_s(self):
        """utime + stime of the server, in seconds (/proc/PID/stat fields 14 and 15)."""
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def nfds(self):
        return len(os.listdir("/proc/%d/fd" % self.p.pid))

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE_S)

    def stop(self):
        check(self.p.poll() is None, "the server died: %s" % "".join(self.err_lines))
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.p.kill()
            fail("the server did not exit after SIGTERM")
        self.err_thread.join(DEADLINE_S)
        out = self.out + self.p.stdout.read()
        err = "".join(self.err_lines)
        sys.stdout.write(out)
        sys.stdout.write(err)
        check(rc == 0, "the server exited with %d" % rc)
        check("still allocated" not in err, "connections leaked")
        check("shutting down" in err, "no shutdown message")
        return out


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        check(chunk, "the server closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def recv_until_eof(s):
    buf = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(buf)
        buf += chunk


def eof_or_reset(s):
    """After the server exited: the end of the stream, or a reset (a connection it had not accepted yet,
    or one closed with our bytes unread, is reset by the kernel)."""
    try:
        return recv_until_eof(s) == b""
    except ConnectionResetError:
        return True


def read_response(s, pending):
    """One HTTP response from s (pending: bytes already read); returns (status, headers, body, rest)."""
    buf = pending
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        check(chunk, "the server closed mid-response: %r" % buf)
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        check(chunk, "the server closed mid-body")
        rest += chunk
    return status, headers, rest[:n], rest[n:]


GET = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"
HELLO = b"Hello, World!\n"

# ------------------------------------------------------------------- echo


def case_echo(binary, _):
    srv = Server([binary, "--port", "0", "--workers", "2", "--idle-timeout-ms", "10000"])
    nconn, rounds = 200, 10
    errors = []
    total = [0]
    lock = threading.Lock()

    def client(i):
        try:
            rnd = random.Random(i)
            with srv.connect() as s:
                for _ in range(rounds):
                    msg = rnd.randbytes(rnd.randint(1, 20000))
                    s.sendall(msg)
                    back = recv_exact(s, len(msg))
                    if back != msg:
                        errors.append("connection %d: echoed bytes differ" % i)
                        return
                    with lock:
                        total[0] += len(msg)
                s.shutdown(socket.SHUT_WR)
                if recv_until_eof(s) != b"":
                    errors.append("connection %d: bytes after the end" % i)
        except (OSError, SystemExit) as e:
            errors.append("connection %d: %r" % (i, e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(nconn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "; ".join(errors[:5]))
    out = srv.stop()
    check("%d bytes in, %d bytes out" % (total[0], total[0]) in out,
          "the server's byte counts differ from the client's %d" % total[0])
    check(("%d connections" % nconn) in out, "not %d connections" % nconn)

    # Stopped with clients connected, one of them mid-echo: the connection
    # tasks are dropped with their fds registered, and nothing leaks.
    srv = Server([binary, "--port", "0", "--workers", "2", "--idle-timeout-ms", "10000"])
    held = [srv.connect() for _ in range(20)]
    held[0].sendall(b"ping")
    check(recv_exact(held[0], 4) == b"ping", "no echo")
    srv.stop()
    for s in held:
        check(eof_or_reset(s), "bytes at shutdown")
        s.close()


# ------------------------------------------------------------------- http


def case_http_basic(binary, _):
    import http.client

    srv = Server([binary, "--port", "0", "--workers", "2", "--idle-timeout-ms", "10000"])
    # Keep-alive: two requests on one connection (http.client reuses its socket).
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=DEADLINE_S)
    c.request("GET", "/")
    r = c.getresponse()
    check(r.status == 200 and r.read() == HELLO, "first GET /")
    sock = c.sock
    check(sock is not None, "http.client closed the connection after the first response")
    c.request("GET", "/")
    r = c.getresponse()
    check(r.status == 200 and r.read() == HELLO, "second GET /")
    check(c.sock is sock, "the second request used a new connection")
    c.request("GET", "/nope")
    r = c.getresponse()
    check(r.status == 404, "GET /nope: %d" % r.status)
    r.read()
    c.request("POST", "/", body=b"x" * 1000)
    r = c.getresponse()
    check(r.status == 405, "POST: %d" % r.status)
    r.read()
    c.close()

    # curl, when installed: the same keep-alive, seen from a real client.
    if shutil.which("curl"):
        url = "http://127.0.0.1:%d/" % srv.port
        cp = subprocess.run(["curl", "-sv", url, url], capture_output=True, text=True, timeout=DEADLINE_S)
        check(cp.returncode == 0 and cp.stdout == "Hello, World!\n" * 2, "curl: %s" % cp.stderr)
        check("Re-using existing connection" in cp.stderr, "curl did not reuse the connection")

    # Pipelining: requests in one write, a body among them, answered in order.
    with srv.connect() as s:
        s.sendall(GET + b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n" +
                  b"PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" + GET +
                  b"HEAD / HTTP/1.1\r\n\r\n")
        rest = b""
        got = []
        for _ in range(4):
            st, hd, body, rest = read_response(s, rest)
            got.append((st, body))
        check(got == [(200, HELLO), (404, b"404 Not Found\n"), (405, b"405 Method Not Allowed\n"), (200, HELLO)],
              "pipelined responses: %r" % got)
        # HEAD: the length of the body, but no body.
        while b"\r\n\r\n" not in rest:
            rest += s.recv(4096)
        check(rest.startswith(b"HTTP/1.1 200") and rest.endswith(b"\r\n\r\n") and b"Content-Length: 14" in rest,
              "HEAD: %r" % rest)
        # Many pipelined requests, more than one output buffer holds.
        n = 2000
        s.sendall(GET * n)
        rest = b""
        for i in range(n):
            st, _, body, rest = read_response(s, rest)
            check(st == 200 and body == HELLO, "pipelined request %d" % i)

    # HTTP/1.0: closed after the response unless it asks for keep-alive.
    with srv.connect() as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = recv_until_eof(s)
        check(data.startswith(b"HTTP/1.1 200") and b"Connection: close" in data and data.endswith(HELLO),
              "HTTP/1.0: %r" % data)
    with srv.connect() as s:
        s.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" * 2)
        rest = b""
        for _ in range(2):
            st, hd, body, rest = read_response(s, rest)
            check(st == 200 and hd.get("connection") == "keep-alive", "HTTP/1.0 keep-alive")
    # Connection: close on 1.1.
    with srv.connect() as s:
        s.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n" + GET)
        data = recv_until_eof(s)
        check(data.count(b"HTTP/1.1") == 1 and data.endswith(HELLO), "Connection: close: %r" % data)
    srv.stop()


def expect_error_and_close(srv, payload, status):
    with srv.connect() as s:
        try:
            s.sendall(payload)
        except OSError:
            pass  # the server may close before all of a large payload is sent
        data = recv_until_eof(s)
        check(data.startswith(b"HTTP/1.1 %d " % status) and b"Connection: close" in data,
              "expected %d and a close, got %r" % (status, data[:200]))


def case_http_bad_input(binary, _):
    srv = Server([binary, "--port", "0", "--workers", "2", "--idle-timeout-ms", "10000"])
    # Garbage: refused at once (no end of head needed), then closed.
    expect_error_and_close(srv, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400)
    expect_error_and_close(srv, b"garbage\r\n\r\n", 400)
    expect_error_and_close(srv, b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400)
    expect_error_and_close(srv, b"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400)
    expect_error_and_close(srv, b"GET / FTP/1.1\r\n\r\n", 400)
    # A good request, then garbage: the first is answered, then 400.
    with srv.connect() as s:
        s.sendall(GET + b"\x00\x01\x02\r\n\r\n")
        data = recv_until_eof(s)
        check(data.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 400" in data, "good then garbage: %r" % data)
    # Heads over 8 KiB: 431, whether or not they are complete.
    big = b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
    expect_error_and_close(srv, big, 431)
    expect_error_and_close(srv, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 9000, 431)
    # A head of exactly 8 KiB is fine.
    pad = 8192 - len(b"GET / HTTP/1.1\r\nX-Pad: \r\n\r\n")
    with srv.connect() as s:
        s.sendall(b"GET / HTTP/1.1\r\nX-Pad: " + b"p" * pad + b"\r\n\r\n")
        st, _, body, _ = read_response(s, b"")
        check(st == 200 and body == HELLO, "an 8 KiB head: %d" % st)
    # Bodies: discarded up to 1 MiB; a larger Content-Length is 413; chunked is 501.
    with srv.connect() as s:
        s.sendall(b"POST / HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n" + b"b" * 1048576 + GET)
        st1, _, _, rest = read_response(s, b"")
        st2, _, body, _ = read_response(s, rest)
        check(st1 == 405 and st2 == 200 and body == HELLO, "after a 1 MiB body: %d %d" % (st1, st2))
    expect_error_and_close(srv, b"POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 413)
    expect_error_and_close(srv, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501)
    # Still serving.
    with srv.connect() as s:
        s.sendall(GET)
        st, _, body, _ = read_response(s, b"")
        check(st == 200 and body == HELLO, "served after the bad input")
    srv.stop()


def case_http_idle(binary, _):
    idle_ms = 500
    srv = Server([binary, "--port", "0", "--workers", "2", "--idle-timeout-ms", str(idle_ms)])
    # A client that sends nothing: closed after the timeout, not before.
    t0 = time.monotonic()
    with srv.connect() as s:
        data = recv_until_eof(s)
    dt = time.monotonic() - t0
    check(data == b"", "the silent client got %r" % data)
    check(dt >= idle_ms / 1000 - 0.005, "closed after %.3f s, before the %d ms timeout" % (dt, idle_ms))
    check(dt < idle_ms / 1000 + 2.0, "closed only after %.3f s (timeout %d ms)" % (dt, idle_ms))
    print("net_e2e: silent client closed after %.3f s (timeout %d ms)" % (dt, idle_ms))
    # A client that stops mid-head is just as silent.
    t0 = time.monotonic()
    with srv.connect() as s:
        s.sendall(b"GET / HTTP/1.1\r\nHo")
        data = recv_until_eof(s)
    dt = time.monotonic() - t0
    check(data == b"" and idle_ms / 1000 - 0.005 <= dt < idle_ms / 1000 + 2.0, "mid-head client: %.3f s" % dt)
    # Activity keeps a connection open: requests every 200 ms for 1.5 s (the
    # pauses are the client's behaviour under test, not synchronisation).
    with srv.connect() as s:
        rest = b""
        for i in range(8):
            s.sendall(GET)
            st, _, body, rest = read_response(s, rest)
            check(st == 200, "request %d of the active client" % i)
            time.sleep(0.2)
    srv.stop()


def case_http_disconnect(binary, _):
    srv = Server([binary, "--port", "0", "--workers", "2", "--idle-timeout-ms", "30000"])
    with srv.connect() as s:  # warm: the runtime's own fds are all open
        s.sendall(GET)
        read_response(s, b"")
    base = srv.nfds()
    for i in range(50):
        s = srv.connect()
        kind = i % 5
        if kind == 0:
            s.sendall(b"GET / HTTP/1.1\r\nHost:")  # mid-head
        elif kind == 1:
            s.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"x" * 10)  # mid-body
        elif kind == 2:
            s.sendall(GET * 50)  # gone before reading its responses
        elif kind == 3:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.sendall(b"GET / HTTP/1.1\r\n")  # reset (RST) mid-head
        s.close()
    # Every one of those connections ends on the server: its fd count comes
    # back to where it was (polled under a deadline; the effect is remote).
    deadline = time.monotonic() + DEADLINE_S
    while srv.nfds() > base and time.monotonic() < deadline:
        time.sleep(0.02)
    check(srv.nfds() <= base, "the server holds %d fds, %d before the disconnects" % (srv.nfds(), base))
    with srv.connect() as s:
        s.sendall(GET)
        st, _, body, _ = read_response(s, b"")
        check(st == 200 and body == HELLO, "not served after the disconnects")
    # Connections still open at shutdown: their tasks are dropped with their
    # fds registered, some of them mid-request (stop() checks the clean exit).
    held = []
    for i in range(20):
        s = srv.connect()
        s.sendall(GET if i % 2 else b"GET / HTTP/1.1\r\nHo")
        if i % 2:
            read_response(s, b"")
        held.append(s)
    srv.stop()
    for s in held:
        check(eof_or_reset(s), "a held connection got bytes at shutdown")
        s.close()


def case_http_emfile(binary, _):
    limit, nconn = 64, 100
    srv = Server([binary, "--port", "0", "--workers", "2", "--idle-timeout-ms", "60000"], nofile=limit)
    conns = [srv.connect() for _ in range(nconn)]
    line = srv.wait_stderr("backing off")
    t_first = time.monotonic()
    check("accept: too many open files (" in line, "back-off line: %r" % line)
    # The first connections (accepted first, FIFO) are served.
    for i, s in enumerate(conns[:10]):
        s.sendall(GET)
        st, _, body, _ = read_response(s, b"")
        check(st == 200 and body == HELLO, "connection %d not served while out of fds" % i)
    # Out of fds, the server waits, it does not spin: CPU time over 2 s.
    c0, t0 = srv.cpu_s(), time.monotonic()
    time.sleep(2.0)  # the measured interval
    c1, t1 = srv.cpu_s(), time.monotonic()
    cpu = (c1 - c0) / (t1 - t0)
    print("net_e2e: %.1f%% of a CPU over %.1f s out of fds" % (100 * cpu, t1 - t0))
    check(cpu < 0.10, "the server used %.0f%% of a CPU out of fds: spinning" % (100 * cpu))
    logged = sum("backing off" in l for l in srv.err_lines)
    check(logged <= int(time.monotonic() - t_first) + 2, "%d back-off lines: not once a second" % logged)
    # The last connection waits in the kernel's queue; once enough of the
    # first ones closed (their fds freed by the server), it is served.
    conns[-1].sendall(GET)
    for s in conns[:60]:
        s.close()
    st, _, body, _ = read_response(conns[-1], b"")
    check(st == 200 and body == HELLO, "the queued connection was not served")
    for s in conns[60:]:
        s.sendall(GET)
        st, _, body, _ = read_response(s, b"")
        check(st == 200, "a later connection was not served")
        s.close()
    srv.stop()


def case_http_inspect(binary, inspect):
    srv = Server([binary, "--port", "0", "--workers", "2", "--idle-timeout-ms", "0"])
    with srv.connect() as s:
        peer = "127.0.0.1:%d" % s.getsockname()[1]
        s.sendall(GET)
        read_response(s, b"")  # served: its task now waits to read the next request
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "http.cbor")
            cp = subprocess.run([inspect, "dump", str(srv.p.pid), "-o", path], capture_output=True, text=True,
                                timeout=DEADLINE_S)
            check(cp.returncode == 0, "sched-inspect dump: %d %s %s" % (cp.returncode, cp.stdout, cp.stderr))
            cp = subprocess.run([inspect, "show", path, "--json"], capture_output=True, text=True,
                                timeout=DEADLINE_S)
            check(cp.returncode == 0, "sched-inspect show: %s" % cp.stderr)
            doc = json.loads(cp.stdout)
    # A task's I/O wait: the "io" object where the report has one, else the
    # dump's own fields (wait "io", wait_fd, wait_interest, peer).
    io = []
    for t in doc.get("tasks") or []:
        w = t.get("io") or ({"fd": t.get("wait_fd"), "interest": t.get("wait_interest"), "peer": t.get("peer")}
                            if t.get("wait") == "io" else None)
        if w:
            io.append({"name": t.get("name"), "state": t.get("state"), "io": w})
    print("net_e2e: tasks waiting on io: %s" % json.dumps(io))
    conn = [t for t in io if t["name"] == "http-conn"]
    check(len(conn) == 1, "expected one http-conn waiting on io")
    check(conn[0]["io"]["interest"] == "read" and conn[0]["io"]["peer"] == peer,
          "the connection's io wait: %r, peer %s" % (conn[0]["io"], peer))
    check(any(t["name"] == "acceptor" for t in io), "the acceptor does not wait on io")
    srv.stop()


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in CASES:
        print(__doc__)
        sys.exit(2)
    CASES[sys.argv[1]](sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    print("net_e2e: ok")
