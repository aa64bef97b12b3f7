#!/usr/bin/env bash
# Side-by-side benchmark of zkgo against Apache ZooKeeper 3.8 (Debian package), the numbers the
# docs cite. Builds bin/zkserver and bin/zkbench, starts both servers on free loopback ports,
# runs every workload against each (interleaved, to spread the machine's noise over both), stops
# them, and prints a Markdown report that it also writes to docs/bench-latest.md.
#
#   scripts/bench.sh                      # or: make bench
#   BENCH_DURATION=3s BENCH_WARMUP=1s scripts/bench.sh
#
#   # Dry run with a second Apache node standing in for zkgo:
#   ZKGO_CMD='scripts/apache-zk.sh start-foreground "$DIR" "$PORT"' ZKGO_LABEL=apache-2 \
#     BENCH_OUT=/tmp/bench-dry.md scripts/bench.sh
#
# Environment (defaults in brackets):
#   BENCH_DURATION [10s]  measured time per run      BENCH_WARMUP [2s]   unmeasured lead-in
#   BENCH_SESSIONS [32]   client sessions            BENCH_VALUE_SIZE [100] bytes per znode
#   BENCH_ZNODES [1000]   get/set keyspace           BENCH_PIPELINE [1]  outstanding req/session
#   BENCH_WORKLOADS ["get set create mixed watch"]   BENCH_ROUNDS [1]    runs per pair (median)
#   BENCH_OUT [docs/bench-latest.md]                 BENCH_KEEP [0]      1 keeps data dirs, logs
#   BENCH_PRIME [5s]      unreported mixed load on each server first (JIT warm-up); 0 skips
#   BENCH_DRIVER [raw]    zkbench --driver for get/set/create/mixed and watch (raw or gozk)
#   ZKGO_CMD ['bin/zkserver start-foreground "$CFG"'] how to run "ours" in the foreground;
#         evaluated by bash with CFG (its zoo.cfg), DIR and PORT set; it must exec the server so
#         that its pid is the one measured (--pid) and stopped.
#   ZKGO_LABEL [zkgo]     name of "ours" in the report
#   SERVER_JVMFLAGS       passed to Apache ZooKeeper (see scripts/apache-zk.sh; -Xmx1000m default)
#   BENCH_PIN [1 when nproc >= 2]  run both servers on the last CPU and the client on the others
#         (taskset), as if the client were another machine: sharing cores, the client's threads
#         and the server's preempt each other and the tail latency measures that, not the server.
set -euo pipefail

cd "$(dirname "$0")/.."
command -v go >/dev/null || PATH=/usr/local/go/bin:$PATH

DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
PRIME=${BENCH_PRIME:-5s}
SESSIONS=${BENCH_SESSIONS:-32}
VALUE_SIZE=${BENCH_VALUE_SIZE:-100}
ZNODES=${BENCH_ZNODES:-1000}
PIPELINE=${BENCH_PIPELINE:-1}
DRIVER=${BENCH_DRIVER:-raw}
WORKLOADS=${BENCH_WORKLOADS:-get set create mixed watch}
ROUNDS=${BENCH_ROUNDS:-1}
OUT=${BENCH_OUT:-docs/bench-latest.md}
NCPU=$(nproc)
PIN=${BENCH_PIN:-$([ "$NCPU" -ge 2 ] && echo 1 || echo 0)}
SERVER_CPUS=$((NCPU - 1))
CLIENT_CPUS=0-$((NCPU > 2 ? NCPU - 2 : 0))
CLIENT=(bin/zkbench)
if [ "$PIN" = 1 ]; then
	CLIENT=(taskset -c "$CLIENT_CPUS" bin/zkbench)
fi
ZKGO_LABEL=${ZKGO_LABEL:-zkgo}
# shellcheck disable=SC2016 # expanded later, by the bash that runs the server
DEFAULT_ZKGO_CMD='bin/zkserver start-foreground "$CFG"'
ZKGO_CMD=${ZKGO_CMD:-$DEFAULT_ZKGO_CMD}
APACHE_LABEL=apache

# The exact command, with every setting that differs from the defaults, for the report.
invocation=""
for v in BENCH_DURATION BENCH_WARMUP BENCH_SESSIONS BENCH_VALUE_SIZE BENCH_ZNODES BENCH_PIPELINE \
	BENCH_WORKLOADS BENCH_ROUNDS BENCH_PRIME BENCH_OUT BENCH_DRIVER ZKGO_CMD ZKGO_LABEL SERVER_JVMFLAGS; do
	if [ -n "${!v:-}" ]; then
		invocation+="$v=$(printf '%q' "${!v}") "
	fi
done
invocation+="scripts/bench.sh"

log() { echo "bench: $*" >&2; }

# --- cleanup: everything started is stopped on any exit ------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkbench.XXXXXX")
OURS_PID=""
BENCH_PID=""
APACHE_STARTED=""

