// Package throttle watches the server for contention and decides when the
// row copy must pause: replica lag (from a heartbeat), Threads_running,
// InnoDB purge lag, lock waits, a user's query and a flag file.
//
// A Throttler measures its probes in the background (Run); the copy loop
// calls Wait before every chunk, which returns at once while every probe
// is under its limit and blocks while one is over it. A probe over its
// critical threshold makes Wait return an error wrapping ErrCritical.
package throttle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrCritical is wrapped by the error Wait and Run return when a probe
// crossed its critical threshold: the migration should stop cleanly.
var ErrCritical = errors.New("critical threshold crossed")

// errStopped is returned by Wait once Run has returned.
var errStopped = errors.New("throttle: the throttler is not running (Run returned)")

// Probe measures one contention signal. Measure returns an error when it
// cannot tell; the throttler then pauses the copy (fail safe) but never
// aborts it on that reading.
type Probe interface {
	Name() string
	Measure(ctx context.Context) (float64, error)
}

// Describer is implemented by probes that word their own reason, such as
// "flag file /tmp/x exists" or "replica h:3306 lag 3.2s > 2s". Without
// it the reason is "<name> <value> > <limit>".
type Describer interface {
	Describe(value, limit float64) string
}

// Limit says when a probe pauses the copy (value > Max) and when it
// aborts the migration (value > Critical; 0 means never).
type Limit struct {
	Probe    Probe
	Max      float64
	Critical float64
	// Pause marks a person's hold (godwit pause), not the server's load:
	// State reports it, and the time it held, apart from the throttling.
	Pause bool
}

// Config builds a Throttler. Zero fields take the defaults.
type Config struct {
	Limits []Limit
	// Heartbeat, if set, is written every HeartbeatInterval while Run runs;
	// the ReplicaLag probes read it on the replicas.
	Heartbeat         *Heartbeat
	Interval          time.Duration // between measurements; default 500ms
	HeartbeatInterval time.Duration // default 250ms
	// Resume is the hysteresis: once over Max, a probe holds the copy until
	// its value is at or below Resume*Max. Default 0.8.
	Resume float64
	// CriticalAfter is how many consecutive readings over Critical abort;
	// default 2, so a single spike does not end a long migration.
	CriticalAfter int
	ProbeTimeout  time.Duration // bound on one measurement; default 5s
	Log           *slog.Logger
	// OnChange is called (from Run's goroutine) when the copy pauses or
	// resumes, or when the set of probes holding it changes.
	OnChange func(State)
}

// Defaults of Config.
const (
	DefaultInterval          = 500 * time.Millisecond
	DefaultHeartbeatInterval = 250 * time.Millisecond
	DefaultResume            = 0.8
	DefaultCriticalAfter     = 2
	DefaultProbeTimeout      = 5 * time.Second
)

// State is the throttler's current decision. The copy is held while
// Throttled (the server's load) or Paused (a Pause limit) is true.
type State struct {
	Throttled    bool
	Reason       string        // why, e.g. "replica 127.0.0.1:33062 lag 3.2s > 2s"; "; "-joined
	Since        time.Time     // start of the current throttling; zero when not throttled
	ThrottledFor time.Duration // total time the load held the copy, the current stretch included

	Paused      bool
	PauseReason string        // who paused it, as the Pause limits word it
	PausedFor   time.Duration // total time Pause limits held the copy
}

// hold is the time one kind of limit (load or pause) has held the copy.
type hold struct {
	on     bool
	reason string
	since  time.Time
	total  time.Duration
}

// set records whether the kind holds now; it reports the stretch that
// just ended, 0 if none did.
func (h *hold) set(on bool, reason string, now time.Time) time.Duration {
	h.reason = reason
	var ended time.Duration
	switch {
	case on && !h.on:
		h.since = now
	case !on && h.on:
		ended = now.Sub(h.since)
		h.total += ended
		h.since = time.Time{}
	}
	h.on = on
	return ended
}

// soFar is the total, the current stretch included.
func (h hold) soFar(now time.Time) time.Duration {
	if h.on {
		return h.total + now.Sub(h.since)
	}
	return h.total
}

// Throttler decides whether the copy may proceed.
type Throttler struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	limits   []limitState
	measured bool   // one round done
	load     hold   // the server's load holds the copy
	paused   hold   // a Pause limit holds it
	holders  string // names of the probes holding the copy, for OnChange
	critical error
	running  bool
	stopped  bool
	changed  chan struct{} // closed and replaced on every round
	rounds   int           // rounds begun
	finished int           // rounds finished
	kick     chan struct{} // asks Run for a round now (Remeasure)
	beatErr  string
}

