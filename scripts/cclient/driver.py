#!/usr/bin/env python3
"""Drive the ZooKeeper C client shell (cli_mt, cli.c of ZooKeeper 3.8) from a script file and
write a raw transcript.

    driver.py CLI_MT HOST:PORT SCRIPT OUT

cli_mt reads one command per line from stdin (main thread) and issues it with the C client's
asynchronous API (zoo_aget, zoo_acreate, ...; exists/wexists use the synchronous API in the
multi-threaded build). Results are printed to stderr by the client's completion thread, which
also runs the watchers, so a command's output arrives after the main thread is already reading
stdin again. To attribute every line to the command that caused it, the driver sends a fence
after each command: `sync /zookeeper` on the same session. The server answers a session's
requests in order and the completion thread runs completions and watch events in the order the
client received them, so once the fence's completion line has been printed, every result and
every watch event the command caused (the server sends a watch event before the reply to the
write that triggered it) has been printed as well. The fence's own two lines
("[/zookeeper]: rc = 0", "<TAB>name = /zookeeper") are dropped; any other fence outcome stays
in the transcript.

Each client runs as `stdbuf -o0 cli_mt -h HOST:PORT` with stdout (only `myid` writes there) and
stderr merged into one pipe, TZ=UTC, LC_ALL=C.

Script lines, after `## session NAME` (one set of clients per session; a client is started on
first use and waits for its session, "Got a new session id"):
    [@X] COMMAND          send COMMAND to client X (default A), then fence; `quit` waits for
                          the client to exit instead
    %send [@X] COMMAND    send without a fence; follow it with %wait. For commands after which
                          the session is gone (an addauth that fails) and for "od", whose
                          completion issues 400 more requests that may reach the server before
                          or after a fence sent right behind it
    %wait [@X] REGEX [S] [nofence]
                          wait until a line of client X's output since its last record matches
                          REGEX (at most S seconds, default 10; events caused by another
                          session's write arrive on this session's own connection), then
                          fence X and record; with `nofence` (the session is gone, e.g. after
                          AUTH_FAILED) the record ends with the matching line and the rest
                          goes to the next record
    %batch ARGS...        run `cli_mt ARGS` (shell words; ${HOSTPORT} substituted) with stdin
                          /dev/null, record its output and exit status (batch mode `-c CMD`)
    %acl PATH DATA ACL... create PATH with DATA and the given ACLs (scheme:id:perms, digest
                          ids as digest:user:password:perms) through kazoo, since cli_mt itself
                          creates every node with OPEN_ACL_UNSAFE and has no setAcl
    # ...                 comment; empty lines are ignored
At the end of a session every running client gets end of input (cli_mt prints "bye" and
closes its session), in client order.

Transcript: `=== session NAME`, then per command `$ [X] COMMAND` (or `% ...` for directives)
followed by the lines the client printed for it, `[exit rc=N]` when a client exits, and
`[driver] ...` lines for anything that went wrong (the exit status is then 1).
"""
import os
import re
import shlex
import subprocess
import sys
import threading
import time

FENCE_PATH = "/zookeeper"
FENCE = "sync " + FENCE_PATH
FENCE_OK = "[%s]: rc = 0" % FENCE_PATH
FENCE_NAME = "\tname = %s" % FENCE_PATH
FENCE_END = re.compile(r"^(\[%s\]: rc = -?\d+|Error -?\d+ for %s)$" % (re.escape(FENCE_PATH), re.escape(FENCE_PATH)))
CMD_LIMIT = float(os.environ.get("CCLIENT_CMD_LIMIT", "20"))
CONNECT_LIMIT = float(os.environ.get("CCLIENT_CONNECT_LIMIT", "20"))


def env():
    e = dict(os.environ)
    e["TZ"] = "UTC"  # dumpStat prints ctime_r() in local time
    e["LC_ALL"] = "C"
    return e


