package server

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/internal/rawzk"
	"github.com/zkgo/zkgo/quorum/config"
)

// throttleClock and throttleDraws stand in for Time.currentElapsedTime and Random.nextDouble.
type throttleClock struct{ ms atomic.Int64 }

func (c *throttleClock) now() int64 { return c.ms.Load() }

type throttleDraws struct {
	mu   sync.Mutex
	next []float64 // taken first, one per draw
	rest float64   // then this, every time
	n    int       // draws made
}

func (d *throttleDraws) draw() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	if len(d.next) > 0 {
		v := d.next[0]
		d.next = d.next[1:]
		return v
	}
	return d.rest
}

func (d *throttleDraws) set(rest float64, next ...float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.next, d.rest = next, rest
}

// testThrottle is a throttle of the system properties props on a clock at 0.
func testThrottle(t *testing.T, props map[string]string) (*blueThrottle, *throttleClock, *throttleDraws) {
	t.Helper()
	cfg := config.Default()
	cfg.ApplySystemProps(props)
	bt, err := newBlueThrottle(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	clk, draws := &throttleClock{}, &throttleDraws{}
	bt.now, bt.rand = clk.now, draws.draw
	bt.reset()
	return bt, clk, draws
}

func wantLimit(t *testing.T, bt *blueThrottle, need int32, want bool, deficit int32) {
	t.Helper()
	got, err := bt.checkLimit(need)
	if err != nil {
		t.Fatal(err)
	}
	if got != want || bt.deficit() != deficit {
		t.Fatalf("checkLimit(%d) = %v with deficit %d, want %v with deficit %d", need, got, bt.deficit(), want, deficit)
	}
}

// The bucket: maxTokens to start with, fillCount tokens per fillTime once more than fillTime
// has passed since the last refill (diff*fillCount/fillTime, truncated, the rest of the
// time lost), capped at maxTokens.
func TestBlueThrottleBucket(t *testing.T) {
	bt, clk, draws := testThrottle(t, map[string]string{
		"zookeeper.connection_throttle_tokens":     "3",
		"zookeeper.connection_throttle_fill_time":  "10",
		"zookeeper.connection_throttle_fill_count": "2",
	})
	clk.ms.Store(1000) // refilled to at most 3 (it was full); the last refill is now at 1000
	wantLimit(t, bt, 1, true, 1)
	wantLimit(t, bt, 1, true, 2)
	wantLimit(t, bt, 1, true, 3)
	wantLimit(t, bt, 1, false, 3)
	clk.ms.Store(1010) // 10 since: not more than the fill time, no refill
	wantLimit(t, bt, 1, false, 3)
	clk.ms.Store(1011) // 11: 11*2/10 = 2
	wantLimit(t, bt, 1, true, 2)
	wantLimit(t, bt, 1, true, 3)
	wantLimit(t, bt, 1, false, 3)
	clk.ms.Store(1025) // 14: 28/10 = 2, the rest lost
	wantLimit(t, bt, 2, true, 3)
	wantLimit(t, bt, 2, false, 3)
	clk.ms.Store(1035) // 10: nothing (with the rest kept there would be a token)
	wantLimit(t, bt, 1, false, 3)
	clk.ms.Store(1036)            // 11: 2
	wantLimit(t, bt, 3, false, 1) // not enough: nothing taken
	wantLimit(t, bt, 2, true, 3)
	clk.ms.Store(1 << 40) // capped at 3
	wantLimit(t, bt, 1, true, 1)
	if draws.n != 0 {
		t.Fatalf("%d random draws without a freeze time, want none", draws.n)
	}

	// tokens 0 (the default) lets everything through.
	off, _, _ := testThrottle(t, nil)
	for range 5 {
		wantLimit(t, off, 1000, true, 0)
	}
	// A fill time of 0 makes ZooKeeper's refill divide by zero once a millisecond passed.
	zero, clk, _ := testThrottle(t, map[string]string{
		"zookeeper.connection_throttle_tokens":    "2",
		"zookeeper.connection_throttle_fill_time": "0",
	})
	wantLimit(t, zero, 1, true, 1)
	clk.ms.Store(1)
	if ok, err := zero.checkLimit(1); ok || err != errThrottleFillTime {
		t.Fatalf("fill time 0: checkLimit = %v, %v; want false, errThrottleFillTime", ok, err)
	}
}

// The random early drop (checkBlue), with a freeze time: at most once per freeze time, the
// drop probability rises by dropIncrease (capped at 1) if the bucket is empty, else falls by
// dropDecrease (not below 0) if the deficit is at most round(maxTokens*decreasePoint); a
// draw below it refuses before the bucket is looked at.
func TestBlueThrottleDropProbability(t *testing.T) {
	bt, clk, draws := testThrottle(t, map[string]string{
		"zookeeper.connection_throttle_tokens":         "4",
		"zookeeper.connection_throttle_fill_time":      "1000",
		"zookeeper.connection_throttle_fill_count":     "1",
		"zookeeper.connection_throttle_freeze_time":    "100",
		"zookeeper.connection_throttle_drop_increase":  "0.375",
		"zookeeper.connection_throttle_drop_decrease":  "0.25",
		"zookeeper.connection_throttle_decrease_ratio": "0.375", // round(1.5) = 2 tokens
	})
	wantDrop := func(want float64) {
		t.Helper()
		if got := bt.dropChance(); got != want {
			t.Fatalf("drop probability %v, want %v", got, want)
		}
	}
	draws.set(0.3)
	for i := range int32(4) {
		wantLimit(t, bt, 1, true, i+1)
	}
	clk.ms.Store(100) // not more than the freeze time since 0: unchanged
	wantLimit(t, bt, 1, false, 4)
	wantDrop(0)
	clk.ms.Store(101) // empty: 0 + 0.375
	wantLimit(t, bt, 1, false, 4)
	wantDrop(0.375)
	clk.ms.Store(202) // empty: 0.75; the draw of 0.3 drops
	wantLimit(t, bt, 1, false, 4)
	wantDrop(0.75)
	clk.ms.Store(303) // empty: min(1.125, 1)
	wantLimit(t, bt, 1, false, 4)
	wantDrop(1)
	clk.ms.Store(1000) // no refill yet (1000 is not more than the fill time)
	wantLimit(t, bt, 1, false, 4)
	wantDrop(1) // at 1: no increase, and the bucket is empty

	clk.ms.Store(1101) // a refill of 1 (at 1101); deficit 3 is above 2: unchanged
	draws.set(0.99)
	wantLimit(t, bt, 1, false, 3) // dropped, though a token was there: not taken
	wantDrop(1)
	clk.ms.Store(3101) // 2 more: deficit 1 <= 2, 1 - 0.25; the draw of 0.99 passes
	wantLimit(t, bt, 1, true, 2)
	wantDrop(0.75)
	clk.ms.Store(3202) // deficit 2 <= 2: 0.5; a draw of 0.5 is not below it
	draws.set(0.5)
	wantLimit(t, bt, 1, true, 3)
	wantDrop(0.5)
	clk.ms.Store(3303) // deficit 3: unchanged; a draw of 0.49 drops
	draws.set(0.49)
	wantLimit(t, bt, 1, false, 3)
	wantDrop(0.5)
	clk.ms.Store(6101) // 3000 since the last refill: full again, 0.25
	draws.set(0.99)
	wantLimit(t, bt, 1, true, 1)
	wantDrop(0.25)
	clk.ms.Store(6202) // 0, and no lower
	wantLimit(t, bt, 1, true, 2)
	wantDrop(0)
	clk.ms.Store(6303)
	wantLimit(t, bt, 1, true, 3)
	wantDrop(0)
	if draws.n != 16 {
		t.Fatalf("%d random draws, want one per check (16)", draws.n)
	}
}

// connection_throttle_weight_enabled: a new global session draws the global weight, a new
// local one the local weight, a resumed one the renew weight, and the tokens and fill count
// given count global sessions; weights are checked as BlueThrottle's static block does.
func TestBlueThrottleWeights(t *testing.T) {
	bt, _, _ := testThrottle(t, map[string]string{
		"zookeeper.connection_throttle_tokens":         "2",
		"zookeeper.connection_throttle_fill_count":     "5",
		"zookeeper.connection_throttle_weight_enabled": "true",
	})
	if bt.maxTokens != 6 || bt.fillCount != 15 {
		t.Fatalf("weighted: %d tokens, fill count %d; want 6 and 15 (times the global weight 3)", bt.maxTokens, bt.fillCount)
	}
	for _, c := range []struct {
		session int64
		local   bool
		want    int32
	}{{0, false, 3}, {0, true, 1}, {0x1234, false, 2}, {0x1234, true, 2}} {
		if got := bt.need(c.session, c.local); got != c.want {
			t.Errorf("need(0x%x, local %v) = %d, want %d", c.session, c.local, got, c.want)
		}
	}
	wantLimit(t, bt, bt.need(0, false), true, 3)
	wantLimit(t, bt, bt.need(1, false), true, 5)
	wantLimit(t, bt, bt.need(0, false), false, 5)
	wantLimit(t, bt, bt.need(0, true), true, 6)

	unweighted, _, _ := testThrottle(t, map[string]string{
		"zookeeper.connection_throttle_tokens":                "2",
		"zookeeper.connection_throttle_global_session_weight": "7",
	})
	if unweighted.maxTokens != 2 || unweighted.need(0, false) != 1 || unweighted.need(1, false) != 1 {
		t.Fatalf("weights off: %d tokens, needs %d/%d; want 2 and 1/1", unweighted.maxTokens, unweighted.need(0, false), unweighted.need(1, false))
	}

	for _, c := range []struct {
		global, local, renew string
		wantG, wantL, wantR  int32
	}{
		{"0", "1", "2", 3, 1, 2},     // global not positive: 3
		{"2", "4", "3", 4, 4, 4},     // below the local weight: the local one
		{"3", "-1", "0", 3, 1, 2},    // local not positive: 1 (the others are compared with -1)
		{"5", "2", "1", 5, 2, 2},     // renew below local
		{"x", "0x2", "010", 3, 2, 8}, // Integer.getInteger: malformed is the default, 0x and 0 prefixes decode
	} {
		bt, _, _ := testThrottle(t, map[string]string{
			"zookeeper.connection_throttle_weight_enabled":        "TRUE",
			"zookeeper.connection_throttle_global_session_weight": c.global,
			"zookeeper.connection_throttle_local_session_weight":  c.local,
			"zookeeper.connection_throttle_renew_session_weight":  c.renew,
		})
		if bt.globalWeight != c.wantG || bt.localWeight != c.wantL || bt.renewWeight != c.wantR {
			t.Errorf("weights %s/%s/%s: %d/%d/%d, want %d/%d/%d", c.global, c.local, c.renew,
				bt.globalWeight, bt.localWeight, bt.renewWeight, c.wantG, c.wantL, c.wantR)
		}
	}
}

// The drop settings are Double.parseDouble: a type suffix is allowed, and a value that does
// not parse stops the server (BlueThrottle's static block throws).
func TestBlueThrottleSettings(t *testing.T) {
	bt, _, _ := testThrottle(t, nil)
	if bt.maxTokens != 0 || bt.fillTime != 1 || bt.fillCount != 1 || bt.freezeTime != -1 ||
		bt.dropIncrease != 0.02 || bt.dropDecrease != 0.002 || bt.decreasePoint != 0 || bt.weighted {
		t.Fatalf("defaults: %+v", bt)
	}
	bt, _, _ = testThrottle(t, map[string]string{"zookeeper.connection_throttle_drop_increase": " 0.5d "})
	if bt.dropIncrease != 0.5 {
		t.Fatalf("drop increase %v, want 0.5", bt.dropIncrease)
	}
	cfg := testConfig(t, t.TempDir(), map[string]string{"zookeeper.connection_throttle_decrease_ratio": "half"})
	if _, err := New(cfg, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "connection_throttle_decrease_ratio") {
		t.Fatalf("New with a decrease ratio of \"half\": %v, want an error naming it", err)
	}
	for _, c := range []struct {
		x    float64
		want int64
	}{{1.5, 2}, {2.5, 3}, {-2.5, -2}, {-2.6, -3}, {0.49999999999999994, 0}, {math.NaN(), 0},
		{math.Inf(1), math.MaxInt64}, {math.Inf(-1), math.MinInt64}} {
		if got := javaRound(c.x); got != c.want {
			t.Errorf("javaRound(%v) = %d, want %d", c.x, got, c.want)
		}
	}
}

// A server with two tokens admits two connects, then closes the next ones unanswered and
// counts them in connection_rejected (not in connection_request_count), until the bucket
// refills; four-letter words are not throttled. mntr shows the drop probability and the
// deficits of admitted connects.
func TestConnectionThrottle(t *testing.T) {
	clk, draws := &throttleClock{}, &throttleDraws{}
	draws.set(0.99)
	s, addr := startServerWith(t, map[string]string{
		"zookeeper.connection_throttle_tokens":        "2",
		"zookeeper.connection_throttle_fill_time":     "1000",
		"zookeeper.connection_throttle_fill_count":    "1",
		"zookeeper.connection_throttle_freeze_time":   "100",
		"zookeeper.connection_throttle_drop_increase": "0.25",
		"zookeeper.4lw.commands.whitelist":            "mntr",
	}, func(s *Server) { s.connThrottle.now, s.connThrottle.rand = clk.now, draws.draw })

	a := rawSession(t, addr, rawzk.ConnectOptions{})
	rawSession(t, addr, rawzk.ConnectOptions{})
	refused := func() {
		t.Helper()
		if c, err := rawzk.Dial(addr, rawzk.ConnectOptions{}); err == nil {
			c.Close()
			t.Fatal("a connect beyond the bucket was answered")
		} else if !strings.Contains(err.Error(), "EOF") {
			t.Fatalf("a connect beyond the bucket: %v, want the connection closed", err)
		}
	}
	refused()
	// A resumed session draws from the bucket too.
	if _, err := rawzk.Dial(addr, rawzk.ConnectOptions{SessionID: a.SessionID(), Passwd: a.Passwd()}); err == nil {
		t.Fatal("a resume beyond the bucket was answered")
	}
	wantCount(t, s, ConnectionRejected, 2)
	wantCount(t, s, ConnectionRequestCount, 2)
	if got := mntrLine(t, addr, "zk_connection_rejected"); got != "2" {
		t.Fatalf("zk_connection_rejected %s, want 2", got)
	}
	clk.ms.Store(101) // the bucket empty for more than the freeze time
	refused()
	if got := mntrLine(t, addr, "zk_connection_drop_probability"); got != "0.25" {
		t.Fatalf("zk_connection_drop_probability %s, want 0.25", got)
	}
	clk.ms.Store(1001) // one token back
	rawSession(t, addr, rawzk.ConnectOptions{})
	refused()
	wantCount(t, s, ConnectionRejected, 4)
	wantCount(t, s, ConnectionRequestCount, 3)
	wantObserved(t, s, ConnectionTokenDeficit, 3, 1+2+2)
	if got := mntrLine(t, addr, "zk_max_connection_token_deficit"); got != "2" {
		t.Fatalf("zk_max_connection_token_deficit %s, want 2", got)
	}
	wantCount(t, s, ConnectionDropCount, 0)
}

// Each role of an ensemble member starts with a full bucket and no drop probability, as
// ZooKeeper makes a new ZooKeeperServer, and with it a new BlueThrottle, for each role.
func TestConnectionThrottleNewRole(t *testing.T) {
	clk := &throttleClock{}
	_, s, addr := startHeldLeader(t, map[string]string{"zookeeper.connection_throttle_tokens": "1"}, func(s *Server) {
		s.connThrottle.now = clk.now
	})
	rawSession(t, addr, rawzk.ConnectOptions{})
	if _, err := rawzk.Dial(addr, rawzk.ConnectOptions{}); err == nil {
		t.Fatal("a second connect with one token was answered")
	}
	s.StopServing()
	s.BecomeLeader(0)
	rawSession(t, addr, rawzk.ConnectOptions{})
	wantCount(t, s, ConnectionRejected, 1)
}
