package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-db/godwit/internal/bench/sbtest"
	"github.com/godwit-db/godwit/internal/mysqlx"
)

// The runs, in the order they are made at each scale.
const (
	runNative = "native"
	runIdle   = "idle"
	runLoad   = "load"
)

var runOrder = []string{runNative, runIdle, runLoad}

var runTitle = map[string]string{runNative: "native COPY", runIdle: "godwit idle", runLoad: "godwit load"}

// runResult is one timed run on a fresh table.
type runResult struct {
	Scale int    `json:"scale"`
	Run   string `json:"run"`
	Rows  int64  `json:"rows"`
	Pair  int    `json:"pair,omitempty"` // which of the -repeat native and idle pairs

	Wall       dur     `json:"wall_ms"`
	RowsPerSec float64 `json:"rows_per_s"`
	VsNative   float64 `json:"wall_vs_native"` // wall / native COPY's wall at the same scale; 0 unknown

	Phases          []phaseTime `json:"phases,omitempty"` // godwit's own accounting
	GodwitTotal     dur         `json:"godwit_total_ms,omitempty"`
	PeakRSSKiB      int64       `json:"peak_rss_kib,omitempty"`
	GodwitCPU       dur         `json:"godwit_cpu_ms,omitempty"` // godwit's own user and system time
	CutoverStall    dur         `json:"cutover_stall_ms,omitempty"`
	CutoverAttempts int         `json:"cutover_attempts,omitempty"`
	RowsCopied      int64       `json:"rows_copied,omitempty"`
	RowsApplied     int64       `json:"rows_applied,omitempty"`
	BinlogChanges   int64       `json:"binlog_row_changes,omitempty"`
	MaxPending      int64       `json:"max_pending_changes,omitempty"`
	ApplyLag        *lagStats   `json:"apply_lag,omitempty"`
	Load            *loadStats  `json:"load,omitempty"`

	// ReplicaBehind is how long the replica still needed, once the run
	// ended, to apply what the run wrote (the native ALTER replicates as
	// one statement that the replica runs only after the primary did).
	ReplicaBehind dur `json:"replica_behind_after_ms"`
	// The CPU time the servers spent on the run: the primary until the
	// run ended (in the loaded run, the writers' share included), the
	// replica until it caught up. -1: not measurable (a remote server).
	PrimaryCPU    dur `json:"primary_cpu_ms"`
	ReplicaCPU    dur `json:"replica_cpu_ms"`
	cpu           *cpuMeter
	Fill          dur            `json:"fill_ms"`                  // creating the fresh table (not timed as part of the run)
	LoadAvg       float64        `json:"loadavg_1m"`               // of the host when the run began: the box may be shared
	Verified      string         `json:"verified"`                 // what the check after the run compared
	Error         string         `json:"error"`                    // why the run failed; "" when it did not
	GodwitLog     string         `json:"godwit_log"`               // godwit's stderr
	GodwitSummary map[string]any `json:"godwit_summary,omitempty"` // godwit's last JSON line, as written
	SwapAt        string         `json:"swap_at"`                  // when godwit swapped the tables
	Notes         string         `json:"notes"`                    // anything the numbers need to be read with
	wall, replica time.Duration
}

type results struct {
	Started      time.Time    `json:"started"`
	Finished     time.Time    `json:"finished"`
	Server       string       `json:"server_version"`           // VERSION()
	ServerFamily string       `json:"server_family"`            // mariadb or mysql, as VERSION() says
	Flavor       string       `json:"sandbox_flavor,omitempty"` // GODWIT_TEST_FLAVOR of the sandbox's env
	NativeAlter  string       `json:"native_alter,omitempty"`   // the statement the native runs send
	BufferPool   int64        `json:"innodb_buffer_pool_size"`
	CPUs         int          `json:"cpus"`
	DiskIOPS     int          `json:"disk_iops_cap,omitempty"` // -disk-iops
	GoVersion    string       `json:"go_version"`
	Godwit       string       `json:"godwit_binary"`
	GodwitSHA256 string       `json:"godwit_sha256"`
	Alter        string       `json:"alter"`
	Rows         int          `json:"rows_at_scale_1"`
	Scales       []int        `json:"scales"`
	Rate         int          `json:"load_writes_per_s"`
	Writers      int          `json:"load_writers"`
	ChunkTime    string       `json:"chunk_time,omitempty"`
	ReplicaMode  string       `json:"replica_applies"` // during or after the timed runs
	GodwitFlags  []string     `json:"godwit_flags,omitempty"`
	Runs         []*runResult `json:"runs"`
	Ratios       []ratio      `json:"idle_vs_native,omitempty"` // per scale, over the -repeat pairs
	Failures     []string     `json:"failures"`
	Elapsed      dur          `json:"elapsed_ms"`
	stamp        string
}