class Client:
    def __init__(self, name, argv):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env(), start_new_session=True)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.lines = []
        self.eof = False
        self.mark = 0  # first line not yet recorded
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def send(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def alive(self):
        return self.proc.poll() is None

    def wait_line(self, pred, start, limit):
        """Index of the first line at or after `start` satisfying pred, or None."""
        end = time.monotonic() + limit
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i]):
                        return i
                    i += 1
                left = end - time.monotonic()
                if self.eof or left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def fence(self, limit=CMD_LIMIT):
        """Send the fence and wait for its result; drop its lines if they are the usual ones.
        Returns True when the fence completed."""
        with self.lock:
            start = len(self.lines)
        if not self.alive() or not self.send(FENCE):
            return False
        i = self.wait_line(FENCE_END.match, start, limit)
        if i is None:
            return False
        with self.lock:
            ok = self.lines[i] == FENCE_OK
        if ok:
            # my_string_completion prints the name with a second fprintf
            j = self.wait_line(lambda l: True, i + 1, 5)
            if j is None:
                return False
            with self.lock:
                if self.lines[j] == FENCE_NAME:
                    del self.lines[i:j + 1]
        return True

    def take(self, upto=None):
        """The lines not yet recorded (up to index `upto`, exclusive, if given)."""
        with self.lock:
            end = len(self.lines) if upto is None else upto
            out = self.lines[self.mark:end]
            self.mark = end
            return out

    def close(self, limit=10):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(limit)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
            rc = None
        self.reader.join(5)
        return rc


def parse_script(path):
    sessions, cur = [], None
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            m = re.match(r"^## session (\S+)\s*$", line)
            if m:
                cur = {"name": m.group(1), "lines": []}
                sessions.append(cur)
                continue
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if cur is None:
                raise SystemExit("%s:%d: command before the first '## session' line" % (path, n))
            cur["lines"].append(line)
    return sessions


def split_target(rest):
    """'@B cmd' -> ('B', 'cmd'); 'cmd' -> ('A', 'cmd')."""
    m = re.match(r"^@(\w+)\s+(.*)$", rest)
    if m:
        return m.group(1), m.group(2)
    m = re.match(r"^@(\w+)$", rest)
    if m:
        return m.group(1), ""
    return "A", rest


def kazoo_acl(hostport, path, data, specs):
    """Create PATH with the given ACLs through kazoo; returns a one-line result."""
    import logging
    logging.disable(logging.CRITICAL)
    from kazoo.client import KazooClient
    from kazoo.security import ACL, Id, make_digest_acl, Permissions
    bits = {"c": Permissions.CREATE, "d": Permissions.DELETE, "r": Permissions.READ,
            "w": Permissions.WRITE, "a": Permissions.ADMIN}
    acls = []
    for spec in specs:
        scheme, rest = spec.split(":", 1)
        ident, perms = rest.rsplit(":", 1)
        p = 0
        for ch in perms:
            p |= bits[ch]
        if scheme == "digest":
            user, password = ident.split(":", 1)
            acls.append(make_digest_acl(user, password, all=False, read="r" in perms,
                                        write="w" in perms, create="c" in perms,
                                        delete="d" in perms, admin="a" in perms))
        else:
            acls.append(ACL(p, Id(scheme, ident)))
    zk = KazooClient(hosts=hostport, timeout=10)
    zk.start(timeout=15)
    try:
        zk.create(path, data.encode(), acl=acls)
        return "ok"
    except Exception as e:  # noqa: BLE001 - the server's answer is the result
        return "error %s" % type(e).__name__
    finally:
        zk.stop()
        zk.close()


