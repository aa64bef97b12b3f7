#!/usr/bin/env bash
# Side-by-side STORAGE benchmark of zkgo against Apache ZooKeeper 3.8 (Debian package): durable
# write throughput, memory and disk for a large tree, and crash recovery time. Both servers run
# on this machine over loopback with the same zoo.cfg keys and fsync on (forceSync default yes).
#
#   scripts/bench-storage.sh                          # full run (1M znodes), ~10-15 min on 2 cores
#   ZNODES=20000 DURATION=2s WARMUP=1s PRIME=1s SETTLE=2s scripts/bench-storage.sh   # dry run
#
# Phases:
#   1. Write throughput, once per THROUGHPUT_SERIES: fresh data dirs, both servers up, JIT-priming
#      mixed load on each, then zkbench set and create (VALUE_SIZE-byte values) at 1 and at 32
#      sessions, Apache/zkgo interleaved (ABBA); both servers are then stopped. Series "shared":
#      nothing pinned. Series "pinned": each server runs on the last CPU from its start, zkbench
#      on the others, which measures a server on a CPU of its own instead of one that shares
#      its CPUs with the load generator.
#   2. Per server, one at a time on a fresh data dir: VmRSS when empty; `zkbench --workload
#      populate` of ZNODES znodes (/pop/pNNNN/kNNNNNNN, 1000 children per parent); SETTLE; VmRSS
#      and VmHWM; mntr znode count; du of the data dir and size of the newest snapshot; then
#      RECOVERY_ROUNDS times: kill -9, start again on the same data dir, and `zkbench --workload
#      firstread` measures from just before the process start to the first answered getData of
#      the last znode created (which is in the log tail) and to the first answered setData; the
#      znode count is checked against the one before the kill.
#
# Environment (defaults in brackets):
#   ZNODES [1000000]     znodes for phase 2            VALUE_SIZE [100]  bytes per znode
#   DURATION [10s]       measured time per throughput run   WARMUP [2s]  unmeasured lead-in
#   PRIME [5s]           mixed load on each server before phase 1 (0 skips)
#   SETTLE [10s]         pause after populate before memory and disk are read
#   POP_SESSIONS [32]    POP_PIPELINE [32]   sessions and outstanding creates/session for populate
#   RECOVERY_ROUNDS [2]  kill -9 / restart cycles per server (round 1 is the headline)
#   RECOVERY_TIMEOUT [300s]  bound on each restart's first read+write
#   POP_TIMEOUT [900s]   bound on each populate
#   DRIVER [raw]         zkbench --driver for the throughput runs (raw or gozk)
#   THROUGHPUT_SERIES ["shared pinned"]   which phase-1 series to run
#   THROUGHPUT_RUNS [3]  runs per server, workload and session count (interleaved); the median is reported
#   SERVER_JVMFLAGS [-Xmx2g]  Apache's JVM flags (scripts/apache-zk.sh adds -Xmx1000m only
#                        when no -Xmx is given; 1000m is tight for 1M znodes)
#   BENCH_TMP [/tmp]     where the data dirs go (needs a few GB for 1M znodes)
#   OUT [docs/bench-storage-latest.md]   KEEP [0]  1 keeps data dirs and logs
#   MAX_TIME [40m]       the whole run is aborted after this long
set -euo pipefail

cd "$(dirname "$0")/.."
command -v go >/dev/null || PATH=/usr/local/go/bin:$PATH

ZNODES=${ZNODES:-1000000}
VALUE_SIZE=${VALUE_SIZE:-100}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
PRIME=${PRIME:-5s}
SETTLE=${SETTLE:-10s}
POP_SESSIONS=${POP_SESSIONS:-32}
POP_PIPELINE=${POP_PIPELINE:-32}
FANOUT=1000
RECOVERY_ROUNDS=${RECOVERY_ROUNDS:-2}
RECOVERY_TIMEOUT=${RECOVERY_TIMEOUT:-300s}
POP_TIMEOUT=${POP_TIMEOUT:-900s}
export SERVER_JVMFLAGS=${SERVER_JVMFLAGS:--Xmx2g}
BENCH_TMP=${BENCH_TMP:-/tmp}
OUT=${OUT:-docs/bench-storage-latest.md}
MAX_TIME=${MAX_TIME:-40m}
DRIVER=${DRIVER:-raw}
THROUGHPUT_SERIES=${THROUGHPUT_SERIES:-shared pinned}
THROUGHPUT_RUNS=${THROUGHPUT_RUNS:-3}
THROUGHPUT_SESSIONS=(1 32)
THROUGHPUT_WORKLOADS=(set create)

invocation=""
# Only the settings given in the environment (the defaults above are not "given").
for v in ZNODES VALUE_SIZE DURATION WARMUP PRIME SETTLE POP_SESSIONS POP_PIPELINE RECOVERY_ROUNDS \
	RECOVERY_TIMEOUT POP_TIMEOUT BENCH_TMP OUT KEEP MAX_TIME DRIVER THROUGHPUT_SERIES THROUGHPUT_RUNS; do
	if printenv "$v" >/dev/null 2>&1; then
		invocation+="$v=$(printf '%q' "$(printenv "$v")") "
	fi
done
invocation+="SERVER_JVMFLAGS=$(printf '%q' "$SERVER_JVMFLAGS") scripts/bench-storage.sh"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log() { echo "bench-storage: $(date -u +%H:%M:%S) $*" >&2; }
die() {
	log "FAILED: $*"
	exit 1
}

