#!/usr/bin/env bash
# zkcli vs zkCli.sh: the same scripted zkCli sessions through Apache's Java zkCli.sh
# (/usr/share/zookeeper/bin/zkCli.sh, ZooKeeper 3.8) and through bin/zkcli, each against its
# own fresh bin/zkserver (new data dir, free loopback port, admin.enableServer=false), the
# transcripts normalised and diffed. Exit status 0 only if they are identical.
#
#   bash scripts/zkcli-diff.sh            (called at the end of scripts/interop.sh)
#
# What runs, per client:
#   1. batch mode: one process per line of BATCH below (`CLIENT -server HOST:PORT [opts] cmd...`),
#      recording stdout, stderr and the exit status;
#   2. interactive mode: every session of scripts/zkcli/sessions.zkcli (every command of zkCli's
#      `help` with its options and error outputs, watch events, auth, quotas, TTL/container
#      expiry, history/redo, close/connect/quit, ls2/rmr), fed on stdin one line at a time by
#      scripts/zkcli/session.py (which waits until the client blocks reading stdin again), plus
#      the EXTRA_SESSIONS below.
# Both transcripts go through scripts/zkcli/normalise.py (dates, zxids and session ids numbered
# by first appearance, ports, unspecified orders) and are then compared line by line.
#
# Environment: ZKGO_BIN (default bin/zkserver), ZKCLI_BIN (default bin/zkcli),
# ZKCLI_DIFF_KEEP=1 keeps the work directory (it is also kept on failure),
# ZKCLI_SESSIONS="a b" runs only these sessions.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ZKGO_BIN=${ZKGO_BIN:-$ROOT/bin/zkserver}
ZKCLI_BIN=${ZKCLI_BIN:-$ROOT/bin/zkcli}
JAVA_CLI=/usr/share/zookeeper/bin/zkCli.sh
PY=/usr/bin/python3
SESSIONS=$ROOT/scripts/zkcli/sessions.zkcli
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkcli-diff.XXXXXX")
FAILED=0
SERVER_PID=""

log() { echo "zkcli-diff: $*"; }
fail() {
    echo "zkcli-diff: FAIL: $*" >&2
    FAILED=1
}

stop_server() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 20); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.25
        done
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    SERVER_PID=""
}
on_exit() {
    stop_server
    if [[ $FAILED == 0 && ${ZKCLI_DIFF_KEEP:-0} != 1 ]]; then
        rm -rf "$WORK"
    else
        log "work directory kept: $WORK"
    fi
}
trap on_exit EXIT
trap 'FAILED=1; exit 130' INT TERM HUP

# Batch-mode invocations: options before the command, then the command words (split on
# spaces). Each runs in a new session.
BATCH=(
    "ls /"
    "create /bx data"
    "get -s /bx"
    "-timeout 5000 set -s /bx data2"
    "-r get /bx"
    "-timeout 10000 -r stat /bx"
    "create /bx again"
    "ls /nope"
    "create -e /bx/eph e"
    "getAcl /bx"
    "version"
    "foo"
    "whoami"
    "sync /bx"
    "getAllChildrenNumber /bx"
    "deleteall /bx"
    "get /bx"
    "close"
)

