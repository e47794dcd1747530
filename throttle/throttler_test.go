package throttle

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// run is a Throttler running in the background until the test ends.
type run struct {
	*Throttler
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func start(t *testing.T, cfg Config) *run {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = testLog(t)
	}
	th, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{Throttler: th, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = th.Run(ctx)
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *run) stop() {
	r.cancel()
	<-r.done
}

// eventually polls cond until it holds or within has passed.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitAsync calls Wait in the background; the channel gets its result.
func waitAsync(th *Throttler, within time.Duration) <-chan error {
	ch := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		ch <- th.Wait(ctx)
	}()
	return ch
}

// blocked checks that Wait is still blocked after d.
func blocked(t *testing.T, ch <-chan error, d time.Duration, why string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("Wait returned (%v) %s", err, why)
	case <-time.After(d):
	}
}

func TestWaitFollowsTheProbe(t *testing.T) {
	p := &fakeProbe{name: "fake"}
	r := start(t, Config{Limits: []Limit{{Probe: p, Max: 10}}, Interval: 5 * time.Millisecond})

	if err := r.Wait(context.Background()); err != nil {
		t.Fatalf("Wait under the limit: %v", err)
	}
	p.set(11, nil)
	eventually(t, time.Second, "throttled", func() bool { return r.State().Throttled })
	if st := r.State(); st.Reason != "fake 11 > 10" || st.Since.IsZero() {
		t.Errorf("state %+v", st)
	}
	ch := waitAsync(r.Throttler, 5*time.Second)
	blocked(t, ch, 50*time.Millisecond, "while over max")
	p.set(9, nil) // under max, over the resume level of 8
	blocked(t, ch, 50*time.Millisecond, "in the hysteresis band")
	if st := r.State(); !strings.Contains(st.Reason, "fake 9 > 8, the resume level") {
		t.Errorf("reason in the band: %q", st.Reason)
	}
	p.set(8, nil)
	if err := <-ch; err != nil {
		t.Fatalf("Wait after the value fell: %v", err)
	}
	st := r.State()
	if st.Throttled || st.Reason != "" || !st.Since.IsZero() || st.ThrottledFor < 100*time.Millisecond {
		t.Errorf("state after resuming: %+v", st)
	}
}

func TestCriticalAborts(t *testing.T) {
	p := &fakeProbe{name: "fake", v: 5}
	r := start(t, Config{Limits: []Limit{{Probe: p, Max: 0, Critical: 3}}, Interval: 5 * time.Millisecond})
	err := r.Wait(context.Background())
	if !errors.Is(err, ErrCritical) {
		t.Fatalf("Wait = %v, want ErrCritical", err)
	}
	if want := "critical threshold crossed: fake 5 > 3 (critical)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	<-r.done
	if !errors.Is(r.err, ErrCritical) {
		t.Errorf("Run = %v, want ErrCritical", r.err)
	}
	if err2 := r.Wait(context.Background()); err2 != err {
		t.Errorf("Wait again = %v", err2)
	}
	if p.n != DefaultCriticalAfter {
		t.Errorf("aborted after %d readings, want %d", p.n, DefaultCriticalAfter)
	}
}

func TestProbeErrorPausesAndIsLoggedOnce(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	p := &fakeProbe{name: "fake", err: errors.New("boom")}
	r := start(t, Config{Limits: []Limit{{Probe: p, Max: 10, Critical: 20}}, Interval: 2 * time.Millisecond, Log: log})

	ch := waitAsync(r.Throttler, 5*time.Second)
	eventually(t, time.Second, "20 readings", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.n >= 20 })
	blocked(t, ch, 10*time.Millisecond, "while the probe fails")
	if st := r.State(); !st.Throttled || st.Reason != "fake: boom" {
		t.Errorf("state %+v", st)
	}
	p.set(1, nil)
	if err := <-ch; err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{"cannot measure", "copy paused", "measures again", "copy resumed"} {
		if n := strings.Count(out, s); n != 1 {
			t.Errorf("%q logged %d times, want once:\n%s", s, n, out)
		}
	}
}

