package workload

import (
	"fmt"
	"math"
	"time"
)

// Stats is what the writers did. Latency is per statement as the
// application sees it: from first attempt to success, retries included.
type Stats struct {
	Inserts, Updates, Deletes, KeyUpdates int64
	// Retries counts attempts repeated after a deadlock, a lock wait timeout,
	// a statement that needed re-preparing, or a connection found dead
	// before the statement was sent.
	Retries int64
	// Deadlocks and LockWaits count the attempts the server refused with
	// ER_LOCK_DEADLOCK (1213) and ER_LOCK_WAIT_TIMEOUT (1205), before they
	// were retried: each is a time the application lost to someone else's
	// locks, which a migration must never cause.
	Deadlocks, LockWaits int64
	// Replayed counts statements sent again after their connection died
	// under them (Options.RideOut): each may have committed the first time.
	Replayed             int64
	P50, P99, MaxLatency time.Duration
	latencies            histogram
}

// Statements is the number of statements that succeeded.
func (s Stats) Statements() int64 { return s.Inserts + s.Updates + s.Deletes + s.KeyUpdates }

// Locks is the writers' account of lock conflicts, as a test logs it.
func (s Stats) Locks() string {
	return fmt.Sprintf("writers: %d statements, %d deadlocks, %d lock-wait timeouts", s.Statements(), s.Deadlocks, s.LockWaits)
}

// NoLockConflicts is nil when no statement of the writers met a deadlock
// or a lock wait timeout, and says how many did otherwise.
func (s Stats) NoLockConflicts() error {
	if s.Deadlocks == 0 && s.LockWaits == 0 {
		return nil
	}
	return fmt.Errorf("the application lost statements to locks: %s", s.Locks())
}

func (s Stats) String() string {
	if s.Replayed > 0 {
		return fmt.Sprintf("%d replayed after a lost connection, ", s.Replayed) + s.string()
	}
	return s.string()
}

func (s Stats) string() string {
	return fmt.Sprintf("%d inserts, %d updates, %d deletes, %d key updates, %d retries (%d deadlocks, %d lock-wait timeouts); latency p50 %v, p99 %v, max %v",
		s.Inserts, s.Updates, s.Deletes, s.KeyUpdates, s.Retries, s.Deadlocks, s.LockWaits,
		s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond), s.MaxLatency.Round(time.Microsecond))
}

func (s *Stats) add(o Stats) {
	s.Inserts += o.Inserts
	s.Updates += o.Updates
	s.Deletes += o.Deletes
	s.KeyUpdates += o.KeyUpdates
	s.Retries += o.Retries
	s.Deadlocks += o.Deadlocks
	s.LockWaits += o.LockWaits
	s.Replayed += o.Replayed
	s.latencies.merge(&o.latencies)
	s.P50, s.P99, s.MaxLatency = s.latencies.quantile(0.50), s.latencies.quantile(0.99), s.latencies.max
}

// histogram keeps latencies in buckets eight to a power of two (each about
// 9% wide) from 1µs to well beyond an hour, so a long run costs no memory.
type histogram struct {
	counts [300]int64
	n      int64
	max    time.Duration
}

func bucket(d time.Duration) int {
	us := float64(max(d, time.Microsecond)) / float64(time.Microsecond)
	return min(int(math.Log2(us)*8), len(histogram{}.counts)-1)
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucket(d)]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the upper bound of the bucket holding quantile q, never above the maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			upper := time.Duration(math.Exp2(float64(i+1)/8) * float64(time.Microsecond))
			return min(upper, h.max)
		}
	}
	return h.max
}
