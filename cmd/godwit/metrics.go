package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/godwit-db/godwit/migrate"
)

// phaseFailed is the value of godwit_phase's phase label once the
// migration has failed (the phase it failed in is in the logs, the hook's
// failure event and godwit_phase_seconds).
const phaseFailed = "failed"

// metrics exposes a migration's progress to Prometheus (--metrics-addr):
// it turns the migration's events into gauges in a registry of its own,
// served on /metrics. Every series carries the database and table labels.
// All methods are safe on a nil *metrics (no --metrics-addr).
type metrics struct {
	reg *prometheus.Registry

	mu         sync.Mutex
	phase      migrate.Phase
	phaseStart time.Time
	phaseSpent map[migrate.Phase]time.Duration // of the phases left
	chunks     int64
	lastReason string

	rowsCopied     prometheus.Gauge
	rowsTotal      prometheus.Gauge
	rowsApplied    prometheus.Gauge
	pending        prometheus.Gauge
	chunkSize      prometheus.Gauge
	checksumRows   prometheus.Gauge
	checksumChunks prometheus.Gauge
	throttled      prometheus.Gauge
	paused         prometheus.Gauge
	swapped        prometheus.Gauge
	lastEvent      prometheus.Gauge
	phaseGauge     *prometheus.GaugeVec // one-hot over the phases and "failed"
	phaseSeconds   *prometheus.GaugeVec
	throttleReason *prometheus.GaugeVec // info-style: 1 for the current reason, only while throttled
	chunksCopied   prometheus.Counter

	srv  *http.Server
	addr string // the address actually bound
	done chan struct{}
}

// newMetrics builds the collector for one migration of database.table.
func newMetrics(database, table string) *metrics {
	reg := prometheus.NewRegistry()
	f := func(name, help string) prometheus.GaugeOpts {
		return prometheus.GaugeOpts{Namespace: "godwit", Name: name, Help: help,
			ConstLabels: prometheus.Labels{"database": database, "table": table}}
	}
	m := &metrics{
		reg:            reg,
		phaseSpent:     map[migrate.Phase]time.Duration{},
		rowsCopied:     prometheus.NewGauge(f("rows_copied", "Rows copied into the shadow table so far.")),
		rowsTotal:      prometheus.NewGauge(f("rows_total_estimate", "The server's estimate of the table's rows.")),
		rowsApplied:    prometheus.NewGauge(f("rows_applied", "Rows re-applied to the shadow table from binlog changes.")),
		pending:        prometheus.NewGauge(f("pending_changes", "Changed keys seen in the binlog and not yet applied.")),
		chunkSize:      prometheus.NewGauge(f("chunk_size", "Rows per copy chunk (adapts to --chunk-time).")),
		checksumRows:   prometheus.NewGauge(f("checksum_rows", "Rows compared by the checksum so far.")),
		checksumChunks: prometheus.NewGauge(f("checksum_chunks", "Chunks compared by the checksum so far.")),
		throttled:      prometheus.NewGauge(f("throttled", "1 while the copy is held back by the server's load, else 0.")),
		paused:         prometheus.NewGauge(f("paused", "1 while godwit pause holds the migration, else 0.")),
		swapped:        prometheus.NewGauge(f("swapped", "1 once the new table serves under the original name.")),
		lastEvent:      prometheus.NewGauge(f("last_event_timestamp_seconds", "Unix time of the migration's last progress report.")),
		phaseGauge: prometheus.NewGaugeVec(f("phase",
			"1 for the phase the migration is in (\"failed\" once it failed), 0 for the others."), []string{"phase"}),
		phaseSeconds: prometheus.NewGaugeVec(f("phase_seconds", "Time spent in each phase so far."), []string{"phase"}),
		throttleReason: prometheus.NewGaugeVec(f("throttle_reason",
			"1 for the reason the copy is held back; present only while it is."), []string{"reason"}),
		chunksCopied: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "godwit", Name: "chunks_copied_total",
			Help: "Copy chunks done.", ConstLabels: prometheus.Labels{"database": database, "table": table}}),
	}
	start := prometheus.NewGauge(f("start_time_seconds", "Unix time the migration started."))
	start.SetToCurrentTime()
	reg.MustRegister(m.rowsCopied, m.rowsTotal, m.rowsApplied, m.pending, m.chunkSize, m.checksumRows,
		m.checksumChunks, m.throttled, m.paused, m.swapped, m.lastEvent, m.phaseGauge, m.phaseSeconds, m.throttleReason,
		m.chunksCopied, start,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, p := range migrate.PhaseOrder {
		m.phaseGauge.WithLabelValues(string(p)).Set(0)
	}
	m.phaseGauge.WithLabelValues(phaseFailed).Set(0)
	return m
}

