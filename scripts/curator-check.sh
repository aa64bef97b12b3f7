#!/usr/bin/env bash
# Apache Curator 5.4 (Debian libcurator-recipes-java) against zkgo and against the real Apache
# ZooKeeper 3.8: scripts/curator/CuratorCheck.java exercises the framework API (create modes,
# versions, multi/transactions, background callbacks, watches, namespaces, TTL and container
# nodes, ACLs) and the recipes (LeaderLatch, LeaderSelector, InterProcessMutex,
# InterProcessSemaphoreV2, InterProcessReadWriteLock, SimpleDistributedQueue, DistributedQueue,
# DistributedBarrier, DistributedDoubleBarrier, DistributedAtomicLong, SharedCount, CuratorCache,
# PathChildrenCache, NodeCache, PersistentNode with a session expiry, GroupMember,
# PersistentWatcher and watchers().add()/remove()), with several clients where a recipe needs
# several participants, and prints one line per observed fact. It runs once against a fresh
# Apache standalone (scripts/apache-zk.sh) and once against a fresh zkgo standalone, each on its
# own data dir and free loopback port; the two transcripts are diffed.
#
#   bash scripts/curator-check.sh
#
# Exit status 0 only if the transcripts are identical, neither contains an ERROR line and both
# reached the final DONE line. Both servers run with zookeeper.extendedTypesEnabled=true (TTL
# nodes) and znode.container.checkIntervalMs=1000 (TTL/container reaping within seconds).
# The JVM's log (slf4j-simple, WARN and up) goes to WORK/<name>.stderr, not into the transcript.
#
# Environment: ZKGO_BIN (default bin/zkserver), CURATOR_CHECK_KEEP=1 keeps the work directory
# (it is also kept on failure), CURATOR_CHECK_TIMEOUT (seconds for one JVM run, default 180),
# ZK_JAVA_DIR (where the Debian jars live, default /usr/share/java).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ZKGO_BIN=${ZKGO_BIN:-$ROOT/bin/zkserver}
JAVA_DIR=${ZK_JAVA_DIR:-/usr/share/java}
RUN_TIMEOUT=${CURATOR_CHECK_TIMEOUT:-180}
SRC_DIR=$ROOT/scripts/curator
WORK=$(mktemp -d "${TMPDIR:-/tmp}/curator-check.XXXXXX")
SERVER_FLAGS="-Dzookeeper.extendedTypesEnabled=true -Dznode.container.checkIntervalMs=1000"
FAILED=0
ZKGO_PID=""
APACHE_DIR=""

log() { echo "curator-check: $*"; }
fail() {
    echo "curator-check: FAIL: $*" >&2
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
    if [[ $FAILED == 0 && ${CURATOR_CHECK_KEEP:-0} != 1 ]]; then
        rm -rf "$WORK"
    else
        log "work directory kept: $WORK"
    fi
}
trap on_exit EXIT
trap 'FAILED=1; exit 130' INT TERM HUP

# free_port: a port nobody listens on, found by binding 127.0.0.1:0.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# srvr_ok PORT: the server answers srvr with its mode (it serves requests).
srvr_ok() {
    timeout 2 bash -c '
        exec 3<>/dev/tcp/127.0.0.1/'"$1"' || exit 1
        printf srvr >&3
        grep -q "^Mode: " <&3' 2>/dev/null
}

classpath() {
    local cp="" j
    for j in curator-recipes curator-framework curator-client guava zookeeper zookeeper-jute slf4j-api; do
        [[ -r $JAVA_DIR/$j.jar ]] || { fail "$JAVA_DIR/$j.jar missing (apt-get install zookeeper libcurator-recipes-java)"; return 1; }
        cp=$cp${cp:+:}$JAVA_DIR/$j.jar
    done
    echo "$cp"
}

# start_apache: fresh Apache 3.8 standalone; sets PORT and APACHE_DIR.
start_apache() {
    local dir=$WORK/apache-server
    PORT=$(free_port)
    APACHE_DIR=$dir
    if ! SERVER_JVMFLAGS="$SERVER_FLAGS" ZK_START_TIMEOUT=60 \
        bash "$ROOT/scripts/apache-zk.sh" start "$dir" "$PORT" >"$WORK/apache-start.log" 2>&1; then
        cat "$WORK/apache-start.log" >&2
        fail "apache: ZooKeeper did not start on 127.0.0.1:$PORT"
        return 1
    fi
}

