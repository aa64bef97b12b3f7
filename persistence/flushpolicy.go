package persistence

import "time"

// FlushPolicy is how long a log sync waits for more txns to share it, as ZooKeeper's
// SyncRequestProcessor batches its flushes (zookeeper.flushDelay, maxWriteQueuePollTime,
// maxBatchSize). The zero policy never waits: a sync takes whatever is waiting when it
// starts (group commit), ZooKeeper's behaviour with its default flushDelay of 0.
type FlushPolicy struct {
	// Delay (flushDelay): a sync waits for more txns until this long after the previous
	// one ended.
	Delay time.Duration
	// Poll (maxWriteQueuePollTime, by default Delay/3): it goes ahead once none came for
	// this long.
	Poll time.Duration
	// MaxBatch (maxBatchSize): or once this many are waiting; 0: no bound.
	MaxBatch int
}

// Hold blocks while a sync whose predecessor ended at last should wait for more txns;
// pending reports how many wait now, or -1 to end the wait (the caller is stopping). It looks every millisecond, so that a batch that
// reaches MaxBatch or a poll time without a new txn ends the wait about as soon as a
// blocking poll of ZooKeeper's queue would.
func (f FlushPolicy) Hold(last time.Time, pending func() int) {
	if f.Delay <= 0 {
		return
	}
	n, changed := pending(), time.Now()
	for f.MaxBatch <= 0 || n < f.MaxBatch {
		now := time.Now()
		if now.Sub(last) >= f.Delay || now.Sub(changed) >= f.Poll {
			return // the delay is over, or nothing came for a poll time
		}
		time.Sleep(time.Millisecond)
		m := pending()
		if m < 0 {
			return
		}
		if m != n {
			n, changed = m, time.Now()
		}
	}
}