# Sessions added to scripts/zkcli/sessions.zkcli for this comparison: argument parsing corners
# (quotes, 3.4-style "ls path watch", attached and concatenated options, "--"), invalid paths,
# option errors, connect without a host, redo of a failing command.
EXTRA_SESSIONS=$(
    cat <<'ZKCLI'
## session extra
create /x1 'single quoted'
get /x1
create /x1/a "a b" world:anyone:cdrwa
ls /x1 watch
set /x1 changed
get /x1 w
stat /x1 w
set /x1 again
delete /x1/a 0
ls -?
create -se /x1/q- d
create -t500000 /x1/t d
create -t=500000 /x1/t2 d
create -t
create -s -t -5 /x1/t3 d
create -- /x1/dd -x
get /x1/dd
set -s -v0 /x1 new
set /x1
get -s -w -x /x1
stat /x1/q
create /x1/bad/ x
create /x1//y x
create /x1/./y x
sync /x1/
getEphemerals /x1
getAllChildrenNumber x1
setAcl -s -v 0 /x1 world:anyone:cdrwa
setAcl -R /x1 world:anyone:cdrwa
getAcl /x1/t
deleteall /x1 -b 1
deleteall -b 0 /x1
ls /x1
delquota -x /x1
listquota q
config -c -s
printwatches maybe
printwatches
connect
%wait SyncConnected
history
redo 2
quit
ZKCLI
)

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME: a fresh zkserver; sets PORT and SERVER_PID.
start_server() {
    local dir=$WORK/$1-server i
    mkdir -p "$dir/data"
    PORT=$(free_port)
    # The settings of interop.sh's zkCli check, as system properties (SERVER_JVMFLAGS): TTL
    # nodes need extended types, the quota session needs hard quotas enforced, the
    # container/TTL reaper runs every second.
    cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$dir/data
clientPort=$PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
CFG
    SERVER_JVMFLAGS="-Dzookeeper.extendedTypesEnabled=true -Dzookeeper.enforceQuota=true -Dznode.container.checkIntervalMs=1000" \
        "$ZKGO_BIN" start-foreground "$dir/zoo.cfg" </dev/null >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    for ((i = 0; i < 150; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        if nc -z 127.0.0.1 "$PORT" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    fail "$1: zkserver did not start on 127.0.0.1:$PORT (log: $dir/server.log)"
    tail -20 "$dir/server.log" >&2
    return 1
}

# run_batch NAME CLIENT: every BATCH line, transcript on stdout.
run_batch() {
    local name=$1 cli=$2 line rc
    for line in "${BATCH[@]}"; do
        # shellcheck disable=SC2086
        timeout -k 5 60 env ZOO_LOG_DIR="$WORK/logs" "$cli" -server "127.0.0.1:$PORT" $line \
            >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null
        rc=$?
        echo "\$ $line"
        echo "[rc=$rc]"
        # "Connecting to ..." and the SyncConnected event: the event is printed by the
        # client's event thread, racing with the command's own output
        grep -v -e '^Connecting to ' -e '^WATCHER::$' -e '^WatchedEvent state:SyncConnected type:None path:null$' \
            "$WORK/$name.out" | sed '/^$/d'
        grep -v -e '^SLF4J:' -e '^log4j:' "$WORK/$name.err" | sed 's/^/[stderr] /'
    done
}

# run_sessions NAME CLIENT OUT: the interactive sessions through scripts/zkcli/session.py, with
# three changes to its timing (applied to both clients alike), because session.py's
# judgement "the command is done" is a guess that a loaded machine can defeat:
#   * the client to watch: session.py looks for a JVM; for zkcli the process itself is the one;
#   * "done" also requires that the client has consumed its stdin, that its stdout/stderr pipes
#     are empty and that the driver's reader threads have filed what they read (otherwise a
#     command's output still in a pipe, or not yet read at all, gets attributed to the next
#     command when the driver's threads are scheduled late);
#   * the first mark of a session is 0, so a client that prints its banner before the driver
#     takes its first mark (zkcli starts in milliseconds) loses nothing.
run_sessions() {
    local name=$1 cli=$2 out=$3 sel=()
    # shellcheck disable=SC2206
    [[ -n ${ZKCLI_SESSIONS:-} ]] && sel=($ZKCLI_SESSIONS)
    env ZOO_LOG_DIR="$WORK/logs" PYTHONDONTWRITEBYTECODE=1 "$PY" - "$ROOT/scripts/zkcli" \
        "$cli" "127.0.0.1:$PORT" "$SESSIONS" "$out" "${sel[@]}" <<'PYEOF'
import fcntl, os, select, struct, sys, termios, time
sys.path.insert(0, sys.argv[1])
import session

S = session.Session
zkcli = os.path.basename(sys.argv[2])[:15]  # /proc/PID/comm holds 15 characters
orig_pid, orig_mark, orig_reading = S.java_pid, S.mark, S.reading_stdin


def client_pid(self):
    try:
        with open("/proc/%d/comm" % self.proc.pid) as f:
            if f.read().strip() == zkcli:
                return self.proc.pid
    except OSError:
        pass
    return orig_pid(self)


def busy(self):
    return self.__dict__.setdefault("busy", {})


def read_pipe(self, stream, name):
    """Unbuffered reader: busy[name] is set before bytes leave the pipe and cleared once
    the lines they complete are filed, so "pipe empty and not busy" means all filed."""
    fd, buf, b = stream.fileno(), b"", busy(self)
    p = select.poll()
    p.register(fd, select.POLLIN | select.POLLHUP)
    while True:
        p.poll()
        b[name] = True
        data = os.read(fd, 65536)
        lines = []
        if data:
            buf += data
            lines = buf.split(b"\n")
            buf = lines.pop()
        elif buf:
            lines, buf = [buf], b""
        with self.lock:
            for raw in lines:
                self.lines.append((name, raw.decode("utf-8", "replace")))
                self.last = time.monotonic()
        b[name] = False
        if not data:
            return


def unread(fd):
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return 0


def reading_stdin(self):
    if unread(self.proc.stdin.fileno()) > 0:
        return False  # the line sent is not read yet
    if not orig_reading(self):
        return False
    b = busy(self)
    for s, n in ((self.proc.stdout, "out"), (self.proc.stderr, "err")):
        if unread(s.fileno()) > 0 or b.get(n):
            return False
    return True


def first_mark(self):
    if not self.__dict__.get("marked"):
        self.marked = True
        return 0
    return orig_mark(self)


S.java_pid, S._read, S.reading_stdin, S.mark = client_pid, read_pipe, reading_stdin, first_mark
sys.argv = [sys.argv[0]] + sys.argv[2:]
session.main()
PYEOF
}

# record NAME CLIENT: one fresh server, batch then sessions, normalised transcript in
# $WORK/NAME.txt.
record() {
    local name=$1 cli=$2 start
    start=$(date +%s)
    start_server "$name" || return 1
    log "$name: server on 127.0.0.1:$PORT (pid $SERVER_PID), client $cli"
    {
        echo "=== batch"
        run_batch "$name" "$cli"
    } >"$WORK/$name.batch.raw"
    if ! run_sessions "$name" "$cli" "$WORK/$name.sessions.raw" 2>&1 | sed "s/^/  [$name] /"; then
        fail "$name: the session driver reported a problem (see [driver] lines in $WORK/$name.sessions.raw)"
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || fail "$name: zkserver died (log: $WORK/$name-server/server.log)"
    stop_server
    cat "$WORK/$name.batch.raw" "$WORK/$name.sessions.raw" | $PY "$ROOT/scripts/zkcli/normalise.py" >"$WORK/$name.txt"
    log "$name: $(wc -l <"$WORK/$name.txt") transcript lines in $(($(date +%s) - start))s"
}

main() {
    local f
    for f in "$ZKGO_BIN" "$ZKCLI_BIN" "$JAVA_CLI" "$PY"; do
        [[ -x $f ]] || { fail "$f missing or not executable (make build; apt-get install zookeeper)"; return; }
    done
    command -v nc >/dev/null || { fail "nc missing (netcat-openbsd)"; return; }
    mkdir -p "$WORK/logs"
    { cat "$SESSIONS"; echo "$EXTRA_SESSIONS"; } >"$WORK/sessions.zkcli"
    SESSIONS=$WORK/sessions.zkcli
    log "work directory $WORK"
    record java "$JAVA_CLI" || return
    record zkcli "$ZKCLI_BIN" || return
    if diff -u "$WORK/java.txt" "$WORK/zkcli.txt" >"$WORK/diff.txt"; then
        log "zkcli output matches zkCli.sh ($(grep -c '^\$ ' "$WORK/java.txt") commands compared)"
    else
        cat "$WORK/diff.txt"
        fail "zkcli output differs from zkCli.sh (- zkCli.sh, + zkcli); transcripts: $WORK/{java,zkcli}.txt"
    fi
}

main
if [[ $FAILED != 0 ]]; then
    log "FAILED"
    exit 1
fi
log "OK"