secs() { # "10s" / "2m" / "500ms" / "3" -> seconds (float)
	case $1 in
	*ms) awk -v v="${1%ms}" 'BEGIN {print v / 1000}' ;;
	*s) echo "${1%s}" ;;
	*m) awk -v v="${1%m}" 'BEGIN {print v * 60}' ;;
	*) echo "$1" ;;
	esac
}

# --- cleanup: everything started is stopped on any exit ------------------------------------
mkdir -p "$BENCH_TMP"
WORK=$(mktemp -d "$BENCH_TMP/zkbench-storage.XXXXXX")
OURS_PID=""     # the zkgo process running now (a child of this shell)
APACHE_DIRS=()  # dirs with a zk.pid for scripts/apache-zk.sh stop
CHILD_PID=""    # the zkbench running now
WATCHDOG_PID=""

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$WATCHDOG_PID" ] && kill "$WATCHDOG_PID" 2>/dev/null
	[ -n "$CHILD_PID" ] && kill -TERM "$CHILD_PID" 2>/dev/null && wait "$CHILD_PID" 2>/dev/null
	local p d
	[ -n "$OURS_PID" ] && kill -KILL "$OURS_PID" 2>/dev/null && wait "$OURS_PID" 2>/dev/null
	for d in "${APACHE_DIRS[@]}"; do
		scripts/apache-zk.sh stop "$d" >/dev/null 2>&1 || true
	done
	if [ "$rc" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$WORK"
	else
		log "data dirs and logs kept in $WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A watchdog bounds the whole run: it sends TERM to this shell, whose trap cleans up.
max_s=$(secs "$MAX_TIME")
(
	trap 'kill "$sp" 2>/dev/null; exit 0' TERM
	sleep "$max_s" &
	sp=$!
	wait "$sp" || exit 0
	echo "bench-storage: MAX_TIME=$MAX_TIME exceeded; aborting" >&2
	kill -TERM $$
) </dev/null >/dev/null 2>&1 &
WATCHDOG_PID=$!

# bounded LIMIT_S cmd... runs cmd as a child (so that traps still run), killed after LIMIT_S.
bounded() {
	local limit=$1
	shift
	timeout -k 10 "$limit" "$@" &
	CHILD_PID=$!
	local rc=0
	wait "$CHILD_PID" || rc=$?
	CHILD_PID=""
	return "$rc"
}

# --- preflight and build ----------------------------------------------------------------------
command -v java >/dev/null || die "java not found (apt-get install -y zookeeper)"
[ -r /usr/share/java/zookeeper.jar ] || [ -n "${ZK_CLASSPATH:-}" ] || die "zookeeper.jar missing (apt-get install -y zookeeper)"
# 1M znodes: a few hundred MB of snapshots and up to 64 MiB preallocated per log, per server.
need_kib=$((ZNODES * 3 + 2 * 1024 * 1024))
avail_kib=$(df -Pk "$WORK" | awk 'NR == 2 {print $4}')
[ "$avail_kib" -gt "$need_kib" ] || die "only $((avail_kib / 1024)) MiB free under $BENCH_TMP, want $((need_kib / 1024)) MiB"
log "work dir $WORK ($((avail_kib / 1024 / 1024)) GiB free)"
make build >&2
[ -x bin/zkserver ] && [ -x bin/zkbench ] || die "make build produced no bin/zkserver or bin/zkbench"

free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# four PORT WORD prints a four-letter word's answer (bounded; empty on failure).
four() {
	timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1"' && printf %s '"$2"' >&3 && cat <&3' 2>/dev/null || true
}
srvr_ok() { four "$1" srvr | grep -q '^Mode: '; }
mntr_val() { four "$1" mntr | awk -v k="$2" '$1 == k {print $2}'; }

# rss PID KEY -> KiB from /proc/PID/status (VmRSS, VmHWM)
rss() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# The same zoo.cfg keys for both servers; scripts/apache-zk.sh writes its first six itself.
CFG_EXTRA=("maxClientCnxns=0")
write_ours_cfg() { # dir port
	mkdir -p "$1/data"
	{
		echo "dataDir=$1/data"
		echo "clientPort=$2"
		echo "clientPortAddress=127.0.0.1"
		echo "tickTime=2000"
		echo "admin.enableServer=false"
		echo "4lw.commands.whitelist=*"
		printf '%s\n' "${CFG_EXTRA[@]}"
	} >"$1/zoo.cfg"
}

# wait_serving PORT PID LOG: until srvr answers, at most 120 s.
wait_serving() {
	local deadline=$((SECONDS + 120))
	until srvr_ok "$1"; do
		kill -0 "$2" 2>/dev/null || { tail -n 30 "$3" >&2; die "server pid $2 exited during startup (log $3)"; }
		[ $SECONDS -lt $deadline ] || { tail -n 30 "$3" >&2; die "server pid $2 not serving on 127.0.0.1:$1 after 120s"; }
		sleep 0.1
	done
}

# start_ours DIR PORT: sets SERVER_PID.
start_ours() {
	bin/zkserver start-foreground "$1/zoo.cfg" >>"$1/server.log" 2>&1 </dev/null &
	SERVER_PID=$!
	OURS_PID=$SERVER_PID
}

# start_apache DIR PORT: first start through scripts/apache-zk.sh; sets SERVER_PID and
# APACHE_CMD (the exact java command line, reused by restarts so that they exec java directly).
start_apache() {
	APACHE_DIRS+=("$1")
	scripts/apache-zk.sh start "$1" "$2" "${CFG_EXTRA[@]}" >&2
	SERVER_PID=$(cat "$1/zk.pid")
	mapfile -d '' -t APACHE_CMD <"/proc/$SERVER_PID/cmdline"
}

# stop_server LABEL DIR PID: graceful stop, SIGKILL after 20 s.
stop_server() {
	if [ "$1" = apache ]; then
		scripts/apache-zk.sh stop "$2" >&2 || true
	else
		kill -TERM "$3" 2>/dev/null || true
		local i
		for i in $(seq 1 200); do
			kill -0 "$3" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$3" 2>/dev/null || true
		wait "$3" 2>/dev/null || true
		OURS_PID=""
	fi
}

# kill9 PID PORT: SIGKILL, then wait (bounded) until the process is really gone and nothing
# accepts on PORT. A multi-threaded process (JVM, Go) shows its leader as a zombie while its other
# threads, which still hold the listening socket, are exiting; Apache's first java is not our child,
# so wait(1) cannot be used for it.
kill9() {
	kill -KILL "$1" 2>/dev/null || true
	[ "$1" = "$OURS_PID" ] && OURS_PID=""
	local i gone=""
	for i in $(seq 1 200); do
		if [ ! -e "/proc/$1" ]; then
			gone=1
			break
		fi
		if grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null &&
			[ "$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" -le 1 ]; then
			wait "$1" 2>/dev/null || true # reaps it if it is our child
			gone=1
			break
		fi
		sleep 0.05
	done
	[ -n "$gone" ] || die "pid $1 still alive 10s after SIGKILL"
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null || return 0
		sleep 0.1
	done
	die "127.0.0.1:$2 still accepts connections 10s after SIGKILL of pid $1"
}

RESULTS=$WORK/results
mkdir -p "$RESULTS"
# jget FILE KEY: a scalar from a one-line JSON object.
jget() { jq -r ".$2 // empty" "$1" 2>/dev/null || true; }
command -v jq >/dev/null || die "jq not found (apt-get install -y jq)"

# ============================ phase 1: write throughput =======================================
dur_s=$(secs "$DURATION")
warm_s=$(secs "$WARMUP")
# Each run: connect + setup + warm-up + duration + cleanup of the created znodes (bounded by
# zkbench to 5 min); the limit is a backstop.
run_limit=$(awk -v d="$dur_s" -v w="$warm_s" 'BEGIN {printf "%d", d + w + 420}')
FAILED=()
NCPU=$(nproc)
SERVER_CPU=$((NCPU - 1))
CLIENT_CPUS=0
[ "$NCPU" -gt 2 ] && CLIENT_CPUS=0-$((NCPU - 2))
SERIES_RUN=()
# pin_server SERIES / pin_client SERIES: the taskset prefix of a server or of zkbench.
pin_server() { [ "$1" = pinned ] && echo "taskset -c $SERVER_CPU"; true; }
pin_client() { [ "$1" = pinned ] && echo "taskset -c $CLIENT_CPUS"; true; }
tput_one() { # series label port pid workload sessions run
	local f="$RESULTS/tput-$1-$5-$6-$2-$7.json"
	# shellcheck disable=SC2046 # the taskset prefix is meant to split into words
	if bounded "$run_limit" $(pin_client "$1") bin/zkbench --server "127.0.0.1:$3" --workload "$5" --sessions "$6" \
		--pipeline 1 --driver "$DRIVER" --duration "$DURATION" --warmup "$WARMUP" --value-size "$VALUE_SIZE" \
		--znodes 1000 --pid "$4" --label "$2" --json >"$f"; then
		log "$(printf '%-6s %-6s %2s sessions %-6s run %s %8.0f ops/s, p50 %.2f ms, p99 %.2f ms, errors %s' "$1" "$5" "$6" "$2" "$7" \
			"$(jget "$f" throughput)" "$(jget "$f" latency_ms.p50)" "$(jget "$f" latency_ms.p99)" "$(jget "$f" errors)")"
	else
		log "$5 at $6 sessions against $2 ($1, run $7) FAILED"
		rm -f "$f"
		FAILED+=("$5/$6/$2/$1/$7")
	fi
}
# pick_median SERIES WORKLOAD SESSIONS LABEL: copies the run with the median throughput to
# tput-SERIES-WORKLOAD-SESSIONS-LABEL.json (what the report reads) and lists every run's
# throughput in ...-LABEL.runs.
pick_median() {
	local base="$RESULTS/tput-$1-$2-$3-$4" f n
	local -a files=()
	for f in "$base"-[0-9]*.json; do
		[ -s "$f" ] && files+=("$(jget "$f" throughput) $f")
	done
	n=${#files[@]}
	[ "$n" -gt 0 ] || return 0
	printf '%s\n' "${files[@]}" | sort -n | awk '{printf "%s%.0f", (NR > 1 ? ", " : ""), $1}' >"$base.runs"
	f=$(printf '%s\n' "${files[@]}" | sort -n | sed -n "$(((n + 1) / 2))p" | cut -d' ' -f2)
	cp "$f" "$base.json"
}
# throughput_series SERIES: both servers on fresh data dirs (pinned: each on CPU SERVER_CPU from
# its start, so that each sizes itself for one CPU as it would on such a host; zkbench on the
# other CPUs), primed, then every workload and session count, Apache/zkgo interleaved.
throughput_series() {
	local series=$1 wl s order=0
	log "phase 1 ($series): write throughput (${THROUGHPUT_WORKLOADS[*]} at ${THROUGHPUT_SESSIONS[*]} sessions, $DURATION each)"
	A_PORT=$(free_port)
	APACHE_DIRS+=("$WORK/apache-tput-$series")
	# shellcheck disable=SC2046
	$(pin_server "$series") scripts/apache-zk.sh start "$WORK/apache-tput-$series" "$A_PORT" "${CFG_EXTRA[@]}" >&2
	A_PID=$(cat "$WORK/apache-tput-$series/zk.pid")
	O_PORT=$(free_port)
	write_ours_cfg "$WORK/zkgo-tput-$series" "$O_PORT"
	# shellcheck disable=SC2046
	$(pin_server "$series") bin/zkserver start-foreground "$WORK/zkgo-tput-$series/zoo.cfg" \
		>>"$WORK/zkgo-tput-$series/server.log" 2>&1 </dev/null &
	O_PID=$!
	OURS_PID=$O_PID
	wait_serving "$O_PORT" "$O_PID" "$WORK/zkgo-tput-$series/server.log"
	log "apache pid $A_PID on $A_PORT, zkgo pid $O_PID on $O_PORT, CPUs: apache $(taskset -pc "$A_PID" | sed 's/.*: //'), zkgo $(taskset -pc "$O_PID" | sed 's/.*: //')"
	if [ "$PRIME" != 0 ] && [ "$PRIME" != 0s ]; then
		for p in "$A_PORT" "$O_PORT"; do
			# shellcheck disable=SC2046
			bounded $(($(secs "$PRIME" | cut -d. -f1) + 120)) $(pin_client "$series") bin/zkbench --server "127.0.0.1:$p" \
				--workload mixed --driver "$DRIVER" --sessions 32 --duration "$PRIME" --warmup 0s --json >/dev/null ||
				log "priming 127.0.0.1:$p failed"
		done
	fi
	local run
	for wl in "${THROUGHPUT_WORKLOADS[@]}"; do
		for s in "${THROUGHPUT_SESSIONS[@]}"; do
			for run in $(seq 1 "$THROUGHPUT_RUNS"); do
				if [ $((order % 2)) -eq 0 ]; then
					tput_one "$series" apache "$A_PORT" "$A_PID" "$wl" "$s" "$run"
					tput_one "$series" zkgo "$O_PORT" "$O_PID" "$wl" "$s" "$run"
				else
					tput_one "$series" zkgo "$O_PORT" "$O_PID" "$wl" "$s" "$run"
					tput_one "$series" apache "$A_PORT" "$A_PID" "$wl" "$s" "$run"
				fi
				order=$((order + 1))
				kill -0 "$O_PID" 2>/dev/null || {
					tail -n 30 "$WORK/zkgo-tput-$series/server.log" >&2
					die "zkgo died during $wl/$s ($series)"
				}
			done
			pick_median "$series" "$wl" "$s" apache
			pick_median "$series" "$wl" "$s" zkgo
		done
	done
	stop_server apache "$WORK/apache-tput-$series" "$A_PID"
	stop_server zkgo "$WORK/zkgo-tput-$series" "$O_PID"
	SERIES_RUN+=("$series")
}
for series in $THROUGHPUT_SERIES; do
	case $series in
	shared) throughput_series shared ;;
	pinned)
		if [ "$NCPU" -lt 2 ]; then
			log "phase 1 (pinned) skipped: one CPU"
		else
			throughput_series pinned
		fi
		;;
	*) die "THROUGHPUT_SERIES: unknown series $series (shared, pinned)" ;;
	esac
