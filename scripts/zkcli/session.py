#!/usr/bin/env python3
"""Drive interactive zkCli.sh sessions from a script file and write a raw transcript.

    session.py ZKCLI HOST:PORT SCRIPT OUT [SESSION-NAME...]

zkCli.sh (ZooKeeperMain without jline, as in Debian's package) reads one command per line from
stdin with a BufferedReader when no command is given on its command line. This driver starts one
zkCli.sh per `## session NAME` section of SCRIPT and feeds it the section's lines one at a time:
a line is written only after the previous command has completed, i.e. once the JVM's main thread
is blocked reading fd 0 again (/proc/PID/task/*/syscall shows read(0, ...)) and no output has
arrived for a short settle time (watch events are printed by the client's event thread, which
runs concurrently with the main thread). So every output line is attributed to the command that
caused it, deterministically.

Script lines (after `## session NAME [option...]`):
    <zkCli command>     sent verbatim; ${PORT} and ${HOSTPORT} are substituted
    %sleep SECONDS      wait (e.g. for the server's container/TTL reaper); recorded as "% sleep"
    %wait REGEX [SECS]  wait until an output line of the current session matches REGEX
    # ...               comment (not sent)
    (empty line)        ignored
Session options: `nowait` = do not wait for the initial SyncConnected event.

Transcript per command:   `$ command`, then its stdout lines (watch events removed), then its
stderr lines prefixed `[stderr] `, then its watch events as one line each
(`WATCHER:: WatchedEvent state:... type:... path:...`). stdout and stderr are separate pipes and
events come from another thread, so only the order within each of those three groups is
meaningful; the grouping makes the transcript independent of thread and pipe timing.
At the end `[exit rc=N]` (zkCli exits with the status of its last command).
"""
import os
import re
import subprocess
import sys
import threading
import time

SETTLE = float(os.environ.get("ZKCLI_SETTLE", "0.1"))  # quiet time after a command
CMD_LIMIT = float(os.environ.get("ZKCLI_CMD_LIMIT", "40"))  # one command (sync waits 30s)
LOG_NOISE = re.compile(r"^(SLF4J:|log4j:)")


class Session:
    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, start_new_session=True)
        self.lock = threading.Lock()
        self.lines = []  # (stream, text)
        self.last = time.monotonic()
        self.readers = [threading.Thread(target=self._read, args=(s, n), daemon=True)
                        for s, n in ((self.proc.stdout, "out"), (self.proc.stderr, "err"))]
        for t in self.readers:
            t.start()

    def _read(self, stream, name):
        for raw in iter(stream.readline, b""):
            with self.lock:
                self.lines.append((name, raw.decode("utf-8", "replace").rstrip("\n")))
                self.last = time.monotonic()

    def mark(self):
        with self.lock:
            return len(self.lines)

    def since(self, mark):
        with self.lock:
            return list(self.lines[mark:])

    def java_pid(self):
        """The JVM: zkCli.sh runs java as a child of its shell (no exec)."""
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if f.read().strip() == "java":
                        return pid
                with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
        return None

    def reading_stdin(self):
        pid = self.java_pid()
        if pid is None:
            return False
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            return False
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/syscall" % (pid, t)) as f:
                    fields = f.read().split()
            except OSError:
                continue
            # syscall 0 = read(2) on x86-64, 63 on arm64/riscv; first argument fd 0
            if len(fields) > 1 and fields[0] in ("0", "63") and fields[1] == "0x0":
                return True
        return False

    def idle(self, limit):
        """Wait until the command is done: main thread back in read(0), output quiet."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                time.sleep(SETTLE)
                return True
            with self.lock:
                quiet = time.monotonic() - self.last
            if quiet >= SETTLE and self.reading_stdin():
                # re-check after the settle time: nothing new, still waiting for input
                time.sleep(SETTLE)
                with self.lock:
                    quiet = time.monotonic() - self.last
                if quiet >= SETTLE and self.reading_stdin():
                    return True
            time.sleep(0.02)
        return False

    def wait_for(self, regex, mark, limit):
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if any(regex.search(t) for _, t in self.since(mark)):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        return False

    def send(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False


def render(cmd, lines, out):
    """One command's output, grouped: stdout, stderr, events (see module doc)."""
    stdout = [t for s, t in lines if s == "out"]
    stderr = [t for s, t in lines if s == "err" and not LOG_NOISE.match(t)]
    body, events, pending = [], [], None
    i = 0
    # printMessage() prints "\n" + msg with one println: an empty line, then the message.
    while i < len(stdout):
        t = stdout[i]
        if t == "" and i + 1 < len(stdout) and stdout[i + 1] == "WATCHER::":
            pending = "WATCHER::"
            i += 2
            continue
        if t == "" and i + 1 < len(stdout) and stdout[i + 1].startswith("WatchedEvent "):
            events.append(((pending + " ") if pending else "") + stdout[i + 1])
            pending = None
            i += 2
            continue
        body.append(t)
        i += 1
    if pending:
        events.append(pending)
    if cmd is not None:
        out.write("$ %s\n" % cmd)
    for t in body:
        out.write(t + "\n")
    for t in stderr:
        out.write("[stderr] " + t + "\n")
    for t in events:
        out.write(t + "\n")


