#!/usr/bin/env bash
# Three-node benchmark: a zkgo pseudo-cluster against an Apache ZooKeeper 3.8 pseudo-cluster
# (Debian jars, via scripts/apache-zk.sh), on 127.0.0.1, one ensemble at a time. Each "round"
# starts one system's three nodes on fresh data dirs and free ports, primes it, runs every
# workload with the client's sessions spread over the three nodes (session i on node i mod 3,
# every client given all three), then the failover measurement (kill -9 of the leader → first
# acknowledged write, restart, rejoin; BENCH_FAILOVERS times), and stops it. Rounds alternate
# the systems ABBA (apache, zkgo, zkgo, apache, ...), as scripts/bench.sh interleaves its runs.
# The Markdown report goes to stdout and to docs/bench-ensemble-latest.md.
#
#   scripts/bench-ensemble.sh                 # or: make bench-ensemble
#   BENCH_ROUNDS=1 BENCH_DURATION=3s BENCH_FAILOVERS=1 scripts/bench-ensemble.sh   # quick check
#
# Environment (defaults in brackets):
#   BENCH_DURATION [10s]  measured time per run      BENCH_WARMUP [2s]    unmeasured lead-in
#   BENCH_SESSIONS [32]   client sessions            BENCH_VALUE_SIZE [100] bytes per znode
#   BENCH_ZNODES [1000]   get/set keyspace           BENCH_PRIME [5s]     unreported mixed load first
#   BENCH_WORKLOADS ["get set mixed watch"]          BENCH_ROUNDS [2]     rounds per system (median shown)
#   BENCH_FAILOVERS [3]   leader kills per round     BENCH_WRITERS [3]    writer sessions during failover
#   BENCH_RATES ["get=8000 set=3000 mixed=6000"]  after the closed-loop workloads, the same workloads at a
#                         fixed total rate (zkbench --rate; about half of what Apache sustains here), so
#                         that latencies are also compared at the same load ("" skips them)
#   BENCH_OUT [docs/bench-ensemble-latest.md]        BENCH_KEEP [0]       1 keeps data dirs and logs
#   BENCH_SYSTEMS ["apache zkgo"]                    BENCH_LABEL_SUFFIX   appended to the labels
#   BENCH_DRIVER [raw]    zkbench --driver for get/set/mixed and watch (raw or gozk; failover uses gozk)
#   SERVER_JVMFLAGS       passed to Apache ZooKeeper (scripts/apache-zk.sh; -Xmx1000m by default)
#   BENCH_PIN [0]         1: the three nodes on the last CPU and the client on the others (taskset,
#                         as scripts/bench.sh does for one server): the client as if on another host
#
# Every node gets tickTime=2000, initLimit=10, syncLimit=5, admin.enableServer=false,
# 4lw.commands.whitelist=*, fsync on (the default of both), its own dataDir with myid.
# Nothing is pinned unless BENCH_PIN=1: on a small machine the client and the three server
# processes then share all CPUs, which the report says.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
command -v go >/dev/null || PATH=/usr/local/go/bin:$PATH

DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
PRIME=${BENCH_PRIME:-5s}
SESSIONS=${BENCH_SESSIONS:-32}
VALUE_SIZE=${BENCH_VALUE_SIZE:-100}
ZNODES=${BENCH_ZNODES:-1000}
WORKLOADS=${BENCH_WORKLOADS:-get set mixed watch}
RATES=${BENCH_RATES-get=8000 set=3000 mixed=6000}
ROUNDS=${BENCH_ROUNDS:-2}
FAILOVERS=${BENCH_FAILOVERS:-3}
WRITERS=${BENCH_WRITERS:-3}
SYSTEMS=${BENCH_SYSTEMS:-apache zkgo}
OUT=${BENCH_OUT:-docs/bench-ensemble-latest.md}
SUFFIX=${BENCH_LABEL_SUFFIX:-}
DRIVER=${BENCH_DRIVER:-raw}
PIN=${BENCH_PIN:-0}
SIZE=3
NCPU=$(nproc)
SERVER_CPUS=$((NCPU - 1))
CLIENT_CPUS=0-$((NCPU > 2 ? NCPU - 2 : 0))
PIN_SERVER=""
PIN_CLIENT=()
if [ "$PIN" = 1 ]; then
	[ "$NCPU" -ge 2 ] || { echo "BENCH_PIN=1 needs two CPUs" >&2; exit 2; }
	PIN_SERVER="taskset -c $SERVER_CPUS "
	PIN_CLIENT=(taskset -c "$CLIENT_CPUS")
