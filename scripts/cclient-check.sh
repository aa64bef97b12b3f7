#!/usr/bin/env bash
# C client interop: the ZooKeeper 3.8 C client shell (cli_mt from Debian's zookeeper-bin,
# /usr/lib/zookeeper/bin/cli_mt) runs the same command script against a fresh Apache ZooKeeper
# 3.8 standalone and against a fresh zkgo standalone (own data dir and free loopback port each);
# the two transcripts are normalised and diffed. Exit status 0 only if they are identical and
# every command ran.
#
#   bash scripts/cclient-check.sh            (called by `make interop`)
#
# Pieces (scripts/cclient/):
#   commands.txt  the sessions: create modes and errors, get/set, ls/ls2, exists/wexists and
#                 the watch events they deliver (own and other sessions' writes), delete errors,
#                 sync, sequential numbering, ephemeral cleanup on quit and on reinit, addauth
#                 digest on ACL-protected nodes (made through kazoo: cli_mt cannot set ACLs),
#                 AUTH_FAILED, /zookeeper system nodes, config/reconfig, the 'a' aliases,
#                 client-side path checks, "od" (200 pipelined 64 KiB set/get pairs), batch mode
#   driver.py     feeds each session to cli_mt one line at a time; after each command it sends
#                 a fence (`sync /zookeeper`) on the same session and waits for its completion,
#                 so every completion and watch event is attributed to the command that caused
#                 it; events caused by another session are awaited with a bounded %wait
#   normalise.py  dates, zxids and session ids (numbered by first appearance), cli_mt's
#                 "time = N msec", log line prefixes, ports; ls/ls2 children sorted
#
# Environment: ZKGO_BIN (default bin/zkserver), CCLIENT_CHECK_KEEP=1 keeps the work directory
# (it is also kept on failure), CLI_MT (default /usr/lib/zookeeper/bin/cli_mt).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ZKGO_BIN=${ZKGO_BIN:-$ROOT/bin/zkserver}
CLI_MT=${CLI_MT:-/usr/lib/zookeeper/bin/cli_mt}
PY=/usr/bin/python3
DIR=$ROOT/scripts/cclient
COMMANDS=$DIR/commands.txt
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cclient-check.XXXXXX")
FAILED=0
ZKGO_PID=""
APACHE_DIR=""
T0=$(date +%s)

log() { echo "cclient-check: $*"; }
fail() {
    echo "cclient-check: FAIL: $*" >&2
    FAILED=1
}

stop_zkgo() {
    if [[ -n $ZKGO_PID ]] && kill -0 "$ZKGO_PID" 2>/dev/null; then
        kill -TERM "$ZKGO_PID" 2>/dev/null
        for _ in $(seq 40); do
            kill -0 "$ZKGO_PID" 2>/dev/null || break
            sleep 0.25
        done
        kill -KILL "$ZKGO_PID" 2>/dev/null
        wait "$ZKGO_PID" 2>/dev/null
    fi
    ZKGO_PID=""
}
stop_apache() {
    if [[ -n $APACHE_DIR ]]; then
        bash "$ROOT/scripts/apache-zk.sh" stop "$APACHE_DIR" >/dev/null 2>&1
    fi
    APACHE_DIR=""
}
on_exit() {
    stop_zkgo
    stop_apache
    if [[ $FAILED == 0 && ${CCLIENT_CHECK_KEEP:-0} != 1 ]]; then
        rm -rf "$WORK"
    else
        log "work directory kept: $WORK"
    fi
}
trap on_exit EXIT
trap 'FAILED=1; exit 130' INT TERM HUP

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_apache() {
    local dir=$WORK/apache-server
    PORT=$(free_port)
    APACHE_DIR=$dir
    if ! ZK_START_TIMEOUT=40 bash "$ROOT/scripts/apache-zk.sh" start "$dir" "$PORT" >"$WORK/apache-start.log" 2>&1; then
        cat "$WORK/apache-start.log" >&2
        fail "Apache ZooKeeper did not start on 127.0.0.1:$PORT (log: $dir/zk.log)"
        return 1
    fi
}