// startMetrics binds addr and serves /metrics until stop. A bind error is
// returned (a usage error for the caller) before anything else is done.
// An empty addr means no metrics: it returns nil.
func startMetrics(addr, database, table string, log *slog.Logger) (*metrics, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	m := newMetrics(database, table)
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.handler())
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.addr = ln.Addr().String()
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped", "addr", m.addr, "err", err)
		}
	}()
	log.Info("serving Prometheus metrics", "url", "http://"+m.addr+"/metrics")
	return m, nil
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// event records one progress report.
func (m *metrics) event(e migrate.Event) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := e.Time
	if now.IsZero() {
		now = time.Now()
	}
	if e.Phase != "" && e.Phase != m.phase {
		if m.phase != "" {
			m.phaseSpent[m.phase] += now.Sub(m.phaseStart)
			m.phaseSeconds.WithLabelValues(string(m.phase)).Set(m.phaseSpent[m.phase].Seconds())
			m.phaseGauge.WithLabelValues(string(m.phase)).Set(0)
		}
		m.phase, m.phaseStart = e.Phase, now
		m.phaseGauge.WithLabelValues(string(e.Phase)).Set(1)
	}
	if m.phase != "" {
		m.phaseSeconds.WithLabelValues(string(m.phase)).Set((m.phaseSpent[m.phase] + now.Sub(m.phaseStart)).Seconds())
	}
	m.lastEvent.Set(float64(now.UnixNano()) / 1e9)
	m.rowsTotal.Set(float64(e.RowsTotal))
	p := e.Progress
	m.rowsCopied.Set(float64(p.RowsCopied))
	m.rowsApplied.Set(float64(p.RowsApplied))
	m.pending.Set(float64(p.Pending))
	if p.ChunkSize > 0 {
		m.chunkSize.Set(float64(p.ChunkSize))
	}
	if p.Chunks > m.chunks {
		m.chunksCopied.Add(float64(p.Chunks - m.chunks))
		m.chunks = p.Chunks
	}
	// Only the verify phase's reports carry the checksum; keep the last.
	if e.Checksum.Rows > 0 || e.Checksum.Chunks > 0 {
		m.checksumRows.Set(float64(e.Checksum.Rows))
		m.checksumChunks.Set(float64(e.Checksum.Chunks))
	}
	m.setThrottled(e.Throttled, e.ThrottleReason)
	if e.Paused {
		m.paused.Set(1)
	} else {
		m.paused.Set(0)
	}
}

func (m *metrics) setThrottled(on bool, reason string) {
	if !on {
		reason = ""
	}
	if on {
		m.throttled.Set(1)
	} else {
		m.throttled.Set(0)
	}
	if reason == m.lastReason {
		return
	}
	m.throttleReason.Reset()
	if on {
		if reason == "" {
			reason = "unknown"
		}
		m.throttleReason.WithLabelValues(reason).Set(1)
	}
	m.lastReason = reason
}

// finish records the outcome: phase "done" and the summary's totals on
// success, phase "failed" on failure.
func (m *metrics) finish(s *migrate.Summary, err error) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s != nil {
		m.rowsCopied.Set(float64(s.Rows))
		m.rowsApplied.Set(float64(s.Applied))
		if s.ChecksumRows > 0 || s.ChecksumChunks > 0 {
			m.checksumRows.Set(float64(s.ChecksumRows))
			m.checksumChunks.Set(float64(s.ChecksumChunks))
		}
		for p, d := range s.Phases {
			m.phaseSeconds.WithLabelValues(string(p)).Set(d.Seconds())
		}
		if s.Swapped {
			m.swapped.Set(1)
		}
	}
	m.setThrottled(false, "")
	final := string(migrate.PhaseDone)
	if err != nil {
		final = phaseFailed
	}
	for _, p := range migrate.PhaseOrder {
		m.phaseGauge.WithLabelValues(string(p)).Set(0)
	}
	m.phaseGauge.WithLabelValues(phaseFailed).Set(0)
	m.phaseGauge.WithLabelValues(final).Set(1)
	m.lastEvent.SetToCurrentTime()
}

// stop shuts the server down, letting a scrape in progress finish.
func (m *metrics) stop() {
	if m == nil || m.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.srv.Shutdown(ctx)
	<-m.done
	m.srv = nil
}