done

# ============================ phase 2: 1M znodes, memory, disk, recovery ======================
last_path=$(printf '/pop/p%04d/k%07d' $(((ZNODES - 1) / FANOUT)) $((ZNODES - 1)))
settle_s=$(secs "$SETTLE")
pop_limit=$(($(secs "$POP_TIMEOUT" | cut -d. -f1) + 60))
rec_limit=$(($(secs "$RECOVERY_TIMEOUT" | cut -d. -f1) + 30))

storage_one() { # label
	local label=$1 dir=$WORK/$1-storage port pid
	port=$(free_port)
	local R=$RESULTS/storage-$label
	mkdir -p "$R"
	log "phase 2 [$label]: start on 127.0.0.1:$port, fresh data dir $dir/data"
	if [ "$label" = apache ]; then
		start_apache "$dir" "$port"
		pid=$SERVER_PID
		printf '%s\n' "${APACHE_CMD[@]}" >"$R/java-cmdline"
		serverlog=$dir/zk.log
	else
		write_ours_cfg "$dir" "$port"
		start_ours "$dir" "$port"
		pid=$SERVER_PID
		serverlog=$dir/server.log
		wait_serving "$port" "$pid" "$serverlog"
	fi
	sleep 2
	rss "$pid" VmRSS >"$R/rss_empty"
	log "[$label] empty: VmRSS $(cat "$R/rss_empty") KiB; populating $ZNODES znodes ($POP_SESSIONS sessions x $POP_PIPELINE)"
	if ! bounded "$pop_limit" bin/zkbench --server "127.0.0.1:$port" --workload populate --znodes "$ZNODES" \
		--fanout "$FANOUT" --sessions "$POP_SESSIONS" --pipeline "$POP_PIPELINE" --value-size "$VALUE_SIZE" \
		--timeout "$POP_TIMEOUT" --pid "$pid" --label "$label" --json >"$R/populate.json"; then
		tail -n 30 "$serverlog" >&2
		die "populate of $label failed (server log $serverlog)"
	fi
	log "$(printf '[%s] populate: %s created in %.1fs = %.0f creates/s' "$label" "$(jget "$R/populate.json" created)" \
		"$(jget "$R/populate.json" elapsed_s)" "$(jget "$R/populate.json" rate)")"
	sleep "$settle_s"
	rss "$pid" VmRSS >"$R/rss_loaded"
	rss "$pid" VmHWM >"$R/hwm_loaded"
	mntr_val "$port" zk_znode_count >"$R/count_loaded"
	mntr_val "$port" zk_approximate_data_size >"$R/datasize_loaded"
	du -sk "$dir/data" | cut -f1 >"$R/du_kib"
	du -sk --apparent-size "$dir/data" | cut -f1 >"$R/du_apparent_kib"
	local newest
	newest=$(ls -t "$dir/data/version-2"/snapshot.* | head -n 1)
	stat -c %s "$newest" >"$R/snap_bytes"
	basename "$newest" >"$R/snap_name"
	ls "$dir/data/version-2" | grep -c '^snapshot\.' >"$R/nsnaps" || true
	ls "$dir/data/version-2" | grep -c '^log\.' >"$R/nlogs" || true
	(cd "$dir/data" && find . -type f -printf '%s\t%P\n' | sort -k2) >"$R/files"
	log "[$label] loaded: VmRSS $(cat "$R/rss_loaded") KiB (peak $(cat "$R/hwm_loaded")), znode_count $(cat "$R/count_loaded"), du $(cat "$R/du_kib") KiB, newest $(cat "$R/snap_name") $(cat "$R/snap_bytes") B"
	if [ "$label" = apache ] && command -v jcmd >/dev/null; then
		# Supplementary only: Java's live heap, and RSS after a forced full GC.
		bounded 60 jcmd "$pid" GC.heap_info >"$R/heap_before_gc" 2>&1 || true
		bounded 120 jcmd "$pid" GC.run >/dev/null 2>&1 || true
		sleep 3
		bounded 60 jcmd "$pid" GC.heap_info >"$R/heap_after_gc" 2>&1 || true
		rss "$pid" VmRSS >"$R/rss_after_gc"
		log "[$label] after jcmd GC.run: VmRSS $(cat "$R/rss_after_gc") KiB; $(grep -m1 -i 'garbage-first heap\|heap total\|total' "$R/heap_after_gc" | sed 's/^ *//')"
	fi
	local round t0
	for round in $(seq 1 "$RECOVERY_ROUNDS"); do
		log "[$label] recovery round $round: kill -9 $pid"
		kill9 "$pid" "$port"
		t0=$(date +%s%N)
		if [ "$label" = apache ]; then
			"${APACHE_CMD[@]}" >>"$serverlog" 2>&1 </dev/null &
			pid=$!
			echo "$pid" >"$dir/zk.pid"
		else
			start_ours "$dir" "$port"
			pid=$SERVER_PID
		fi
		if ! bounded "$rec_limit" bin/zkbench --server "127.0.0.1:$port" --workload firstread --since "$t0" \
			--path "$last_path" --timeout "$RECOVERY_TIMEOUT" --label "$label" --json >"$R/recovery-$round.json"; then
			cat "$R/recovery-$round.json" >&2 || true
			tail -n 30 "$serverlog" >&2
			die "$label did not answer a read and a write of $last_path within $RECOVERY_TIMEOUT of its restart"
		fi
		log "$(printf '[%s] round %s: read after %.0f ms, write after %.0f ms (listening at %.0f ms)' "$label" "$round" \
			"$(jget "$R/recovery-$round.json" read_ms)" "$(jget "$R/recovery-$round.json" write_ms)" "$(jget "$R/recovery-$round.json" connect_ms)")"
		sleep 3
		mntr_val "$port" zk_znode_count >"$R/count_recovered-$round"
		rss "$pid" VmRSS >"$R/rss_recovered-$round"
		if [ "$(cat "$R/count_recovered-$round")" != "$(cat "$R/count_loaded")" ]; then
			log "[$label] WARNING: znode_count $(cat "$R/count_recovered-$round") after recovery, $(cat "$R/count_loaded") before the kill"
			FAILED+=("$label recovery round $round: znode_count $(cat "$R/count_recovered-$round") != $(cat "$R/count_loaded")")
		fi
	done
	du -sk "$dir/data" | cut -f1 >"$R/du_kib_end"
	cp "$serverlog" "$R/server.log" 2>/dev/null || true
	stop_server "$label" "$dir" "$pid"
	# The data dir is no longer needed: free the space before the other server loads.
	[ "${KEEP:-0}" = 1 ] || rm -rf "$dir/data"
}
storage_one apache
storage_one zkgo