def parse_script(path):
    sessions, cur = [], None
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            m = re.match(r"^## session (\S+)(.*)$", line)
            if m:
                cur = {"name": m.group(1), "opts": m.group(2).split(), "lines": []}
                sessions.append(cur)
                continue
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if cur is None:
                raise SystemExit("%s: command before the first '## session' line: %r" % (path, line))
            cur["lines"].append(line)
    return sessions


def run_session(zkcli, hostport, sess, out, env):
    port = hostport.rsplit(":", 1)[1]
    out.write("=== session %s\n" % sess["name"])
    s = Session([zkcli, "-server", hostport], env)
    ok = True
    # banner: "Connecting to ...", "Welcome to ZooKeeper!", "JLine support is disabled", then
    # the SyncConnected event once the session is established.
    start = s.mark()
    if "nowait" not in sess["opts"]:
        if not s.wait_for(re.compile(r"^WatchedEvent state:SyncConnected"), start, 30):
            out.write("[driver] no SyncConnected event within 30s\n")
            ok = False
    s.idle(CMD_LIMIT)
    render(None, s.since(start), out)
    mark = wait_mark = s.mark()
    for line in sess["lines"]:
        cmd = line.replace("${HOSTPORT}", hostport).replace("${PORT}", port)
        if cmd.startswith("%sleep "):
            time.sleep(float(cmd.split()[1]))
            out.write("%% sleep %s\n" % cmd.split()[1])
            continue
        if cmd.startswith("%wait "):
            parts = cmd.split()
            limit = float(parts[2]) if len(parts) > 2 else 10
            if not s.wait_for(re.compile(parts[1]), wait_mark, limit):
                out.write("[driver] no output matching %s within %ss\n" % (parts[1], limit))
            s.idle(CMD_LIMIT)
            out.write("%% wait %s\n" % parts[1])
            render(None, s.since(mark), out)
            mark = s.mark()
            continue
        if s.proc.poll() is not None:
            out.write("[driver] zkCli exited before: %s\n" % cmd)
            ok = False
            break
        mark = wait_mark = s.mark()
        if not s.send(cmd):
            out.write("[driver] could not write: %s\n" % cmd)
            ok = False
            break
        if not s.idle(CMD_LIMIT):
            out.write("[driver] command still running after %ss\n" % CMD_LIMIT)
            ok = False
        lines = s.since(mark)
        render(cmd, lines, out)
        mark = s.mark()
    # end of input: zkCli exits with the status of its last command
    try:
        s.proc.stdin.close()
    except OSError:
        pass
    try:
        rc = s.proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(s.proc.pid, 9)
        rc = s.proc.wait()
        out.write("[driver] zkCli did not exit within 30s of end of input\n")
        ok = False
    for t in s.readers:
        t.join(5)
    render(None, s.since(mark), out)
    out.write("[exit rc=%d]\n" % rc)
    return ok


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    zkcli, hostport, script, outpath = sys.argv[1:5]
    only = set(sys.argv[5:])
    env = dict(os.environ)
    # zkCli reads stdin and writes stdout in the JVM's default charset, which follows the locale
    env["LC_ALL"] = "C.UTF-8"
    ok = True
    with open(outpath, "w") as out:
        for sess in parse_script(script):
            if only and sess["name"] not in only:
                continue
            t0 = time.monotonic()
            ok = run_session(zkcli, hostport, sess, out, env) and ok
            out.flush()
            sys.stderr.write("zkcli session %s: %d lines, %.1fs\n"
                             % (sess["name"], len(sess["lines"]), time.monotonic() - t0))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
