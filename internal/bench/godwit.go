package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// phaseOrder is the order phases are shown in; phases godwit reports that
// are not listed here follow, by name.
var phaseOrder = []string{"preflight", "setup", "copy", "indexes", "catch-up", "verify", "cut-over", "cleanup"}

type phaseTime struct {
	Phase string `json:"phase"`
	Took  dur    `json:"ms"`
}

// godwitResult is what one run of the godwit binary reported.
type godwitResult struct {
	Wall            time.Duration        // from start to exit of the process
	PeakRSSKiB      int64                // getrusage ru_maxrss of the process
	CPU             time.Duration        // user and system time of the process
	Phases          []phaseTime          // from the summary
	Total           time.Duration        // godwit's own total
	CutoverStall    time.Duration        // writes held back by the successful attempt
	CutoverAttempts int                  // attempts until the swap succeeded
	RowsCopied      int64                // rows the copy moved
	RowsApplied     int64                // rows re-applied from binlog changes
	BinlogChanges   int64                // row changes seen in the binlog
	MaxPending      int64                // most binlog changes waiting to be applied in any progress event
	SwapAt          time.Time            // when the RENAME returned (from godwit's log); zero if unknown
	PhaseAt         map[string]time.Time // when each phase began, from the progress events
	Summary         map[string]any       // the summary line as godwit wrote it
	Err             error
}

// runGodwit runs `godwit migrate` with JSON output, following its progress
// live: onPhase is called (from another goroutine) at each phase change.
// godwit's stderr (its JSON log) goes to logPath.
func runGodwit(ctx context.Context, c config, logPath string, onPhase func(phase string)) *godwitResult {
	res := &godwitResult{PhaseAt: map[string]time.Time{}}
	args := []string{"migrate", "--host", c.conn.Host, "--port", strconv.Itoa(c.conn.Port), "--user", c.conn.User,
		"--database", c.conn.Database, "--table", table, "--alter", c.alter, "--output", "json"}
	if c.chunkTime != "" {
		args = append(args, "--chunk-time", c.chunkTime)
	}
	args = append(args, c.extra...)
	cmd := exec.CommandContext(ctx, c.binPinned, args...)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+c.conn.Password)
	cmd.WaitDelay = 10 * time.Second
	logf, err := os.Create(logPath)
	if err != nil {
		res.Err = err
		return res
	}
	defer logf.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		res.Err = err
		return res
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		res.Err = err
		return res
	}
	fmt.Printf("    %s %s\n", c.bin, quoteArgs(args))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		res.Err = fmt.Errorf("start %s: %w", c.bin, err)
		return res
	}
	var (
		wg      sync.WaitGroup
		lastErr string
	)
	wg.Go(func() { readStdout(stdout, res, start, onPhase) })
	wg.Go(func() { lastErr = readStderr(stderr, logf, res) })
	wg.Wait()
	werr := cmd.Wait()
	res.Wall = time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.PeakRSSKiB = int64(ru.Maxrss) // KiB on Linux
		res.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	res.fromSummary()
	if werr != nil {
		msg := ""
		if s, ok := res.Summary["error"].(string); ok {
			msg = s
		} else if lastErr != "" {
			msg = lastErr
		}
		var ee *exec.ExitError
		if errors.As(werr, &ee) && msg != "" {
			werr = fmt.Errorf("godwit exited with %d: %s (log: %s)", ee.ExitCode(), msg, logPath)
		} else {
			werr = fmt.Errorf("godwit: %w (log: %s)", werr, logPath)
		}
		res.Err = werr
	} else if res.Summary == nil {
		res.Err = fmt.Errorf("godwit exited 0 without a summary line (log: %s)", logPath)
	}
	return res
}

// readStdout follows the JSON lines: progress events and the final summary.
func readStdout(r io.Reader, res *godwitResult, start time.Time, onPhase func(string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	phase := ""
	for sc.Scan() {
		var ev map[string]any
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch ev["event"] {
		case "summary":
			res.Summary = ev
		case "progress":
			if p, ok := num(ev["pending_changes"]); ok {
				res.MaxPending = max(res.MaxPending, int64(p))
			}
			if p, _ := ev["phase"].(string); p != "" && p != phase {
				phase = p
				if ts, ok := ev["time"].(string); ok {
					if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
						res.PhaseAt[p] = t
					}
				}
				rows, _ := num(ev["rows_copied"])
				fmt.Printf("    %7.1fs  %-9s rows copied %d\n", time.Since(start).Seconds(), p, int64(rows))
				if onPhase != nil {
					onPhase(p)
				}
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// readStderr copies godwit's log to w, picks up the time of the swap, and
// returns the last error message logged.
func readStderr(r io.Reader, w io.Writer, res *godwitResult) string {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	last := ""
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = w.Write(append(line, '\n'))
		var ev map[string]any
		if json.Unmarshal(line, &ev) != nil {
			if len(line) > 0 {
				last = string(line) // a plain-text error
			}
			continue
		}
		msg, _ := ev["msg"].(string)
		if msg == "tables swapped" {
			if ts, ok := ev["time"].(string); ok {
				if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
					res.SwapAt = t
				}
			}
		}
		if lvl, _ := ev["level"].(string); lvl == "ERROR" {
			last = msg
			if e, ok := ev["err"].(string); ok {
				last += ": " + e
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
	return last
}

// fromSummary reads the fields the bench reports; godwit's summary is the
// contract of `--output json` (cmd/godwit/output.go).
func (res *godwitResult) fromSummary() {
	s := res.Summary
	if s == nil {
		return
	}
	ms := func(k string) time.Duration {
		v, _ := num(s[k])
		return time.Duration(v * float64(time.Millisecond))
	}
	count := func(k string) int64 { v, _ := num(s[k]); return int64(v) }
	res.Total = ms("total_ms")
	res.CutoverStall = ms("cutover_stall_ms")
	res.CutoverAttempts = int(count("cutover_attempts"))
	res.RowsCopied = count("rows_copied")
	res.RowsApplied = count("rows_applied")
	res.BinlogChanges = count("binlog_row_changes")
	phases, _ := s["phases"].(map[string]any)
	names := make([]string, 0, len(phases))
	for p := range phases {
		names = append(names, p)
	}
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := slices.Index(phaseOrder, a), slices.Index(phaseOrder, b)
		if ia < 0 {
			ia = len(phaseOrder)
		}
		if ib < 0 {
			ib = len(phaseOrder)
		}
		if ia != ib {
			return ia - ib
		}
		if a < b {
			return -1
		}
		return 1
	})
	for _, p := range names {
		str, _ := phases[p].(string)
		d, err := time.ParseDuration(str)
		if err != nil {
			continue
		}
		res.Phases = append(res.Phases, phaseTime{Phase: p, Took: dur(d)})
	}
}

// phase returns the time godwit spent in phase p.
func (res *godwitResult) phase(p string) time.Duration {
	for _, pt := range res.Phases {
		if pt.Phase == p {
			return time.Duration(pt.Took)
		}
	}
	return 0
}

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

func quoteArgs(args []string) string {
	out := ""
	for i, a := range args {
		if i > 0 {
			out += " "
		}
		if a == "" || strings.ContainsAny(a, " \"'$`\\") {
			a = strconv.Quote(a)
		}
		out += a
	}
	return out
}