# ============================ report ==========================================================
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
read -r fs_src fs_type fs_opts < <(findmnt -no SOURCE,FSTYPE,OPTIONS -T "$WORK" 2>/dev/null || echo "? ? ?")
blk=$(basename "$fs_src")
rot=$(cat "/sys/class/block/$blk/queue/rotational" 2>/dev/null || echo "?")
case $rot in 0) rot="non-rotational" ;; 1) rot="rotational" ;; *) rot="rotational flag unknown" ;; esac
zkver=$(dpkg-query -W -f '${Version}' libzookeeper-java 2>/dev/null || echo unknown)
javaver=$(java -version 2>&1 | head -n 1)
jvm_final=$(java $SERVER_JVMFLAGS -XX:+PrintCommandLineFlags -version 2>&1 | head -n 1 | sed "s| -XX:+PrintCommandLineFlags||; s| *$||")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "none yet")
[ -n "$(git status --porcelain 2>/dev/null | head -n 1)" ] && commit+=" (with uncommitted changes)"

# ratio A B -> "A/B" with two decimals, or "n/a"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b}'; }
fmt0() { awk -v a="$1" 'BEGIN {if (a == "") print "n/a"; else printf "%.0f", a}'; }
fmt2() { awk -v a="$1" 'BEGIN {if (a == "") print "n/a"; else printf "%.2f", a}'; }
fmt1() { awk -v a="$1" 'BEGIN {if (a == "") print "n/a"; else printf "%.1f", a}'; }
mib() { awk -v a="$1" 'BEGIN {if (a == "") print "n/a"; else printf "%.1f", a / 1024}'; }
rd() { cat "$RESULTS/storage-$1/$2" 2>/dev/null || true; }
passfail() { # value op limit
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v == "n/a" || v == "") {print "n/a"; exit}
		ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 <= l + 0)
		print ok ? "**PASS**" : "**FAIL**"}'
}