// New checks cfg and returns a Throttler; call Run to start measuring.
func New(cfg Config) (*Throttler, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.Resume <= 0 {
		cfg.Resume = DefaultResume
	}
	if cfg.Resume > 1 {
		return nil, fmt.Errorf("throttle: Resume %g must be at most 1", cfg.Resume)
	}
	if cfg.CriticalAfter <= 0 {
		cfg.CriticalAfter = DefaultCriticalAfter
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	for _, l := range cfg.Limits {
		switch {
		case l.Probe == nil:
			return nil, errors.New("throttle: a limit without a probe")
		case l.Max < 0 || math.IsNaN(l.Max):
			return nil, fmt.Errorf("throttle: %s: max %g must not be negative", l.Probe.Name(), l.Max)
		case l.Critical < 0 || math.IsNaN(l.Critical):
			return nil, fmt.Errorf("throttle: %s: critical %g must not be negative", l.Probe.Name(), l.Critical)
		case l.Critical != 0 && l.Critical <= l.Max:
			return nil, fmt.Errorf("throttle: %s: critical %s must be above max %s",
				l.Probe.Name(), formatNumber(l.Critical), formatNumber(l.Max))
		}
	}
	return &Throttler{
		cfg:     cfg,
		log:     cfg.Log,
		limits:  make([]limitState, len(cfg.Limits)),
		changed: make(chan struct{}),
		kick:    make(chan struct{}, 1),
	}, nil
}

// Check measures every probe once and returns an error naming each one
// that cannot measure (an unreachable replica, a stopped replication
// thread, a throttle query that fails): a preflight check. It writes no
// heartbeat and changes no state.
func (t *Throttler) Check(ctx context.Context) error {
	var errs []error
	if hb := t.cfg.Heartbeat; hb != nil {
		if err := hb.Check(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for i, r := range t.measure(ctx) {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("throttle probe %s: %w", t.cfg.Limits[i].Probe.Name(), r.err))
		}
	}
	return errors.Join(errs...)
}

// Run measures the probes every Interval and writes the heartbeat until
// ctx ends (it then returns nil) or a critical threshold is crossed (it
// returns that error, as Wait does). Call it once, in its own goroutine.
func (t *Throttler) Run(ctx context.Context) error {
	t.mu.Lock()
	if t.running || t.stopped {
		t.mu.Unlock()
		return errors.New("throttle: Run called twice")
	}
	t.running = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.running, t.stopped = false, true
		t.broadcastLocked()
		t.mu.Unlock()
	}()

	var wg sync.WaitGroup
	bctx, stopBeat := context.WithCancel(ctx)
	defer func() { stopBeat(); wg.Wait() }()
	if hb := t.cfg.Heartbeat; hb != nil {
		wg.Go(func() { t.beat(bctx, hb) })
	}

	tick := time.NewTicker(t.cfg.Interval)
	defer tick.Stop()
	for {
		if err := t.round(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-t.kick:
		}
	}
}

// Remeasure has Run measure now and returns once a round that began after
// the call has finished: for a caller that just saw a probe's cause
// change (a pause lifted) and must not act, or report, on the reading
// from before. Without Run it returns at once.
func (t *Throttler) Remeasure(ctx context.Context) error {
	t.mu.Lock()
	after := t.rounds
	t.mu.Unlock()
	select {
	case t.kick <- struct{}{}:
	default: // a round is asked for already
	}
	return t.waitUntil(ctx, func() (bool, error) { return !t.running || t.finished > after, nil })
}

// waitUntil returns once done, called under t.mu at each change of the
// state, says so, with its error; or with ctx's.
func (t *Throttler) waitUntil(ctx context.Context, done func() (bool, error)) error {
	for {
		t.mu.Lock()
		if ok, err := done(); ok {
			t.mu.Unlock()
			return err
		}
		ch := t.changed
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Wait returns nil at once when the copy may proceed and blocks while it
// is throttled (and until Run has measured once). It returns an error
// wrapping ErrCritical when a critical threshold was crossed, ctx's error
// when ctx ends, and an error once Run has returned (a copy must not go
// on unwatched).
func (t *Throttler) Wait(ctx context.Context) error {
	return t.waitUntil(ctx, func() (bool, error) {
		switch {
		case t.critical != nil:
			return true, t.critical
		case t.stopped:
			return true, errStopped
		}
		return t.measured && !t.load.on && !t.paused.on, nil
	})
}

// WaitWhile is Wait that calls meanwhile every interval while the copy is
// held, so that work which must not pause (applying the binlog's changes
// to the shadow) goes on while the chunk copy waits. An error from
// meanwhile ends the wait and is returned.
func (t *Throttler) WaitWhile(ctx context.Context, every time.Duration, meanwhile func(context.Context) error) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, every)
		err := t.Wait(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if err := meanwhile(ctx); err != nil {
			return err
		}
	}
}

// State returns the current decision.
func (t *Throttler) State() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stateLocked(time.Now())
}

// Cleanup removes this run's heartbeat row, and the heartbeat table when
// no other run uses it. Call it after Run has returned.
func (t *Throttler) Cleanup(ctx context.Context) error {
	if t.cfg.Heartbeat == nil {
		return nil
	}
	return t.cfg.Heartbeat.Remove(ctx)
}

