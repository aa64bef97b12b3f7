// Package difftest applies seeded random operation sequences to zkgo and to a real Apache
// ZooKeeper 3.8 and requires the same results, frame by frame.
//
//	go test ./internal/difftest/                       # default seeds (about a minute)
//	DIFFTEST_SEEDS=200 go test ./internal/difftest/    # more seeds
//	DIFFTEST_SEED=17 go test -v ./internal/difftest/   # one seed, with its full op list
//	DIFFTEST_STEPS=300                                  # steps per seed (default 120)
//	DIFFTEST_TRACE=1    log every step's reference transcript
//	DIFFTEST_PROBE=1    read the seed root after every step (localises hidden-state drift)
//	DIFFTEST_DROP=3,9   skip those steps of the seed (to shrink a reproduction)
//
// Each seed works under its own root /r<seed> with three sessions (slot 0 authenticated as
// digest alice:secret), so seeds share the two servers but not their data. After every step
// each other open connection is pinged, so the notifications a step caused have arrived
// everywhere before the step's transcript is compared. Compared per step and per connection
// in arrival order: reply xid, error code, op-specific body (children and getEphemerals
// sorted; Stat with zxids as per-server ordinals of first appearance, ephemeralOwner as the
// session slot, times only as "set and mtime >= ctime"), watch notifications (type, state,
// path; the notification zxid is a known 3.8/3.9 difference and is ignored), handshakes and
// connection closes.
package difftest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/internal/zktest"
	"github.com/zkgo/zkgo/jute"
	"github.com/zkgo/zkgo/quorum/config"
	"github.com/zkgo/zkgo/server"
)

// sysProps are the Java system properties both servers run with. The container check is
// pushed out of the test's lifetime because its timing is not deterministic.
var sysProps = map[string]string{
	"zookeeper.extendedTypesEnabled":   "true",
	"zookeeper.4lw.commands.whitelist": "*",
	"znode.container.checkIntervalMs":  "3600000",
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil {
			return n
		}
	}
	return def
}

func startApache(t *testing.T) string {
	t.Helper()
	// zktest passes ZKTEST_JVMFLAGS to the JVM instead of its defaults; -D flags are the only
	// way to set these (zoo.cfg keys would become zookeeper.<key>).
	flags := "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
	if f := os.Getenv("ZKTEST_JVMFLAGS"); f != "" {
		flags = f
	}
	for k, v := range sysProps {
		flags += " -D" + k + "=" + v
	}
	t.Setenv("ZKTEST_JVMFLAGS", flags)
	return zktest.StartApache(t)
}

func startZkgo(t *testing.T) string {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		// Validate rejects clientPort 0 ("clientPort is not set"), so take a free port.
		cfg.ClientPort = zktest.FreePort(t)
		cfg.ClientPortAddress = "127.0.0.1"
		cfg.ApplySystemProps(map[string]string{"zookeeper.admin.enableServer": "false"}) // tests must not fight over port 8080
		cfg.ApplySystemProps(sysProps)
		if err := cfg.Validate(); err != nil {
			t.Fatalf("zkgo config: %v", err)
		}
		srv, err := server.New(cfg, zerolog.Nop())
		if err != nil {
			t.Fatalf("zkgo: %v", err)
		}
		if err := srv.Start(); err != nil {
			lastErr = err
			continue
		}
		t.Cleanup(func() {
			// Every txn was logged with the digest prep computed; apply must agree.
			if n := srv.DigestMismatches(); n != 0 {
				t.Errorf("zkgo: %d transactions applied with a tree digest different from the prepared one", n)
			}
			_ = srv.Close()
		})
		return srv.Addr().String()
	}
	t.Fatalf("zkgo start: %v", lastErr)
	return ""
}

func TestDifferential(t *testing.T) {
	apacheAddr := startApache(t)
	zkgoAddr := startZkgo(t)

	seeds := envInt("DIFFTEST_SEEDS", 40)
	first := 1
	if s := envInt("DIFFTEST_SEED", 0); s != 0 {
		first, seeds = s, 1
	}
	steps := envInt("DIFFTEST_STEPS", 120)
	// Stop starting new seeds after the budget (default 45 s) unless DIFFTEST_SEEDS is set.
	budget := time.Duration(envInt("DIFFTEST_BUDGET_S", 45)) * time.Second
	if os.Getenv("DIFFTEST_SEEDS") != "" && os.Getenv("DIFFTEST_BUDGET_S") == "" {
		budget = 0
	}

	start := time.Now()
	failed := 0
	ran := 0
	for seed := first; seed < first+seeds; seed++ {
		if budget > 0 && time.Since(start) > budget {
			t.Logf("time budget reached after %d seeds", ran)
			break
		}
		ran++
		if !runSeed(t, int64(seed), steps, apacheAddr, zkgoAddr) {
			failed++
		}
	}
	t.Logf("%d seeds x %d steps in %v, %d diverged", ran, steps, time.Since(start).Round(time.Millisecond), failed)
}

