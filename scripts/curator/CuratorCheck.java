// Apache Curator 5.4 against one ZooKeeper server: the framework API and the recipes, with
// several CuratorFramework clients where a recipe needs several participants. Prints a
// deterministic transcript on stdout (one line per observed fact; no session ids, zxids, ports
// or timestamps), so that the transcripts of two servers can be diffed (scripts/curator-check.sh).
//
//   java -cp CLASSES:JARS CuratorCheck HOST:PORT
//
// Every section prints "== name" and its facts; an unexpected exception (or a bounded wait that
// runs out) prints "ERROR <section>: <ExceptionClass> [what]" and the run goes on with the next
// section. The last line is "DONE"; the exit status is 0 when the program got there.
//
// Expects a fresh server with zookeeper.extendedTypesEnabled=true (TTL nodes) and
// znode.container.checkIntervalMs=1000 (TTL/container reaping within seconds).
// Logging (slf4j) goes to stderr.

import java.io.Closeable;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.BackgroundCallback;
import org.apache.curator.framework.api.CuratorEvent;
import org.apache.curator.framework.api.CuratorWatcher;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.atomic.PromotedToLock;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.NodeCache;
import org.apache.curator.framework.recipes.cache.PathChildrenCache;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.nodes.GroupMember;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.SharedCountListener;
import org.apache.curator.framework.recipes.shared.SharedCountReader;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.recipes.watch.PersistentWatcher;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;