func (t *Throttler) stateLocked(now time.Time) State {
	return State{
		Throttled: t.load.on, Reason: t.load.reason, Since: t.load.since, ThrottledFor: t.load.soFar(now),
		Paused: t.paused.on, PauseReason: t.paused.reason, PausedFor: t.paused.soFar(now),
	}
}

func (t *Throttler) broadcastLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

type reading struct {
	value float64
	err   error
}

// measure reads every probe concurrently, each bounded by ProbeTimeout.
func (t *Throttler) measure(ctx context.Context) []reading {
	out := make([]reading, len(t.cfg.Limits))
	var wg sync.WaitGroup
	for i, l := range t.cfg.Limits {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, t.cfg.ProbeTimeout)
			defer cancel()
			v, err := l.Probe.Measure(pctx)
			if err == nil && math.IsNaN(v) {
				err = errors.New("measured NaN")
			}
			out[i] = reading{v, err}
		})
	}
	wg.Wait()
	return out
}

// round measures once and updates the decision.
func (t *Throttler) round(ctx context.Context) error {
	t.mu.Lock()
	t.rounds++
	t.mu.Unlock()
	readings := t.measure(ctx)
	if ctx.Err() != nil {
		return nil // readings cut short by the end of Run say nothing
	}
	now := time.Now()

	t.mu.Lock()
	t.finished++
	var reasons, pauses, holders []string
	var critical error
	for i, l := range t.cfg.Limits {
		prev := t.limits[i]
		next, crit := judge(l, prev, readings[i].value, readings[i].err, t.cfg.Resume, t.cfg.CriticalAfter)
		t.limits[i] = next
		if next.errText != prev.errText {
			if next.errText != "" {
				t.log.Warn("throttle probe cannot measure; the copy pauses until it can",
					"probe", l.Probe.Name(), "error", next.errText)
			} else {
				t.log.Info("throttle probe measures again", "probe", l.Probe.Name())
			}
		}
		if crit != "" && critical == nil {
			critical = fmt.Errorf("%w: %s", ErrCritical, crit)
		}
		if next.over && l.Pause {
			pauses = append(pauses, next.reason)
			holders = append(holders, l.Probe.Name())
		} else if next.over {
			reasons = append(reasons, next.reason)
			holders = append(holders, l.Probe.Name())
		}
	}
	first := !t.measured
	t.measured = true
	wasHeld := t.load.on || t.paused.on
	wasLoad, wasPaused := t.load.on, t.paused.on
	if ended := t.load.set(len(reasons) > 0, strings.Join(reasons, "; "), now); ended > 0 {
		t.log.Info("copy resumed", "paused", ended.Round(time.Millisecond).String(), "throttled_total", t.load.total.Round(time.Millisecond).String())
	} else if t.load.on && !wasLoad {
		t.log.Info("copy paused", "reason", t.load.reason)
	}
	if ended := t.paused.set(len(pauses) > 0, strings.Join(pauses, "; "), now); ended > 0 {
		t.log.Info("pause lifted", "paused", ended.Round(time.Millisecond).String(), "paused_total", t.paused.total.Round(time.Millisecond).String())
	} else if t.paused.on && !wasPaused {
		t.log.Info("copy held by a pause", "reason", t.paused.reason)
	}
	held := t.load.on || t.paused.on
	h := strings.Join(holders, "\x00")
	notify := first || held != wasHeld || h != t.holders
	t.holders = h
	if critical != nil && t.critical == nil {
		t.critical = critical
		t.log.Error("critical threshold crossed; stopping", "error", critical)
	}
	t.broadcastLocked()
	st := t.stateLocked(now)
	t.mu.Unlock()

	if notify && t.cfg.OnChange != nil {
		t.cfg.OnChange(st)
	}
	return critical
}

// beat writes the heartbeat until ctx ends, logging failures once per
// change; a failing heartbeat makes the ReplicaLag probes fail (and so
// pause the copy) rather than report a lag that is not true.
func (t *Throttler) beat(ctx context.Context, hb *Heartbeat) {
	tick := time.NewTicker(t.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		// Not cancelled with ctx: a write cut off by closing its
		// connection may still land on the server after Run returned and
		// the run removed its row, which would then stay behind.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.cfg.ProbeTimeout)
		err := hb.Beat(bctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if msg != t.beatErr {
			if err != nil {
				t.log.Warn("heartbeat write failed", "error", err)
			} else {
				t.log.Info("heartbeat writes again")
			}
			t.beatErr = msg
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// describe words "<probe> <value> > <limit>".
func describe(p Probe, value, limit float64) string {
	if d, ok := p.(Describer); ok {
		return d.Describe(value, limit)
	}
	return p.Name() + " " + formatNumber(value) + " > " + formatNumber(limit)
}

// formatNumber prints at most three decimals and no exponent.
func formatNumber(v float64) string {
	if math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// Heartbeat is the heartbeat Run writes (nil without one), for callers
// that measure the replicas' lag themselves, such as a check before the
// cut-over.
func (t *Throttler) Heartbeat() *Heartbeat { return t.cfg.Heartbeat }
