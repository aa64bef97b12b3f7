#!/usr/bin/env bash
# TLS client port interop: a fresh Apache ZooKeeper 3.8 standalone and a fresh zkgo standalone,
# each with a secureClientPort next to its clientPort and the same ssl.* settings and stores
# (testdata/tls: a JKS key store, a PKCS12 trust store, clientAuth=need),
# client.portUnification (TLS clients on the plain port too) and the client certificate's
# name as X509AuthenticationProvider.superUser, are driven by the same clients and the
# transcripts diffed:
#   - kazoo 2.8 over TLS (scripts/tls/kazoo_tls.py): x509 identity and ACLs (an x509 id, the
#     auth scheme), another certificate, no certificate, an untrusted one, plain text on the
#     TLS port, the plain port, TLS on the plain port;
#   - the Java client (ZooKeeperMain with ClientCnxnSocketNetty and zookeeper.client.secure)
#     over TLS: whoami, ls, get and getAcl of the x509-protected node;
#   - mntr's auth_failed_count and unsuccessful_handshake after the refused handshakes (> 0).
# Exit status 0 only if the transcripts are identical.
#
#   bash scripts/tls-check.sh        (called by `make interop`)
#
# Environment: ZKGO_BIN (default bin/zkserver), TLS_CHECK_KEEP=1 keeps the work directory.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ZKGO_BIN=${ZKGO_BIN:-$ROOT/bin/zkserver}
PY=/usr/bin/python3
STORES=$ROOT/testdata/tls
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tls-check.XXXXXX")
FAILED=0
CHECK=tls-check
KEEP=${TLS_CHECK_KEEP:-0}
EXTRA_CFG=()
# shellcheck source=lib/side-by-side.sh
source "$ROOT/scripts/lib/side-by-side.sh"

JAVA_CP=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar:/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar
JAVA_TLS=(-Dzookeeper.client.secure=true -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty
    "-Dzookeeper.ssl.keyStore.location=$STORES/client.jks" -Dzookeeper.ssl.keyStore.password=secret
    "-Dzookeeper.ssl.trustStore.location=$STORES/truststore.jks" -Dzookeeper.ssl.trustStore.password=secret)

mntr_value() { # mntr_value PORT KEY
    timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1"'; printf mntr >&3; cat <&3' 2>/dev/null | awk -v k="$2" '$1 == k { print $2 }'
}

# transcript NAME: the clients against the server just started (PORT, SECURE_PORT).
transcript() {
    local out=$WORK/$1.txt cmd
    {
        "$PY" "$ROOT/scripts/tls/kazoo_tls.py" "$STORES" "$PORT" "$SECURE_PORT" 2>>"$WORK/$1.kazoo.err"
        for cmd in "whoami" "ls /" "get /tls-x509" "getAcl /tls-x509"; do
            echo "zkCli over TLS: $cmd"
            # shellcheck disable=SC2086 # the command's words
            timeout 60 java "${JAVA_TLS[@]}" -cp "$JAVA_CP" org.apache.zookeeper.ZooKeeperMain \
                -server "127.0.0.1:$SECURE_PORT" $cmd 2>&1 </dev/null |
                grep -v '^$\|^WATCHER::\|^WatchedEvent\|^Connecting to' | sed 's/^/  /'
        done
        for key in zk_auth_failed_count zk_unsuccessful_handshake; do
            if (($(mntr_value "$PORT" "$key") > 0)); then echo "$key > 0"; else echo "$key is $(mntr_value "$PORT" "$key")"; fi
        done
    } >"$out"
    log "$1: $(wc -l <"$out") transcript lines"
}

main() {
    SECURE_PORT=$(free_port)
    EXTRA_CFG=(
        "secureClientPort=$SECURE_PORT" "secureClientPortAddress=127.0.0.1"
        serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
        "ssl.keyStore.location=$STORES/server.jks" ssl.keyStore.password=secret
        "ssl.trustStore.location=$STORES/truststore.p12" ssl.trustStore.password=secret
        client.portUnification=true
        'X509AuthenticationProvider.superUser=CN=client one,OU=zkgo,O=Test\\, Inc.'
    )
    start_apache || return
    transcript apache
    stop_apache
    SECURE_PORT=$(free_port)
    EXTRA_CFG[0]="secureClientPort=$SECURE_PORT"
    start_zkgo || return
    transcript zkgo
    stop_zkgo
    if ! grep -q "owner over TLS ok" "$WORK/apache.txt"; then
        fail "the owner's TLS session failed against Apache ZooKeeper: the check itself is broken"
        cat "$WORK/apache.txt" >&2
    fi
    if diff -u "$WORK/apache.txt" "$WORK/zkgo.txt" >"$WORK/diff.txt"; then
        log "OK: $(wc -l <"$WORK/zkgo.txt") transcript lines identical"
    else
        fail "transcripts differ (apache vs zkgo):"
        cat "$WORK/diff.txt" >&2
    fi
}

main
exit $FAILED
