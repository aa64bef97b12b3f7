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

CHECK=curator-check
KEEP=${CURATOR_CHECK_KEEP:-0}
# shellcheck source=lib/side-by-side.sh
source "$ROOT/scripts/lib/side-by-side.sh"

classpath() {
    local cp="" j
    for j in curator-recipes curator-framework curator-client guava zookeeper zookeeper-jute slf4j-api; do
        [[ -r $JAVA_DIR/$j.jar ]] || { fail "$JAVA_DIR/$j.jar missing (apt-get install zookeeper libcurator-recipes-java)"; return 1; }
        cp=$cp${cp:+:}$JAVA_DIR/$j.jar
    done
    echo "$cp"
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