func TestSlowProbeTimesOut(t *testing.T) {
	r := start(t, Config{Limits: []Limit{{Probe: hangingProbe{}, Max: 10}},
		Interval: 5 * time.Millisecond, ProbeTimeout: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := r.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want the ctx's deadline", err)
	}
	if st := r.State(); !st.Throttled || !strings.Contains(st.Reason, "hang: context deadline exceeded") {
		t.Errorf("state %+v", st)
	}
}

type hangingProbe struct{}

func (hangingProbe) Name() string { return "hang" }
func (hangingProbe) Measure(ctx context.Context) (float64, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func TestOnChange(t *testing.T) {
	a, b := &fakeProbe{name: "a"}, &fakeProbe{name: "b"}
	var mu sync.Mutex
	var got []State
	start(t, Config{
		Limits:   []Limit{{Probe: a, Max: 10}, {Probe: b, Max: 10}},
		Interval: 2 * time.Millisecond,
		OnChange: func(s State) { mu.Lock(); got = append(got, s); mu.Unlock() },
	})
	calls := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	eventually(t, time.Second, "first state", func() bool { return calls() == 1 })
	a.set(20, nil)
	eventually(t, time.Second, "a over", func() bool { return calls() == 2 })
	a.set(30, nil) // a new value, same holders: no call
	b.set(20, nil)
	eventually(t, time.Second, "b over", func() bool { return calls() == 3 })
	b.set(0, nil)
	eventually(t, time.Second, "b under", func() bool { return calls() == 4 })
	a.set(0, nil)
	eventually(t, time.Second, "resumed", func() bool { return calls() >= 5 })
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"false ", "true a 20 > 10", "true a 30 > 10; b 20 > 10", "true a 30 > 10", "false "}
	if len(got) != len(want) {
		t.Fatalf("%d calls, want %d: %+v", len(got), len(want), got)
	}
	for i, s := range got {
		if g := strings.TrimSpace(boolStr(s.Throttled) + " " + s.Reason); g != strings.TrimSpace(want[i]) {
			t.Errorf("call %d: %q, want %q", i, g, want[i])
		}
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestWaitBeforeFirstRoundAndAfterRun(t *testing.T) {
	th, err := New(Config{Limits: []Limit{{Probe: &fakeProbe{name: "f"}, Max: 1}}, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := th.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait before Run = %v, want to block until the ctx ends", err)
	}

	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- th.Run(rctx) }()
	if err := th.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run after its ctx ended = %v, want nil", err)
	}
	if err := th.Wait(context.Background()); !errors.Is(err, errStopped) {
		t.Errorf("Wait after Run returned = %v", err)
	}
	if err := th.Run(context.Background()); err == nil {
		t.Error("a second Run did not fail")
	}
}

func TestNewChecksLimits(t *testing.T) {
	p := &fakeProbe{name: "p"}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Limits: []Limit{{Max: 1}}}, "without a probe"},
		{Config{Limits: []Limit{{Probe: p, Max: -1}}}, "max -1 must not be negative"},
		{Config{Limits: []Limit{{Probe: p, Max: 5, Critical: 5}}}, "critical 5 must be above max 5"},
		{Config{Resume: 1.5}, "Resume"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := New(Config{Limits: []Limit{{Probe: p, Max: 0, Critical: 3}}}); err != nil {
		t.Errorf("max 0, critical 3: %v", err)
	}
}

func TestFormatSeconds(t *testing.T) {
	for v, want := range map[float64]string{0: "0s", 0.25: "250ms", 1.6: "1.6s", 2: "2s", 3.249: "3.2s", 125: "2m5s"} {
		if got := formatSeconds(v); got != want {
			t.Errorf("formatSeconds(%g) = %q, want %q", v, got, want)
		}
	}
	if got := formatNumber(0.8 * 3); got != "2.4" {
		t.Errorf("formatNumber(2.4000000000000004) = %q", got)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testLog logs through t.Log, shown with -v or on failure.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestWaitWhile(t *testing.T) {
	p := &fakeProbe{name: "fake", v: 1}
	r := start(t, Config{Limits: []Limit{{Probe: p, Max: 0}}, Interval: 5 * time.Millisecond})
	eventually(t, time.Second, "throttled", func() bool { return r.State().Throttled })
	var calls sync.WaitGroup
	n := 0
	calls.Add(1)
	done := make(chan error, 1)
	go func() {
		done <- r.WaitWhile(context.Background(), 10*time.Millisecond, func(context.Context) error {
			if n++; n == 3 {
				calls.Done()
			}
			return nil
		})
	}()
	calls.Wait() // meanwhile ran three times while held
	p.set(0, nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	p.set(1, nil)
	eventually(t, time.Second, "throttled again", func() bool { return r.State().Throttled })
	boom := errors.New("apply failed")
	err := r.WaitWhile(context.Background(), 5*time.Millisecond, func(context.Context) error { return boom })
	if err != boom {
		t.Errorf("WaitWhile = %v, want the error of meanwhile", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err = r.WaitWhile(ctx, 5*time.Millisecond, func(context.Context) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitWhile past its ctx = %v", err)
	}
}