fi

invocation=""
for v in BENCH_DURATION BENCH_WARMUP BENCH_SESSIONS BENCH_VALUE_SIZE BENCH_ZNODES BENCH_PRIME \
	BENCH_WORKLOADS BENCH_RATES BENCH_ROUNDS BENCH_FAILOVERS BENCH_WRITERS BENCH_SYSTEMS BENCH_OUT BENCH_DRIVER BENCH_PIN SERVER_JVMFLAGS; do
	if [ -n "${!v:-}" ]; then
		invocation+="$v=$(printf '%q' "${!v}") "
	fi
done
invocation+="scripts/bench-ensemble.sh"

log() { echo "bench-ensemble: $(date '+%H:%M:%S') $*" >&2; }

# --- cleanup: every node and client started is stopped on any exit ---------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkbench-ens.XXXXXX")
CLUSTERS=() # cluster dirs started; each nodeN/pid names a server process of ours
BENCH_PID=""
FAILED=()

# node_alive DIR N: the pid in DIR/nodeN/pid runs and was started with this node's zoo.cfg,
# so that a stale pid file never makes us signal a process that reused the pid.
node_pid() {
	local dir=$1 n=$2 pid
	pid=$(cat "$dir/node$n/pid" 2>/dev/null || true)
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF "$dir/node$n/zoo.cfg" || return 1
	echo "$pid"
}

