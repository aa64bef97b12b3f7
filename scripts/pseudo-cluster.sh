#!/usr/bin/env bash
# A three-node ensemble on this host, each node with its own zoo.cfg, myid and ports, exactly
# as the ZooKeeper documentation's "pseudo-cluster" (the same zoo.cfg keys and server.N lines a
# three-host ensemble uses, with distinct ports on 127.0.0.1):
#
#   node N: clientPort 218N, quorum port 288N, election port 388N,
#           dataDir $CLUSTER_DIR/nodeN (myid N), config $CLUSTER_DIR/nodeN/zoo.cfg
#
# Usage: scripts/pseudo-cluster.sh start|stop|status|restart   (CLUSTER_DIR defaults to ./data/cluster)
set -euo pipefail
cd "$(dirname "$0")/.."
ZKSERVER=${ZKSERVER:-bin/zkserver}
CLUSTER_DIR=${CLUSTER_DIR:-$PWD/data/cluster}
SIZE=3

write_configs() {
    local n
    for ((n = 1; n <= SIZE; n++)); do
        mkdir -p "$CLUSTER_DIR/node$n"
        [[ -f $CLUSTER_DIR/node$n/myid ]] || echo "$n" >"$CLUSTER_DIR/node$n/myid"
        {
            echo "tickTime=2000"
            echo "initLimit=10"
            echo "syncLimit=5"
            echo "dataDir=$CLUSTER_DIR/node$n"
            echo "clientPort=218$n"
            echo "clientPortAddress=127.0.0.1"
            echo "4lw.commands.whitelist=*"
            echo "admin.enableServer=false"
            for ((m = 1; m <= SIZE; m++)); do
                echo "server.$m=127.0.0.1:288$m:388$m"
            done
        } >"$CLUSTER_DIR/node$n/zoo.cfg"
    done
}

each() {
    local n rc=0
    for ((n = 1; n <= SIZE; n++)); do
        echo "node$n: $ZKSERVER $1 $CLUSTER_DIR/node$n/zoo.cfg"
        "$ZKSERVER" "$1" "$CLUSTER_DIR/node$n/zoo.cfg" || rc=$?
    done
    return $rc
}

case ${1:-} in
    start)
        [[ -x $ZKSERVER ]] || { echo "$ZKSERVER not built (run: make build)" >&2; exit 1; }
        write_configs
        each start
        echo "clients: 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183"
        ;;
    stop) each stop ;;
    status) each status ;;
    restart) each stop || true; write_configs; each start ;;
    *)
        echo "usage: $0 start|stop|status|restart" >&2
        exit 2
        ;;
esac
