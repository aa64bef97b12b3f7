#!/usr/bin/env bash
# Interop gate: unchanged third-party clients against the server under test.
#
#   bash scripts/interop.sh [zkgo|apache [PYTEST-ARGS...]]   (default zkgo; `make interop` = zkgo)
#
#   e.g. bash scripts/interop.sh zkgo -k "TestClient and create"   (the gate then only judges the
#        baseline tests that ran)
#
# 1. kazoo's OWN test suite (the installed python3-kazoo package, kazoo/tests), single node,
#    driven by kazoo's own harness (kazoo/testing). The harness starts servers by running
#    `java ... QuorumPeerMain zoo.cfg` through PATH; scripts/kazoo/bin/java, put first on PATH,
#    turns that into `bin/zkserver start-foreground zoo.cfg` (zkgo) or the real JVM (apache).
#    The per-test outcomes are compared with testdata/kazoo/baseline-apache-3.8.txt: every
#    test listed there passes against Apache ZooKeeper 3.8 here and must pass against us too.
# 1b. the same suite again against a three-server ensemble (ZOOKEEPER_CLUSTER_SIZE=3, the
#    harness's own default): the harness writes each server its own zoo.cfg (server.1..3 lines,
#    initLimit/syncLimit, peerType) and dataDir/myid; the shim starts each one the same way.
#    Gated by scripts/kazoo/baseline-apache-3.8-3node.txt (tests that pass against a three-node
#    Apache 3.8 ensemble). Its files in the work dir end in -3node (pytest-3node.out,
#    outcomes-3node-$TARGET.txt, logs-3node/server-<pid>.log with the member's myid on top).
# 2. zkCli.sh check, against one server started with zookeeper.extendedTypesEnabled=true,
#    zookeeper.enforceQuota=true and znode.container.checkIntervalMs=1000 (both targets):
#    a. smoke: a fixed list of zkCli.sh batch commands (one JVM each, exit status recorded),
#       compared with testdata/kazoo/zkcli-smoke.expected;
#    b. sessions: scripts/zkcli/sessions.zkcli, interactive zkCli.sh sessions fed on stdin by
#       scripts/zkcli/session.py, covering every command of zkCli's `help` with its options and
#       error outputs, watch events, auth, quotas, TTL/container expiry, history/redo,
#       close/connect/quit; compared with testdata/kazoo/zkcli-sessions.expected.
#    Both transcripts are normalised by scripts/zkcli/normalise.py (dates, zxids, session ids,
#    ports, unspecified orders) and were recorded from Apache ZooKeeper 3.8.
#
# 3. (zkgo) bin/zkcli against zkCli.sh (scripts/zkcli-diff.sh); 4. (zkgo) data dir round trip
#    with Apache ZooKeeper 3.8 (internal/roundtrip); 5. (zkgo) Apache Curator recipes
#    (scripts/curator-check.sh); 6. (zkgo) the C client cli_mt (scripts/cclient-check.sh);
#    7. (zkgo) kazoo and the Java client over TLS (scripts/tls-check.sh): 5, 6 and 7 run the
#    same client program against a fresh Apache 3.8 and a fresh zkgo and diff.
#
# Running in `apache` mode checks the baseline and golden files are still right for the
# installed Apache ZooKeeper. Both modes exit non-zero on any regression.
#
# Environment knobs:
#   ZKGO_BIN               server binary (default: bin/zkserver; `make interop` builds it)
#   INTEROP_SUITE_TIMEOUT  wall-clock limit for the whole pytest run, seconds (default 1200)
#   INTEROP_TEST_TIMEOUT   limit for one test, seconds (default 120)
#   INTEROP_PORT_OFFSET    first of the 4 ports kazoo's harness uses (default: first free of
#                          21810, 21830, ...; the smoke server uses offset+10)
#   INTEROP_SERVER_DEAD_LIMIT  abort the suite once no server has been running for this many
#                          seconds (default 45; kazoo's harness never restarts a crashed server,
#                          so every later test would just wait 15s to connect)
#   INTEROP_KAZOO3_SUITE_TIMEOUT  wall-clock limit for the 3-node pytest run (default 1200)
#   INTEROP_KAZOO3_PORT_OFFSET  first port of the 3-node run; it uses offset..+3, +10..+13,
#                          +20..+23 (default: first free of 22810, 22840, ...)
#   INTEROP_KAZOO3_ONLY=1  run only the 3-node kazoo suite (everything else not run, not a failure)
#   INTEROP_SKIP_KAZOO3=1  skip the 3-node kazoo suite (a failure unless INTEROP_ALLOW_SKIP=1)
#   INTEROP_KEEP=1         keep the work directory (it is also kept on failure)
#   INTEROP_SKIP_KAZOO=1 / INTEROP_SKIP_ZKCLI=1   skip one part (says so loudly; still fails
#                          the run unless INTEROP_ALLOW_SKIP=1, so nothing is skipped silently)
#   INTEROP_SKIP_CURATOR=1 / INTEROP_SKIP_CCLIENT=1 / INTEROP_SKIP_TLS=1   skip the Curator / C client / TLS check (a
#                          failure unless INTEROP_ALLOW_SKIP=1)
#   ZKCLI_ONLY=1           run only the zkCli.sh check (kazoo suite skipped, not a failure)
#   ZKCLI_SESSIONS="a b"   only these sessions of scripts/zkcli/sessions.zkcli (compared with the
#                          same sections of the golden file); ZKCLI_SESSIONS=none: no sessions
#   INTEROP_UPDATE_GOLDEN=1   (apache only) rewrite the zkCli golden files from this run
set -uo pipefail

