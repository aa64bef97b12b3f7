# Sourced by the client checks that run one client against a fresh Apache ZooKeeper 3.8 and a
# fresh zkgo (scripts/curator-check.sh, scripts/cclient-check.sh): starting and stopping the
# two standalone servers, and the work directory's cleanup.
#
# The caller sets ROOT, WORK, ZKGO_BIN, CHECK (its name in messages), FAILED=0 and KEEP (1
# keeps WORK), and may set SERVER_FLAGS (system properties for both servers, SERVER_JVMFLAGS
# words) and the array EXTRA_CFG (zoo.cfg lines for both). start_apache and start_zkgo set
# PORT; both servers are stopped on exit.

log() { echo "$CHECK: $*"; }
fail() {
    echo "$CHECK: FAIL: $*" >&2
    FAILED=1
}

ZKGO_PID=""
APACHE_DIR=""
SERVER_FLAGS=${SERVER_FLAGS:-}
[[ -v EXTRA_CFG ]] || EXTRA_CFG=()

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
    if [[ $FAILED == 0 && $KEEP != 1 ]]; then
        rm -rf "$WORK"
    else
        log "work directory kept: $WORK"
    fi
}
trap on_exit EXIT
trap 'FAILED=1; exit 130' INT TERM HUP

# free_port: a port nobody listens on, found by binding 127.0.0.1:0.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# srvr_ok PORT: the server answers srvr with its mode (it serves requests).
srvr_ok() {
    timeout 2 bash -c '
        exec 3<>/dev/tcp/127.0.0.1/'"$1"' || exit 1
        printf srvr >&3
        grep -q "^Mode: " <&3' 2>/dev/null
}

# start_apache: fresh Apache 3.8 standalone in WORK/apache-server; sets PORT and APACHE_DIR.
start_apache() {
    local dir=$WORK/apache-server
    PORT=$(free_port)
    APACHE_DIR=$dir
    if ! SERVER_JVMFLAGS="$SERVER_FLAGS" ZK_START_TIMEOUT=60 \
        bash "$ROOT/scripts/apache-zk.sh" start "$dir" "$PORT" "${EXTRA_CFG[@]}" >"$WORK/apache-start.log" 2>&1; then
        cat "$WORK/apache-start.log" >&2
        fail "apache: ZooKeeper did not start on 127.0.0.1:$PORT (log: $dir/zk.log)"
        return 1
    fi
}

# start_zkgo: fresh zkgo standalone in WORK/zkgo-server; sets PORT and ZKGO_PID.
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
    if ((${#EXTRA_CFG[@]})); then
        printf '%s\n' "${EXTRA_CFG[@]}" >>"$dir/zoo.cfg"
    fi
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
