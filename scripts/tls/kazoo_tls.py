"""kazoo over TLS against one server (the secure and the plain client port of the same
server), printing one line per step; scripts/tls-check.sh diffs the output for Apache
ZooKeeper 3.8 and zkgo. Usage: kazoo_tls.py STORES_DIR PLAIN_PORT SECURE_PORT"""
import sys
import warnings

warnings.simplefilter("ignore")
from kazoo.client import KazooClient  # noqa: E402
from kazoo.security import make_acl  # noqa: E402

stores, plain, secure = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
CLIENT_ID = "CN=client one,OU=zkgo,O=Test\\, Inc."


def client(port, **kw):
    zk = KazooClient(hosts="127.0.0.1:%d" % port, timeout=4, connection_retry={"max_tries": 0}, **kw)
    zk.start(timeout=5)
    return zk


def step(name, fn):
    try:
        print(name, "ok", fn())
    except Exception as e:  # the kind of failure is part of the transcript
        print(name, "failed", type(e).__name__)


def tls(keystore=None):
    kw = {"use_ssl": True, "ca": stores + "/truststore.pem"}
    if keystore:
        kw["certfile"] = kw["keyfile"] = stores + "/" + keystore
    return kw


def owner():
    zk = client(secure, **tls("client-keystore.pem"))
    try:
        zk.create("/tls-x509", b"only-me", acl=[make_acl("x509", CLIENT_ID, all=True)])
        zk.create("/tls-auth", b"auth", acl=[make_acl("auth", "", all=True)])
        zk.create("/tls-open", b"open")
        acl = zk.get_acls("/tls-auth")[0]
        return zk.get("/tls-x509")[0], [(a.id.scheme, a.id.id, a.perms) for a in acl]
    finally:
        zk.stop()


def other():
    zk = client(secure, **tls("server-keystore.pem"))
    try:
        out = [zk.get("/tls-open")[0]]
        try:
            zk.get("/tls-x509")
        except Exception as e:
            out.append(type(e).__name__)
        return out
    finally:
        zk.stop()


def plain_client():
    zk = client(plain)
    try:
        return sorted(zk.get_children("/"))
    finally:
        zk.stop()


step("owner over TLS", owner)
step("another certificate", other)
step("no certificate", lambda: client(secure, **tls()).stop())
step("untrusted certificate", lambda: client(secure, **tls("stranger-keystore.pem")).stop())
step("plain text on the TLS port", lambda: client(secure).stop())
step("plain port", plain_client)


def unified():
    zk = client(plain, **tls("client-keystore.pem"))
    try:
        return zk.get("/tls-x509")[0]
    finally:
        zk.stop()


step("TLS on the plain port (client.portUnification)", unified)
