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
T0=$(date +%s)

CHECK=cclient-check
KEEP=${CCLIENT_CHECK_KEEP:-0}
# shellcheck source=lib/side-by-side.sh
source "$ROOT/scripts/lib/side-by-side.sh"

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
