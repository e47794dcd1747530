package main

// Integration test of --metrics-addr and --hook: a real migration of the
// godwit binary against the sandbox, scraped while it runs.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/migrate"
)

// freeAddr returns a 127.0.0.1 address no one listens on (now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// sample returns the value of the exposition's sample whose line starts
// with prefix (name and labels), and whether there is one.
func sample(exposition, prefix string) (float64, bool) {
	for _, l := range strings.Split(exposition, "\n") {
		if rest, ok := strings.CutPrefix(l, prefix); ok && strings.HasPrefix(rest, " ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// scraper scrapes url in a loop until stopped and keeps what it saw.
type scraper struct {
	url    string
	mu     sync.Mutex
	ok     int     // successful scrapes
	copied float64 // the highest godwit_rows_copied seen
	done   bool    // a scrape saw godwit_phase{phase="done"} 1
	last   string  // the last successful scrape
	stop   chan struct{}
	wg     sync.WaitGroup
}

func startScraper(url string) *scraper {
	s := &scraper{url: url, stop: make(chan struct{})}
	client := &http.Client{Timeout: time.Second}
	s.wg.Go(func() {
		for {
			select {
			case <-s.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			resp, err := client.Get(s.url)
			if err != nil {
				continue // not up yet, or gone
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				continue
			}
			s.record(string(b))
		}
	})
	return s
}

func (s *scraper) record(exp string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ok++
	s.last = exp
	for _, l := range strings.Split(exp, "\n") {
		if strings.HasPrefix(l, "godwit_rows_copied{") {
			if v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64); err == nil && v > s.copied {
				s.copied = v
			}
		}
		if strings.HasPrefix(l, "godwit_phase{") && strings.Contains(l, `phase="done"`) && strings.HasSuffix(l, " 1") {
			s.done = true
		}
	}
}

func (s *scraper) finish() {
	close(s.stop)
	s.wg.Wait()
}

func TestMigrateMetricsAndHooks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path string
		args       []string
		phases     []string
	}{
		{"copy", migrate.PathCopy, []string{"--force-copy"},
			[]string{"preflight", "setup", "copy", "catch-up", "verify", "cut-over", "cleanup", "done"}},
		// The server adds the column instantly: no copy.
		{"instant", migrate.PathInstant, nil, []string{"preflight", "setup", "instant", "done"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := sandboxtest.New(t)
			createTable(t, sb)
			dir := t.TempDir()
			events := filepath.Join(dir, "events")
			addr := freeAddr(t)
			url := "http://" + addr + "/metrics"

			sc := startScraper(url)
			args := append(connArgs(sb), "--alter", "ADD COLUMN c INT DEFAULT 5", "--output", "json",
				"--metrics-addr", addr,
				// The sleep keeps the server up a little while the last
				// hooks drain, so the scraper sees the final state.
				"--hook", "cat >> "+events+"; sleep 0.2",
				"--hook", "echo 'hook says no' >&2; exit 3",
				"--hook-timeout", "10s")
			res := runGodwit(t, pwdEnv(sb), append(args, tc.args...)...)
			sc.finish()
			if res.code != exitOK {
				t.Fatalf("exit %d, want %d (a failing hook must not fail the migration); stderr:\n%s", res.code, exitOK, res.stderr)
			}
			checkJSONOutput(t, res)
			checkMigrated(t, sb, map[string]string{"copy": "_t_old", "instant": ""}[tc.name])

			// The hooks: every phase in order, then success.
			got := readEvents(t, events)
			var kinds []string
			for _, e := range got {
				kinds = append(kinds, fmt.Sprint(e["event"], ":", e["phase"]))
				if e["database"] != sb.Database || e["table"] != "t" {
					t.Errorf("hook event %v: want database %s, table t", e, sb.Database)
				}
			}
			var want []string
			for _, p := range tc.phases {
				want = append(want, "phase:"+p)
			}
			want = append(want, "success:done")
			if !slices.Equal(kinds, want) {
				t.Fatalf("the hook saw %v, want %v", kinds, want)
			}
			last := got[len(got)-1]
			wantRows := map[string]float64{"copy": tableRows, "instant": 0}[tc.name]
			if last["swapped"] != true || last["rows_copied"] != wantRows || last["path"] != tc.path {
				t.Errorf("success event %v: want swapped, rows_copied %v, path %s", last, wantRows, tc.path)
			}
			// The failing hook is a warning with its stderr, once per event.
			if n := strings.Count(res.stderr, `"stderr":"hook says no"`); n != len(want) {
				t.Errorf("stderr quotes the failing hook %d times, want %d:\n%s", n, len(want), res.stderr)
			}

			// The metrics: scraped while it ran; gone once it ended.
			sc.mu.Lock()
			defer sc.mu.Unlock()
			t.Logf("%d scrapes; highest rows copied %v; saw done %v", sc.ok, sc.copied, sc.done)
			if sc.ok == 0 {
				t.Fatalf("no scrape of %s succeeded while godwit ran", url)
			}
			if !sc.done || (tc.name == "copy" && sc.copied == 0) {
				t.Errorf("the scrapes never saw rows copied > 0 and phase done (rows copied %v, done %v); the last:\n%s",
					sc.copied, sc.done, godwitLines(sc.last))
			}
			lbl := fmt.Sprintf(`{database="%s",table="t"}`, sb.Database)
			if v, ok := sample(sc.last, "godwit_swapped"+lbl); !ok || v != 1 {
				t.Errorf("the last scrape: godwit_swapped = %v (present %v), want 1:\n%s", v, ok, godwitLines(sc.last))
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("the metrics server still answers after godwit exited")
			}
		})
	}
}

// TestMigrateMetricsAddrInUse: a taken --metrics-addr is a usage error
// before anything is done.
func TestMigrateMetricsAddrInUse(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.New(t)
	createTable(t, sb)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	events := filepath.Join(t.TempDir(), "events")
	res := runGodwit(t, pwdEnv(sb), append(connArgs(sb), "--alter", "ADD COLUMN c INT", "--output", "json",
		"--metrics-addr", ln.Addr().String(), "--hook", "cat >> "+events)...)
	if res.code != exitUsage {
		t.Fatalf("exit %d, want %d", res.code, exitUsage)
	}
	if !strings.Contains(res.stderr, "--metrics-addr "+ln.Addr().String()) || !strings.Contains(res.stderr, "address already in use") {
		t.Errorf("stderr does not name the flag and the cause:\n%s", res.stderr)
	}
	if res.stdout != "" {
		t.Errorf("stdout should be empty on a usage error: %q", res.stdout)
	}
	if got := tables(t, sb); !slices.Equal(got, []string{"t"}) {
		t.Errorf("tables: %v, want only t", got)
	}
	if got := columns(t, sb, "t"); !slices.Equal(got, []string{"id", "a"}) {
		t.Errorf("t changed: columns %v", got)
	}
	if _, err := os.Stat(events); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a hook ran for a command line that was refused (%v)", err)
	}
}