stop_cluster() {
	local dir=$1 n pid i pids=()
	for ((n = 1; n <= SIZE; n++)); do
		if pid=$(node_pid "$dir" "$n"); then
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$n:$pid")
		fi
	done
	for i in $(seq 1 100); do # 10s, then SIGKILL
		local any=0 e
		for e in "${pids[@]}"; do
			node_pid "$dir" "${e%%:*}" >/dev/null && any=1
		done
		[ $any = 0 ] && break
		sleep 0.1
	done
	for e in "${pids[@]}"; do
		if pid=$(node_pid "$dir" "${e%%:*}"); then
			log "node ${e%%:*} of $dir ignored SIGTERM for 10s; SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$BENCH_PID" ]; then
		kill -TERM "$BENCH_PID" 2>/dev/null || true
		wait "$BENCH_PID" 2>/dev/null || true
	fi
	local d
	for d in "${CLUSTERS[@]}"; do
		stop_cluster "$d"
	done
	if [ "$rc" -eq 0 ] && [ "${BENCH_KEEP:-0}" != 1 ] && [ ${#FAILED[@]} -eq 0 ]; then
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
make build >&2
[ -x bin/zkserver ] && [ -x bin/zkbench ] || { log "make build produced no bin/zkserver or bin/zkbench"; exit 1; }
# Private copies: bin/ may be rebuilt by someone else while this runs (a restarted node must be
# the same build as the others).
BIN=$WORK/bin
mkdir -p "$BIN"
cp bin/zkserver bin/zkbench "$BIN/"
zkgo_sum=$(sha256sum "$BIN/zkserver" | cut -c1-12)

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u '+%Y-%m-%d %H:%M UTC')

# free_ports N: N distinct ports on 127.0.0.1 with nothing listening, below the kernel's
# ephemeral range (an outgoing connection between the nodes may otherwise take a chosen port
# before the node that should listen on it binds it).
EPH_LO=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_ports() {
	local want=$1 got=() p i
	for i in $(seq 1 2000); do
		[ ${#got[@]} -ge "$want" ] && break
		p=$((10000 + RANDOM % (EPH_LO - 10000)))
		case " ${got[*]} " in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			got+=("$p")
		fi
	done
	[ ${#got[@]} -ge "$want" ] || { log "not enough free ports"; return 1; }
	echo "${got[@]}"
}

srvr_mode() { # port → leader|follower|... or nothing
	timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1"' && printf srvr >&3 && sed -n "s/^Mode: //p" <&3' 2>/dev/null || true
}

# start_cluster SYSTEM DIR: writes the three nodes' configs and a start-node.sh, starts them
# and waits for one leader and two followers. Sets CLIENT_PORTS and SERVERS.
start_cluster() {
	local sys=$1 dir=$2 n m ports
	mkdir -p "$dir"
	read -ra ports <<<"$(free_ports $((3 * SIZE)))"
	CLIENT_PORTS=()
	local lines=()
	for ((m = 1; m <= SIZE; m++)); do
		CLIENT_PORTS+=("${ports[$((3 * (m - 1)))]}")
		lines+=("server.$m=127.0.0.1:${ports[$((3 * (m - 1) + 1))]}:${ports[$((3 * (m - 1) + 2))]}")
	done
	SERVERS=$(printf '127.0.0.1:%s,' "${CLIENT_PORTS[@]}")
	SERVERS=${SERVERS%,}
	for ((n = 1; n <= SIZE; n++)); do
		mkdir -p "$dir/node$n/data"
		echo "$n" >"$dir/node$n/data/myid"
		local extra=("initLimit=10" "syncLimit=5" "${lines[@]}")
		printf '%s\n' "${extra[@]}" >"$dir/node$n/extra.cfg"
		if [ "$sys" = zkgo ]; then
			{
				echo "tickTime=2000"
				echo "dataDir=$dir/node$n/data"
				echo "clientPort=${CLIENT_PORTS[$((n - 1))]}"
				echo "clientPortAddress=127.0.0.1"
				echo "admin.enableServer=false"
				echo "4lw.commands.whitelist=*"
				printf '%s\n' "${extra[@]}"
			} >"$dir/node$n/zoo.cfg"
		fi
		echo "${CLIENT_PORTS[$((n - 1))]}" >"$dir/node$n/port"
	done
	# start-node.sh N starts node N in the background (appending to its log) and writes its pid;
	# zkbench's failover mode runs it to restart a killed leader.
	{
		echo '#!/usr/bin/env bash'
		echo 'set -eu'
		echo "cd $(printf '%q' "$ROOT")"
		echo "d=$(printf '%q' "$dir")/node\$1"
		if [ "$sys" = zkgo ]; then
			echo "bin=$(printf '%q' "$BIN")"
			echo "nohup $PIN_SERVER"'"$bin/zkserver" start-foreground "$d/zoo.cfg" >>"$d/server.log" 2>&1 </dev/null &'
		else
			# apache-zk.sh writes $d/zoo.cfg (dataDir $d/data, clientPort, tickTime 2000, no admin
			# server, all 4lw) plus the extra lines, and execs java (same pid).
			echo 'mapfile -t extra <"$d/extra.cfg"'
			echo "nohup $PIN_SERVER"'bash scripts/apache-zk.sh start-foreground "$d" "$(cat "$d/port")" "${extra[@]}" >>"$d/server.log" 2>&1 </dev/null &'
		fi
		echo 'echo $! >"$d/pid"'
		echo 'echo "start-node: node $1 pid $! ($(date +%H:%M:%S.%N))" >>"$d/server.log"'
	} >"$dir/start-node.sh"
	CLUSTERS+=("$dir")
	for ((n = 1; n <= SIZE; n++)); do
		bash "$dir/start-node.sh" "$n"
	done
	local deadline=$((SECONDS + 120)) modes
	while :; do
		modes=""
		for ((n = 1; n <= SIZE; n++)); do
			modes+="$(srvr_mode "${CLIENT_PORTS[$((n - 1))]}")."
		done
		case $modes in
		*leader*) [ "$(grep -o follower <<<"$modes" | wc -l)" -eq $((SIZE - 1)) ] && break ;;
		esac
		for ((n = 1; n <= SIZE; n++)); do
			# kill -0, not node_pid: apache-zk.sh is still bash for a moment before it execs java.
			if ! kill -0 "$(cat "$dir/node$n/pid")" 2>/dev/null; then
				log "$sys node $n exited during startup; tail of its log:"
				tail -n 30 "$dir/node$n/server.log" >&2
				return 1
			fi
		done
		if [ $SECONDS -ge $deadline ]; then
			log "$sys ensemble not formed after 120s (modes: $modes)"
			return 1
		fi
		sleep 0.2
	done
	log "$sys ensemble up on $SERVERS (modes: $modes)"
}

# cluster_mem DIR: sum of VmRSS and of VmHWM over the running nodes, MiB.
cluster_mem() {
	local dir=$1 n pid rss=0 hwm=0 r h
	for ((n = 1; n <= SIZE; n++)); do
		pid=$(node_pid "$dir" "$n") || continue
		r=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
		h=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
		rss=$((rss + ${r:-0}))
		hwm=$((hwm + ${h:-0}))
	done
	echo "$((rss / 1024)) $((hwm / 1024))"
}

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
MEMROWS=()
LOGROWS=()
common=(--sessions "$SESSIONS" --duration "$DURATION" --warmup "$WARMUP" --value-size "$VALUE_SIZE" --znodes "$ZNODES" --driver "$DRIVER")

# bench LABEL WHAT ARGS...: runs zkbench in the background (so that a signal can stop it) and
# appends its JSON line to the results.
bench() {
	local label=$1 what=$2
	shift 2
	"${PIN_CLIENT[@]}" "$BIN/zkbench" "$@" --label "$label" --json >"$WORK/run.json" 2>"$WORK/run.err" &
	BENCH_PID=$!
	if wait "$BENCH_PID"; then
		BENCH_PID=""
		cat "$WORK/run.json" >>"$RESULTS"
		if [ "$what" = failover ]; then
			log "$(printf '%-8s %-7s median %.0f ms over %s kills: %s ms, failed writes %s' "$what" "$label" \
				"$(jq -r .median_ms "$WORK/run.json")" "$(jq -r '.rounds | length' "$WORK/run.json")" \
				"$(jq -r '[.rounds[].failover_ms | floor] | map(tostring) | join(", ")' "$WORK/run.json")" \
				"$(jq -r .errors "$WORK/run.json")")"
		else
			log "$(printf '%-8s %-7s %.0f %s, p50 %.3f p99 %.3f ms, errors %s' "$what" "$label" \
				"$(jq -r .throughput "$WORK/run.json")" "$(jq -r .unit "$WORK/run.json")" \
				"$(jq -r .latency_ms.p50 "$WORK/run.json")" "$(jq -r .latency_ms.p99 "$WORK/run.json")" \
				"$(jq -r .errors "$WORK/run.json")")$(jq -r 'if .write_latency_ms then
					" (sets p50 \(.write_latency_ms.p50*1000|round/1000) p90 \(.write_latency_ms.p90*1000|round/1000) p99 \(.write_latency_ms.p99*1000|round/1000) ms)"
					else "" end' "$WORK/run.json")"
		fi
		cat "$WORK/run.err" >>"$WORK/zkbench.log"
	else
		BENCH_PID=""
		log "$what against $label FAILED; zkbench said:"
		tail -n 20 "$WORK/run.err" >&2
		cat "$WORK/run.err" >>"$WORK/zkbench.log"
		# A failover run that failed still printed what it measured.
		[ "$what" = failover ] && [ -s "$WORK/run.json" ] && cat "$WORK/run.json" >>"$RESULTS"
		FAILED+=("$what/$label (round $round)")
	fi
}

# log_counts SYSTEM DIR: warning/error/panic lines in the three nodes' logs.
log_counts() {
	local sys=$1 dir=$2 w e p
	if [ "$sys" = zkgo ]; then
		w=$(cat "$dir"/node*/server.log | grep -c ' WRN ' || true)
		e=$(cat "$dir"/node*/server.log | grep -c ' ERR \| FTL ' || true)
	else
		w=$(cat "$dir"/node*/server.log | grep -c ' WARN ' || true)
		e=$(cat "$dir"/node*/server.log | grep -c ' ERROR ' || true)
	fi
	p=$(cat "$dir"/node*/server.log | grep -c '^panic\|^fatal error\|SIGSEGV' || true)
	echo "$w $e $p"
}

run_round() { # SYSTEM
	local sys=$1 label=$1$SUFFIX dir=$WORK/$1-round$round wl
	log "round $round: $sys"
	local try
	for try in 1 2 3; do
		if start_cluster "$sys" "$dir"; then
			break
		fi
		stop_cluster "$dir"
		if [ $try = 3 ]; then
			FAILED+=("$sys ensemble start (round $round)")
			return
		fi
		mv "$dir" "$dir-failedstart$try"
		log "retrying with other ports"
	done
	if [ "$PRIME" != 0 ] && [ "$PRIME" != 0s ]; then
		"${PIN_CLIENT[@]}" "$BIN/zkbench" --server "$SERVERS" --workload mixed --driver "$DRIVER" --sessions "$SESSIONS" --duration "$PRIME" \
			--warmup 0s --json >/dev/null 2>>"$WORK/zkbench.log" &
		BENCH_PID=$!
		wait "$BENCH_PID" || log "priming $sys failed"
		BENCH_PID=""
	fi
	for wl in $WORKLOADS; do
		bench "$label" "$wl" --server "$SERVERS" --workload "$wl" "${common[@]}"
	done
	local wr
	for wr in $RATES; do
		bench "$label" "${wr%%=*}@${wr#*=}/s" --server "$SERVERS" --workload "${wr%%=*}" --rate "${wr#*=}" "${common[@]}"
	done
	read -r rss hwm <<<"$(cluster_mem "$dir")"
	MEMROWS+=("| $round | $label | $rss | $hwm |")
	local n
	for ((n = 1; n <= SIZE; n++)); do
		if ! node_pid "$dir" "$n" >/dev/null; then
			log "$sys node $n is gone after the workloads; tail of its log:"
			tail -n 20 "$dir/node$n/server.log" >&2
			FAILED+=("$sys node $n exited during the workloads (round $round)")
		fi
	done
	if [ "$FAILOVERS" -gt 0 ]; then
		bench "$label" failover --server "$SERVERS" --workload failover --sessions "$WRITERS" \
			--value-size "$VALUE_SIZE" --rounds "$FAILOVERS" --warmup 2s --settle 3s --timeout 120s \
			--pid-file "$dir/node{n}/pid" --restart-cmd "bash $dir/start-node.sh {n}"
	fi
	stop_cluster "$dir"
	read -r w e p <<<"$(log_counts "$sys" "$dir")"
	LOGROWS+=("| $round | $label | $w | $e | $p |")
}

for round in $(seq 1 "$ROUNDS"); do
	read -ra order <<<"$SYSTEMS"
	if [ $((round % 2)) -eq 0 ]; then # ABBA
		rev=()
		for ((i = ${#order[@]} - 1; i >= 0; i--)); do rev+=("${order[$i]}"); done
		order=("${rev[@]}")
	fi
	for sys in "${order[@]}"; do
		run_round "$sys"
	done
done

load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -----------------------------------------------------------------------------------
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
fs=$(df -PT "$WORK" | awk 'NR == 2 {print $2}')
zkver=$(dpkg-query -W -f '${Version}' libzookeeper-java 2>/dev/null || echo unknown)
javaver=$(java -version 2>&1 | head -n 1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "none yet")
[ -n "$(git status --porcelain 2>/dev/null | head -n 1)" ] && commit+=" (with uncommitted changes)"

targets=(--target get:throughput:'>=':2 --target set:throughput:'>=':1.5
	--target get:p99:'<=':0.5 --target set:p99:'<=':0.5 --target mixed:p99:'<=':0.5 --target watch:p99:'<=':0.5
	--target failover:median:'<=':1)
for wr in $RATES; do
	targets+=(--target "${wr%%=*}@${wr#*=}/s:p99:<=:0.5")
done

{
	echo "## zkgo vs Apache ZooKeeper 3.8, three-node ensembles ($date_start)"
	echo
	echo "- Machine: $(nproc) CPUs ($cpu), $mem RAM, Linux $(uname -r), data dirs on $fs;"
	if [ "$PIN" = 1 ]; then
		echo "  load average (1/5/15 min) $load_start at the start, $load_end at the end. Pinned (\`BENCH_PIN=1\`):"
		echo "  the three server processes on CPU $SERVER_CPUS (taskset, all threads), the client on CPU(s) $CLIENT_CPUS; loopback."
	else
		echo "  load average (1/5/15 min) $load_start at the start, $load_end at the end. Nothing pinned: the"
		echo "  client and the three server processes of the ensemble under test share all CPUs over loopback."
	fi
	echo "- Ensembles: three nodes on 127.0.0.1 (distinct client/quorum/election ports, fresh data dirs),"
	echo "  tickTime=2000, initLimit=10, syncLimit=5, fsync on, admin.enableServer=false, 4lw.commands.whitelist=*;"
	echo "  only one ensemble runs at a time."
	echo "- Apache ZooKeeper: Debian libzookeeper-java $zkver, $javaver, JVM flags \`${SERVER_JVMFLAGS:--Xmx1000m}\` per node."
	echo "- zkgo: \`bin/zkserver start-foreground zoo.cfg\`, commit $commit, binary sha256 $zkgo_sum…"
	echo "- Client: zkbench, get/set/mixed and watch carried by its $DRIVER driver ($([ "$DRIVER" = raw ] && echo "the wire protocol written and read by each worker" || echo "github.com/go-zookeeper/zk")), failover"
	echo "  by github.com/go-zookeeper/zk; $SESSIONS sessions spread over the three nodes (session i"
	echo "  connects to node i mod 3 first; each is given all three), one outstanding request per session,"
	echo "  $VALUE_SIZE-byte values, $ZNODES-znode keyspace; get = reads, set = setData, mixed = 90% get / 10% set,"
	echo "  watch = $SESSIONS watchers of one znode and one setter (notifications/s; latency set issued → notification)."
	echo "  Each ensemble primed with ${PRIME} of mixed load, then ${WARMUP} warm-up and ${DURATION} measured per workload."
	if [ -n "$RATES" ]; then
		echo "- W@R/s: workload W at a fixed total rate of R requests/s (\`zkbench --rate R\`: each of the $SESSIONS"
		echo "  sessions on its own schedule, slept out with clock_nanosleep so that requests do not bunch at the"
		echo "  millisecond boundaries of Go's timers, latency counted from when a request was sent), so both systems carry the"
		echo "  same load; the closed-loop runs above load each system as fast as it answers, zkgo with 1.5-3x the"
		echo "  requests of Apache on the same two CPUs, which is what their latencies reflect."
	fi
	echo "- Failover: $WRITERS writer sessions (one per node to start with) setData in a closed loop; the leader"
	echo "  (found with srvr) is killed with SIGKILL and the time from the kill to the first acknowledged write"
	echo "  issued after it is taken; the node is restarted and must rejoin as a follower before the next kill;"
	echo "  $FAILOVERS kills per round. \"new leader seen\" is when a surviving node first answered srvr \"Mode: leader\""
	echo "  (polled every 20 ms). The client retries the servers every 20 ms (not go-zookeeper's 1 s back-off)."
	echo "- $ROUNDS round(s) per system, interleaved ABBA ($(
		for r in $(seq 1 "$ROUNDS"); do
			read -ra o <<<"$SYSTEMS"
			[ $((r % 2)) -eq 0 ] && o=($(printf '%s\n' "${o[@]}" | tac))
			printf '%s ' "${o[@]}"
		done | sed 's/ $//; s/ /, /g'
	)); the table shows each pair's median-throughput run (at a fixed rate: the median-p99 run); failover pools every kill."
	echo
	echo "Command: \`$invocation\`"
	echo
	echo "Each run: \`bin/zkbench --server N1,N2,N3 --workload W ${common[*]} --json\`;"
	echo "failover: \`bin/zkbench --server N1,N2,N3 --workload failover --sessions $WRITERS --rounds $FAILOVERS --warmup 2s --settle 3s --timeout 120s --pid-file DIR/node{n}/pid --restart-cmd 'bash DIR/start-node.sh {n}' --json\`"
	echo
	"$BIN/zkbench" report --baseline "apache$SUFFIX" "${targets[@]}" "$RESULTS" || echo "(no results)"
	echo
	echo "Memory of the three nodes together after the workloads (before failover), MiB:"
	echo
	echo "| Round | Server | RSS sum | peak (VmHWM) sum |"
	echo "|--:|---|--:|--:|"
	printf '%s\n' "${MEMROWS[@]}"
	echo
	echo "Server logs over the round (three nodes): warning, error and panic lines"
	echo "(zkgo: \` WRN \`, \` ERR \`/\` FTL \`; Apache: \` WARN \`, \` ERROR \`; kills and restarts produce some):"
	echo
	echo "| Round | Server | warnings | errors | panics |"
	echo "|--:|---|--:|--:|--:|"
	printf '%s\n' "${LOGROWS[@]}"
	if [ ${#FAILED[@]} -gt 0 ]; then
		echo
		echo "Failed: ${FAILED[*]}"
	fi
} >"$WORK/report.md"

mkdir -p "$(dirname "$OUT")"
cp "$WORK/report.md" "$OUT"
cat "$WORK/report.md"
log "report written to $OUT"
[ ${#FAILED[@]} -eq 0 ]