# start_zkgo: fresh zkgo standalone; sets PORT and ZKGO_PID.
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
    SERVER_JVMFLAGS="$SERVER_FLAGS" "$ZKGO_BIN" start-foreground "$dir/zoo.cfg" </dev/null >"$dir/server.log" 2>&1 &
    ZKGO_PID=$!
    for ((i = 0; i < 150; i++)); do
        kill -0 "$ZKGO_PID" 2>/dev/null || break
        if srvr_ok "$PORT"; then
            return 0
        fi
        sleep 0.2
    done
    tail -20 "$dir/server.log" >&2
    fail "zkgo: $ZKGO_BIN did not start on 127.0.0.1:$PORT (log: $dir/server.log)"
    return 1
}

# run_check NAME: the program against 127.0.0.1:$PORT, transcript in WORK/NAME.txt.
run_check() {
    local name=$1 start rc
    start=$(date +%s)
    timeout -k 10 "$RUN_TIMEOUT" java -Xmx512m \
        -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
        -Dorg.slf4j.simpleLogger.logFile=System.err \
        -Dorg.slf4j.simpleLogger.showDateTime=true \
        -cp "$WORK/classes:$CP:$JAVA_DIR/slf4j-simple.jar" CuratorCheck "127.0.0.1:$PORT" \
        >"$WORK/$name.txt" 2>"$WORK/$name.stderr" </dev/null
    rc=$?
    log "$name: $(wc -l <"$WORK/$name.txt") lines in $(($(date +%s) - start))s (exit $rc, JVM log $WORK/$name.stderr)"
    [[ $rc == 0 ]] || fail "$name: CuratorCheck exited with status $rc"
    if grep -q '^ERROR ' "$WORK/$name.txt"; then
        fail "$name: transcript has ERROR lines:"
        grep '^ERROR ' "$WORK/$name.txt" | sed "s/^/  [$name] /" >&2
    fi
    [[ $(tail -n 1 "$WORK/$name.txt") == DONE ]] || fail "$name: transcript does not end with DONE"
}

main() {
    local t0 f
    t0=$(date +%s)
    for f in java javac python3; do
        command -v "$f" >/dev/null || { fail "$f not found (apt-get install openjdk-17-jdk-headless python3)"; return; }
    done
    [[ -x $ZKGO_BIN ]] || { fail "$ZKGO_BIN missing or not executable (make build)"; return; }
    CP=$(classpath) || return
    [[ -r $JAVA_DIR/slf4j-simple.jar ]] || { fail "$JAVA_DIR/slf4j-simple.jar missing"; return; }
    mkdir -p "$WORK/classes"
    log "work directory $WORK"
    if ! javac -nowarn -d "$WORK/classes" -cp "$CP" "$SRC_DIR"/*.java >"$WORK/javac.log" 2>&1; then
        cat "$WORK/javac.log" >&2
        fail "javac failed"
        return
    fi

    start_apache || return
    log "apache: ZooKeeper 3.8 on 127.0.0.1:$PORT"
    run_check apache
    stop_apache

    start_zkgo || return
    log "zkgo: $ZKGO_BIN on 127.0.0.1:$PORT (pid $ZKGO_PID)"
    run_check zkgo
    kill -0 "$ZKGO_PID" 2>/dev/null || fail "zkgo: the server died during the run (log: $WORK/zkgo-server/server.log)"
    stop_zkgo

    if diff -u "$WORK/apache.txt" "$WORK/zkgo.txt" >"$WORK/diff.txt"; then
        log "$(wc -l <"$WORK/apache.txt") lines identical ($(grep -c '^== ' "$WORK/apache.txt") sections, $(($(date +%s) - t0))s)"
    else
        cat "$WORK/diff.txt"
        fail "transcripts differ (- Apache ZooKeeper 3.8, + zkgo): $WORK/{apache,zkgo}.txt"
    fi
}

main
if [[ $FAILED != 0 ]]; then
    log "FAILED"
    exit 1
fi
log "OK"
