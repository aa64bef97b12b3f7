#!/usr/bin/env bash
# Start or stop a real Apache ZooKeeper 3.8 standalone node from the Debian jars, as the
# reference implementation for interop tests and benchmarks.
#
#   scripts/apache-zk.sh start-foreground DIR PORT [zoo.cfg lines...]   # exec java, log to stdout
#   scripts/apache-zk.sh start            DIR PORT [zoo.cfg lines...]   # background, waits for srvr
#   scripts/apache-zk.sh stop             DIR
#
# Writes DIR/zoo.cfg (dataDir DIR/data, clientPort PORT on 127.0.0.1, tickTime 2000, no admin
# server, all four-letter words) plus the extra lines; later lines win, as in java.util.Properties.
# The pid goes to DIR/zk.pid, the background log to DIR/zk.log.
#
# Environment:
#   SERVER_JVMFLAGS    JVM flags (-D..., -Xmx...); -Xmx1000m is added unless an -Xmx is given,
#                      matching upstream zkEnv.sh (ZK_SERVER_HEAP=1000).
#   ZK_CLASSPATH       replaces the classpath below (e.g. an upstream tarball's lib/*).
#   ZK_JAVA_DIR        where the Debian jars live (default /usr/share/java).
#   JAVA               java binary (default: $JAVA_HOME/bin/java, else java on PATH).
#   ZK_START_TIMEOUT   seconds to wait for srvr to answer on start (default 60).
#
# Classpath: Debian's zookeeper.jar (package libzookeeper-java) names all its runtime
# dependencies in its manifest Class-Path (jute, netty, slf4j-api, commons-cli, metrics, ...),
# so it is enough to run the server. slf4j-simple.jar (libslf4j-java, a dependency of
# libzookeeper-java) is added only as a logging binding; without it slf4j falls back to NOP and
# the log is empty. Both come with `apt-get install -y zookeeper` on a clean Debian 12.
set -euo pipefail

usage() {
	echo "usage: $0 start-foreground|start DIR PORT [zoo.cfg lines...] | stop DIR" >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2

java_dir=${ZK_JAVA_DIR:-/usr/share/java}
main=org.apache.zookeeper.server.quorum.QuorumPeerMain

java_bin() {
	if [ -n "${JAVA:-}" ]; then
		echo "$JAVA"
	elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
		echo "$JAVA_HOME/bin/java"
	else
		command -v java || { echo "apache-zk: java not found (apt-get install -y zookeeper)" >&2; exit 1; }
	fi
}

classpath() {
	if [ -n "${ZK_CLASSPATH:-}" ]; then
		echo "$ZK_CLASSPATH"
		return
	fi
	if [ ! -r "$java_dir/zookeeper.jar" ]; then
		echo "apache-zk: $java_dir/zookeeper.jar missing (apt-get install -y zookeeper)" >&2
		exit 1
	fi
	local cp=$java_dir/zookeeper.jar jar
	if [ -r "$java_dir/slf4j-simple.jar" ]; then
		cp=$cp:$java_dir/slf4j-simple.jar
	fi
	# Netty's TLS handler needs netty-codec, which the manifest does not name (a TLS client
	# port then fails every connection with NoClassDefFoundError).
	for jar in netty-codec netty-resolver; do
		if [ -r "$java_dir/$jar.jar" ]; then
			cp=$cp:$java_dir/$jar.jar
		fi
	done
	echo "$cp"
}

# jvm_flags prints one flag per line so that the caller can read them into an array.
jvm_flags() {
	local flags=(
		# slf4j-simple: INFO to stderr with timestamps; SERVER_JVMFLAGS may override.
		-Dorg.slf4j.simpleLogger.showDateTime=true
		"-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss,SSS"
	)
	case " ${SERVER_JVMFLAGS:-} " in
	*" -Xmx"*) ;;
	*) flags+=(-Xmx1000m) ;;
	esac
	local f
	for f in "${flags[@]}"; do echo "$f"; done
	# Word-split on purpose: SERVER_JVMFLAGS is a flat string, as in zkServer.sh.
	# shellcheck disable=SC2086
	for f in ${SERVER_JVMFLAGS:-}; do echo "$f"; done
}

