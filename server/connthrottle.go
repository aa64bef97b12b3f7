package server

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/zkgo/zkgo/quorum/config"
)

// blueThrottle is ZooKeeper's connection throttler (BlueThrottle, zookeeper.connection_throttle_*):
// a token bucket that every ConnectRequest draws from, plus, with a freeze time, a random
// early drop whose probability rises while the bucket is empty and falls while it is
// nearly full (the BLUE queue-management algorithm). Its arithmetic is Java's: int fields
// that wrap, long times in milliseconds.
type blueThrottle struct {
	mu sync.Mutex

	maxTokens, fillTime, fillCount, tokens int32
	lastTime                               int64

	freezeTime                                      int32
	lastFreeze                                      int64
	dropIncrease, dropDecrease, decreasePoint, drop float64

	// weighted (connection_throttle_weight_enabled): a connect draws the weight of its
	// kind of session instead of 1.
	weighted                               bool
	globalWeight, localWeight, renewWeight int32

	now  func() int64   // milliseconds of a monotonic clock (Time.currentElapsedTime)
	rand func() float64 // uniform in [0, 1) (Random.nextDouble)
}

// errThrottleFillTime stands for the ArithmeticException BlueThrottle.checkLimit throws when
// it divides by a fill time of 0; ZooKeeper's worker then closes the connection without
// counting it as rejected.
var errThrottleFillTime = errors.New("zookeeper.connection_throttle_fill_time is 0: cannot refill the bucket (division by zero)")

// monoEpoch anchors the throttle's default clock: Go's monotonic reading, as nanoTime.
var monoEpoch = time.Now()

// newBlueThrottle reads the settings as BlueThrottle's static initializer does: with weights
// on, the tokens and fill count given are taken as global sessions and multiplied by the
// global weight. A drop setting that does not parse is an error (parseDouble throws there,
// and the server does not start).
func newBlueThrottle(cfg *config.Config, log zerolog.Logger) (*blueThrottle, error) {
	t := &blueThrottle{
		weighted:   cfg.PropBool("zookeeper.connection_throttle_weight_enabled"),
		fillTime:   int32(cfg.PropInt("zookeeper.connection_throttle_fill_time", 1)),
		freezeTime: int32(cfg.PropInt("zookeeper.connection_throttle_freeze_time", -1)),
		now:        func() int64 { return time.Since(monoEpoch).Milliseconds() },
		rand:       rand.Float64,
	}
	tokens := int32(cfg.PropInt("zookeeper.connection_throttle_tokens", 0))
	fillCount := int32(cfg.PropInt("zookeeper.connection_throttle_fill_count", 1))
	global := int32(cfg.PropInt("zookeeper.connection_throttle_global_session_weight", 3))
	local := int32(cfg.PropInt("zookeeper.connection_throttle_local_session_weight", 1))
	renew := int32(cfg.PropInt("zookeeper.connection_throttle_renew_session_weight", 2))
	// In BlueThrottle's order: the local weight as given (even when invalid) bounds the others.
	bounded := func(name string, w, def int32) int32 {
		switch {
		case w <= 0:
			log.Warn().Int32("weight", w).Msgf("invalid %s: it should be larger than 0; using %d", name, def)
			return def
		case w < local:
			log.Warn().Int32("weight", w).Int32("local", local).Msgf("%s is less than the local session weight; using the local one", name)
			return local
		}
		return w
	}
	t.globalWeight = bounded("connection_throttle_global_session_weight", global, 3)
	if local <= 0 {
		log.Warn().Int32("weight", local).Msg("invalid connection_throttle_local_session_weight: it should be larger than 0; using 1")
		t.localWeight = 1
	} else {
		t.localWeight = local
	}
	t.renewWeight = bounded("connection_throttle_renew_session_weight", renew, 2)
	if t.weighted {
		tokens *= t.globalWeight
		fillCount *= t.globalWeight
	}
	t.maxTokens, t.fillCount = tokens, fillCount
	for _, d := range []struct {
		key string
		def float64
		to  *float64
	}{
		{"zookeeper.connection_throttle_drop_increase", 0.02, &t.dropIncrease},
		{"zookeeper.connection_throttle_drop_decrease", 0.002, &t.dropDecrease},
		{"zookeeper.connection_throttle_decrease_ratio", 0, &t.decreasePoint},
	} {
		v, err := cfg.PropDouble(d.key, d.def)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.key, err)
		}
		*d.to = v
	}
	if t.maxTokens != 0 {
		log.Info().Int32("tokens", t.maxTokens).Int32("fillTime", t.fillTime).Int32("fillCount", t.fillCount).
			Int32("freezeTime", t.freezeTime).Bool("weighted", t.weighted).Msg("connection throttle on")
	}
	t.reset()
	return t, nil
}