public class CuratorCheck {
    static final long WAIT_S = 10; // every single wait for an event or a state
    static final long SECTION_S = 45; // hard limit for one section
    static final PrintStream OUT = System.out;
    static String connect;
    static final Deque<Closeable> resources = new ArrayDeque<>();
    static final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "check-worker");
        t.setDaemon(true);
        return t;
    });

    /** A failed expectation inside a section (a bounded wait ran out, a wrong state). */
    static class CheckFailed extends Exception {
        CheckFailed(String msg) {
            super(msg);
        }
    }

    interface Body {
        void run() throws Exception;
    }

    static synchronized void p(String s) {
        OUT.println(s);
        OUT.flush();
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String s(byte[] d) {
        return d == null ? "null" : new String(d, StandardCharsets.UTF_8);
    }

    static <T extends Closeable> T reg(T c) {
        synchronized (resources) {
            resources.push(c);
        }
        return c;
    }

    static CuratorFramework client() throws Exception {
        return client(null, 15000, null);
    }

    static CuratorFramework client(String namespace, int sessionMs, String digestAuth) throws Exception {
        CuratorFrameworkFactory.Builder bld = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(sessionMs)
                .connectionTimeoutMs(10000)
                .retryPolicy(new RetryNTimes(5, 200))
                .namespace(namespace);
        if (digestAuth != null) {
            bld.authorization("digest", b(digestAuth));
        }
        CuratorFramework c = bld.build();
        reg(c);
        c.start();
        if (!c.blockUntilConnected((int) WAIT_S, TimeUnit.SECONDS)) {
            throw new CheckFailed("client did not connect within " + WAIT_S + "s");
        }
        return c;
    }

    /** Runs one section with a hard time limit; its resources are closed afterwards. */
    static void section(String name, Body body) {
        p("== " + name);
        Future<?> f = pool.submit(() -> {
            body.run();
            return null;
        });
        try {
            f.get(SECTION_S, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable t = e.getCause();
            while (t instanceof java.util.concurrent.ExecutionException && t.getCause() != null) {
                t = t.getCause(); // a worker of the section failed
            }
            p("ERROR " + name + ": " + t.getClass().getName()
                    + (t instanceof CheckFailed ? " (" + t.getMessage() + ")" : ""));
            System.err.println("section " + name + " failed:");
            t.printStackTrace(System.err);
        } catch (TimeoutException e) {
            f.cancel(true);
            p("ERROR " + name + ": " + e.getClass().getName() + " (section did not finish in " + SECTION_S + "s)");
        } catch (Throwable t) {
            p("ERROR " + name + ": " + t.getClass().getName());
            t.printStackTrace(System.err);
        } finally {
            closeAll();
        }
    }

    static void closeAll() {
        while (true) {
            Closeable c;
            synchronized (resources) {
                c = resources.poll();
            }
            if (c == null) {
                return;
            }
            try {
                c.close();
            } catch (Throwable t) {
                System.err.println("close: " + t);
            }
        }
    }

    /** The expected exception of an operation, as a line: class (KeeperException code, path). */
    static String exc(Throwable t) {
        if (t instanceof KeeperException) {
            KeeperException k = (KeeperException) t;
            return k.getClass().getSimpleName() + " code=" + k.code() + " path=" + k.getPath();
        }
        return t.getClass().getName();
    }

    interface Op {
        Object run() throws Exception;
    }

    /** Runs op and prints "what: result" or "what: threw X". */
    static void tryp(String what, Op op) {
        try {
            Object r = op.run();
            p(what + ": " + str(r));
        } catch (Exception e) {
            p(what + ": threw " + exc(e));
        }
    }

    static String str(Object r) {
        if (r instanceof Stat) {
            return stat((Stat) r);
        }
        if (r instanceof byte[]) {
            return s((byte[]) r);
        }
        return String.valueOf(r);
    }

    static String stat(Stat st) {
        if (st == null) {
            return "null";
        }
        return "version=" + st.getVersion() + " cversion=" + st.getCversion() + " aversion=" + st.getAversion()
                + " dataLength=" + st.getDataLength() + " numChildren=" + st.getNumChildren()
                + " ephemeral=" + (st.getEphemeralOwner() != 0) + " mzxid==czxid=" + (st.getMzxid() == st.getCzxid());
    }

    static List<String> sorted(Collection<String> c) {
        List<String> l = new ArrayList<>(c);
        Collections.sort(l);
        return l;
    }

    static String acls(List<ACL> l) {
        List<String> out = new ArrayList<>();
        for (ACL a : l) {
            out.add(a.getPerms() + ":" + a.getId().getScheme() + ":" + a.getId().getId());
        }
        return out.toString();
    }

    static String take(BlockingQueue<String> q, String what) throws Exception {
        String e = q.poll(WAIT_S, TimeUnit.SECONDS);
        if (e == null) {
            throw new CheckFailed("timeout after " + WAIT_S + "s waiting for " + what);
        }
        return e;
    }

    /** Takes the next event, prints it. */
    static void expect(BlockingQueue<String> q, String what) throws Exception {
        p("  event: " + take(q, what));
    }

    static void noMore(BlockingQueue<String> q, long ms) throws Exception {
        String e = q.poll(ms, TimeUnit.MILLISECONDS);
        p("  no further event within " + ms + "ms: " + (e == null ? "true" : "false, got " + e));
        q.clear();
    }

    static void await(String what, BooleanSupplier cond) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new CheckFailed("timeout after " + WAIT_S + "s waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    interface Check {
        boolean get() throws Exception;
    }

    static BooleanSupplier zk(Check c) {
        return () -> {
            try {
                return c.get();
            } catch (Exception e) {
                return false;
            }
        };
    }

    static <T> T get(Future<T> f) throws Exception {
        return f.get(WAIT_S * 3, TimeUnit.SECONDS);
    }

    // ---------------------------------------------------------------------------------------

    static void basics() throws Exception {
        CuratorFramework c = client();
        p("create creatingParentsIfNeeded: " + c.create().creatingParentsIfNeeded().forPath("/cc/basic/a/b/c", b("abc")));
        p("children /cc/basic/a: " + sorted(c.getChildren().forPath("/cc/basic/a")));
        p("checkExists c: " + stat(c.checkExists().forPath("/cc/basic/a/b/c")));
        p("checkExists a: " + stat(c.checkExists().forPath("/cc/basic/a")));
        p("checkExists missing: " + c.checkExists().forPath("/cc/basic/nope"));
        Stat st = new Stat();
        p("getData c: " + s(c.getData().storingStatIn(st).forPath("/cc/basic/a/b/c")) + " " + stat(st));
        p("getData parent created by creatingParentsIfNeeded: '" + s(c.getData().forPath("/cc/basic/a")) + "'");
        tryp("create existing", () -> c.create().forPath("/cc/basic/a/b/c"));
        tryp("create creatingParentsIfNeeded existing", () -> c.create().creatingParentsIfNeeded().forPath("/cc/basic/a/b/c"));
        tryp("create without parent", () -> c.create().forPath("/cc/basic/x/y"));
        tryp("create orSetData existing", () -> c.create().orSetData().forPath("/cc/basic/a/b/c", b("abc2")));
        tryp("getData after orSetData", () -> c.getData().forPath("/cc/basic/a/b/c"));
        tryp("create creatingParentContainersIfNeeded", () -> c.create().creatingParentContainersIfNeeded().forPath("/cc/basic/ctr/child"));
        tryp("getData missing", () -> c.getData().forPath("/cc/basic/nope"));
        tryp("getChildren missing", () -> c.getChildren().forPath("/cc/basic/nope"));
        tryp("getACL c", () -> acls(c.getACL().forPath("/cc/basic/a/b/c")));
        Stat cst = new Stat();
        p("create storingStatIn: " + c.create().storingStatIn(cst).forPath("/cc/basic/st", b("st")) + " " + stat(cst)
                + " pzxid==czxid=" + (cst.getPzxid() == cst.getCzxid()));
        Stat pst = c.checkExists().forPath("/cc/basic");
        p("parent pzxid == czxid of its newest child: " + (pst.getPzxid() == cst.getCzxid()));
        Stat gst = new Stat();
        p("getChildren storingStatIn: " + sorted(c.getChildren().storingStatIn(gst).forPath("/cc/basic")) + " " + stat(gst));
        c.setData().forPath("/cc/basic/st", b("st2"));
        Stat sst = c.checkExists().forPath("/cc/basic/st");
        p("after setData: mzxid>czxid=" + (sst.getMzxid() > sst.getCzxid()) + " pzxid unchanged=" + (sst.getPzxid() == sst.getCzxid())
                + " mtime>=ctime=" + (sst.getMtime() >= sst.getCtime()));
        for (int req : new int[] {1000, 15000, 100000}) {
            CuratorFramework t = client(null, req, null);
            p("negotiated session timeout for " + req + "ms: " + t.getZookeeperClient().getZooKeeper().getSessionTimeout());
        }

        p("-- sequential");
        c.create().forPath("/cc/basic/seq");
        for (int i = 0; i < 3; i++) {
            p("PERSISTENT_SEQUENTIAL: " + c.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath("/cc/basic/seq/p-", b("p" + i)));
        }
        for (int i = 0; i < 2; i++) {
            p("EPHEMERAL_SEQUENTIAL: " + c.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath("/cc/basic/seq/e-"));
        }
        p("EPHEMERAL_SEQUENTIAL creatingParentsIfNeeded: " + c.create().creatingParentsIfNeeded()
                .withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath("/cc/basic/seq2/deep/e-"));
        String prot = c.create().withProtection().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath("/cc/basic/seq/prot-");
        p("withProtection EPHEMERAL_SEQUENTIAL: " + prot.replaceAll("_c_[0-9a-f-]{36}-", "_c_<uuid>-"));
        List<String> kids = sorted(c.getChildren().forPath("/cc/basic/seq"));
        List<String> shown = new ArrayList<>();
        for (String k : kids) {
            shown.add(k.replaceAll("_c_[0-9a-f-]{36}-", "_c_<uuid>-"));
        }
        p("children /cc/basic/seq: " + shown);
        p("stat e-0000000003: " + stat(c.checkExists().forPath("/cc/basic/seq/e-0000000003")));
        p("stat /cc/basic/seq: " + stat(c.checkExists().forPath("/cc/basic/seq")));
        tryp("create EPHEMERAL child of ephemeral", () -> c.create().forPath("/cc/basic/seq/e-0000000003/x"));

        p("-- versions");
        c.create().forPath("/cc/basic/v", b("v0"));
        tryp("setData withVersion 0", () -> c.setData().withVersion(0).forPath("/cc/basic/v", b("v1")));
        tryp("setData withVersion 0 again", () -> c.setData().withVersion(0).forPath("/cc/basic/v", b("v2")));
        tryp("setData withVersion -1", () -> c.setData().withVersion(-1).forPath("/cc/basic/v", b("v3")));
        tryp("setData missing", () -> c.setData().forPath("/cc/basic/nope", b("x")));
        tryp("getData v", () -> c.getData().forPath("/cc/basic/v"));
        tryp("delete withVersion 5", () -> {
            c.delete().withVersion(5).forPath("/cc/basic/v");
            return "ok";
        });
        tryp("delete non-empty", () -> {
            c.delete().forPath("/cc/basic/a");
            return "ok";
        });
        tryp("delete missing", () -> {
            c.delete().forPath("/cc/basic/nope");
            return "ok";
        });
        tryp("delete quietly missing", () -> {
            c.delete().quietly().forPath("/cc/basic/nope");
            return "ok";
        });
        tryp("delete guaranteed withVersion 2", () -> {
            c.delete().guaranteed().withVersion(2).forPath("/cc/basic/v");
            return "ok";
        });
        tryp("delete deletingChildrenIfNeeded /cc/basic/a", () -> {
            c.delete().deletingChildrenIfNeeded().forPath("/cc/basic/a");
            return "ok";
        });
        p("checkExists /cc/basic/a after: " + c.checkExists().forPath("/cc/basic/a"));
        p("children /cc/basic: " + sorted(c.getChildren().forPath("/cc/basic")));
        tryp("setData large (1000 bytes) then dataLength",
                () -> c.setData().forPath("/cc/basic/seq", new byte[1000]).getDataLength());
        tryp("getConfig", () -> "'" + s(c.getConfig().forEnsemble()) + "'");
        tryp("sync", () -> {
            CountDownLatch l = new CountDownLatch(1);
            c.sync().inBackground((cl, e) -> l.countDown()).forPath("/cc/basic");
            return l.await(WAIT_S, TimeUnit.SECONDS);
        });
    }

    static String txResults(Collection<CuratorTransactionResult> rs) {
        StringBuilder sb = new StringBuilder();
        for (CuratorTransactionResult r : rs) {
            sb.append("\n  ").append(r.getType()).append(" forPath=").append(r.getForPath())
                    .append(" resultPath=").append(r.getResultPath())
                    .append(" stat=").append(r.getResultStat() == null ? "null" : "version=" + r.getResultStat().getVersion())
                    .append(" error=").append(r.getError());
        }
        return sb.toString();
    }

    static String opResults(List<OpResult> rs) {
        StringBuilder sb = new StringBuilder();
        if (rs == null) {
            return "null";
        }
        for (OpResult r : rs) {
            sb.append("\n  ").append(r.getClass().getSimpleName()).append(" type=").append(r.getType());
            if (r instanceof OpResult.ErrorResult) {
                sb.append(" err=").append(((OpResult.ErrorResult) r).getErr());
            }
        }
        return sb.toString();
    }

    static void transactions() throws Exception {
        CuratorFramework c = client();
        c.create().forPath("/cc/txn", b("t0"));
        c.create().forPath("/cc/txn/old", b("o"));
        List<CuratorTransactionResult> ok = c.transaction().forOperations(
                c.transactionOp().create().forPath("/cc/txn/x", b("1")),
                c.transactionOp().setData().forPath("/cc/txn", b("t1")),
                c.transactionOp().check().withVersion(1).forPath("/cc/txn"),
                c.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath("/cc/txn/s-", b("s")),
                c.transactionOp().create().withMode(CreateMode.EPHEMERAL).forPath("/cc/txn/eph"),
                c.transactionOp().delete().forPath("/cc/txn/x"));
        p("transaction ok:" + txResults(ok));
        p("children /cc/txn: " + sorted(c.getChildren().forPath("/cc/txn")));
        try {
            c.transaction().forOperations(
                    c.transactionOp().create().forPath("/cc/txn/y", b("y")),
                    c.transactionOp().check().withVersion(99).forPath("/cc/txn"),
                    c.transactionOp().setData().forPath("/cc/txn/missing", b("m")),
                    c.transactionOp().delete().forPath("/cc/txn/old"));
            p("transaction failing: no exception");
        } catch (KeeperException e) {
            p("transaction failing: threw " + exc(e) + " results:" + opResults(e.getResults()));
        }
        p("checkExists /cc/txn/y after rollback: " + c.checkExists().forPath("/cc/txn/y"));
        p("checkExists /cc/txn/old after rollback: " + (c.checkExists().forPath("/cc/txn/old") != null));
        try {
            c.transaction().forOperations(
                    c.transactionOp().delete().forPath("/cc/txn/old"),
                    c.transactionOp().create().forPath("/cc/txn/s-0000000002", b("dup")));
            p("transaction failing 2: no exception");
        } catch (KeeperException e) {
            p("transaction failing 2: threw " + exc(e) + " results:" + opResults(e.getResults()));
        }

        BlockingQueue<String> q = new LinkedBlockingQueue<>();
        BackgroundCallback cb = (cl, e) -> q.add(e.getType() + " rc=" + e.getResultCode()
                + (e.getOpResults() == null ? " opResults=null" : txResults(e.getOpResults())));
        c.transaction().inBackground(cb).forOperations(
                c.transactionOp().create().forPath("/cc/txn/bg", b("b")),
                c.transactionOp().setData().withVersion(0).forPath("/cc/txn/old", b("o2")));
        p("background transaction ok: " + take(q, "background transaction"));
        c.transaction().inBackground(cb).forOperations(
                c.transactionOp().setData().forPath("/cc/txn/bg", b("b2")),
                c.transactionOp().create().forPath("/cc/txn/bg", b("dup")));
        p("background transaction failing: " + take(q, "background transaction"));

        @SuppressWarnings("deprecation")
        Collection<CuratorTransactionResult> old = c.inTransaction()
                .create().forPath("/cc/txn/it", b("i")).and()
                .setData().forPath("/cc/txn/it", b("i2")).and()
                .check().forPath("/cc/txn/it").and()
                .delete().forPath("/cc/txn/bg").and()
                .commit();
        p("inTransaction ok:" + txResults(old));
        try {
            @SuppressWarnings("deprecation")
            Collection<CuratorTransactionResult> r = c.inTransaction()
                    .create().forPath("/cc/txn/it2").and()
                    .delete().withVersion(7).forPath("/cc/txn/it").and()
                    .commit();
            p("inTransaction failing: no exception " + r.size());
        } catch (KeeperException e) {
            p("inTransaction failing: threw " + exc(e) + " results:" + opResults(e.getResults()));
        }
        p("children /cc/txn: " + sorted(c.getChildren().forPath("/cc/txn")));
        p("data /cc/txn/it: " + s(c.getData().forPath("/cc/txn/it")));
    }

    static void background() throws Exception {
        CuratorFramework c = client();
        BlockingQueue<String> q = new LinkedBlockingQueue<>();
        BackgroundCallback cb = (cl, e) -> {
            StringBuilder sb = new StringBuilder();
            sb.append(e.getType()).append(" rc=").append(e.getResultCode()).append(" path=").append(e.getPath());
            if (e.getName() != null) {
                sb.append(" name=").append(e.getName());
            }
            if (e.getData() != null) {
                sb.append(" data=").append(s(e.getData()));
            }
            if (e.getChildren() != null) {
                sb.append(" children=").append(sorted(e.getChildren()));
            }
            if (e.getACLList() != null) {
                sb.append(" acl=").append(acls(e.getACLList()));
            }
            if (e.getStat() != null) {
                sb.append(" stat.version=").append(e.getStat().getVersion());
            }
            sb.append(" ctx=").append(e.getContext());
            q.add(sb.toString());
        };
        c.create().forPath("/cc/bg");
        c.create().inBackground(cb, "c1").forPath("/cc/bg/a", b("A"));
        expect(q, "create");
        c.create().inBackground(cb).forPath("/cc/bg/a", b("A"));
        expect(q, "create existing");
        c.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).inBackground(cb).forPath("/cc/bg/s-");
        expect(q, "create sequential");
        c.getData().inBackground(cb).forPath("/cc/bg/a");
        expect(q, "getData");
        c.setData().withVersion(0).inBackground(cb).forPath("/cc/bg/a", b("B"));
        expect(q, "setData");
        c.setData().withVersion(0).inBackground(cb).forPath("/cc/bg/a", b("C"));
        expect(q, "setData bad version");
        c.getChildren().inBackground(cb).forPath("/cc/bg");
        expect(q, "getChildren");
        c.checkExists().inBackground(cb).forPath("/cc/bg/none");
        expect(q, "exists missing");
        c.checkExists().inBackground(cb).forPath("/cc/bg/a");
        expect(q, "exists");
        c.getACL().inBackground(cb).forPath("/cc/bg/a");
        expect(q, "getACL");
        c.delete().inBackground(cb).forPath("/cc/bg/none");
        expect(q, "delete missing");
        c.sync().inBackground(cb).forPath("/cc/bg");
        expect(q, "sync");
        c.delete().deletingChildrenIfNeeded().inBackground(cb).forPath("/cc/bg");
        expect(q, "delete deletingChildrenIfNeeded");
        p("checkExists /cc/bg: " + c.checkExists().forPath("/cc/bg"));

        p("-- one-shot watches");
        c.create().forPath("/cc/w", b("w"));
        CuratorWatcher w = ev -> q.add("WATCH " + ev.getType() + " " + ev.getPath());
        c.getData().usingWatcher(w).forPath("/cc/w");
        c.setData().forPath("/cc/w", b("w2"));
        expect(q, "NodeDataChanged");
        c.setData().forPath("/cc/w", b("w3"));
        c.checkExists().usingWatcher(w).forPath("/cc/w/new");
        c.create().forPath("/cc/w/new");
        expect(q, "NodeCreated");
        c.getChildren().usingWatcher(w).forPath("/cc/w");
        c.create().forPath("/cc/w/new2");
        expect(q, "NodeChildrenChanged");
        c.getData().usingWatcher(w).forPath("/cc/w/new");
        c.delete().forPath("/cc/w/new");
        expect(q, "NodeDeleted");
        // two watcher objects: the client delivers an event once per watcher object
        CuratorWatcher w2 = ev -> q.add("WATCH2 " + ev.getType() + " " + ev.getPath());
        c.getData().usingWatcher(w).forPath("/cc/w/new2");
        c.getChildren().usingWatcher(w2).forPath("/cc/w/new2");
        c.delete().forPath("/cc/w/new2");
        List<String> two = new ArrayList<>();
        two.add(take(q, "delete event 1"));
        two.add(take(q, "delete event 2"));
        p("  events (data+child watch on deleted node): " + sorted(two));
        noMore(q, 300);

        p("-- removing one-shot watches");
        Watcher rw = ev -> q.add("WATCH3 " + ev.getType() + " " + ev.getPath());
        c.getData().usingWatcher(rw).forPath("/cc/w");
        c.getChildren().usingWatcher(rw).forPath("/cc/w");
        c.watchers().remove(rw).ofType(Watcher.WatcherType.Data).forPath("/cc/w");
        expect(q, "DataWatchRemoved");
        c.create().forPath("/cc/w/after-data-watch-removed");
        expect(q, "NodeChildrenChanged (the child watch stays)");
        tryp("remove data watch again", () -> {
            c.watchers().remove(rw).ofType(Watcher.WatcherType.Data).forPath("/cc/w");
            return "ok";
        });
        c.getChildren().usingWatcher(rw).forPath("/cc/w");
        c.watchers().remove(rw).ofType(Watcher.WatcherType.Any).forPath("/cc/w");
        expect(q, "ChildWatchRemoved");
        tryp("remove quietly a watch that is not there", () -> {
            c.watchers().remove(rw).ofType(Watcher.WatcherType.Any).quietly().forPath("/cc/w");
            return "ok";
        });
        c.delete().forPath("/cc/w/after-data-watch-removed");
        noMore(q, 300);

        p("-- CuratorListener: background operations without a callback, watched()");
        c.getCuratorListenable().addListener((cl, e) -> q.add("LISTENER " + e.getType() + " rc=" + e.getResultCode()
                + " path=" + e.getPath() + (e.getData() != null ? " data=" + s(e.getData()) : "")
                + (e.getWatchedEvent() != null ? " watched=" + e.getWatchedEvent().getType() + " " + e.getWatchedEvent().getPath() : "")));
        c.getData().inBackground().forPath("/cc/w");
        expect(q, "listener GET_DATA");
        c.getData().watched().forPath("/cc/w");
        c.setData().forPath("/cc/w", b("w4"));
        expect(q, "listener WATCHED");
        c.checkExists().watched().inBackground().forPath("/cc/w/later");
        expect(q, "listener EXISTS");
        c.create().forPath("/cc/w/later");
        expect(q, "listener WATCHED NodeCreated");
        noMore(q, 300);
    }

    static void namespaces() throws Exception {
        CuratorFramework c = client();
        CuratorFramework ns = c.usingNamespace("ccns");
        p("namespace: " + ns.getNamespace());
        p("create in namespace: " + ns.create().forPath("/x", b("x")));
        p("sequential in namespace: " + ns.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath("/s-"));
        p("children / via namespace: " + sorted(ns.getChildren().forPath("/")));
        p("children /ccns via root client: " + sorted(c.getChildren().forPath("/ccns")));
        BlockingQueue<String> q = new LinkedBlockingQueue<>();
        ns.getData().usingWatcher((CuratorWatcher) ev -> q.add("WATCH " + ev.getType() + " " + ev.getPath())).forPath("/x");
        ns.create().inBackground((cl, e) -> q.add(e.getType() + " rc=" + e.getResultCode() + " path=" + e.getPath()
                + " name=" + e.getName())).forPath("/y");
        expect(q, "background create in namespace");
        c.setData().forPath("/ccns/x", b("x2"));
        expect(q, "watch in namespace");
        List<CuratorTransactionResult> r = ns.transaction().forOperations(
                ns.transactionOp().create().forPath("/t", b("t")),
                ns.transactionOp().delete().forPath("/y"));
        p("transaction in namespace:" + txResults(r));
        CuratorFramework ns2 = client("ccns2/deep", 15000, null);
        p("namespace client ccns2/deep create: " + ns2.create().creatingParentsIfNeeded().forPath("/a/b"));
        p("exists /ccns2/deep/a/b via root: " + (c.checkExists().forPath("/ccns2/deep/a/b") != null));
        p("nonNamespaceView children /ccns: " + sorted(ns.nonNamespaceView().getChildren().forPath("/ccns")));
        ns.delete().deletingChildrenIfNeeded().forPath("/");
        p("after deletingChildrenIfNeeded of namespace root: /ccns exists=" + (c.checkExists().forPath("/ccns") != null));
    }

    static void ttlAndContainers() throws Exception {
        CuratorFramework c = client();
        p("create TTL: " + c.create().withTtl(1000).creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT_WITH_TTL)
                .forPath("/cc/ttl/t1", b("t")));
        Stat st = c.checkExists().forPath("/cc/ttl/t1");
        p("TTL node ephemeralOwner: 0x" + Long.toHexString(st.getEphemeralOwner()) + " " + stat(st));
        p("create sequential TTL: " + c.create().withTtl(1000).withMode(CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL)
                .forPath("/cc/ttl/s-", b("s")));
        p("create TTL with child: " + c.create().withTtl(1000).withMode(CreateMode.PERSISTENT_WITH_TTL)
                .forPath("/cc/ttl/keep", b("k")));
        c.create().forPath("/cc/ttl/keep/child");
        tryp("create TTL inside transaction", () -> txResults(c.transaction().forOperations(
                c.transactionOp().create().withTtl(1000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath("/cc/ttl/tx", b("x")))));
        p("create CONTAINER: " + c.create().withMode(CreateMode.CONTAINER).forPath("/cc/ctr"));
        Stat cs = c.checkExists().forPath("/cc/ctr");
        p("CONTAINER ephemeralOwner: 0x" + Long.toHexString(cs.getEphemeralOwner()));
        c.create().forPath("/cc/ctr/child");
        c.delete().forPath("/cc/ctr/child");
        p("create empty CONTAINER that never had children: " + c.create().withMode(CreateMode.CONTAINER).forPath("/cc/ctr-empty"));
        await("TTL node /cc/ttl/t1 to be reaped", zk(() -> c.checkExists().forPath("/cc/ttl/t1") == null));
        p("TTL node reaped: true");
        await("TTL node /cc/ttl/s-0000000001 to be reaped", zk(() -> c.checkExists().forPath("/cc/ttl/s-0000000001") == null));
        p("sequential TTL node reaped: true");
        await("TTL node /cc/ttl/tx to be reaped", zk(() -> c.checkExists().forPath("/cc/ttl/tx") == null));
        p("transaction TTL node reaped: true");
        await("container /cc/ctr to be reaped", zk(() -> c.checkExists().forPath("/cc/ctr") == null));
        p("emptied container reaped: true");
        Thread.sleep(2500);
        p("TTL node with a child still there: " + (c.checkExists().forPath("/cc/ttl/keep") != null));
        p("never-used container still there: " + (c.checkExists().forPath("/cc/ctr-empty") != null));
        p("children /cc/ttl: " + sorted(c.getChildren().forPath("/cc/ttl")));
    }

    static void acl() throws Exception {
        CuratorFramework alice = client(null, 15000, "alice:secret");
        CuratorFramework anon = client();
        alice.create().creatingParentsIfNeeded().withACL(ZooDefs.Ids.CREATOR_ALL_ACL).forPath("/cc/acl/private", b("p"));
        p("getACL private: " + acls(alice.getACL().forPath("/cc/acl/private")));
        p("getACL parent created by creatingParentsIfNeeded: " + acls(alice.getACL().forPath("/cc/acl")));
        tryp("alice getData private", () -> alice.getData().forPath("/cc/acl/private"));
        tryp("anon getData private", () -> anon.getData().forPath("/cc/acl/private"));
        tryp("anon setData private", () -> anon.setData().forPath("/cc/acl/private", b("x")));
        tryp("anon checkExists private", () -> anon.checkExists().forPath("/cc/acl/private"));
        tryp("anon getACL private", () -> acls(anon.getACL().forPath("/cc/acl/private")));
        anon.create().withACL(ZooDefs.Ids.READ_ACL_UNSAFE).forPath("/cc/acl/ro", b("r"));
        tryp("getData read-only", () -> anon.getData().forPath("/cc/acl/ro"));
        tryp("setData read-only", () -> anon.setData().forPath("/cc/acl/ro", b("x")));
        tryp("create child of read-only", () -> anon.create().forPath("/cc/acl/ro/c"));
        tryp("setACL read-only (no ADMIN)", () -> anon.setACL().withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath("/cc/acl/ro"));
        anon.create().forPath("/cc/acl/open");
        tryp("setACL bad version", () -> anon.setACL().withVersion(3).withACL(ZooDefs.Ids.READ_ACL_UNSAFE).forPath("/cc/acl/open"));
        tryp("setACL version 0", () -> anon.setACL().withVersion(0).withACL(ZooDefs.Ids.READ_ACL_UNSAFE).forPath("/cc/acl/open"));
        tryp("getACL open after setACL", () -> acls(anon.getACL().forPath("/cc/acl/open")));
        tryp("create with empty ACL list", () -> anon.create().withACL(new ArrayList<>()).forPath("/cc/acl/empty"));
        tryp("create CREATOR_ALL_ACL without auth", () -> anon.create().withACL(ZooDefs.Ids.CREATOR_ALL_ACL).forPath("/cc/acl/noauth"));
        tryp("delete read-only (parent allows)", () -> {
            anon.delete().forPath("/cc/acl/ro");
            return "ok";
        });
        tryp("anon delete private (parent open)", () -> {
            anon.delete().forPath("/cc/acl/private");
            return "ok";
        });
    }

    /**
     * Recipes create their parents with creatingParentContainersIfNeeded; the server reaps an
     * empty container every second here, which would make "no children left" checks and
     * sequence numbers racy. Sections that look at those create the parents as plain
     * persistent nodes first.
     */
    static void persistentParents(String... paths) throws Exception {
        CuratorFramework c = client();
        for (String path : paths) {
            c.create().creatingParentsIfNeeded().forPath(path);
        }
    }

    static String seq(String name) {
        return name.substring(name.length() - 10);
    }

    static int countLeaders(LeaderLatch[] ls, boolean[] closed) {
        int n = 0;
        for (int i = 0; i < ls.length; i++) {
            if (!closed[i] && ls[i].hasLeadership()) {
                n++;
            }
        }
        return n;
    }

    static void leaderLatch() throws Exception {
        int n = 3;
        LeaderLatch[] ls = new LeaderLatch[n];
        boolean[] closed = new boolean[n];
        AtomicInteger isLeaderCalls = new AtomicInteger();
        AtomicInteger notLeaderCalls = new AtomicInteger();
        AtomicInteger maxLeaders = new AtomicInteger();
        for (int i = 0; i < n; i++) {
            ls[i] = new LeaderLatch(client(), "/cc/latch", "p" + i);
            ls[i].addListener(new LeaderLatchListener() {
                public void isLeader() {
                    isLeaderCalls.incrementAndGet();
                }

                public void notLeader() {
                    notLeaderCalls.incrementAndGet();
                }
            });
        }
        for (LeaderLatch l : ls) {
            l.start();
        }
        for (LeaderLatch l : ls) {
            reg(l);
        }
        await("one leader", () -> {
            int c = countLeaders(ls, closed);
            maxLeaders.accumulateAndGet(c, Math::max);
            return c == 1;
        });
        await("3 participants", zk(() -> ls[0].getParticipants().size() == 3));
        for (int k = 0; k < 10; k++) { // stays at one leader
            maxLeaders.accumulateAndGet(countLeaders(ls, closed), Math::max);
            Thread.sleep(20);
        }
        p("leaders: " + countLeaders(ls, closed) + " (max seen " + maxLeaders.get() + ")");
        p("participants: " + ls[0].getParticipants().size());
        int leader = -1;
        for (int i = 0; i < n; i++) {
            if (ls[i].hasLeadership()) {
                leader = i;
            }
        }
        Participant lp = ls[1].getLeader();
        p("getLeader isLeader=" + lp.isLeader() + " is the latch with leadership=" + lp.getId().equals("p" + leader));
        int leaderFlags = 0;
        for (Participant pp : ls[2].getParticipants()) {
            if (pp.isLeader()) {
                leaderFlags++;
            }
        }
        p("participants flagged leader: " + leaderFlags);
        p("leader await(1s): " + ls[leader].await(1, TimeUnit.SECONDS));
        int other = (leader + 1) % n;
        p("non-leader await(200ms): " + ls[other].await(200, TimeUnit.MILLISECONDS));
        String lowest = null;
        for (String k : client().getChildren().forPath("/cc/latch")) { // by sequence number
            if (lowest == null || seq(k).compareTo(seq(lowest)) < 0) {
                lowest = k;
            }
        }
        p("first leader holds the lowest sequence number: " + ls[leader].getOurPath().equals("/cc/latch/" + lowest));
        ls[leader].close();
        closed[leader] = true;
        p("closed the leader; its state: " + ls[leader].getState() + " hasLeadership=" + ls[leader].hasLeadership());
        maxLeaders.set(0);
        await("a new leader", () -> {
            int c = countLeaders(ls, closed);
            maxLeaders.accumulateAndGet(c, Math::max);
            return c == 1;
        });
        await("2 participants", zk(() -> ls[other].getParticipants().size() == 2));
        p("leaders after close: " + countLeaders(ls, closed) + " (max seen " + maxLeaders.get() + ")");
        p("participants after close: " + ls[other].getParticipants().size());
        await("2 isLeader callbacks", () -> isLeaderCalls.get() >= 2);
        Thread.sleep(200);
        p("isLeader callbacks: " + isLeaderCalls.get() + ", notLeader callbacks: " + notLeaderCalls.get());
        for (int i = 0; i < n; i++) {
            if (!closed[i]) {
                ls[i].close(LeaderLatch.CloseMode.NOTIFY_LEADER);
                closed[i] = true;
            }
        }
        await("notLeader callback on close with NOTIFY_LEADER", () -> notLeaderCalls.get() >= 1);
        Thread.sleep(200);
        p("notLeader callbacks after closing all (NOTIFY_LEADER): " + notLeaderCalls.get());
        CuratorFramework c = client();
        try {
            await("latch nodes removed", zk(() -> {
                try {
                    return c.getChildren().forPath("/cc/latch").isEmpty();
                } catch (KeeperException.NoNodeException e) {
                    return true; // the container is already reaped
                }
            }));
        } catch (CheckFailed e) {
            for (String k : c.getChildren().forPath("/cc/latch")) {
                Stat st = c.checkExists().forPath("/cc/latch/" + k);
                System.err.println("leftover latch node " + k + " owner 0x" + Long.toHexString(st.getEphemeralOwner()));
            }
            throw e;
        }
        p("latch children after close: 0");
        // LeaderLatch creates its parent with creatingParentContainersIfNeeded: once empty, the
        // server reaps it (znode.container.checkIntervalMs=1000)
        await("latch parent container reaped", zk(() -> c.checkExists().forPath("/cc/latch") == null));
        p("latch parent (a container) reaped after the last latch closed: true");
    }

    static void leaderSelector() throws Exception {
        persistentParents("/cc/selector");
        AtomicInteger current = new AtomicInteger();
        AtomicInteger maxConcurrent = new AtomicInteger();
        List<String> led = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(2);
        LeaderSelector[] sel = new LeaderSelector[2];
        List<String> during = new CopyOnWriteArrayList<>();
        String[] names = {"A", "B"};
        for (int i = 0; i < 2; i++) {
            final int me = i;
            CuratorFramework c = client();
            sel[i] = new LeaderSelector(c, "/cc/selector", new LeaderSelectorListenerAdapter() {
                @Override
                public void takeLeadership(CuratorFramework cf) throws Exception {
                    int now = current.incrementAndGet();
                    maxConcurrent.accumulateAndGet(now, Math::max);
                    led.add(names[me]);
                    try {
                        if (led.size() == 1) {
                            // the other one is queued: two participants, one of them leader
                            await("2 selector participants", zk(() -> sel[me].getParticipants().size() == 2));
                            int flagged = 0;
                            for (Participant pp : sel[me].getParticipants()) {
                                flagged += pp.isLeader() ? 1 : 0;
                            }
                            during.add("participants=" + sel[me].getParticipants().size() + " flaggedLeader=" + flagged
                                    + " getLeader is me=" + sel[me].getLeader().getId().equals(names[me])
                                    + " hasLeadership=" + sel[me].hasLeadership()
                                    + " other hasLeadership=" + sel[1 - me].hasLeadership());
                        }
                        Thread.sleep(300);
                    } finally {
                        current.decrementAndGet();
                        done.countDown();
                    }
                }
            });
            sel[i].setId(names[i]);
        }
        for (LeaderSelector s : sel) {
            s.start();
            reg(s);
        }
        if (!done.await(WAIT_S * 2, TimeUnit.SECONDS)) {
            throw new CheckFailed("timeout waiting for both selectors to lead (led: " + led + ")");
        }
        for (String d : during) {
            p("during first leadership: " + d);
        }
        p("leaderships: " + led.size() + " distinct: " + new TreeSet<>(led) + " max concurrent: " + maxConcurrent.get());
        Thread.sleep(500);
        p("no requeue without autoRequeue: leaderships=" + led.size());
        await("selector participants gone", zk(() -> sel[0].getParticipants().isEmpty()));
        p("participants after both relinquished: " + sel[0].getParticipants().size());
        p("requeue A: " + sel[0].requeue());
        await("A leads again", () -> led.size() == 3);
        p("after requeue leaderships: " + led.size() + " last: " + led.get(2));
    }

    static void mutex() throws Exception {
        persistentParents("/cc/mutex");
        CuratorFramework a = client();
        CuratorFramework b2 = client();
        InterProcessMutex m = new InterProcessMutex(a, "/cc/mutex");
        InterProcessMutex mb = new InterProcessMutex(b2, "/cc/mutex");
        p("A acquire: " + m.acquire(WAIT_S, TimeUnit.SECONDS));
        p("A acquire again (reentrant): " + m.acquire(WAIT_S, TimeUnit.SECONDS));
        p("A isAcquiredInThisProcess: " + m.isAcquiredInThisProcess() + " isOwnedByCurrentThread: " + m.isOwnedByCurrentThread());
        p("participant nodes: " + m.getParticipantNodes().size());
        p("B acquire(500ms) while A holds: " + mb.acquire(500, TimeUnit.MILLISECONDS));
        m.release();
        p("A released once, still held: " + m.isAcquiredInThisProcess());
        p("B acquire(300ms) while A holds once: " + mb.acquire(300, TimeUnit.MILLISECONDS));
        m.release();
        p("A released twice, held: " + m.isAcquiredInThisProcess());
        tryp("A release when not held", () -> {
            m.release();
            return "ok";
        });
        p("B acquire after A released: " + mb.acquire(WAIT_S, TimeUnit.SECONDS));
        // lock ownership is per thread: acquire and release on the same thread
        ExecutorService other = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "mutex-other");
            t.setDaemon(true);
            return t;
        });
        reg(other::shutdownNow);
        Future<Boolean> fa = other.submit(() -> m.acquire(WAIT_S, TimeUnit.SECONDS));
        Thread.sleep(300);
        p("A (other thread) blocked while B holds: " + !fa.isDone());
        mb.release();
        p("A (other thread) gets it after B releases: " + get(fa));
        get(other.submit(() -> {
            m.release();
            return null;
        }));
        p("participant nodes after all releases: " + m.getParticipantNodes().size());

        p("-- counter under the lock: 2 clients x 2 threads x 10 increments");
        a.create().forPath("/cc/mutex-counter", b("0"));
        int[] counter = {0};
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            CuratorFramework c = t % 2 == 0 ? a : b2;
            fs.add(pool.submit(() -> {
                InterProcessMutex lock = new InterProcessMutex(c, "/cc/mutex");
                for (int i = 0; i < 10; i++) {
                    if (!lock.acquire(WAIT_S, TimeUnit.SECONDS)) {
                        failed.incrementAndGet();
                        continue;
                    }
                    try {
                        maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                        int v = counter[0];
                        int zv = Integer.parseInt(s(c.getData().forPath("/cc/mutex-counter")));
                        Thread.sleep(1);
                        c.setData().forPath("/cc/mutex-counter", b(Integer.toString(zv + 1)));
                        counter[0] = v + 1;
                        inside.decrementAndGet();
                    } finally {
                        lock.release();
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get(WAIT_S * 3, TimeUnit.SECONDS);
        }
        p("counter: " + counter[0] + " znode counter: " + s(a.getData().forPath("/cc/mutex-counter"))
                + " max holders at once: " + maxInside.get() + " failed acquires: " + failed.get());
        p("lock children after: " + a.getChildren().forPath("/cc/mutex").size());
    }

    static void semaphore() throws Exception {
        persistentParents("/cc/sem");
        InterProcessSemaphoreV2[] s = new InterProcessSemaphoreV2[3];
        for (int i = 0; i < 3; i++) {
            s[i] = new InterProcessSemaphoreV2(client(), "/cc/sem", 2);
        }
        s[2].setNodeData(b("third"));
        Lease l0 = s[0].acquire(WAIT_S, TimeUnit.SECONDS);
        p("acquirer 0 lease: " + (l0 != null));
        Lease l1 = s[1].acquire(WAIT_S, TimeUnit.SECONDS);
        p("acquirer 1 lease: " + (l1 != null));
        Lease l2 = s[2].acquire(1, TimeUnit.SECONDS);
        p("acquirer 2 lease(1s) with 2 leases taken: " + (l2 != null));
        p("participant nodes: " + s[0].getParticipantNodes().size());
        s[0].returnLease(l0);
        l2 = s[2].acquire(WAIT_S, TimeUnit.SECONDS);
        p("acquirer 2 after one lease returned: " + (l2 != null) + " lease data: " + (l2 == null ? "-" : s(l2.getData())));
        Future<Lease> f = pool.submit(() -> s[0].acquire(WAIT_S, TimeUnit.SECONDS));
        Thread.sleep(300);
        p("acquirer 0 blocked: " + !f.isDone());
        s[1].returnLease(l1);
        Lease l0b = get(f);
        p("acquirer 0 gets a lease after acquirer 1 returned: " + (l0b != null));
        s[0].returnLease(l0b);
        s[2].returnLease(l2);
        await("leases returned", zk(() -> s[0].getParticipantNodes().isEmpty()));
        p("participant nodes after return: " + s[0].getParticipantNodes().size());
        Collection<Lease> two = s[0].acquire(2, WAIT_S, TimeUnit.SECONDS);
        p("acquire(2) at once: " + (two == null ? "null" : two.size()));
        p("other acquirer(300ms) with both taken: " + (s[1].acquire(300, TimeUnit.MILLISECONDS) != null));
        s[0].returnAll(two);
        p("after returnAll, other acquirer: " + (s[1].acquire(WAIT_S, TimeUnit.SECONDS) != null));
    }

    static void readWriteLock() throws Exception {
        persistentParents("/cc/rw");
        InterProcessReadWriteLock[] rw = new InterProcessReadWriteLock[3];
        for (int i = 0; i < 3; i++) {
            rw[i] = new InterProcessReadWriteLock(client(), "/cc/rw");
        }
        // lock ownership is per thread: all of the writer's operations run on one thread
        ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "rw-writer");
            t.setDaemon(true);
            return t;
        });
        reg(writer::shutdownNow);
        p("reader 0: " + rw[0].readLock().acquire(WAIT_S, TimeUnit.SECONDS));
        p("reader 1 at the same time: " + rw[1].readLock().acquire(WAIT_S, TimeUnit.SECONDS));
        p("writer 2(500ms) while read-locked: "
                + get(writer.submit(() -> rw[2].writeLock().acquire(500, TimeUnit.MILLISECONDS))));
        Future<Boolean> w = writer.submit(() -> rw[2].writeLock().acquire(WAIT_S, TimeUnit.SECONDS));
        Thread.sleep(300);
        p("writer 2 blocked: " + !w.isDone());
        rw[0].readLock().release();
        Thread.sleep(200);
        p("writer 2 blocked with one reader left: " + !w.isDone());
        rw[1].readLock().release();
        p("writer 2 after readers released: " + get(w));
        p("reader 0(500ms) while write-locked: " + rw[0].readLock().acquire(500, TimeUnit.MILLISECONDS));
        p("writer 1(500ms) while write-locked: " + rw[1].writeLock().acquire(500, TimeUnit.MILLISECONDS));
        Future<String> down = writer.submit(() -> {
            boolean wl = rw[2].writeLock().acquire(WAIT_S, TimeUnit.SECONDS);
            boolean rl = rw[2].readLock().acquire(WAIT_S, TimeUnit.SECONDS);
            rw[2].writeLock().release();
            rw[2].writeLock().release();
            return "writer re-enters write=" + wl + " takes read while writing=" + rl;
        });
        p("downgrade: " + get(down));
        p("other reader while the downgraded reader holds: " + rw[0].readLock().acquire(WAIT_S, TimeUnit.SECONDS));
        p("writer 1(300ms) with two readers: " + rw[1].writeLock().acquire(300, TimeUnit.MILLISECONDS));
        get(writer.submit(() -> {
            rw[2].readLock().release();
            return null;
        }));
        rw[0].readLock().release();
        p("writer 1 after all readers released: " + rw[1].writeLock().acquire(WAIT_S, TimeUnit.SECONDS));
        rw[1].writeLock().release();
        CuratorFramework c = client();
        p("rw lock children after: " + c.getChildren().forPath("/cc/rw").size());
    }

    static final QueueSerializer<String> SER = new QueueSerializer<String>() {
        public byte[] serialize(String item) {
            return b(item);
        }

        public String deserialize(byte[] bytes) {
            return s(bytes);
        }
    };

    static void queues() throws Exception {
        persistentParents("/cc/squeue", "/cc/dqueue");
        CuratorFramework a = client();
        CuratorFramework b2 = client();
        SimpleDistributedQueue qa = new SimpleDistributedQueue(a, "/cc/squeue");
        SimpleDistributedQueue qb = new SimpleDistributedQueue(b2, "/cc/squeue");
        p("poll empty: " + s(qb.poll()));
        for (int i = 0; i < 5; i++) {
            p("offer item-" + i + ": " + qa.offer(b("item-" + i)));
        }
        p("peek: " + s(qb.peek()));
        List<String> got = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            got.add(s(qb.poll(WAIT_S, TimeUnit.SECONDS)));
        }
        p("taken in order: " + got);
        p("poll(300ms) empty: " + s(qb.poll(300, TimeUnit.MILLISECONDS)));
        Future<byte[]> f = pool.submit(() -> qb.poll(WAIT_S, TimeUnit.SECONDS));
        Thread.sleep(300);
        qa.offer(b("late"));
        p("blocked poll gets late item: " + s(get(f)));
        tryp("element on empty", () -> qb.element());

        p("-- DistributedQueue with a consumer");
        BlockingQueue<String> received = new LinkedBlockingQueue<>();
        QueueConsumer<String> consumer = new QueueConsumer<String>() {
            public void consumeMessage(String m) {
                received.add(m);
            }

            public void stateChanged(CuratorFramework client, ConnectionState newState) {
            }
        };
        DistributedQueue<String> producer = QueueBuilder.builder(a, null, SER, "/cc/dqueue").buildQueue();
        reg(producer);
        producer.start();
        for (int i = 0; i < 3; i++) {
            producer.put("m" + i);
        }
        DistributedQueue<String> cq = QueueBuilder.builder(b2, consumer, SER, "/cc/dqueue").buildQueue();
        reg(cq);
        cq.start();
        for (int i = 0; i < 3; i++) {
            expect(received, "queued message m" + i);
        }
        for (int i = 3; i < 6; i++) {
            producer.put("m" + i);
            expect(received, "queued message m" + i);
        }
        noMore(received, 300);
        await("queue drained", zk(() -> a.getChildren().forPath("/cc/dqueue").isEmpty()));
        p("queue children after: 0");
    }

    static void barriers() throws Exception {
        persistentParents("/cc/dbarrier");
        CuratorFramework a = client();
        CuratorFramework b2 = client();
        CuratorFramework c = client();
        DistributedBarrier ba = new DistributedBarrier(a, "/cc/barrier");
        DistributedBarrier bb = new DistributedBarrier(b2, "/cc/barrier");
        p("waitOnBarrier(100ms) with no barrier: " + bb.waitOnBarrier(100, TimeUnit.MILLISECONDS));
        ba.setBarrier();
        tryp("setBarrier again", () -> {
            ba.setBarrier();
            return "ok";
        });
        p("waitOnBarrier(300ms) while set: " + bb.waitOnBarrier(300, TimeUnit.MILLISECONDS));
        Future<Boolean> f = pool.submit(() -> bb.waitOnBarrier(WAIT_S, TimeUnit.SECONDS));
        Thread.sleep(300);
        p("waiter blocked: " + !f.isDone());
        new DistributedBarrier(c, "/cc/barrier").removeBarrier();
        p("waiter released after removeBarrier by a third client: " + get(f));
        p("waitOnBarrier after removal: " + bb.waitOnBarrier(100, TimeUnit.MILLISECONDS));

        p("-- DistributedDoubleBarrier, 3 members");
        CuratorFramework[] cs = {a, b2, c};
        AtomicInteger arrived = new AtomicInteger();
        AtomicInteger departed = new AtomicInteger();
        List<Future<String>> fs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            final int me = i;
            fs.add(pool.submit(() -> {
                DistributedDoubleBarrier db = new DistributedDoubleBarrier(cs[me], "/cc/dbarrier", 3);
                Thread.sleep(200L * me);
                arrived.incrementAndGet();
                boolean entered = db.enter(WAIT_S, TimeUnit.SECONDS);
                int atEnter = arrived.get();
                Thread.sleep(100L * (2 - me));
                departed.incrementAndGet();
                boolean left = db.leave(WAIT_S, TimeUnit.SECONDS);
                int atLeave = departed.get();
                return "entered=" + entered + " members arrived when enter returned=" + atEnter
                        + " left=" + left + " members departing when leave returned=" + atLeave;
            }));
        }
        List<String> rs = new ArrayList<>();
        for (Future<String> fu : fs) {
            rs.add(get(fu));
        }
        for (String r : sorted(rs)) {
            p("member: " + r);
        }
        await("double barrier nodes removed", zk(() -> {
            List<String> k = a.getChildren().forPath("/cc/dbarrier");
            return k.isEmpty();
        }));
        p("double barrier children after: 0");
    }

    static String av(AtomicValue<Long> v) {
        return "succeeded=" + v.succeeded() + " pre=" + v.preValue() + " post=" + v.postValue();
    }

    static void atomics() throws Exception {
        CuratorFramework a = client();
        CuratorFramework b2 = client();
        DistributedAtomicLong al = new DistributedAtomicLong(a, "/cc/atomic", new RetryNTimes(100, 5));
        p("get on missing: " + av(al.get()));
        p("increment: " + av(al.increment()));
        p("add(10): " + av(al.add(10L)));
        p("compareAndSet(11, 20): " + av(al.compareAndSet(11L, 20L)));
        AtomicValue<Long> bad = al.compareAndSet(11L, 30L);
        p("compareAndSet(11, 30): succeeded=" + bad.succeeded() + " value now=" + al.get().postValue());
        p("decrement: " + av(al.decrement()));
        p("subtract(4): " + av(al.subtract(4L)));
        p("trySet(100): " + av(al.trySet(100L)));
        p("initialize(5) on existing: " + al.initialize(5L));
        DistributedAtomicLong al2 = new DistributedAtomicLong(b2, "/cc/atomic2", new RetryNTimes(100, 5));
        p("initialize(7) on missing: " + al2.initialize(7L) + " get: " + av(al2.get()));
        p("raw bytes length of /cc/atomic: " + a.getData().forPath("/cc/atomic").length);
        AtomicInteger ok = new AtomicInteger();
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            CuratorFramework c = t % 2 == 0 ? a : b2;
            fs.add(pool.submit(() -> {
                DistributedAtomicLong x = new DistributedAtomicLong(c, "/cc/atomic", new RetryNTimes(1000, 1));
                for (int i = 0; i < 10; i++) {
                    if (x.increment().succeeded()) {
                        ok.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get(WAIT_S * 3, TimeUnit.SECONDS);
        }
        p("40 concurrent increments: succeeded=" + ok.get() + " value=" + al.get().postValue());
        DistributedAtomicLong promoted = new DistributedAtomicLong(b2, "/cc/atomic", new RetryNTimes(0, 1),
                PromotedToLock.builder().lockPath("/cc/atomic-lock").retryPolicy(new RetryNTimes(10, 10))
                        .timeout(WAIT_S, TimeUnit.SECONDS).build());
        p("promoted-to-lock add(5): " + av(promoted.add(5L)));

        p("-- SharedCount");
        SharedCount s1 = reg(new SharedCount(a, "/cc/count", 0));
        SharedCount s2 = reg(new SharedCount(b2, "/cc/count", 0));
        s1.start();
        s2.start();
        p("initial count=" + s1.getCount() + " version=" + s1.getVersionedValue().getVersion());
        BlockingQueue<String> seen2 = new LinkedBlockingQueue<>();
        BlockingQueue<String> seen1 = new LinkedBlockingQueue<>();
        s2.addListener(listener(seen2));
        VersionedValue<Integer> vv = s1.getVersionedValue();
        p("trySetCount(v0, 5): " + s1.trySetCount(vv, 5));
        p("other client notified: " + take(seen2, "count 5"));
        p("trySetCount(stale v0, 6): " + s1.trySetCount(vv, 6));
        p("count after failed trySetCount: " + s1.getCount() + " version=" + s1.getVersionedValue().getVersion());
        s1.addListener(listener(seen1));
        s2.setCount(9);
        String e;
        do {
            e = take(seen1, "count 9 on the first client");
        } while (!e.equals("9"));
        p("first client sees setCount(9) by the other: " + e + " version=" + s1.getVersionedValue().getVersion());
        a.setData().forPath("/cc/count", SharedCountBytes(42));
        do {
            e = take(seen2, "count 42");
        } while (!e.equals("42"));
        p("raw setData on the znode seen as count: " + e);
        p("trySetCount(current, 43): " + s2.trySetCount(s2.getVersionedValue(), 43)
                + " version=" + s2.getVersionedValue().getVersion());
    }

    static byte[] SharedCountBytes(int v) {
        return java.nio.ByteBuffer.allocate(4).putInt(v).array();
    }

    static SharedCountListener listener(BlockingQueue<String> q) {
        return new SharedCountListener() {
            public void countHasChanged(SharedCountReader r, int n) {
                q.add(Integer.toString(n));
            }

            public void stateChanged(CuratorFramework client, ConnectionState newState) {
            }
        };
    }

    static String cd(ChildData d) {
        return d == null ? "null" : d.getPath() + "=" + s(d.getData());
    }

    static void caches() throws Exception {
        CuratorFramework a = client();
        CuratorFramework w = client();
        a.create().creatingParentsIfNeeded().forPath("/cc/cache", b("root"));
        a.create().forPath("/cc/cache/pre1", b("p1"));
        a.create().forPath("/cc/cache/pre2", b("p2"));
        a.create().forPath("/cc/cache/pre2/sub", b("s"));
        BlockingQueue<String> q = new LinkedBlockingQueue<>();
        CuratorCache cache = reg(CuratorCache.build(a, "/cc/cache"));
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forAll((type, old, data) -> q.add(type + " old=" + cd(old) + " new=" + cd(data)))
                .forInitialized(() -> q.add("INITIALIZED"))
                .build());
        cache.start();
        List<String> initial = new ArrayList<>();
        while (true) {
            String e = take(q, "CuratorCache initial events");
            if (e.equals("INITIALIZED")) {
                break;
            }
            initial.add(e);
        }
        for (String e : sorted(initial)) { // the order of siblings is unspecified
            p("  initial: " + e);
        }
        p("  INITIALIZED size=" + cache.size());
        w.create().forPath("/cc/cache/a", b("1"));
        expect(q, "NODE_CREATED a");
        w.setData().forPath("/cc/cache/a", b("2"));
        expect(q, "NODE_CHANGED a");
        w.create().forPath("/cc/cache/a/deep", b("d"));
        expect(q, "NODE_CREATED a/deep");
        w.setData().forPath("/cc/cache", b("root2"));
        expect(q, "NODE_CHANGED root");
        w.delete().forPath("/cc/cache/a/deep");
        expect(q, "NODE_DELETED a/deep");
        w.delete().forPath("/cc/cache/a");
        expect(q, "NODE_DELETED a");
        w.create().withMode(CreateMode.EPHEMERAL).forPath("/cc/cache/eph", b("e"));
        expect(q, "NODE_CREATED eph");
        p("  cache get pre2/sub: " + cache.get("/cc/cache/pre2/sub").map(CuratorCheck::cd).orElse("absent")
                + " size=" + cache.size());
        w.close();
        expect(q, "NODE_DELETED eph (session closed)");
        noMore(q, 300);

        p("-- PathChildrenCache");
        a.create().forPath("/cc/pcache", b("pc"));
        a.create().forPath("/cc/pcache/c0", b("0"));
        PathChildrenCache pcc = reg(new PathChildrenCache(a, "/cc/pcache", true));
        pcc.getListenable().addListener((cl, ev) -> q.add(ev.getType() + " " + cd(ev.getData())
                + (ev.getInitialData() == null ? "" : " initialData=" + ev.getInitialData().size())));
        pcc.start(PathChildrenCache.StartMode.POST_INITIALIZED_EVENT);
        expect(q, "CHILD_ADDED c0");
        expect(q, "INITIALIZED");
        CuratorFramework w2 = client();
        w2.create().forPath("/cc/pcache/c1", b("1"));
        expect(q, "CHILD_ADDED c1");
        w2.setData().forPath("/cc/pcache/c1", b("1b"));
        expect(q, "CHILD_UPDATED c1");
        w2.delete().forPath("/cc/pcache/c1");
        expect(q, "CHILD_REMOVED c1");
        w2.create().forPath("/cc/pcache/c0/grandchild");
        noMore(q, 300);
        p("  current data: " + pcc.getCurrentData().size());

        p("-- NodeCache");
        @SuppressWarnings("deprecation")
        NodeCache nc = reg(new NodeCache(a, "/cc/ncache"));
        nc.getListenable().addListener(() -> {
            ChildData d = nc.getCurrentData();
            q.add("nodeChanged " + cd(d));
        });
        nc.start(true);
        p("  initial current data: " + cd(nc.getCurrentData()));
        w2.create().forPath("/cc/ncache", b("n1"));
        expect(q, "nodeChanged create");
        w2.setData().forPath("/cc/ncache", b("n2"));
        expect(q, "nodeChanged set");
        w2.delete().forPath("/cc/ncache");
        expect(q, "nodeChanged delete");
        noMore(q, 300);
    }

    static void persistentNode() throws Exception {
        persistentParents("/cc/pnode");
        CuratorFramework pc = client(null, 10000, null);
        CuratorFramework obs = client();
        List<String> states = new CopyOnWriteArrayList<>();
        pc.getConnectionStateListenable().addListener((cl, st) -> states.add(st.toString()));
        PersistentNode pn = reg(new PersistentNode(pc, CreateMode.EPHEMERAL, false, "/cc/pnode/member", b("hello")));
        pn.start();
        p("waitForInitialCreate: " + pn.waitForInitialCreate(WAIT_S, TimeUnit.SECONDS));
        p("actual path: " + pn.getActualPath());
        long sid = pc.getZookeeperClient().getZooKeeper().getSessionId();
        Stat st = obs.checkExists().forPath("/cc/pnode/member");
        p("exists, ephemeral owned by the recipe's session: " + (st != null && st.getEphemeralOwner() == sid));
        pn.setData(b("hello2"));
        await("data hello2", zk(() -> s(obs.getData().forPath("/cc/pnode/member")).equals("hello2")));
        p("setData seen by another client: hello2");

        // Expire the recipe's session on the server: open a second connection with the same
        // session id and password, and close it (the server closes the session, deleting the
        // node). If the first handle reconnects first and takes the session back, try again.
        boolean expired = false;
        for (int attempt = 0; attempt < 3 && !expired; attempt++) {
            ZooKeeper zk = pc.getZookeeperClient().getZooKeeper();
            long id = zk.getSessionId();
            CountDownLatch connected = new CountDownLatch(1);
            ZooKeeper other = new ZooKeeper(connect, 10000, ev -> {
                if (ev.getState() == Watcher.Event.KeeperState.SyncConnected) {
                    connected.countDown();
                }
            }, id, zk.getSessionPasswd());
            boolean ok = connected.await(WAIT_S, TimeUnit.SECONDS);
            other.close();
            if (!ok) {
                continue;
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < end) {
                Stat s2;
                try {
                    s2 = obs.checkExists().forPath("/cc/pnode/member");
                } catch (Exception e) {
                    s2 = null;
                }
                if (s2 == null || s2.getEphemeralOwner() != id) {
                    expired = true;
                    break;
                }
                Thread.sleep(50);
            }
        }
        p("session expired through a second handle: " + expired);
        await("node recreated by a new session", zk(() -> {
            Stat s3 = obs.checkExists().forPath("/cc/pnode/member");
            return s3 != null && s3.getEphemeralOwner() != sid && s3.getEphemeralOwner() != 0;
        }));
        long newSid = pc.getZookeeperClient().getZooKeeper().getSessionId();
        p("recreated after expiry, owned by the client's new session: "
                + (obs.checkExists().forPath("/cc/pnode/member").getEphemeralOwner() == newSid));
        p("data after recreation: " + s(obs.getData().forPath("/cc/pnode/member")));
        await("RECONNECTED after LOST", () -> states.contains("LOST") && states.get(states.size() - 1).equals("RECONNECTED"));
        p("connection states include LOST then end with RECONNECTED: true");
        pn.close();
        await("node gone after close", zk(() -> obs.checkExists().forPath("/cc/pnode/member") == null));
        p("node gone after close: true");
        p("parent still there: " + (obs.checkExists().forPath("/cc/pnode") != null));

        p("-- PersistentNode EPHEMERAL_SEQUENTIAL with protection");
        PersistentNode ps = reg(new PersistentNode(pc, CreateMode.EPHEMERAL_SEQUENTIAL, true, "/cc/pnode/seq-", b("s")));
        ps.start();
        p("waitForInitialCreate: " + ps.waitForInitialCreate(WAIT_S, TimeUnit.SECONDS));
        p("actual path: " + ps.getActualPath().replaceAll("_c_[0-9a-f-]{36}-", "_c_<uuid>-"));
        ps.close();
        await("sequential node gone", zk(() -> obs.getChildren().forPath("/cc/pnode").isEmpty()));
        p("sequential node gone after close: true");
    }

    static String members(GroupMember g) {
        Map<String, String> m = new TreeMap<>();
        for (Map.Entry<String, byte[]> e : g.getCurrentMembers().entrySet()) {
            m.put(e.getKey(), s(e.getValue()));
        }
        return m.toString();
    }

    static void groupMember() throws Exception {
        persistentParents("/cc/group");
        GroupMember[] g = new GroupMember[3];
        for (int i = 0; i < 3; i++) {
            g[i] = reg(new GroupMember(client(), "/cc/group", "m" + i, b("data" + i)));
            g[i].start();
        }
        await("3 members", () -> g[0].getCurrentMembers().size() == 3);
        p("members seen by m0: " + members(g[0]));
        g[1].setThisData(b("changed"));
        await("m1 data change", () -> "changed".equals(s(g[2].getCurrentMembers().get("m1"))));
        p("members seen by m2 after m1.setThisData: " + members(g[2]));
        g[2].close();
        await("2 members", () -> g[0].getCurrentMembers().size() == 2);
        p("members seen by m0 after m2 closed: " + members(g[0]));
        p("idFromPath: " + g[0].idFromPath("/cc/group/m1"));
    }

    static void persistentWatchers() throws Exception {
        CuratorFramework a = client();
        CuratorFramework w = client();
        BlockingQueue<String> q = new LinkedBlockingQueue<>();
        a.create().forPath("/cc/pw", b("pw"));
        PersistentWatcher pw = reg(new PersistentWatcher(a, "/cc/pw", true));
        CountDownLatch set = new CountDownLatch(1);
        pw.getResetListenable().addListener(set::countDown);
        pw.getListenable().addListener(ev -> q.add(ev.getType() + " " + ev.getPath()));
        pw.start();
        if (!set.await(WAIT_S, TimeUnit.SECONDS)) {
            throw new CheckFailed("timeout waiting for the recursive persistent watch to be set");
        }
        p("-- PersistentWatcher recursive on /cc/pw");
        w.create().forPath("/cc/pw/a", b("1"));
        expect(q, "NodeCreated /cc/pw/a");
        w.setData().forPath("/cc/pw/a", b("2"));
        expect(q, "NodeDataChanged /cc/pw/a");
        w.create().forPath("/cc/pw/a/b");
        expect(q, "NodeCreated /cc/pw/a/b");
        w.setData().forPath("/cc/pw", b("pw2"));
        expect(q, "NodeDataChanged /cc/pw");
        w.delete().forPath("/cc/pw/a/b");
        expect(q, "NodeDeleted /cc/pw/a/b");
        w.delete().forPath("/cc/pw/a");
        expect(q, "NodeDeleted /cc/pw/a");
        w.create().forPath("/cc/pwx");
        w.setData().forPath("/cc/pw", b("pw3"));
        expect(q, "NodeDataChanged /cc/pw (and nothing for /cc/pwx)");
        noMore(q, 300);
        pw.close();
        w.setData().forPath("/cc/pw", b("pw4"));
        noMore(q, 300);

        p("-- PersistentWatcher non-recursive on /cc/pw2");
        PersistentWatcher pw2 = reg(new PersistentWatcher(a, "/cc/pw2", false));
        CountDownLatch set2 = new CountDownLatch(1);
        pw2.getResetListenable().addListener(set2::countDown);
        pw2.getListenable().addListener(ev -> q.add(ev.getType() + " " + ev.getPath()));
        pw2.start();
        if (!set2.await(WAIT_S, TimeUnit.SECONDS)) {
            throw new CheckFailed("timeout waiting for the persistent watch to be set");
        }
        w.create().forPath("/cc/pw2", b("x"));
        expect(q, "NodeCreated /cc/pw2");
        w.create().forPath("/cc/pw2/x");
        expect(q, "NodeChildrenChanged /cc/pw2");
        w.setData().forPath("/cc/pw2/x", b("ignored"));
        w.setData().forPath("/cc/pw2", b("y"));
        expect(q, "NodeDataChanged /cc/pw2 (nothing for the child's data)");
        w.create().forPath("/cc/pw2/y");
        expect(q, "NodeChildrenChanged /cc/pw2 again");
        w.delete().deletingChildrenIfNeeded().forPath("/cc/pw2");
        List<String> del = new ArrayList<>();
        del.add(take(q, "events of deleting /cc/pw2 and children"));
        del.add(take(q, "events of deleting /cc/pw2 and children"));
        del.add(take(q, "events of deleting /cc/pw2 and children"));
        for (String e : del) {
            p("  event: " + e);
        }
        noMore(q, 300);

        p("-- watchers().add() PERSISTENT_RECURSIVE and remove");
        Watcher raw = ev -> q.add(ev.getType() + " " + ev.getPath());
        a.watchers().add().withMode(AddWatchMode.PERSISTENT_RECURSIVE).usingWatcher(raw).forPath("/cc/pw3");
        w.create().forPath("/cc/pw3");
        expect(q, "NodeCreated /cc/pw3");
        w.create().forPath("/cc/pw3/k", b("k"));
        expect(q, "NodeCreated /cc/pw3/k");
        w.setData().forPath("/cc/pw3/k", b("k2"));
        expect(q, "NodeDataChanged /cc/pw3/k");
        a.watchers().remove(raw).ofType(Watcher.WatcherType.Any).forPath("/cc/pw3");
        expect(q, "PersistentWatchRemoved");
        w.setData().forPath("/cc/pw3/k", b("k3"));
        noMore(q, 300);
        tryp("remove the same watcher again", () -> {
            a.watchers().remove(raw).ofType(Watcher.WatcherType.Any).forPath("/cc/pw3");
            return "ok";
        });
        p("-- watchers().add() PERSISTENT (plain) on an existing node");
        a.watchers().add().withMode(AddWatchMode.PERSISTENT).usingWatcher(raw).forPath("/cc/pw3/k");
        w.setData().forPath("/cc/pw3/k", b("k4"));
        expect(q, "NodeDataChanged /cc/pw3/k");
        w.setData().forPath("/cc/pw3/k", b("k5"));
        expect(q, "NodeDataChanged /cc/pw3/k again");
        w.delete().forPath("/cc/pw3/k");
        expect(q, "NodeDeleted /cc/pw3/k");
        w.create().forPath("/cc/pw3/k");
        expect(q, "NodeCreated /cc/pw3/k (the persistent watch survives deletion)");
        noMore(q, 300);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: CuratorCheck HOST:PORT");
            System.exit(2);
        }
        connect = args[0];
        long start = System.nanoTime();
        section("framework basics", CuratorCheck::basics);
        section("transactions", CuratorCheck::transactions);
        section("background callbacks and watches", CuratorCheck::background);
        section("namespaces", CuratorCheck::namespaces);
        section("TTL and container nodes", CuratorCheck::ttlAndContainers);
        section("ACLs", CuratorCheck::acl);
        section("LeaderLatch", CuratorCheck::leaderLatch);
        section("LeaderSelector", CuratorCheck::leaderSelector);
        section("InterProcessMutex", CuratorCheck::mutex);
        section("InterProcessSemaphoreV2", CuratorCheck::semaphore);
        section("InterProcessReadWriteLock", CuratorCheck::readWriteLock);
        section("queues", CuratorCheck::queues);
        section("barriers", CuratorCheck::barriers);
        section("DistributedAtomicLong and SharedCount", CuratorCheck::atomics);
        section("CuratorCache, PathChildrenCache, NodeCache", CuratorCheck::caches);
        section("PersistentNode", CuratorCheck::persistentNode);
        section("GroupMember", CuratorCheck::groupMember);
        section("PersistentWatcher and watchers()", CuratorCheck::persistentWatchers);
        System.err.println("curator-check: ran in " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");
        p("DONE");
        System.exit(0);
    }
}
