package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/migrate"
)

// scrape returns the text exposition of h.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}

// wantLines checks that the exposition holds each line exactly.
func wantLines(t *testing.T, exposition string, lines ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(exposition, "\n") {
		have[l] = true
	}
	missing := false
	for _, l := range lines {
		if !have[l] {
			t.Errorf("scrape lacks %q", l)
			missing = true
		}
	}
	if missing {
		t.Logf("scrape:\n%s", godwitLines(exposition))
	}
}

// godwitLines are the exposition's godwit_ samples.
func godwitLines(exposition string) string {
	var out []string
	for _, l := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(l, "godwit_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

const lbl = `database="shop",table="orders"`

func TestMetricsFromEvents(t *testing.T) {
	m := newMetrics("shop", "orders")
	srv := httptest.NewServer(m.handler())
	defer srv.Close()

	t0 := time.Unix(1_700_000_000, 0)
	m.event(migrate.Event{Time: t0, Phase: migrate.PhasePreflight, Message: "phase preflight"})
	wantLines(t, scrape(t, srv.URL),
		`godwit_phase{database="shop",phase="preflight",table="orders"} 1`,
		`godwit_phase{database="shop",phase="copy",table="orders"} 0`,
		`godwit_phase{database="shop",phase="done",table="orders"} 0`,
		`godwit_phase{database="shop",phase="failed",table="orders"} 0`,
		`godwit_rows_copied{`+lbl+`} 0`,
		`godwit_throttled{`+lbl+`} 0`,
		`godwit_swapped{`+lbl+`} 0`,
	)

	m.event(migrate.Event{Time: t0.Add(time.Second), Phase: migrate.PhaseCopy, RowsTotal: 1000,
		Progress: copier.Progress{RowsCopied: 400, RowsApplied: 7, Chunks: 4, ChunkSize: 100, Pending: 3}})
	m.event(migrate.Event{Time: t0.Add(3 * time.Second), Phase: migrate.PhaseCopy, RowsTotal: 1000,
		Progress:  copier.Progress{RowsCopied: 600, RowsApplied: 9, Chunks: 6, ChunkSize: 120, Pending: 2},
		Throttled: true, ThrottleReason: "Threads_running 63 > 50"})
	s := scrape(t, srv.URL)
	wantLines(t, s,
		`godwit_phase{database="shop",phase="preflight",table="orders"} 0`,
		`godwit_phase{database="shop",phase="copy",table="orders"} 1`,
		`godwit_rows_copied{`+lbl+`} 600`,
		`godwit_rows_total_estimate{`+lbl+`} 1000`,
		`godwit_rows_applied{`+lbl+`} 9`,
		`godwit_pending_changes{`+lbl+`} 2`,
		`godwit_chunk_size{`+lbl+`} 120`,
		`godwit_chunks_copied_total{`+lbl+`} 6`,
		`godwit_throttled{`+lbl+`} 1`,
		`godwit_throttle_reason{database="shop",reason="Threads_running 63 > 50",table="orders"} 1`,
		`godwit_phase_seconds{database="shop",phase="preflight",table="orders"} 1`,
		`godwit_phase_seconds{database="shop",phase="copy",table="orders"} 2`,
		`godwit_last_event_timestamp_seconds{`+lbl+`} 1.700000003e+09`,
		"# TYPE godwit_chunks_copied_total counter",
		"# TYPE godwit_rows_copied gauge",
	)
	if !strings.Contains(s, "go_goroutines ") || !strings.Contains(s, "process_") {
		t.Errorf("scrape lacks the Go and process collectors")
	}

	// The throttle lifts; verify reports the checksum, later events do not
	// carry it and must not reset it.
	m.event(migrate.Event{Time: t0.Add(4 * time.Second), Phase: migrate.PhaseVerify,
		Progress: copier.Progress{RowsCopied: 1000, Chunks: 10, ChunkSize: 120},
		Checksum: copier.ChecksumResult{Rows: 500, Chunks: 5}})
	m.event(migrate.Event{Time: t0.Add(4500 * time.Millisecond), Phase: migrate.PhaseVerify, Paused: true, PauseReason: "paused by godwit pause from h/1"})
	wantLines(t, scrape(t, srv.URL), `godwit_paused{`+lbl+`} 1`, `godwit_throttled{`+lbl+`} 0`)
	m.event(migrate.Event{Time: t0.Add(5 * time.Second), Phase: migrate.PhaseCutover,
		Progress: copier.Progress{RowsCopied: 1000, Chunks: 10, ChunkSize: 120}})
	s = scrape(t, srv.URL)
	wantLines(t, s,
		`godwit_paused{`+lbl+`} 0`,
		`godwit_phase{database="shop",phase="verify",table="orders"} 0`,
		`godwit_phase{database="shop",phase="cut-over",table="orders"} 1`,
		`godwit_throttled{`+lbl+`} 0`,
		`godwit_checksum_rows{`+lbl+`} 500`,
		`godwit_checksum_chunks{`+lbl+`} 5`,
		`godwit_chunks_copied_total{`+lbl+`} 10`,
	)
	if strings.Contains(s, "godwit_throttle_reason{") {
		t.Errorf("the throttle reason outlived the throttle:\n%s", godwitLines(s))
	}

	m.event(migrate.Event{Time: t0.Add(6 * time.Second), Phase: migrate.PhaseDone})
	m.finish(&migrate.Summary{Table: "orders", Swapped: true, Rows: 1000, Applied: 12, ChecksumRows: 1000, ChecksumChunks: 10,
		Phases: map[migrate.Phase]time.Duration{migrate.PhaseCopy: 2500 * time.Millisecond}}, nil)
	wantLines(t, scrape(t, srv.URL),
		`godwit_phase{database="shop",phase="cut-over",table="orders"} 0`,
		`godwit_phase{database="shop",phase="done",table="orders"} 1`,
		`godwit_phase{database="shop",phase="failed",table="orders"} 0`,
		`godwit_swapped{`+lbl+`} 1`,
		`godwit_rows_copied{`+lbl+`} 1000`,
		`godwit_rows_applied{`+lbl+`} 12`,
		`godwit_checksum_rows{`+lbl+`} 1000`,
		`godwit_phase_seconds{database="shop",phase="copy",table="orders"} 2.5`,
	)
}

func TestMetricsFailure(t *testing.T) {
	m := newMetrics("shop", "orders")
	srv := httptest.NewServer(m.handler())
	defer srv.Close()
	m.event(migrate.Event{Time: time.Now(), Phase: migrate.PhaseCopy, Throttled: true, ThrottleReason: "flag file /tmp/x exists"})
	m.finish(&migrate.Summary{Table: "orders"}, errors.New("copy: connection reset"))
	s := scrape(t, srv.URL)
	wantLines(t, s,
		`godwit_phase{database="shop",phase="copy",table="orders"} 0`,
		`godwit_phase{database="shop",phase="done",table="orders"} 0`,
		`godwit_phase{database="shop",phase="failed",table="orders"} 1`,
		`godwit_swapped{`+lbl+`} 0`,
		`godwit_throttled{`+lbl+`} 0`,
	)
	if strings.Contains(s, "godwit_throttle_reason{") {
		t.Errorf("a finished migration still shows a throttle reason:\n%s", godwitLines(s))
	}
}

func TestMetricsServer(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if m, err := startMetrics("", "d", "t", log); m != nil || err != nil {
		t.Fatalf("no address: %v, %v; want nil, nil", m, err)
	}
	var nilMetrics *metrics // no --metrics-addr: every method is a no-op
	nilMetrics.event(migrate.Event{Phase: migrate.PhaseCopy})
	nilMetrics.finish(nil, nil)
	nilMetrics.stop()

	m, err := startMetrics("127.0.0.1:0", "d", "t", log)
	if err != nil {
		t.Fatal(err)
	}
	m.event(migrate.Event{Time: time.Now(), Phase: migrate.PhaseSetup})
	wantLines(t, scrape(t, "http://"+m.addr+"/metrics"), `godwit_phase{database="d",phase="setup",table="t"} 1`)

	// The address is taken now: a second server cannot bind it.
	if _, err := startMetrics(m.addr, "d", "t", log); err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Errorf("binding a taken address: %v, want an error naming --metrics-addr", err)
	}
	m.stop()
	m.stop() // idempotent
	if _, err := http.Get("http://" + m.addr + "/metrics"); err == nil {
		t.Errorf("the server still answers after stop")
	}
}

// TestMetricsAddrUsageError: an address that cannot be bound is a usage
// error (exit 2), found before connecting to the server.
func TestMetricsAddrUsageError(t *testing.T) {
	t.Setenv("MYSQL_PWD", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct{ name, addr, want string }{
		{"address in use", ln.Addr().String(), "address already in use"},
		{"not host:port", "nonsense", "--metrics-addr nonsense"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Port 1: had it got as far as connecting, it would fail fast
			// with exit 1, not 2.
			stdout, err := runInProcess("migrate", "--host", "127.0.0.1", "--port", "1", "--database", "d", "--table", "t",
				"--alter", "ADD c INT", "--output", "json", "--metrics-addr", tc.addr)
			if got := exitCode(err); got != exitUsage {
				t.Fatalf("exit code %d (err %v), want %d", got, err, exitUsage)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout should stay empty on a usage error, got %q", stdout)
			}
		})
	}
}