func run(ctx context.Context, c config) (*results, error) {
	res := &results{Started: time.Now(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Godwit: c.bin, GodwitSHA256: c.binSHA,
		Alter: c.alter, Rows: c.rows, Scales: c.scales, Rate: c.rate, Writers: c.writers, ChunkTime: c.chunkTime, GodwitFlags: c.extra, ReplicaMode: c.replicaMode,
		DiskIOPS: c.diskIOPS, Failures: []string{}}
	res.stamp = res.Started.Format("20060102-150405")
	if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		return nil, err
	}

	admin := c.conn
	admin.Database = ""
	adb, err := mysqlx.Open(ctx, admin)
	if err != nil {
		return nil, err
	}
	defer adb.Close()
	for _, q := range []string{"DROP DATABASE IF EXISTS " + benchSchema, "CREATE DATABASE " + benchSchema} {
		if _, err := adb.ExecContext(ctx, tag+q); err != nil {
			return nil, err
		}
	}
	db, err := mysqlx.Open(ctx, c.conn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// A session setting must not follow a pooled connection into the next
	// statement; and the checksums read whole tables.
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	// The family from the server itself: the sandbox's flavor (from the
	// env) only labels the results.
	if c.server, err = sbtest.Detect(ctx, db); err != nil {
		return nil, err
	}
	res.Server, res.ServerFamily, res.Flavor = c.server.Version, c.server.Family(), os.Getenv("GODWIT_TEST_FLAVOR")
	if err := db.QueryRowContext(ctx, "SELECT @@innodb_buffer_pool_size").Scan(&res.BufferPool); err != nil {
		return nil, err
	}
	if c.runs[runNative] {
		res.NativeAlter = nativeAlter(c.alter)
	}
	rep := &replica{primary: db}
	if c.replicaPort > 0 {
		rc := c.conn
		rc.Port = c.replicaPort
		rc.Database = ""
		if rep.db, err = mysqlx.Open(ctx, rc); err != nil {
			return nil, fmt.Errorf("replica: %w", err)
		}
		defer rep.db.Close()
		rs, err := sbtest.Detect(ctx, rep.db)
		if err != nil {
			return nil, fmt.Errorf("replica: %w", err)
		}
		rep.mariadb = rs.MariaDB
	}
	fmt.Printf("bench: %s (innodb_buffer_pool_size %d MiB), %d CPUs%s, ALTER TABLE %s %s\n",
		res.serverLabel(), res.BufferPool>>20, res.CPUs, res.diskCap(), table, c.alter)
	if res.Flavor != "" && !strings.HasPrefix(res.Flavor, res.ServerFamily+"-") {
		fmt.Printf("bench: note: the sandbox's env says flavor %s, but the server is %s\n", res.Flavor, c.server)
	}

	for _, scale := range c.scales {
		var native time.Duration
		for pair := 1; pair <= c.repeat; pair++ {
			for _, kind := range runOrder {
				// The loaded run is long and measures other things: once.
				if !c.runs[kind] || (kind == runLoad && pair < c.repeat) {
					continue
				}
				if ctx.Err() != nil {
					return res.done(), ctx.Err()
				}
				numbered := 0
				if c.repeat > 1 && kind != runLoad {
					numbered = pair
				}
				r := runOne(ctx, c, db, rep, kind, scale, numbered, res.stamp)
				if kind == runNative && r.Error == "" {
					native = r.wall
				}
				if native > 0 && r.Error == "" {
					r.VsNative = round2(r.wall.Seconds() / native.Seconds())
				}
				res.Runs = append(res.Runs, r)
				if r.Error != "" {
					res.Failures = append(res.Failures, fmt.Sprintf("%s at %d rows: %s", runTitle[kind], r.Rows, r.Error))
				}
			}
		}
		if rt, ok := idleRatio(res.Runs, scale); ok {
			res.Ratios = append(res.Ratios, rt)
		}
	}
	res.done()
	res.print(os.Stdout)
	if len(res.Failures) > 0 {
		fmt.Printf("\nbench: keeping schema %s for inspection\n", benchSchema)
		return res, fmt.Errorf("%d run(s) failed:\n  %s", len(res.Failures), strings.Join(res.Failures, "\n  "))
	}
	if !c.keep {
		if _, err := adb.ExecContext(ctx, tag+"DROP DATABASE "+benchSchema); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (r *results) done() *results {
	r.Finished = time.Now()
	r.Elapsed = dur(r.Finished.Sub(r.Started))
	return r
}

// runOne makes one run on a fresh table; failures end up in Error.
func runOne(ctx context.Context, c config, db *sql.DB, rep *replica, kind string, scale, pair int, stamp string) *runResult {
	n := c.rows * scale
	r := &runResult{Scale: scale, Run: kind, Pair: pair, Rows: int64(n), LoadAvg: loadAvg()}
	fmt.Printf("\n== %s, %d rows (scale %d)\n", r.title(), n, scale)
	err := func() error {
		start := time.Now()
		if err := fill(ctx, db, c.server, n); err != nil {
			return err
		}
		// The replica applies the fill too: let it finish before timing.
		if _, err := rep.catchUp(ctx); err != nil {
			return err
		}
		r.Fill = dur(time.Since(start))
		before, err := checksum(ctx, db, table)
		if err != nil {
			return err
		}
		if before.Rows != int64(n) {
			return fmt.Errorf("fill: %d rows, want %d", before.Rows, n)
		}
		fmt.Printf("    fresh table in %s: %s\n", r.Fill, before)
		if c.replicaMode == replicaAfter {
			if err := rep.hold(ctx); err != nil {
				return err
			}
		}
		r.cpu = startCPU(ctx, db, rep.db)
		switch kind {
		case runNative:
			err = runNativeCopy(ctx, c, db, r, before)
		case runIdle:
			err = runGodwitIdle(ctx, c, db, r, before, stamp)
		case runLoad:
			err = runGodwitLoad(ctx, c, db, r, before, stamp)
		}
		// However the run went, measure what it left the replica to do.
		if c.replicaMode == replicaAfter {
			if rerr := rep.release(ctx); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		behind, rerr := rep.catchUp(ctx)
		r.ReplicaBehind, r.replica = dur(behind), behind
		r.ReplicaCPU = r.cpu.replicaSince(ctx)
		return errors.Join(err, rerr)
	}()
	if r.wall > 0 {
		r.Wall = dur(r.wall)
		r.RowsPerSec = float64(int64(float64(n) / r.wall.Seconds()))
	}
	if err != nil {
		r.Error = err.Error()
		fmt.Printf("    FAILED: %v\n", err)
	} else {
		fmt.Printf("    %s in %s (%s rows/s); replica behind after: %s\n    verified: %s\n",
			runTitle[kind], r.Wall, si(r.RowsPerSec), r.ReplicaBehind, r.Verified)
	}
	return r
}

// nativeAlter is the native run's statement: the server copies the table
// row by row into a new one, as godwit does from outside. LOCK=SHARED
// makes it the same operation on every flavor: it is what COPY does by
// default on MySQL and on MariaDB before 11.2, where 11.2 and later would
// otherwise pick an online copy (LOCK=NONE) that logs concurrent writes
// for replay; with nothing writing, only the plain copy is measured.
func nativeAlter(alter string) string {
	return fmt.Sprintf("ALTER TABLE %s %s, ALGORITHM=COPY, LOCK=SHARED", mysqlx.Q(table), alter)
}

// runNativeCopy times the server's own table copy: the ceiling for any
// copy from outside the server.
func runNativeCopy(ctx context.Context, c config, db *sql.DB, r *runResult, before sum) error {
	q := tag + nativeAlter(c.alter)
	fmt.Printf("    %s\n", strings.TrimPrefix(q, tag))
	start := time.Now()
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("native ALTER: %w", err)
	}
	r.wall = time.Since(start)
	r.PrimaryCPU = r.cpu.primarySince(ctx)
	r.Notes = "writes to the table wait for the whole ALTER (LOCK=SHARED allows reads only)"
	v, err := compareSums(ctx, db, table, before, "the table before the ALTER")
	r.Verified = v
	return err
}

// compareSums checks table name against want; when the ALTER dropped a
// compared column only the row count can be compared.
func compareSums(ctx context.Context, db *sql.DB, name string, want sum, what string) (string, error) {
	missing, err := missingColumns(ctx, db, name)
	if err != nil {
		return "", err
	}
	if len(missing) > 0 {
		var rows int64
		if err := db.QueryRowContext(ctx, tag+"SELECT COUNT(*) FROM "+mysqlx.Q(name)).Scan(&rows); err != nil {
			return "", err
		}
		if rows != want.Rows {
			return "", fmt.Errorf("%s has %d rows, %s had %d", name, rows, what, want.Rows)
		}
		return fmt.Sprintf("row count only (%d; the ALTER removed %s)", rows, strings.Join(missing, ", ")), nil
	}
	got, err := checksum(ctx, db, name)
	if err != nil {
		return "", err
	}
	if got != want {
		return "", fmt.Errorf("%s has %s, %s had %s", name, got, what, want)
	}
	return fmt.Sprintf("%s equals %s (%s)", name, what, got), nil
}

// runGodwitIdle migrates the table with nothing else writing to it.
func runGodwitIdle(ctx context.Context, c config, db *sql.DB, r *runResult, before sum, stamp string) error {
	r.GodwitLog = r.logPath(c.outDir, stamp)
	g := runGodwit(ctx, c, r.GodwitLog, nil)
	r.PrimaryCPU = r.cpu.primarySince(ctx)
	r.fromGodwit(g)
	if g.Err != nil {
		return g.Err
	}
	old, _ := g.Summary["old_table"].(string)
	if old == "" {
		old = "_" + table + "_old"
	}
	var checks []string
	if ok, err := tableExists(ctx, db, old); err != nil {
		return err
	} else if ok {
		// Nobody wrote: the old table must still be the fill, untouched.
		got, err := checksum(ctx, db, old)
		if err != nil {
			return err
		}
		if got != before {
			return fmt.Errorf("the old table %s has %s, the original had %s", old, got, before)
		}
		checks = append(checks, old+" is the original, intact")
	}
	v, err := compareSums(ctx, db, table, before, "the original")
	if err != nil {
		return err
	}
	r.Verified = strings.Join(append(checks, v), "; ")
	return nil
}

// runGodwitLoad migrates the table while the writers run, then checks the
// table against their model.
func runGodwitLoad(ctx context.Context, c config, db *sql.DB, r *runResult, before sum, stamp string) error {
	if missing, err := missingColumns(ctx, db, table); err != nil || len(missing) > 0 {
		return firstErr(err, fmt.Errorf("the loaded run needs columns %s", strings.Join(missing, ", ")))
	}
	if model := initialSum(int(r.Rows)); model != before {
		return fmt.Errorf("the fill has %s, the writers' model of it %s", before, model)
	}
	wdb, err := mysqlx.Open(ctx, c.conn)
	if err != nil {
		return err
	}
	defer wdb.Close()
	wdb.SetMaxOpenConns(c.writers + 4)
	wdb.SetMaxIdleConns(c.writers + 4)

	l := startLoad(wdb, int(r.Rows), c.rate, c.writers)
	fmt.Printf("    %d writes/s from %d writers (inserts, updates, deletes, key updates); %s baseline\n", c.rate, c.writers, c.warmup)
	stopped := false
	stopLoad := func() error {
		if stopped {
			return nil
		}
		stopped = true
		return l.stopAndWait()
	}
	defer func() { _ = stopLoad() }()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(c.warmup):
	}

	var p *probe
	onPhase := func(phase string) {
		switch phase {
		case "copy":
			if p == nil {
				p = startProbe(wdb)
			}
			p.setPhase(phase)
		case "indexes", "catch-up", "verify": // changes are still applied: the probe goes on
			p.setPhase(phase)
		default:
			p.signal()
		}
	}
	r.GodwitLog = r.logPath(c.outDir, stamp)
	start := time.Now()
	g := runGodwit(ctx, c, r.GodwitLog, onPhase)
	end := time.Now()
	r.PrimaryCPU = r.cpu.primarySince(ctx)
	p.halt()
	r.fromGodwit(g)
	if g.Err == nil {
		time.Sleep(c.after) // writes continue into the new table
	}
	werr := stopLoad()
	swap := g.SwapAt
	if swap.IsZero() {
		swap = g.PhaseAt["cleanup"]
	}
	st := l.stats(c.rate, start, end, swap, g.PhaseAt)
	r.Load = &st
	if p != nil {
		ls := p.stats()
		r.ApplyLag = &ls
		werr = errors.Join(werr, p.err)
	}
	fmt.Printf("    writers: %d inserts, %d updates, %d deletes, %d key updates, %d retries, %.0f writes/s during the migration\n",
		st.Inserts, st.Updates, st.Deletes, st.KeyUpdates, st.Retries, st.AchievedRate)
	fmt.Printf("    latency p50/p99/max: baseline %s, during migration %s, within ±%s of the swap %s\n",
		st.Baseline, st.Migration, cutoverWindow, st.Cutover)
	if st.WorstPhase != "" {
		fmt.Printf("    slowest statement: %s, began %s into the migration, in phase %s\n", st.Migration.Max, st.WorstAt, st.WorstPhase)
	}
	if r.ApplyLag != nil {
		fmt.Printf("    apply lag (probe): p50 %s, max %s (in phase %s) over %d probes; max per phase: %s\n", r.ApplyLag.P50, r.ApplyLag.Max, r.ApplyLag.MaxPhase, r.ApplyLag.N, r.ApplyLag.phaseMaxes())
	}
	// Compare the table with the model whenever the model is exact: after a
	// swap it is the new table, after a failed run still the original,
	// which must be intact and hold every write.
	if werr != nil && !errors.Is(werr, errModel) {
		return errors.Join(g.Err, werr)
	}
	v, err := l.verify(ctx, db, before, p)
	r.Verified = v
	return errors.Join(g.Err, werr, err)
}

func (r *runResult) fromGodwit(g *godwitResult) {
	r.wall = g.Wall
	r.Phases = g.Phases
	r.GodwitTotal = dur(g.Total)
	r.PeakRSSKiB = g.PeakRSSKiB
	r.GodwitCPU = dur(g.CPU)
	r.CutoverStall = dur(g.CutoverStall)
	r.CutoverAttempts = g.CutoverAttempts
	r.RowsCopied = g.RowsCopied
	r.RowsApplied = g.RowsApplied
	r.BinlogChanges = g.BinlogChanges
	r.MaxPending = g.MaxPending
	r.GodwitSummary = g.Summary
	if !g.SwapAt.IsZero() {
		r.SwapAt = g.SwapAt.Format(time.RFC3339Nano)
	}
}

// serverLabel names the server in the headings: its family and version,
// and the sandbox flavor it runs as, if any.
func (res *results) serverLabel() string {
	s := sbtest.Server{Version: res.Server, MariaDB: res.ServerFamily == "mariadb"}.String()
	if res.Flavor != "" {
		s += " (sandbox " + res.Flavor + ")"
	}
	return s
}

// loadAvg is the host's 1-minute load average, 0 if unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return f
}