start_zkgo() {
    local dir=$WORK/zkgo-server i
    mkdir -p "$dir/data"
    PORT=$(free_port)
    cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$dir/data
clientPort=$PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=*
CFG
    "$ZKGO_BIN" start-foreground "$dir/zoo.cfg" </dev/null >"$dir/server.log" 2>&1 &
    ZKGO_PID=$!
    for ((i = 0; i < 150; i++)); do
        kill -0 "$ZKGO_PID" 2>/dev/null || break
        if timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$PORT"' && printf srvr >&3 && grep -q "^Mode: " <&3' 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    tail -20 "$dir/server.log" >&2
    fail "zkgo did not start on 127.0.0.1:$PORT (log: $dir/server.log)"
    return 1
}

# record NAME: run the command script against the server just started on $PORT; raw and
# normalised transcripts in $WORK/NAME.raw and $WORK/NAME.txt.
record() {
    local name=$1 start=$SECONDS rc
    log "$name: server on 127.0.0.1:$PORT"
    "$PY" "$DIR/driver.py" "$CLI_MT" "127.0.0.1:$PORT" "$COMMANDS" "$WORK/$name.raw" 2>"$WORK/$name.driver.log"
    rc=$?
    sed "s/^/  [$name] /" "$WORK/$name.driver.log"
    if ((rc != 0)); then
        fail "$name: the driver reported a problem ([driver] lines in $WORK/$name.raw):"
        grep -B3 '^\[driver\]' "$WORK/$name.raw" | sed 's/^/  | /' >&2
    fi
    "$PY" "$DIR/normalise.py" <"$WORK/$name.raw" >"$WORK/$name.txt" || fail "$name: normalise.py failed"
    log "$name: $(grep -c '^[$%] ' "$WORK/$name.txt") records (commands, connects, ends of input), $(wc -l <"$WORK/$name.txt") transcript lines in $((SECONDS - start))s"
}

main() {
    local f expected n_apache n_zkgo
    for f in "$ZKGO_BIN" "$CLI_MT" "$PY"; do
        [[ -x $f ]] || { fail "$f missing or not executable (make build; apt-get install zookeeper zookeeper-bin)"; return; }
    done
    command -v stdbuf >/dev/null || { fail "stdbuf missing (coreutils)"; return; }
    "$PY" -c 'import kazoo' 2>/dev/null || { fail "python3-kazoo missing (apt-get install python3-kazoo)"; return; }
    log "work directory $WORK"

    start_apache || return
    record apache
    bash "$ROOT/scripts/apache-zk.sh" stop "$APACHE_DIR" >/dev/null 2>&1 || fail "could not stop Apache ZooKeeper"
    APACHE_DIR=""

    start_zkgo || return
    record zkgo
    kill -0 "$ZKGO_PID" 2>/dev/null || fail "zkgo died during the run (log: $WORK/zkgo-server/server.log)"
    stop_zkgo

    # Every scripted command must appear in both transcripts.
    expected=$(grep -v -e '^[[:space:]]*#' -e '^##' -e '^[[:space:]]*$' "$COMMANDS" | wc -l)
    n_apache=$(grep -c '^[$%] ' "$WORK/apache.txt" | tr -d ' ')
    n_zkgo=$(grep -c '^[$%] ' "$WORK/zkgo.txt" | tr -d ' ')
    # "% connect" and "% eof" records are not commands
    n_apache=$((n_apache - $(grep -c -e '^% connect @' -e '^% eof @' "$WORK/apache.txt")))
    n_zkgo=$((n_zkgo - $(grep -c -e '^% connect @' -e '^% eof @' "$WORK/zkgo.txt")))
    if ((n_apache != expected || n_zkgo != expected)); then
        fail "commands recorded: Apache $n_apache, zkgo $n_zkgo, script $expected"
    fi
    if grep -q '^\[driver\]' "$WORK/apache.txt" "$WORK/zkgo.txt"; then
        fail "not every command completed (see [driver] lines above)"
    fi

    if diff -u --label apache "$WORK/apache.txt" --label zkgo "$WORK/zkgo.txt" >"$WORK/diff.txt"; then
        if [[ $FAILED == 0 ]]; then
            log "$expected commands, transcripts identical ($(($(date +%s) - T0))s)"
        fi
    else
        cat "$WORK/diff.txt"
        fail "$expected commands, transcripts differ (- Apache 3.8, + zkgo); transcripts: $WORK/{apache,zkgo}.txt"
    fi
}

main
if [[ $FAILED != 0 ]]; then
    log "FAILED"
    exit 1
fi
exit 0