# stop_pid sends SIGTERM, then SIGKILL after 10s, to a child of this shell.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$BENCH_PID" ] && stop_pid "$BENCH_PID"
	[ -n "$OURS_PID" ] && stop_pid "$OURS_PID"
	[ -n "$APACHE_STARTED" ] && scripts/apache-zk.sh stop "$WORK/apache" || true
	if [ "$rc" -eq 0 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -rf "$WORK"
	else
		log "data dirs and logs kept in $WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build ------------------------------------------------------------------------------------
if [ "$ZKGO_CMD" = "$DEFAULT_ZKGO_CMD" ]; then
	make build >&2
	if [ ! -x bin/zkserver ]; then
		log "make build produced no bin/zkserver"
		exit 1
	fi
else
	# "Ours" is something else (dry run): only the client is needed, so a zkserver that does
	# not build yet does not block the pipeline.
	mkdir -p bin
	go build -o bin/zkbench ./cmd/zkbench
fi

# --- start both servers -----------------------------------------------------------------------
# free_port picks a random port on 127.0.0.1 with nothing listening (connection refused).
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		[ "$p" = "${1:-}" ] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	log "no free port found"
	return 1
}

srvr_ok() {
	timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1"' && printf srvr >&3 && grep -q "^Mode: " <&3' 2>/dev/null
}

APACHE_PORT=$(free_port)
OURS_PORT=$(free_port "$APACHE_PORT")

log "starting Apache ZooKeeper on 127.0.0.1:$APACHE_PORT"
APACHE_STARTED=1
scripts/apache-zk.sh start "$WORK/apache" "$APACHE_PORT" >&2
APACHE_PID=$(cat "$WORK/apache/zk.pid")

log "starting $ZKGO_LABEL on 127.0.0.1:$OURS_PORT: $ZKGO_CMD"
mkdir -p "$WORK/ours/data"
cat >"$WORK/ours/zoo.cfg" <<EOF
clientPort=$OURS_PORT
clientPortAddress=127.0.0.1
dataDir=$WORK/ours/data
tickTime=2000
admin.enableServer=false
4lw.commands.whitelist=*
EOF
(
	export CFG="$WORK/ours/zoo.cfg" DIR="$WORK/ours" PORT="$OURS_PORT"
	exec bash -c "exec $ZKGO_CMD"
) >"$WORK/ours/server.log" 2>&1 </dev/null &
OURS_PID=$!
if [ "$PIN" = 1 ]; then
	taskset -a -cp "$SERVER_CPUS" "$APACHE_PID" >/dev/null
	taskset -a -cp "$SERVER_CPUS" "$OURS_PID" >/dev/null
	log "servers pinned to CPU $SERVER_CPUS, client to CPU(s) $CLIENT_CPUS"
fi
deadline=$((SECONDS + 60))
until srvr_ok "$OURS_PORT"; do
	if ! kill -0 "$OURS_PID" 2>/dev/null; then
		log "$ZKGO_LABEL exited during startup; tail of $WORK/ours/server.log:"
		tail -n 30 "$WORK/ours/server.log" >&2
		exit 1
	fi
	if [ $SECONDS -ge $deadline ]; then
		# It may serve without srvr; zkbench waits for sessions itself.
		if (exec 3<>"/dev/tcp/127.0.0.1/$OURS_PORT") 2>/dev/null; then
			log "warning: $ZKGO_LABEL accepts connections but does not answer srvr; going on"
			break
		fi
		log "$ZKGO_LABEL not listening on 127.0.0.1:$OURS_PORT after 60s; tail of its log:"
		tail -n 30 "$WORK/ours/server.log" >&2
		exit 1
	fi
	sleep 0.2
done

# --- run --------------------------------------------------------------------------------------
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
FAILED=()
common=(--sessions "$SESSIONS" --pipeline "$PIPELINE" --duration "$DURATION" --warmup "$WARMUP"
	--value-size "$VALUE_SIZE" --znodes "$ZNODES" --driver "$DRIVER")

run_one() { # label port pid workload
	local label=$1 port=$2 pid=$3 wl=$4
	"${CLIENT[@]}" --server "127.0.0.1:$port" --workload "$wl" "${common[@]}" --pid "$pid" \
		--label "$label" --json >"$WORK/run.json" &
	BENCH_PID=$!
	if wait "$BENCH_PID"; then
		BENCH_PID=""
		cat "$WORK/run.json" >>"$RESULTS"
		# Progress line without depending on jq: "get    apache    18281 ops/s, errors 0".
		log "$(printf '%-6s %-9s %.0f %s, errors %s' "$wl" "$label" \
			"$(grep -o '"throughput":[0-9.e+]*' "$WORK/run.json" | cut -d: -f2)" \
			"$(grep -o '"unit":"[^"]*"' "$WORK/run.json" | cut -d'"' -f4)" \
			"$(grep -o '"errors":[0-9]*' "$WORK/run.json" | cut -d: -f2)")"
	else
		BENCH_PID=""
		log "$wl against $label FAILED"
		FAILED+=("$wl/$label")
	fi
}