series_name() { [ "$1" = pinned ] && echo "server on one CPU" || echo "shared CPUs"; }

A=$RESULTS/storage-apache
Z=$RESULTS/storage-zkgo
per_znode() { # dir -> bytes per znode of RSS growth
	awk -v e="$(cat "$1/rss_empty" 2>/dev/null)" -v l="$(cat "$1/rss_loaded" 2>/dev/null)" -v n="$ZNODES" \
		'BEGIN {if (e == "" || l == "") print ""; else printf "%.1f", (l - e) * 1024 / n}'
}
a_per=$(per_znode "$A")
z_per=$(per_znode "$Z")
a_read=$(jget "$A/recovery-1.json" read_ms)
z_read=$(jget "$Z/recovery-1.json" read_ms)

{
	echo "## zkgo vs Apache ZooKeeper 3.8: storage ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	echo "- Machine: $(nproc) CPUs ($cpu), $mem RAM, Linux $(uname -r). Load average (1/5/15 min) at start $LOAD_START,"
	echo "  at the end $(cut -d' ' -f1-3 /proc/loadavg): anything above ~0 is other work on the machine competing with both servers."
	echo "- Data dirs: \`$BENCH_TMP\` on $fs_src ($fs_type, $rot as the kernel reports it, options \`$fs_opts\`); fsync on for both (forceSync default)."
	echo "- Apache ZooKeeper: Debian libzookeeper-java $zkver, $javaver."
	echo "  JVM flags: \`$SERVER_JVMFLAGS\` (scripts/apache-zk.sh's default -Xmx1000m is too small a margin for 1M znodes);"
	echo "  effective: \`$jvm_final\`."
	echo "- zkgo: \`bin/zkserver start-foreground zoo.cfg\`, commit $commit. No GC tuning (GOGC/GOMEMLIMIT unset); -Xmx does not apply."
	echo "- zoo.cfg, identical keys for both: \`dataDir=… clientPort=… clientPortAddress=127.0.0.1 tickTime=2000 admin.enableServer=false"
	echo "  4lw.commands.whitelist=* ${CFG_EXTRA[*]}\`; snapCount, preAllocSize, forceSync at their defaults."
	echo "- Client: zkbench on the same machine over loopback, load carried by its $DRIVER driver ($([ "$DRIVER" = raw ] && echo "the wire protocol written and read by each worker" || echo "github.com/go-zookeeper/zk")); setup and cleanup through go-zookeeper."
	echo
	echo "Command: \`$invocation\`"
	echo
	echo "### Targets"
	echo
	echo "| target | zkgo/Apache | limit | result |"
	echo "|---|---:|---:|---|"
	for series in "${SERIES_RUN[@]}"; do
		for wl in "${THROUGHPUT_WORKLOADS[@]}"; do
			r=$(ratio "$(jget "$RESULTS/tput-$series-$wl-32-zkgo.json" throughput)" "$(jget "$RESULTS/tput-$series-$wl-32-apache.json" throughput)")
			name=$([ "$wl" = set ] && echo setData || echo create)
			echo "| writes at 32 sessions ($name), $(series_name "$series") | $r | ≥ 1.5 | $(passfail "$r" '>=' 1.5) |"
		done
	done
	r=$(ratio "$z_per" "$a_per")
	echo "| memory per znode (RSS growth / znodes) | $r | ≤ 0.5 | $(passfail "$r" '<=' 0.5) |"
	r=$(ratio "$z_read" "$a_read")
	echo "| recovery (kill -9 → first read) | $r | ≤ 0.25 | $(passfail "$r" '<=' 0.25) |"
	echo
	echo "### 1. Write throughput (${VALUE_SIZE}-byte values, closed loop, 1 request outstanding per session)"
	echo
	echo "Each run: \`bin/zkbench --server 127.0.0.1:PORT --workload set|create --sessions 1|32 --pipeline 1 --driver $DRIVER --duration $DURATION --warmup $WARMUP --value-size $VALUE_SIZE --znodes 1000 --pid PID --json\`;"
	echo "each series starts both servers on fresh data dirs and primes each with $PRIME of mixed load; $THROUGHPUT_RUNS runs per server and row,"
	echo "Apache/zkgo interleaved (ABBA); the table shows the run with the median throughput, \"runs\" every run's throughput (sorted)."
	echo "Series: **shared CPUs**: nothing pinned, client and server share all $NCPU CPUs (the client's CPU time is taken from the server's);"
	echo "**server on one CPU**: each server started under \`taskset -c $SERVER_CPU\` (so it sizes itself for one CPU: Go's GOMAXPROCS,"
	echo "the JVM's GC and thread pools), zkbench under \`taskset -c $CLIENT_CPUS\`: the server's throughput on a CPU of its own."
	for series in "${SERIES_RUN[@]}"; do
		echo
		echo "#### $(series_name "$series")"
		echo
		echo "| workload | sessions | Apache ops/s | zkgo ops/s | zkgo/Apache | Apache p50 / p99 ms | zkgo p50 / p99 ms | errors A / z | runs Apache / zkgo |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
		for wl in "${THROUGHPUT_WORKLOADS[@]}"; do
			for s in "${THROUGHPUT_SESSIONS[@]}"; do
				fa=$RESULTS/tput-$series-$wl-$s-apache.json
				fz=$RESULTS/tput-$series-$wl-$s-zkgo.json
				name=$([ "$wl" = set ] && echo setData || echo create)
				echo "| $name | $s | $(fmt0 "$(jget "$fa" throughput)") | $(fmt0 "$(jget "$fz" throughput)") |" \
					"$(ratio "$(jget "$fz" throughput)" "$(jget "$fa" throughput)") |" \
					"$(fmt2 "$(jget "$fa" latency_ms.p50)") / $(fmt2 "$(jget "$fa" latency_ms.p99)") | $(fmt2 "$(jget "$fz" latency_ms.p50)") / $(fmt2 "$(jget "$fz" latency_ms.p99)") |" \
					"$(jget "$fa" errors) / $(jget "$fz" errors) |" \
					"$(cat "${fa%.json}.runs" 2>/dev/null) / $(cat "${fz%.json}.runs" 2>/dev/null) |"
			done
		done
	done
	echo
	echo "### 2. $ZNODES znodes of $VALUE_SIZE bytes"
	echo
	echo "Loaded with \`bin/zkbench --workload populate --znodes $ZNODES --fanout $FANOUT --sessions $POP_SESSIONS --pipeline $POP_PIPELINE --value-size $VALUE_SIZE\`"
	echo "(/pop/pNNNN/kNNNNNNN: $(((ZNODES + FANOUT - 1) / FANOUT)) parents of up to $FANOUT children; one create per request, pipelined), each server on a fresh data dir, one server at a time."
	echo
	echo "#### Load rate"
	echo
	echo "| | Apache | zkgo | zkgo/Apache |"
	echo "|---|---:|---:|---:|"
	echo "| creates/s | $(fmt0 "$(jget "$A/populate.json" rate)") | $(fmt0 "$(jget "$Z/populate.json" rate)") | $(ratio "$(jget "$Z/populate.json" rate)" "$(jget "$A/populate.json" rate)") |"
	echo "| time for $ZNODES creates, s | $(fmt1 "$(jget "$A/populate.json" elapsed_s)") | $(fmt1 "$(jget "$Z/populate.json" elapsed_s)") | $(ratio "$(jget "$Z/populate.json" elapsed_s)" "$(jget "$A/populate.json" elapsed_s)") |"
	echo "| errors | $(jget "$A/populate.json" errors) | $(jget "$Z/populate.json" errors) | |"
	echo
	echo "#### (a) Resident memory (VmRSS from /proc/PID/status)"
	echo
	echo "| | Apache | zkgo | zkgo/Apache |"
	echo "|---|---:|---:|---:|"
	echo "| VmRSS empty (2 s after start), MiB | $(mib "$(rd apache rss_empty)") | $(mib "$(rd zkgo rss_empty)") | $(ratio "$(rd zkgo rss_empty)" "$(rd apache rss_empty)") |"
	echo "| VmRSS loaded ($SETTLE after populate), MiB | $(mib "$(rd apache rss_loaded)") | $(mib "$(rd zkgo rss_loaded)") | $(ratio "$(rd zkgo rss_loaded)" "$(rd apache rss_loaded)") |"
	echo "| VmHWM (peak) by then, MiB | $(mib "$(rd apache hwm_loaded)") | $(mib "$(rd zkgo hwm_loaded)") | $(ratio "$(rd zkgo hwm_loaded)" "$(rd apache hwm_loaded)") |"
	echo "| **RSS growth per znode, bytes** | $(fmt0 "$a_per") | $(fmt0 "$z_per") | $(ratio "$z_per" "$a_per") |"
	echo "| VmRSS 3 s after recovery (round 1), MiB | $(mib "$(rd apache rss_recovered-1)") | $(mib "$(rd zkgo rss_recovered-1)") | $(ratio "$(rd zkgo rss_recovered-1)" "$(rd apache rss_recovered-1)") |"
	echo "| mntr zk_znode_count | $(rd apache count_loaded) | $(rd zkgo count_loaded) | |"
	echo "| mntr zk_approximate_data_size, bytes | $(rd apache datasize_loaded) | $(rd zkgo datasize_loaded) | |"
	echo
	echo "RSS is what the kernel charges each process, no GC forced on either side: for Apache it includes"
	echo "whatever heap G1 has committed up to -Xmx (garbage not yet collected included), for zkgo the Go heap"
	echo "plus the runtime's not-yet-returned free memory."
	if [ -s "$A/heap_after_gc" ]; then
		echo "Supplementary (not used for the target): after \`jcmd PID GC.run\` Apache's VmRSS was"
		echo "$(mib "$(rd apache rss_after_gc)") MiB; \`jcmd GC.heap_info\` before / after the full GC:"
		echo
		echo '```'
		sed -n '1,3p' "$A/heap_before_gc"
		echo "--- after GC.run"
		sed -n '1,3p' "$A/heap_after_gc"
		echo '```'
	fi
	echo
	echo "#### (b) Data dir size (after populate + $SETTLE)"
	echo
	echo "| | Apache | zkgo | zkgo/Apache |"
	echo "|---|---:|---:|---:|"
	echo "| du -sk dataDir (allocated), MiB | $(mib "$(rd apache du_kib)") | $(mib "$(rd zkgo du_kib)") | $(ratio "$(rd zkgo du_kib)" "$(rd apache du_kib)") |"
	echo "| du --apparent-size (incl. preallocated log tails), MiB | $(mib "$(rd apache du_apparent_kib)") | $(mib "$(rd zkgo du_apparent_kib)") | $(ratio "$(rd zkgo du_apparent_kib)" "$(rd apache du_apparent_kib)") |"
	echo "| newest snapshot alone, MiB | $(awk -v b="$(rd apache snap_bytes)" 'BEGIN {printf "%.1f", b / 1048576}') ($(rd apache snap_name)) | $(awk -v b="$(rd zkgo snap_bytes)" 'BEGIN {printf "%.1f", b / 1048576}') ($(rd zkgo snap_name)) | $(ratio "$(rd zkgo snap_bytes)" "$(rd apache snap_bytes)") |"
	echo "| snapshot files / log files | $(rd apache nsnaps) / $(rd apache nlogs) | $(rd zkgo nsnaps) / $(rd zkgo nlogs) | |"
	echo "| du -sk at the end (after $RECOVERY_ROUNDS restart(s)), MiB | $(mib "$(rd apache du_kib_end)") | $(mib "$(rd zkgo du_kib_end)") | |"
	echo
	echo "No autopurge on either side (purgeInterval 0), so every snapshot taken during the load (one per"
	echo "snapCount/2..snapCount transactions) is still there; the newest snapshot is the steady-state cost."
	echo
	echo "#### (c) Recovery after kill -9"
	echo
	echo "\`kill -9\` right after the measurements above, then the same server command on the same data dir;"
	echo "t=0 is \`date +%s%N\` just before the process is forked (Apache: the java command line of the first start,"
	echo "exec'd directly). \`bin/zkbench --workload firstread --since T0 --path $last_path\` polls every 2 ms with a"
	echo "fresh connection: \"listening\" = first TCP connection accepted, \"read\" = getData of the last znode"
	echo "created (in the log tail, not only in a snapshot) answered with its data, \"write\" = a setData of it answered."
	echo "Round 1 is the headline; later rounds restart from the data dir the previous restart left."
	echo
	echo "| round | Apache listening / read / write ms | zkgo listening / read / write ms | read zkgo/Apache | write zkgo/Apache | znode_count A / z (before kill A / z) |"
	echo "|---:|---:|---:|---:|---:|---|"
	for round in $(seq 1 "$RECOVERY_ROUNDS"); do
		fa=$A/recovery-$round.json
		fz=$Z/recovery-$round.json
		echo "| $round | $(fmt0 "$(jget "$fa" connect_ms)") / **$(fmt0 "$(jget "$fa" read_ms)")** / $(fmt0 "$(jget "$fa" write_ms)") |" \
			"$(fmt0 "$(jget "$fz" connect_ms)") / **$(fmt0 "$(jget "$fz" read_ms)")** / $(fmt0 "$(jget "$fz" write_ms)") |" \
			"$(ratio "$(jget "$fz" read_ms)" "$(jget "$fa" read_ms)") | $(ratio "$(jget "$fz" write_ms)" "$(jget "$fa" write_ms)") |" \
			"$(rd apache "count_recovered-$round") / $(rd zkgo "count_recovered-$round") ($(rd apache count_loaded) / $(rd zkgo count_loaded)) |"
	done
	echo
	echo "Server log lines about loading (round 1 onwards):"
	echo
	echo '```'
	grep -hiE 'Snapshot loaded|Reading snapshot|Snapshot taken|took .* ms|data loaded|snapshot written' "$A/server.log" 2>/dev/null | tail -n 6 | sed 's/^/apache: /' || true
	grep -hiE 'data loaded|snapshot written|serving clients' "$Z/server.log" 2>/dev/null | tail -n 6 | sed 's/^/zkgo:   /' || true
	echo '```'
	if [ ${#FAILED[@]} -gt 0 ]; then
		echo
		echo "**Problems:** ${FAILED[*]}"
	fi
} >"$WORK/report.md"

mkdir -p "$(dirname "$OUT")"
cp "$WORK/report.md" "$OUT"
cat "$WORK/report.md"
log "report written to $OUT"
[ ${#FAILED[@]} -eq 0 ]