TARGET=${1:-zkgo}
case $TARGET in
    zkgo | apache) ;;
    *)
        echo "usage: $0 [zkgo|apache [PYTEST-ARGS...]]" >&2
        exit 2
        ;;
esac
shift $(($# > 0 ? 1 : 0))
PYTEST_EXTRA=("$@")

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Without the shim kazoo's harness would silently start the real Apache ZooKeeper.
if [ ! -x "$ROOT/scripts/kazoo/bin/java" ]; then
    echo "interop: $ROOT/scripts/kazoo/bin/java is missing or not executable" >&2
    exit 2
fi
PY=/usr/bin/python3
ZKCLI=/usr/share/zookeeper/bin/zkCli.sh
REAL_JAVA=/usr/bin/java
# Apache server classpath: zookeeper.jar's manifest names its dependencies; add a log4j binding
# so the harness's log4j.properties is honoured (else slf4j is a no-op).
APACHE_CP=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
BASELINE=$ROOT/testdata/kazoo/baseline-apache-3.8.txt
BASELINE3=$ROOT/scripts/kazoo/baseline-apache-3.8-3node.txt
ZKCLI_GOLDEN=$ROOT/testdata/kazoo/zkcli-smoke.expected
ZKCLI_SESSIONS_SCRIPT=$ROOT/scripts/zkcli/sessions.zkcli
ZKCLI_SESSIONS_GOLDEN=$ROOT/testdata/kazoo/zkcli-sessions.expected
SUITE_TIMEOUT=${INTEROP_SUITE_TIMEOUT:-1200}
SUITE3_TIMEOUT=${INTEROP_KAZOO3_SUITE_TIMEOUT:-1200}
export INTEROP_TEST_TIMEOUT=${INTEROP_TEST_TIMEOUT:-120}
ZKGO_BIN=${ZKGO_BIN:-$ROOT/bin/zkserver}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkgo-interop-$TARGET.XXXXXX")
mkdir -p "$WORK/pids" "$WORK/logs" "$WORK/tmp"
FAILED=0
PYTEST_PID=""
SUMMARY="(kazoo suite did not run)"
SUMMARY3="(3-node kazoo suite did not run)"

log() { echo "interop[$TARGET]: $*"; }
fail() {
    echo "interop[$TARGET]: FAIL: $*" >&2
    FAILED=1
}

# Kill every server this run started (the shim records its pid in $WORK/pids; a pid is only
# signalled if its command line still names this run's work directory, so a recycled pid is
# never hit), then the pytest process group if it is still there.
stop_all() {
    local f pid
    if [[ -n $PYTEST_PID ]] && kill -0 "$PYTEST_PID" 2>/dev/null; then
        kill -TERM "$PYTEST_PID" 2>/dev/null
        sleep 2
        kill -KILL "$PYTEST_PID" 2>/dev/null
    fi
    for f in "$WORK"/pids/*; do
        [[ -e $f ]] || continue
        pid=$(basename "$f")
        if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$WORK"; then
            log "stopping server pid $pid"
            kill -TERM "$pid" 2>/dev/null
            for _ in 1 2 3 4 5 6 7 8 9 10; do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.5
            done
            kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$f"
    done
}
on_exit() {
    stop_all
    rm -rf "$WORK/tmp" "$WORK/tmp-3node"
    if [[ $FAILED == 0 && ${INTEROP_KEEP:-0} != 1 ]]; then
        rm -rf "$WORK"
    else
        log "work directory kept: $WORK (outcomes, pytest output, server logs)"
    fi
}
trap on_exit EXIT
trap 'FAILED=1; exit 130' INT TERM HUP

port_busy() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
ports_free() {
    local p
    for ((p = $1; p < $1 + $2; p++)); do
        port_busy "$p" && return 1
    done
    return 0
}
pick_offset() {
    if [[ -n ${INTEROP_PORT_OFFSET:-} ]]; then
        echo "$INTEROP_PORT_OFFSET"
        return
    fi
    local o
    for ((o = 21810; o < 22800; o += 20)); do
        if ports_free "$o" 4 && ports_free $((o + 10)) 1; then
            echo "$o"
            return
        fi
    done
    echo "no free port range found" >&2
    return 1
}

# First port of the 3-node run: server i uses offset+10*i .. offset+10*i+3 (client, election,
# quorum, admin). Searched above the single-node range, so the two runs never share a port.
pick_offset3() {
    if [[ -n ${INTEROP_KAZOO3_PORT_OFFSET:-} ]]; then
        echo "$INTEROP_KAZOO3_PORT_OFFSET"
        return
    fi
    local o
    for ((o = 22810; o < 23800; o += 30)); do
        if ports_free "$o" 4 && ports_free $((o + 10)) 4 && ports_free $((o + 20)) 4; then
            echo "$o"
            return
        fi
    done
    echo "no free port range found" >&2
    return 1
}

# Wait until 127.0.0.1:$1 accepts connections, while pid $2 lives; $3 = seconds.
wait_port() {
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        kill -0 "$2" 2>/dev/null || return 1
        nc -z 127.0.0.1 "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

preflight() {
    [[ -x $PY ]] || { fail "$PY missing"; return 1; }
    $PY -c 'import kazoo.testing, kazoo.tests, pytest' 2>/dev/null ||
        { fail "python3-kazoo / python3-pytest not importable by $PY"; return 1; }
    [[ -x $ZKCLI ]] || { fail "$ZKCLI missing (Debian package zookeeper)"; return 1; }
    [[ -f /usr/share/java/zookeeper.jar ]] || { fail "zookeeper.jar missing"; return 1; }
    command -v nc >/dev/null || { fail "nc missing (netcat-openbsd)"; return 1; }
    if [[ $TARGET == zkgo && ! -x $ZKGO_BIN ]]; then
        fail "$ZKGO_BIN not built (run: make build)"
        return 1
    fi
    return 0
}

# ---------------------------------------------------------------------------------------------
# Part 1: kazoo's own test suite.
# ---------------------------------------------------------------------------------------------

# True if pid $1 exists and is not a zombie (a dead server stays a zombie until the harness
# reaps it, and kazoo's harness only does that when it stops the server).
proc_running() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z ]]
}

# Stop pytest (pid $1) once a server has been started and none has lived for
# INTEROP_SERVER_DEAD_LIMIT seconds. Tests that stop the server restart it within seconds.
server_watchdog() {
    local limit=${INTEROP_SERVER_DEAD_LIMIT:-45} dead=0 armed=0 alive f out=${2:-$WORK/watchdog.txt}
    while kill -0 "$1" 2>/dev/null; do
        sleep 3
        alive=0
        for f in "$WORK"/pids/*; do
            [[ -e $f ]] || continue
            armed=1
            if proc_running "$(basename "$f")"; then
                alive=1
                break
            fi
        done
        ((armed)) || continue
        if ((alive)); then dead=0; else dead=$((dead + 3)); fi
        if ((dead >= limit)); then
            echo "no server under test running for ${dead}s (crashed or exited?); suite aborted" >"$out"
            kill -TERM "$1" 2>/dev/null
            return
        fi
    done
}

# run_kazoo_suite OFFSET [SIZE BASELINE TAG SUITE-LIMIT]: one run of kazoo's suite against a
# harness-built cluster of SIZE servers (default 1) on ports OFFSET.. (server i: OFFSET+10*i ..
# OFFSET+10*i+3), gated by BASELINE. TAG ("" for the single-node run, whose file names are
# unchanged) names this run's files in $WORK: pytest$TAG.out, outcomes$TAG.txt,
# outcomes$TAG-$TARGET.txt, junit$TAG.xml, logs$TAG/ (server logs), tmp$TAG/ (harness dirs).
# Sets KAZOO_SUMMARY (pytest's summary line).
KAZOO_SUMMARY=""
run_kazoo_suite() {
    local offset=$1 size=${2:-1} baseline=${3:-$BASELINE} tag=${4:-} limit=${5:-$SUITE_TIMEOUT}
    local tests_dir pkgroot rc start end ports="" i
    local out=$WORK/pytest$tag.out outcomes=$WORK/outcomes$tag.txt logdir=$WORK/logs$tag
    local wdfile=$WORK/watchdog$tag.txt what="kazoo suite"
    ((size == 1)) || what="kazoo suite ($size nodes)"
    mkdir -p "$logdir" "$WORK/tmp$tag"
    for ((i = 0; i < size; i++)); do
        ports+="${ports:+, }$((offset + 10 * i))-$((offset + 10 * i + 3))"
    done
    tests_dir=$($PY -c 'import os, kazoo.tests; print(os.path.dirname(kazoo.tests.__file__))')
    pkgroot=$(dirname "$(dirname "$tests_dir")")
    log "$what: $tests_dir (cluster size $size, ports $ports, suite limit ${limit}s, test limit ${INTEROP_TEST_TIMEOUT}s)"

    start=$(date +%s)
    # kazoo's harness reads the ZOOKEEPER_* variables (kazoo/testing/harness.py). The cluster it
    # creates is process-wide and reused by every test (started once, restarted only by tests
    # that stop it, or when test_sasl changes ZOOKEEPER_JAAS_AUTH), so the suite already runs
    # on one shared server (or one shared ensemble). TMPDIR keeps the harness's per-server work
    # dirs inside $WORK.
    (
        cd "$WORK" || exit 2
        export PATH="$ROOT/scripts/kazoo/bin:$PATH"
        export INTEROP_TARGET=$TARGET INTEROP_REAL_JAVA=$REAL_JAVA ZKGO_BIN
        export INTEROP_PIDDIR=$WORK/pids INTEROP_LOGDIR=$logdir
        export INTEROP_OUTCOMES=$outcomes
        export TMPDIR=$WORK/tmp$tag
        export ZOOKEEPER_CLUSTER_SIZE=$size ZOOKEEPER_PORT_OFFSET=$offset ZOOKEEPER_VERSION=3.8.0
        export ZOOKEEPER_CLASSPATH=$APACHE_CP ZOOKEEPER_PATH=/usr/share/java
        unset ZOOKEEPER_JAAS_AUTH ZOOKEEPER_OBSERVER_START_ID KRB5_TEST_ENV TRAVIS
        export PYTHONPATH=$ROOT/scripts/kazoo PYTHONDONTWRITEBYTECODE=1
        # kazoo's tests import `mock` and `objgraph` (Debian: python3-mock, python3-objgraph),
        # which python3-kazoo does not depend on; if either is missing, use the stand-ins in
        # scripts/kazoo/pycompat (unittest.mock re-export, objgraph.count). Installed ones win.
        if ! "$PY" -c 'import mock, objgraph' 2>/dev/null; then
            PYTHONPATH=$PYTHONPATH:$ROOT/scripts/kazoo/pycompat
        fi
        exec timeout -k 15 "$limit" "$PY" -m pytest \
            -c "$ROOT/scripts/kazoo/pytest.ini" --rootdir="$pkgroot" \
            -p no:cacheprovider -p zkgo_interop_plugin \
            -rfEs --junitxml="$WORK/junit$tag.xml" -o junit_family=xunit2 \
            "${PYTEST_EXTRA[@]}" "$tests_dir"
    ) >"$out" 2>&1 &
    PYTEST_PID=$!
    server_watchdog "$PYTEST_PID" "$wdfile" &
    local wd=$!
    wait "$PYTEST_PID"
    rc=$?
    kill "$wd" 2>/dev/null
    wait "$wd" 2>/dev/null
    PYTEST_PID=""
    end=$(date +%s)
    stop_all
    # pytest's own summary line, printed again at the very end
    KAZOO_SUMMARY=$(grep -E '^=+ .* in [0-9.]+s' "$out" | tail -1)
    KAZOO_SUMMARY=${KAZOO_SUMMARY:-$(tail -1 "$out")}
    log "$what: pytest exit status $rc after $((end - start))s; full output: $out"
    # pytest: 0 all passed, 1 some tests failed (judged against the baseline below),
    # 2 interrupted (e.g. collection errors), 3 internal error, 4 usage error, 5 no tests.
    if [[ -s $wdfile ]]; then
        fail "$what: $(cat "$wdfile"); server logs: $logdir"
        tail -15 "$(ls -t "$logdir"/server-*.log | head -1)" 2>/dev/null | sed 's/^/  | /'
    fi
    # With several servers one can die while the others keep serving (the watchdog only sees
    # the whole cluster gone): say so, the log's tail usually explains later failures.
    if ((size > 1)); then
        local f
        for f in $(grep -lE '^(panic:|fatal error:)' "$logdir"/server-*.log 2>/dev/null); do
            log "$what: WARNING: a server crashed: $f"
            grep -m1 -A8 -E '^(panic:|fatal error:)' "$f" | sed 's/^/  | /'
        done
    fi
    case $rc in
        0 | 1) ;;
        124 | 137) fail "$what exceeded ${limit}s" ;;
        *) fail "$what: pytest did not complete normally (exit status $rc); see $out" ;;
    esac
    if [[ ! -s $outcomes ]]; then
        tail -40 "$out"
        fail "$what: no per-test outcomes recorded"
        return
    fi
    cp "$outcomes" "$WORK/outcomes$tag-$TARGET.txt"
    awk '{n[$1]++} END {for (k in n) printf "  %-8s %d\n", k, n[k]}' "$outcomes" | sort

    # Gate: every test in the baseline must have passed in this run.
    # (no grep -q: with pipefail, sed killed by SIGPIPE after grep -q exits would read as
    # "missing"; that happened with a 36 KB baseline)
    if ! sed -e 's/#.*//' "$baseline" 2>/dev/null | grep '[^[:space:]]' >/dev/null; then
        fail "$what: baseline $baseline is missing or empty"
        return
    fi
    # Baseline lines: a test id; '#' starts a comment (flaky tests are listed as comments).
    local missing=0 missing_sel=0 regress=0 id outcome
    while read -r id; do
        outcome=$(awk -v id="$id" '$2 == id {print $1}' "$outcomes")
        if [[ -z $outcome ]]; then
            if ((${#PYTEST_EXTRA[@]} == 0)); then
                echo "  NOT RUN  $id"
                missing=$((missing + 1))
            else
                missing_sel=$((missing_sel + 1)) # deselected by the given pytest arguments
            fi
        elif [[ $outcome != passed ]]; then
            echo "  REGRESSION ($outcome)  $id"
            regress=$((regress + 1))
        fi
    done < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$baseline" | grep -v '^$')
    # Tests passing here but not in the baseline are reported (not a failure).
    local extra
    extra=$(awk '$1 == "passed" {print $2}' "$outcomes" |
        grep -vxF -f <(sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$baseline" | grep -v '^$') || true)
    if [[ -n $extra ]]; then
        log "$(echo "$extra" | wc -l) test(s) pass but are not gated by the baseline (flaky on Apache, or new):"
        echo "$extra" | head -20 | sed 's/^/  /'
        [[ $(echo "$extra" | wc -l) -le 20 ]] || echo "  ... (all in $WORK/outcomes$tag-$TARGET.txt)"
    fi
    if ((regress + missing > 0)); then
        fail "$what: $regress baseline test(s) did not pass, $missing not run (baseline: $baseline)"
    else
        log "$what: all $(($(sed -e 's/#.*//' "$baseline" | grep -c '[^[:space:]]') - missing_sel)) baseline tests that ran passed (baseline: $baseline)"
    fi
}

# ---------------------------------------------------------------------------------------------
# Part 2: zkCli.sh smoke check. Each line of ZKCLI_SCRIPT is one batch-mode invocation
# (`zkCli.sh -server 127.0.0.1:PORT <cmd...>`, a new session each). Add lines to grow it.
# ---------------------------------------------------------------------------------------------
ZKCLI_SCRIPT=(
    "ls /"
    "ls /zookeeper"
    "create /x data"
    "get /x"
    "ls /"
    "get -s /x"
    "set /x data2"
    "get /x"
    "stat /x"
    "create /x again"
    "create -s /x/seq- a"
    "create -s /x/seq- b"
    "ls /x"
    "ls -s /x"
    "getAcl /x"
    "get /nope"
    "delete /x"
    "create -e /eph e"
    "stat /eph"
    "ls /"
    "deleteall /x"
    "ls /"
    "ls -s /"
)

# Normalise a transcript (scripts/zkcli/normalise.py): dates -> <date> (the epoch date of the
# root stays literal), zxids and session ids -> Z1, Z2, ... / S1, S2, ... by first appearance
# (0x0 stays literal), so equal ids stay equal but their values do not matter; ports; orders
# the protocol leaves unspecified (getEphemerals, whoami, ls -R).
normalise_zkcli() {
    $PY "$ROOT/scripts/zkcli/normalise.py"
}

# Start one server of $TARGET on port $1 with its own data dir; sets SMOKE_PID.
SMOKE_PID=""
start_smoke_server() {
    local port=$1 dir=$WORK/smoke
    mkdir -p "$dir/data"
    # The same server settings for both targets: TTL nodes need extended types, the quota
    # tests need hard quotas enforced, and the container/TTL reaper runs every second.
    cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
dataDir=$dir/data
clientPort=$port
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
EOF
    (
        export INTEROP_TARGET=$TARGET INTEROP_REAL_JAVA=$REAL_JAVA ZKGO_BIN
        export INTEROP_PIDDIR=$WORK/pids INTEROP_LOGDIR=$WORK/logs
        exec "$ROOT/scripts/kazoo/bin/java" -cp "$APACHE_CP" \
            -Dzookeeper.log.dir="$dir" -Djava.awt.headless=true \
            -Dzookeeper.extendedTypesEnabled=true -Dzookeeper.enforceQuota=true \
            -Dznode.container.checkIntervalMs=1000 \
            org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg"
    ) </dev/null >/dev/null 2>&1 &
    SMOKE_PID=$!
}

run_zkcli_smoke() {
    local port=$1 pid out=$WORK/zkcli-$TARGET.txt cmd rc start
    start=$(date +%s)
    log "zkCli.sh smoke check on 127.0.0.1:$port (${#ZKCLI_SCRIPT[@]} commands)"
    start_smoke_server "$port"
    pid=$SMOKE_PID
    if ! wait_port "$port" "$pid" 30; then
        if kill -0 "$pid" 2>/dev/null; then
            fail "zkCli smoke: server did not accept connections on 127.0.0.1:$port within 30s (log: $WORK/logs/server-$pid.log)"
        else
            fail "zkCli smoke: server exited before accepting connections on 127.0.0.1:$port (log: $WORK/logs/server-$pid.log)"
        fi
        tail -20 "$WORK/logs/server-$pid.log" 2>/dev/null
        stop_all
        return
    fi
    : >"$out.raw"
    for cmd in "${ZKCLI_SCRIPT[@]}"; do
        # shellcheck disable=SC2086
        timeout -k 5 30 env ZOO_LOG_DIR="$WORK/logs" "$ZKCLI" -server "127.0.0.1:$port" $cmd \
            >"$WORK/zkcli.stdout" 2>"$WORK/zkcli.stderr" </dev/null
        rc=$?
        {
            echo "\$ $cmd"
            echo "[rc=$rc]"
            # batch mode prints the connection banner and the SyncConnected event first
            grep -v -e '^Connecting to ' -e '^WATCHER::$' -e '^WatchedEvent state:SyncConnected type:None path:null$' \
                "$WORK/zkcli.stdout" | sed '/^$/d'
            # the JVM's logging set-up chatter is not part of the client's answer
            grep -v -e '^SLF4J:' -e '^log4j:' "$WORK/zkcli.stderr" | sed 's/^/[stderr] /'

        } >>"$out.raw"
    done
    log "zkCli smoke: ${#ZKCLI_SCRIPT[@]} batch commands in $(($(date +%s) - start))s"
    run_zkcli_sessions "$port" "$pid"
    stop_all
    normalise_zkcli <"$out.raw" >"$out"
    if [[ ${INTEROP_UPDATE_GOLDEN:-0} == 1 && $TARGET == apache ]]; then
        cp "$out" "$ZKCLI_GOLDEN"
        log "zkCli smoke: golden file rewritten: $ZKCLI_GOLDEN"
    fi
    if diff -u "$ZKCLI_GOLDEN" "$out" >"$WORK/zkcli.diff"; then
        log "zkCli smoke: output matches Apache 3.8 ($ZKCLI_GOLDEN)"
    else
        cat "$WORK/zkcli.diff"
        fail "zkCli smoke: output differs from Apache 3.8 (- expected, + $TARGET)"
    fi
    check_zkcli_sessions
    log "zkCli check took $(($(date +%s) - start))s"
}

# Part 2b: interactive sessions (scripts/zkcli/sessions.zkcli) on the smoke server (port $1,
# pid $2); the raw transcript goes to $WORK/zkcli-sessions-$TARGET.txt.raw.
ZKCLI_SESSIONS_RAN=0
run_zkcli_sessions() {
    local port=$1 pid=$2 raw=$WORK/zkcli-sessions-$TARGET.txt.raw sel=()
    [[ ${ZKCLI_SESSIONS:-} == none ]] && return
    # shellcheck disable=SC2206
    [[ -n ${ZKCLI_SESSIONS:-} ]] && sel=($ZKCLI_SESSIONS)
    if ! kill -0 "$pid" 2>/dev/null; then
        fail "zkCli sessions: the server (pid $pid) is gone before the sessions started"
        return
    fi
    log "zkCli sessions: $ZKCLI_SESSIONS_SCRIPT${sel[*]:+ (only: ${sel[*]})}"
    ZKCLI_SESSIONS_RAN=1
    if ! env ZOO_LOG_DIR="$WORK/logs" "$PY" "$ROOT/scripts/zkcli/session.py" "$ZKCLI" \
        "127.0.0.1:$port" "$ZKCLI_SESSIONS_SCRIPT" "$raw" "${sel[@]}" 2>&1 | sed 's/^/  /'; then
        fail "zkCli sessions: the driver reported a problem (see [driver] lines in $raw)"
    fi
    kill -0 "$pid" 2>/dev/null || fail "zkCli sessions: the server (pid $pid) died during the sessions (log: $WORK/logs/server-$pid.log)"
}

# Print the sections of a session transcript named in $2.. ("=== session NAME" headers).
zkcli_sections() {
    local file=$1
    shift
    awk -v names=" $* " '/^=== session / {keep = index(names, " " $3 " ") > 0} keep' "$file"
}

check_zkcli_sessions() {
    local raw=$WORK/zkcli-sessions-$TARGET.txt.raw out=$WORK/zkcli-sessions-$TARGET.txt
    local expected=$ZKCLI_SESSIONS_GOLDEN sel=()
    ((ZKCLI_SESSIONS_RAN)) || return
    if [[ ! -s $raw ]]; then
        fail "zkCli sessions: no transcript ($raw)"
        return
    fi
    normalise_zkcli <"$raw" >"$out"
    # shellcheck disable=SC2206
    [[ -n ${ZKCLI_SESSIONS:-} ]] && sel=($ZKCLI_SESSIONS)
    if [[ ${INTEROP_UPDATE_GOLDEN:-0} == 1 && $TARGET == apache ]]; then
        if ((${#sel[@]})); then
            fail "zkCli sessions: INTEROP_UPDATE_GOLDEN=1 needs all sessions (unset ZKCLI_SESSIONS)"
        else
            cp "$out" "$ZKCLI_SESSIONS_GOLDEN"
            log "zkCli sessions: golden file rewritten: $ZKCLI_SESSIONS_GOLDEN"
        fi
    fi
    if ((${#sel[@]})); then
        expected=$WORK/zkcli-sessions.expected-subset
        zkcli_sections "$ZKCLI_SESSIONS_GOLDEN" "${sel[@]}" >"$expected"
    fi
    if diff -u "$expected" "$out" >"$WORK/zkcli-sessions.diff"; then
        log "zkCli sessions: output matches Apache 3.8 ($ZKCLI_SESSIONS_GOLDEN)"
    else
        cat "$WORK/zkcli-sessions.diff"
        fail "zkCli sessions: output differs from Apache 3.8 (- expected, + $TARGET); transcripts: $WORK/zkcli-sessions-$TARGET.txt{,.raw}"
    fi
}

# ---------------------------------------------------------------------------------------------
main() {
    local offset skip_ok=${INTEROP_ALLOW_SKIP:-0}
    log "work directory $WORK"
    preflight || return
    if [[ ${INTEROP_KAZOO3_ONLY:-0} == 1 ]]; then
        log "only the 3-node kazoo suite (INTEROP_KAZOO3_ONLY=1): single-node suite and zkCli checks not run"
        run_kazoo3
        return
    fi
    offset=$(pick_offset) || { fail "no free loopback port range"; return; }

    if [[ ${INTEROP_SKIP_ZKCLI:-0} == 1 ]]; then
        log "SKIPPED: zkCli.sh smoke check (INTEROP_SKIP_ZKCLI=1)"
        [[ $skip_ok == 1 ]] || fail "zkCli smoke check skipped (set INTEROP_ALLOW_SKIP=1 to allow)"
    else
        run_zkcli_smoke $((offset + 10))
    fi

    if [[ ${ZKCLI_ONLY:-0} == 1 ]]; then
        log "kazoo suite not run (ZKCLI_ONLY=1)"
    elif [[ ${INTEROP_SKIP_KAZOO:-0} == 1 ]]; then
        log "SKIPPED: kazoo test suite (INTEROP_SKIP_KAZOO=1)"
        [[ $skip_ok == 1 ]] || fail "kazoo suite skipped (set INTEROP_ALLOW_SKIP=1 to allow)"
    else
        run_kazoo_suite "$offset"
        SUMMARY=$KAZOO_SUMMARY
    fi

    if [[ ${ZKCLI_ONLY:-0} == 1 ]]; then
        log "3-node kazoo suite not run (ZKCLI_ONLY=1)"
    elif [[ ${INTEROP_SKIP_KAZOO3:-0} == 1 ]]; then
        log "SKIPPED: 3-node kazoo test suite (INTEROP_SKIP_KAZOO3=1)"
        [[ $skip_ok == 1 ]] || fail "3-node kazoo suite skipped (set INTEROP_ALLOW_SKIP=1 to allow)"
    else
        run_kazoo3
    fi
}

# Part 1b: kazoo's suite again against a three-server ensemble (the harness's own default
# size), gated by $BASELINE3 (tests passing against a three-node Apache 3.8).
run_kazoo3() {
    local offset3
    offset3=$(pick_offset3) || { fail "no free loopback port range for the 3-node run"; return; }
    run_kazoo_suite "$offset3" 3 "$BASELINE3" -3node "$SUITE3_TIMEOUT"
    SUMMARY3=$KAZOO_SUMMARY
}

finish() {
    log "kazoo pytest summary ($TARGET): $SUMMARY"
    log "kazoo pytest summary ($TARGET, 3 nodes): $SUMMARY3"
    if [[ $FAILED != 0 ]]; then
        log "FAILED"
        return 1
    fi
    log "OK"
}

# ---------------------------------------------------------------------------------------------
# Part 3 (zkgo target): bin/zkcli, the Go zkCli, against zkCli.sh: scripts/zkcli-diff.sh runs the
# zkCli sessions and batch commands through both clients, each on a fresh bin/zkserver, and diffs
# the normalised transcripts. INTEROP_SKIP_ZKCLI_DIFF=1 skips it (a failure unless
# INTEROP_ALLOW_SKIP=1).
zkcli_diff() {
    [[ $TARGET == zkgo ]] || return 0
    [[ ${INTEROP_KAZOO3_ONLY:-0} == 1 ]] && return 0
    if [[ ${INTEROP_SKIP_ZKCLI_DIFF:-0} == 1 ]]; then
        log "SKIPPED: zkcli vs zkCli.sh diff (INTEROP_SKIP_ZKCLI_DIFF=1)"
        [[ ${INTEROP_ALLOW_SKIP:-0} == 1 ]] || fail "zkcli diff skipped (set INTEROP_ALLOW_SKIP=1 to allow)"
        return 0
    fi
    log "zkcli vs zkCli.sh: scripts/zkcli-diff.sh"
    bash "$ROOT/scripts/zkcli-diff.sh" 2>&1 | sed 's/^/  /'
    ((PIPESTATUS[0] == 0)) || fail "zkcli output differs from zkCli.sh (scripts/zkcli-diff.sh)"
}

# ---------------------------------------------------------------------------------------------
# Part 4 (zkgo target): data dirs move both ways between zkgo and Apache ZooKeeper 3.8:
# internal/roundtrip writes a tree with every node kind, ACLs and sessions through one server,
# starts the other on that data dir, and compares znodes, data, Stat and ACLs.
# INTEROP_SKIP_ROUNDTRIP=1 skips it (a failure unless INTEROP_ALLOW_SKIP=1).
roundtrip() {
    [[ $TARGET == zkgo ]] || return 0
    [[ ${INTEROP_KAZOO3_ONLY:-0} == 1 ]] && return 0
    if [[ ${INTEROP_SKIP_ROUNDTRIP:-0} == 1 ]]; then
        log "SKIPPED: data dir round trip (INTEROP_SKIP_ROUNDTRIP=1)"
        [[ ${INTEROP_ALLOW_SKIP:-0} == 1 ]] || fail "round trip skipped (set INTEROP_ALLOW_SKIP=1 to allow)"
        return 0
    fi
    log "data dir round trip with Apache ZooKeeper 3.8: go test ./internal/roundtrip/"
    (cd "$ROOT" && go test -count=1 ./internal/roundtrip/) 2>&1 | tail -5 | sed 's/^/  /'
    ((PIPESTATUS[0] == 0)) || fail "data dir round trip with Apache ZooKeeper 3.8 failed"
}

# ---------------------------------------------------------------------------------------------
# Part 5 (zkgo target): Apache Curator 5.4 and its recipes (Debian libcurator-recipes-java):
# scripts/curator-check.sh runs one program through the framework and the recipes (latches,
# locks, semaphores, queues, barriers, counters, caches, watchers) against a fresh Apache
# ZooKeeper 3.8 and a fresh bin/zkserver and diffs the transcripts. INTEROP_SKIP_CURATOR=1 skips
# it (a failure unless INTEROP_ALLOW_SKIP=1).
# Part 6 (zkgo target): the C client (cli_mt, Debian zookeeper-bin): scripts/cclient-check.sh runs
# the same commands against a fresh Apache ZooKeeper 3.8 and a fresh bin/zkserver and diffs the
# normalised transcripts. INTEROP_SKIP_CCLIENT=1 skips it (a failure unless INTEROP_ALLOW_SKIP=1).
client_check() { # NAME SCRIPT SKIPVAR WHAT
    [[ $TARGET == zkgo ]] || return 0
    [[ ${INTEROP_KAZOO3_ONLY:-0} == 1 ]] && return 0
    if [[ ${!3:-0} == 1 ]]; then
        log "SKIPPED: $4 ($3=1)"
        [[ ${INTEROP_ALLOW_SKIP:-0} == 1 ]] || fail "$1 skipped (set INTEROP_ALLOW_SKIP=1 to allow)"
        return 0
    fi
    log "$4: scripts/$2"
    bash "$ROOT/scripts/$2" 2>&1 | sed 's/^/  /'
    ((PIPESTATUS[0] == 0)) || fail "$4 differs between zkgo and Apache ZooKeeper 3.8 (scripts/$2)"
}
curator() { client_check curator curator-check.sh INTEROP_SKIP_CURATOR "Curator recipes"; }
cclient() { client_check cclient cclient-check.sh INTEROP_SKIP_CCLIENT "C client (cli_mt)"; }
# Part 7 (zkgo target): the TLS client port (secureClientPort): scripts/tls-check.sh drives kazoo
# and the Java client over TLS against a fresh Apache ZooKeeper 3.8 and a fresh bin/zkserver with
# the same ssl.* settings and diffs the transcripts. INTEROP_SKIP_TLS=1 skips it.
tlscheck() { client_check tls tls-check.sh INTEROP_SKIP_TLS "TLS client port"; }

# One line, so bash has read all of it before running (safe if this file is edited meanwhile).
main; zkcli_diff; roundtrip; curator; cclient; tlscheck; finish; exit $?