# Prime both servers once so that the first measured workload does not pay for the JVM's JIT
# warm-up (or our first allocations); results are discarded.
if [ "$PRIME" != 0 ] && [ "$PRIME" != 0s ]; then
	for side in "$APACHE_PORT" "$OURS_PORT"; do
		"${CLIENT[@]}" --server "127.0.0.1:$side" --workload mixed --sessions "$SESSIONS" \
			--duration "$PRIME" --warmup 0s --json >/dev/null &
		BENCH_PID=$!
		wait "$BENCH_PID" || log "priming 127.0.0.1:$side failed"
		BENCH_PID=""
	done
fi

for wl in $WORKLOADS; do
	for round in $(seq 1 "$ROUNDS"); do
		# ABBA order over rounds, so that neither side always runs first after the other's load.
		if [ $((round % 2)) -eq 1 ]; then
			run_one "$APACHE_LABEL" "$APACHE_PORT" "$APACHE_PID" "$wl"
			run_one "$ZKGO_LABEL" "$OURS_PORT" "$OURS_PID" "$wl"
		else
			run_one "$ZKGO_LABEL" "$OURS_PORT" "$OURS_PID" "$wl"
			run_one "$APACHE_LABEL" "$APACHE_PORT" "$APACHE_PID" "$wl"
		fi
		if ! kill -0 "$OURS_PID" 2>/dev/null; then
			log "$ZKGO_LABEL died; tail of its log:"
			tail -n 30 "$WORK/ours/server.log" >&2
			FAILED+=("$ZKGO_LABEL exited during $wl")
			break 2
		fi
	done
done

# --- report -----------------------------------------------------------------------------------
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
fs=$(df -PT "$WORK" | awk 'NR == 2 {print $2}')
zkver=$(dpkg-query -W -f '${Version}' libzookeeper-java 2>/dev/null || echo unknown)
javaver=$(java -version 2>&1 | head -n 1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "none yet")
[ -n "$(git status --porcelain 2>/dev/null | head -n 1)" ] && commit+=" (with uncommitted changes)"

{
	echo "## $ZKGO_LABEL vs Apache ZooKeeper 3.8 ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	if [ "$ZKGO_CMD" != "$DEFAULT_ZKGO_CMD" ]; then
		echo "**Not a zkgo measurement:** \"$ZKGO_LABEL\" was started with \`$ZKGO_CMD\`."
		echo
	fi
	echo "- Machine: $(nproc) CPUs ($cpu), $mem RAM, Linux $(uname -r), data dirs on $fs."
	if [ "$PIN" = 1 ]; then
		echo "  Servers pinned to CPU $SERVER_CPUS (taskset, all threads), the client to CPU(s) $CLIENT_CPUS; loopback."
	else
		echo "  Client and servers share the machine's CPUs over loopback; the client's CPU counts against both."
	fi
	echo "- Apache ZooKeeper: Debian libzookeeper-java $zkver, $javaver, JVM flags \`${SERVER_JVMFLAGS:--Xmx1000m}\`."
	echo "- $ZKGO_LABEL: \`$ZKGO_CMD\`, commit $commit."
	echo "- Client: zkbench, get/set/create/mixed and watch carried by its $DRIVER driver ($([ "$DRIVER" = raw ] && echo "the wire protocol written and read by each worker" || echo "github.com/go-zookeeper/zk"));"
	echo "  $SESSIONS sessions, $PIPELINE outstanding request(s) per session (watch: one)"
	echo "  (closed loop), $VALUE_SIZE-byte values, $ZNODES-znode keyspace for get/set/mixed,"
	echo "  each server primed with ${PRIME} of mixed load, then ${WARMUP} warm-up and ${DURATION} measured per run; runs interleaved Apache/$ZKGO_LABEL, $ROUNDS round(s),"
	echo "  median-throughput run shown. mixed = 90% get / 10% set; watch = $SESSIONS watchers of one znode, one"
	echo "  setter; its throughput is notifications/s and its latency is set issued → notification received."
	echo "- RSS: server VmRSS after the run (peak VmHWM)."
	echo
	echo "Command: \`$invocation\`"
	echo
	echo "Each run: \`bin/zkbench --server 127.0.0.1:PORT --workload W ${common[*]} --pid PID --json\`"
	echo
	bin/zkbench report --baseline "$APACHE_LABEL" "$RESULTS"
	if [ ${#FAILED[@]} -gt 0 ]; then
		echo
		echo "Failed runs: ${FAILED[*]}"
	fi
} >"$WORK/report.md"

mkdir -p "$(dirname "$OUT")"
cp "$WORK/report.md" "$OUT"
cat "$WORK/report.md"
log "report written to $OUT"
[ ${#FAILED[@]} -eq 0 ]