// runSeed runs one sequence; it reports the first divergence with t.Errorf and returns false.
func runSeed(t *testing.T, seed int64, steps int, apacheAddr, zkgoAddr string) bool {
	t.Helper()
	root := fmt.Sprintf("/r%d", seed)
	ref := newTarget("apache", apacheAddr)
	our := newTarget("zkgo", zkgoAddr)
	defer ref.closeAll()
	defer our.closeAll()
	g := newGen(seed, root)
	var history []string
	trace := os.Getenv("DIFFTEST_TRACE") != ""
	probe := os.Getenv("DIFFTEST_PROBE") != ""
	// DIFFTEST_DROP=3,7 skips those steps (still generated, not run): to shrink a reproduction.
	dropped := map[int]bool{}
	for _, f := range strings.Split(os.Getenv("DIFFTEST_DROP"), ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			dropped[n] = true
		}
	}

	both := func(f func(*target) error) (err1, err2 error) {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); err1 = f(ref) }()
		go func() { defer wg.Done(); err2 = f(our) }()
		wg.Wait()
		return
	}
	compare := func(stepNo int, desc string) bool {
		history = append(history, fmt.Sprintf("%3d %s", stepNo, desc))
		if trace {
			t.Logf("step %d: %s\n%s", stepNo, desc, indent(ref.lines))
		}
		if eq(ref.lines, our.lines) {
			return true
		}
		a, b := firstDiff(ref.lines, our.lines)
		h := history
		if len(h) > 40 && os.Getenv("DIFFTEST_SEED") == "" {
			h = append([]string{"  ... (DIFFTEST_SEED=" + strconv.FormatInt(seed, 10) + " for all steps)"}, h[len(h)-40:]...)
		}
		t.Errorf("seed %d: first divergence at step %d: %s\n--- first differing line:\n    apache: %s\n    zkgo:   %s\n--- steps:\n%s\n--- apache:\n%s\n--- zkgo:\n%s",
			seed, stepNo, desc, a, b, strings.Join(h, "\n"), indent(ref.lines), indent(our.lines))
		return false
	}

	// Setup: three sessions (s1 without the readOnly byte), s0 authenticated, the seed root.
	e1, e2 := both(func(tg *target) error {
		tg.lines = nil
		for i := 0; i < nSlots; i++ {
			if err := tg.connect(i, false, i == 1); err != nil {
				return err
			}
		}
		if err := tg.call(0, jute.OpAuth, rawzk.AuthBody("digest", []byte("alice:secret"))); err != nil {
			return err
		}
		for _, p := range []string{root} {
			if err := tg.call(0, jute.OpCreate, rawzk.CreateBody(p, []byte("root"), aclChoices[0].acl, 0)); err != nil {
				return err
			}
		}
		return tg.barrier(0)
	})
	if e1 != nil || e2 != nil {
		t.Fatalf("seed %d setup: apache: %v; zkgo: %v", seed, e1, e2)
	}
	if !compare(0, "setup: connect s0,s1(no readOnly byte),s2; s0 auth digest alice:secret; s0 create "+root) {
		return false
	}

	for n := 1; n <= steps; n++ {
		st := g.next()
		if dropped[n] {
			continue
		}
		e1, e2 := both(st.run)
		if probe && e1 == nil && e2 == nil {
			// DIFFTEST_PROBE=1: after every step read the seed root's Stat and children, so a
			// divergence in hidden state shows up at the step that caused it.
			e1, e2 = both(func(tg *target) error {
				for i, s := range tg.slots {
					if s.up && s.conn != nil && !s.conn.IsClosed() {
						if err := tg.call(i, jute.OpGetChildren2, rawzk.PathWatchBody(root, false)); err != nil {
							return err
						}
						tg.collect(i)
						break
					}
				}
				return nil
			})
		}
		if e1 != nil {
			t.Fatalf("seed %d step %d (%s): reference server: %v", seed, n, st, e1)
		}
		if e2 != nil {
			our.lines = append(our.lines, "ERROR "+e2.Error())
		}
		if !compare(n, st.String()) {
			return false
		}
		g.observe(st, ref)
	}

	// Teardown: close every session (ephemerals go, watches fire) and compare that too.
	for i := 0; i < nSlots; i++ {
		if !g.up[i] {
			st := step{kind: kReconnect, slot: i}
			both(st.run)
			if !compare(steps+1+i, st.String()) {
				return false
			}
		}
	}
	for i := 0; i < nSlots; i++ {
		e1, e2 := both(func(tg *target) error {
			tg.lines = nil
			if err := tg.call(i, jute.OpCloseSession, nil); err != nil {
				return err
			}
			tg.slots[i].conn.WaitClosed(closeTimeout)
			tg.slots[i].up = false
			tg.slots[i].sessionID = 0 // closed: closeAll has nothing left to end
			return tg.barrier(i)
		})
		if e1 != nil {
			t.Fatalf("seed %d teardown: reference server: %v", seed, e1)
		}
		if e2 != nil {
			our.lines = append(our.lines, "ERROR "+e2.Error())
		}
		if !compare(steps+10+i, fmt.Sprintf("teardown: s%d closeSession", i)) {
			return false
		}
	}
	if os.Getenv("DIFFTEST_SEED") != "" {
		t.Logf("seed %d steps:\n%s", seed, strings.Join(history, "\n"))
	}
	return true
}

func eq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func indent(lines []string) string {
	if len(lines) == 0 {
		return "    (nothing)"
	}
	return "    " + strings.Join(lines, "\n    ")
}

// firstDiff returns the first pair of differing transcript lines.
func firstDiff(a, b []string) (string, string) {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string = "(none)", "(none)"
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x, y
		}
	}
	return "", ""
}