write_cfg() {
	local port=$1
	shift
	case $port in
	'' | *[!0-9]*) echo "apache-zk: bad port '$port'" >&2; exit 2 ;;
	esac
	mkdir -p "$dir/data"
	dir=$(cd "$dir" && pwd) # zoo.cfg wants absolute paths
	{
		echo "dataDir=$dir/data"
		echo "clientPort=$port"
		echo "clientPortAddress=127.0.0.1"
		echo "tickTime=2000"
		echo "admin.enableServer=false"
		echo "4lw.commands.whitelist=*"
		local line
		for line in "$@"; do echo "$line"; done
	} >"$dir/zoo.cfg"
}

# srvr_ok succeeds once the node answers srvr with its mode, i.e. it serves requests (before
# that it answers "This ZooKeeper instance is not currently serving requests").
srvr_ok() {
	local port=$1
	timeout 2 bash -c '
		exec 3<>/dev/tcp/127.0.0.1/'"$port"' || exit 1
		printf srvr >&3
		grep -q "^Mode: " <&3' 2>/dev/null
}

# alive_ours succeeds if PID is alive and is the java started with this DIR's zoo.cfg, so that a
# stale pid file never makes us kill an unrelated process that reused the pid.
alive_ours() {
	local pid=$1
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF "$dir/zoo.cfg"
}

stop() {
	[ -d "$dir" ] || { echo "apache-zk: no such dir $dir" >&2; exit 1; }
	dir=$(cd "$dir" && pwd)
	local pid
	pid=$(cat "$dir/zk.pid" 2>/dev/null || true)
	if ! alive_ours "$pid"; then
		rm -f "$dir/zk.pid"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	local i
	for i in $(seq 1 100); do # 10s, then SIGKILL
		alive_ours "$pid" || break
		sleep 0.1
	done
	if alive_ours "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		for i in $(seq 1 50); do
			alive_ours "$pid" || break
			sleep 0.1
		done
	fi
	rm -f "$dir/zk.pid"
}

case $cmd in
start-foreground)
	[ $# -ge 1 ] || usage
	write_cfg "$@"
	java=$(java_bin)
	cp=$(classpath)
	mapfile -t flags < <(jvm_flags)
	echo $$ >"$dir/zk.pid" # exec keeps the pid
	exec "$java" "${flags[@]}" -cp "$cp" "$main" "$dir/zoo.cfg"
	;;
start)
	[ $# -ge 1 ] || usage
	port=$1
	if [ -d "$dir" ]; then
		dir=$(cd "$dir" && pwd)
		if alive_ours "$(cat "$dir/zk.pid" 2>/dev/null || true)"; then
			echo "apache-zk: already running in $dir (pid $(cat "$dir/zk.pid"))" >&2
			exit 1
		fi
	fi
	write_cfg "$@"
	java=$(java_bin)
	cp=$(classpath)
	mapfile -t flags < <(jvm_flags)
	nohup "$java" "${flags[@]}" -cp "$cp" "$main" "$dir/zoo.cfg" >"$dir/zk.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$dir/zk.pid"
	deadline=$((SECONDS + ${ZK_START_TIMEOUT:-60}))
	until srvr_ok "$port"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "apache-zk: java exited during startup; tail of $dir/zk.log:" >&2
			tail -n 30 "$dir/zk.log" >&2
			rm -f "$dir/zk.pid"
			exit 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "apache-zk: no srvr answer on 127.0.0.1:$port after ${ZK_START_TIMEOUT:-60}s; tail of $dir/zk.log:" >&2
			tail -n 30 "$dir/zk.log" >&2
			stop
			exit 1
		fi
		sleep 0.2
	done
	echo "apache-zk: serving on 127.0.0.1:$port (pid $pid, log $dir/zk.log)"
	;;
stop)
	stop
	;;
*)
	usage
	;;
esac