class Runner:
    def __init__(self, cli, hostport, out):
        self.cli, self.hostport, self.out = cli, hostport, out
        self.ok = True
        self.commands = 0

    def note(self, msg):
        self.out.write("[driver] %s\n" % msg)
        self.ok = False

    def emit(self, header, lines):
        self.out.write(header + "\n")
        for l in lines:
            self.out.write(l + "\n")

    def client(self, clients, name):
        c = clients.get(name)
        if c is not None:
            return c
        c = Client(name, ["stdbuf", "-o0", self.cli, "-h", self.hostport])
        clients[name] = c
        if c.wait_line(lambda l: l.startswith("Got a new session id: "), 0, CONNECT_LIMIT) is None:
            self.emit("% connect @" + name, c.take())
            self.note("client %s: no session within %ss" % (name, CONNECT_LIMIT))
        else:
            self.emit("% connect @" + name, c.take())
        return c

    def finish_client(self, c, header):
        rc = c.close()
        lines = c.take()
        self.emit(header, lines)
        if rc is None:
            self.note("client %s did not exit within 10s of end of input (killed)" % c.name)
        else:
            self.out.write("[exit rc=%d]\n" % rc)

    def run_session(self, sess):
        self.out.write("=== session %s\n" % sess["name"])
        clients = {}
        for line in sess["lines"]:
            if line == "%batch" or line.startswith("%batch "):
                self.commands += 1
                self.batch(line)
            elif line.startswith("%acl "):
                self.commands += 1
                words = line.split()[1:]
                if len(words) < 3:
                    raise SystemExit("bad %%acl line: %r" % line)
                res = kazoo_acl(self.hostport, words[0], words[1], words[2:])
                self.emit("% " + line[1:], [res])
            elif line.startswith("%wait "):
                self.commands += 1
                name, rest = split_target(line[len("%wait "):])
                parts = rest.split()
                nofence = parts[-1] == "nofence"
                if nofence:
                    parts.pop()
                regex = re.compile(parts[0])
                limit = float(parts[1]) if len(parts) > 1 else 10
                c = self.client(clients, name)
                i = c.wait_line(regex.search, c.mark, limit)
                found = i is not None
                if nofence:
                    self.emit("% " + line[1:], c.take(None if i is None else i + 1))
                else:
                    if c.alive() and not c.fence():
                        self.note("client %s: fence after %%wait did not complete" % name)
                    self.emit("% " + line[1:], c.take())
                if not found:
                    self.note("client %s: no line matching %s within %ss" % (name, parts[0], limit))
            elif line.startswith("%send "):
                self.commands += 1
                name, cmd = split_target(line[len("%send "):])
                c = self.client(clients, name)
                pending = c.take()
                self.emit("$ [%s] %s" % (name, cmd), pending)
                if not c.send(cmd):
                    self.note("client %s: could not send %r" % (name, cmd))
            elif line.startswith("%"):
                raise SystemExit("unknown directive: %r" % line)
            else:
                self.commands += 1
                name, cmd = split_target(line)
                c = self.client(clients, name)
                if not c.alive():
                    self.emit("$ [%s] %s" % (name, cmd), c.take())
                    self.note("client %s exited before this command" % name)
                    continue
                if not c.send(cmd):
                    self.emit("$ [%s] %s" % (name, cmd), c.take())
                    self.note("client %s: could not send %r" % (name, cmd))
                    continue
                if cmd.strip() == "quit" or cmd.startswith("quit "):
                    try:
                        c.proc.wait(CMD_LIMIT)
                    except subprocess.TimeoutExpired:
                        pass
                    self.finish_client(c, "$ [%s] %s" % (name, cmd))
                    del clients[name]
                    continue
                if not c.fence():
                    self.emit("$ [%s] %s" % (name, cmd), c.take())
                    self.note("client %s: command did not complete within %ss" % (name, CMD_LIMIT))
                    continue
                self.emit("$ [%s] %s" % (name, cmd), c.take())
        for name in sorted(clients):
            self.finish_client(clients[name], "% eof @" + name)

    def batch(self, line):
        args = [a.replace("${HOSTPORT}", self.hostport) for a in shlex.split(line[len("%batch"):])]
        try:
            p = subprocess.run(["stdbuf", "-o0", self.cli] + args, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env(),
                               timeout=CMD_LIMIT)
            rc = p.returncode
            lines = p.stdout.decode("utf-8", "replace").splitlines()
        except subprocess.TimeoutExpired as e:
            rc = None
            lines = (e.stdout or b"").decode("utf-8", "replace").splitlines()
        # In batch mode the main thread runs the command right after zookeeper_init(), so its
        # own line ("Creating [/x] node ...") races with the session event printed by the
        # completion thread; put it first, where the main thread (almost always) prints it.
        mine = [l for l in lines if l.startswith("Creating [")]
        lines = [l for l in lines if not l.startswith("Creating [")]
        k = 1 if lines and lines[0].startswith("Batch mode: ") else 0
        lines[k:k] = mine
        self.emit("% " + line[1:], lines)
        if rc is None:
            self.note("batch command still running after %ss (killed)" % CMD_LIMIT)
        else:
            self.out.write("[exit rc=%d]\n" % rc)


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    cli, hostport, script, outpath = sys.argv[1:5]
    sessions = parse_script(script)
    with open(outpath, "w") as out:
        r = Runner(cli, hostport, out)
        for sess in sessions:
            t0 = time.monotonic()
            n0 = r.commands
            r.run_session(sess)
            out.flush()
            sys.stderr.write("session %s: %d commands, %.1fs\n"
                             % (sess["name"], r.commands - n0, time.monotonic() - t0))
    sys.exit(0 if r.ok else 1)


if __name__ == "__main__":
    main()
