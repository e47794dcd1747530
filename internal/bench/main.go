// Command bench is what `make bench` runs: on the sandbox it times a native
// ALTER TABLE ... ALGORITHM=COPY (the in-server ceiling), then the godwit
// binary on an idle table and under a bounded write load, each on a fresh
// sysbench-like table, at one or more table sizes. It prints a table,
// writes bench-results/<timestamp>.json and exits non-zero only when a run
// failed or its result did not verify: timings never fail the bench.
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/godwit-db/godwit/internal/bench/sbtest"
	"github.com/godwit-db/godwit/internal/mysqlx"
)

// config is everything a bench run needs, from the flags and the sandbox.
type config struct {
	conn        mysqlx.Config // Database is the bench schema
	replicaPort int           // 0: no replica to wait for
	replicaMode string        // replicaDuring or replicaAfter
	rows        int
	scales      []int
	alter       string
	bin         string // as given, for display
	binPinned   string // the copy that runs
	binSHA      string
	chunkTime   string   // passed to godwit when set
	extra       []string // more godwit flags
	rate        int
	writers     int
	warmup      time.Duration
	after       time.Duration
	runs        map[string]bool
	repeat      int // native and idle runs per scale, in pairs
	outDir      string
	keep        bool
	diskIOPS    int // 0: the disk as it is

	server sbtest.Server // what the primary is, asked once connected
}

const benchSchema = "godwit_bench"

func main() {
	var (
		c              config
		scales, runs   string
		rows           int
		defaultRows, _ = strconv.Atoi(os.Getenv("BENCH_ROWS"))
	)
	if defaultRows <= 0 {
		defaultRows = 1_000_000
	}
	flag.IntVar(&rows, "rows", defaultRows, "rows of the table at scale 1 (default: $BENCH_ROWS, else 1000000)")
	flag.StringVar(&scales, "scales", "1", "comma-separated multiples of -rows to run, e.g. 1,4")
	flag.StringVar(&c.alter, "alter", "MODIFY c VARCHAR(130) NOT NULL", "the change (the clause after ALTER TABLE t); it must keep id, k, c and pad")
	flag.StringVar(&c.bin, "godwit", "bin/godwit", "the godwit binary (make build)")
	flag.StringVar(&c.chunkTime, "chunk-time", "", "passed to godwit --chunk-time (default: godwit's own)")
	extra := flag.String("godwit-flags", "", "more flags for godwit migrate, space-separated, e.g. \"--cutover-lock-timeout 1s\"")
	flag.IntVar(&c.rate, "rate", 1000, "writes per second of the load generator in the loaded run")
	flag.IntVar(&c.writers, "writers", 8, "concurrent writer connections sharing -rate")
	flag.DurationVar(&c.warmup, "warmup", 5*time.Second, "writes before godwit starts (their latency is the baseline)")
	flag.DurationVar(&c.after, "after", 2*time.Second, "writes after godwit exits (they land in the new table)")
	flag.StringVar(&c.replicaMode, "replica", replicaDuring, "when the sandbox replica applies a run's writes: during (as they come, on this host's cores) or after (its SQL thread stopped for the timed run, as when the replica has a host of its own; its catch-up is reported)")
	flag.StringVar(&runs, "runs", "native,idle,load", "which runs to make, of native, idle, load")
	flag.IntVar(&c.repeat, "repeat", 1, "native and idle runs per scale, made in turns; the ratio reported is the median of the pairs (the server's own time varies by 20% from run to run here)")
	flag.StringVar(&c.outDir, "out", "bench-results", "directory for the JSON results")
	flag.IntVar(&c.diskIOPS, "disk-iops", 0, "cap the sandbox primary's disk at this many reads/s and writes/s for the whole bench (cgroup blkio or io; root), to repeat a slow disk's runs")
	flag.BoolVar(&c.keep, "keep", false, "keep the "+benchSchema+" schema afterwards")
	flag.Parse()

	c.extra = strings.Fields(*extra)
	if err := c.finish(rows, scales, runs); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cleanup, err := c.pinBinary()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	if c.diskIOPS > 0 {
		lift, err := capDisk(os.Getenv("GODWIT_SANDBOX_DIR"), c.diskIOPS)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		defer lift()
	}
	res, err := run(ctx, c)
	cleanup()
	if res != nil {
		if path, werr := res.write(c.outDir); werr != nil {
			fmt.Fprintf(os.Stderr, "bench: write results: %v\n", werr)
			err = firstErr(err, werr)
		} else {
			fmt.Printf("\nbench: results in %s\n", path)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: FAILED: %v\n", err)
		os.Exit(1)
	}
}

// finish checks the flags and reads the sandbox's connection settings.
func (c *config) finish(rows int, scales, runs string) error {
	if rows < 1000 {
		return fmt.Errorf("-rows must be at least 1000, not %d", rows)
	}
	c.rows = rows
	for _, s := range strings.Split(scales, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-scales: %q is not a positive whole number", s)
		}
		c.scales = append(c.scales, n)
	}
	c.runs = map[string]bool{}
	for _, r := range strings.Split(runs, ",") {
		r = strings.TrimSpace(r)
		if r != runNative && r != runIdle && r != runLoad {
			return fmt.Errorf("-runs: unknown run %q (native, idle, load)", r)
		}
		c.runs[r] = true
	}
	if c.replicaMode != replicaDuring && c.replicaMode != replicaAfter {
		return fmt.Errorf("-replica: %q is neither %s nor %s", c.replicaMode, replicaDuring, replicaAfter)
	}
	if c.repeat < 1 {
		return fmt.Errorf("-repeat must be at least 1, not %d", c.repeat)
	}
	if c.rate < 1 || c.writers < 1 {
		return fmt.Errorf("-rate and -writers must be positive")
	}
	if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(c.alter)), "ALTER ") {
		return fmt.Errorf("-alter takes the clause after ALTER TABLE t, e.g. %q", "MODIFY c VARCHAR(130) NOT NULL")
	}
	if _, err := os.Stat(c.bin); err != nil && (c.runs[runIdle] || c.runs[runLoad]) {
		return fmt.Errorf("godwit binary: %w (run make build)", err)
	}
	port, err := strconv.Atoi(os.Getenv("GODWIT_TEST_PORT"))
	if err != nil {
		return fmt.Errorf("no sandbox in the environment (run make bench, or make sandbox-start && . .sandbox/env)")
	}
	c.conn = mysqlx.Config{Host: os.Getenv("GODWIT_TEST_HOST"), Port: port, User: os.Getenv("GODWIT_TEST_USER"),
		Password: os.Getenv("GODWIT_TEST_PASSWORD"), Database: benchSchema}
	c.replicaPort, _ = strconv.Atoi(os.Getenv("GODWIT_TEST_REPLICA_PORT"))
	return nil
}

// pinBinary runs a private copy of the godwit binary, so that a rebuild
// during the bench cannot change what is measured halfway; the copy's
// SHA-256 goes into the results.
func (c *config) pinBinary() (func(), error) {
	if !c.runs[runIdle] && !c.runs[runLoad] {
		return func() {}, nil
	}
	b, err := os.ReadFile(c.bin)
	if err != nil {
		return nil, fmt.Errorf("godwit binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "godwit-bench-")
	if err != nil {
		return nil, err
	}
	pinned := filepath.Join(dir, "godwit")
	if err := os.WriteFile(pinned, b, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.binSHA = fmt.Sprintf("%x", sha256.Sum256(b))
	c.binPinned = pinned
	return func() { os.RemoveAll(dir) }, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