// reset gives the throttle the state of a new BlueThrottle: ZooKeeper makes one with each
// ZooKeeperServer, so each role of an ensemble member starts with a full bucket.
func (t *blueThrottle) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.tokens, t.lastTime = t.maxTokens, now
	t.lastFreeze, t.drop = now, 0
}

// need is the tokens a ConnectRequest draws (ZooKeeperServer.processConnectRequest): 1, or
// with weights on that of a new local or global session or of a resumed one.
func (t *blueThrottle) need(sessionID int64, localSessions bool) int32 {
	switch {
	case !t.weighted:
		return 1
	case sessionID != 0:
		return t.renewWeight
	case localSessions:
		return t.localWeight
	default:
		return t.globalWeight
	}
}

// checkLimit is BlueThrottle.checkLimit: refill the bucket for the time passed, let the
// random early drop refuse, then take need tokens if there are as many.
func (t *blueThrottle) checkLimit(need int32) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.maxTokens == 0 {
		return true, nil
	}
	now := t.now()
	if diff := now - t.lastTime; diff > int64(t.fillTime) {
		if t.fillTime == 0 {
			return false, errThrottleFillTime
		}
		refill := int32(diff * int64(t.fillCount) / int64(t.fillTime))
		t.tokens = min(t.tokens+refill, t.maxTokens)
		t.lastTime = now
	}
	if t.freezeTime != -1 && !t.checkBlue(now) {
		return false, nil
	}
	if t.tokens < need {
		return false, nil
	}
	t.tokens -= need
	return true, nil
}

// checkBlue is BlueThrottle.checkBlue: at most once per freeze time, the drop probability
// rises while the bucket is empty and falls while its deficit is at most decreasePoint of
// it; then a draw decides. t.mu is held.
func (t *blueThrottle) checkBlue(now int64) bool {
	length := t.maxTokens - t.tokens
	threshold := javaRound(float64(t.maxTokens) * t.decreasePoint)
	if now-t.lastFreeze > int64(t.freezeTime) {
		if length == t.maxTokens && t.drop < 1 {
			t.drop = min(t.drop+t.dropIncrease, 1)
		} else if int64(length) <= threshold && t.drop > 0 {
			t.drop = max(t.drop-t.dropDecrease, 0)
		}
		t.lastFreeze = now
	}
	return !(t.rand() < t.drop)
}

func (t *blueThrottle) deficit() int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.maxTokens - t.tokens
}

// dropChance is the mntr gauge connection_drop_probability.
func (t *blueThrottle) dropChance() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.drop
}

// javaRound is Math.round(double): the nearest long, halves up, NaN 0, saturating.
func javaRound(x float64) int64 {
	if math.IsNaN(x) {
		return 0
	}
	r := math.Floor(x)
	if x-r >= 0.5 {
		r++
	}
	switch {
	case r >= math.MaxInt64:
		return math.MaxInt64
	case r <= math.MinInt64:
		return math.MinInt64
	}
	return int64(r)
}

// admitConnect is the throttle's check in ZooKeeperServer.processConnectRequest, once the
// ConnectRequest is read and before anything else is done with it. A throttled connection is
// closed unanswered (the client sees its socket close and tries again, as after a lost
// connection) and counted in connection_rejected (NIOServerCnxn.doIO); an admitted one is
// counted in connection_request_count, and the bucket's deficit observed.
func (s *Server) admitConnect(c *conn, sessionID int64) bool {
	ok, err := s.connThrottle.checkLimit(s.connThrottle.need(sessionID, s.localSessions))
	switch {
	case err != nil:
		s.log.Warn().Str("client", c.remote).Err(err).Msg("closing connection")
		return false
	case !ok:
		s.Count(ConnectionRejected, 1)
		s.log.Warn().Str("client", c.remote).Msg("connection throttled (zookeeper.connection_throttle_*); closing")
		return false
	}
	s.Observe(ConnectionTokenDeficit, int64(s.connThrottle.deficit()))
	s.Count(ConnectionRequestCount, 1)
	return true
}
