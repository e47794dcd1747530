package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
	"github.com/godwit-db/godwit/internal/tableinfo"
	"github.com/godwit-db/godwit/internal/workload"
)

func TestDeferrableIndexes(t *testing.T) {
	generated := func(cols ...string) func(string) bool {
		return func(c string) bool { return slices.Contains(cols, c) }
	}
	for _, tc := range []struct {
		name      string
		create    string
		generated func(string) bool
		want      []deferredIndex
	}{
		{
			name: "MariaDB: only the plain KEYs over columns",
			create: "CREATE TABLE `t` (\n" +
				"  `id` bigint(20) NOT NULL,\n" +
				"  `a` int(11) DEFAULT NULL,\n" +
				"  `b` varchar(100) DEFAULT NULL,\n" +
				"  `g` int(11) GENERATED ALWAYS AS (`a` + 1) VIRTUAL,\n" +
				"  `doc` text DEFAULT NULL,\n" +
				"  PRIMARY KEY (`id`),\n" +
				"  UNIQUE KEY `u_a` (`a`),\n" +
				"  UNIQUE KEY `u_b_prefix` (`b`(10)),\n" +
				"  KEY `k_a` (`a`),\n" +
				"  KEY `k_b_prefix` (`b`(10)) COMMENT 'a prefix, (with parentheses)',\n" +
				"  KEY `k_ab` (`a`,`b`),\n" +
				"  KEY `k_desc` (`a` DESC,`id`),\n" +
				"  KEY `k_ignored` (`b`) IGNORED,\n" +
				"  KEY `k_btree` (`a`) USING BTREE,\n" +
				"  KEY `k_block` (`a`) KEY_BLOCK_SIZE=8,\n" +
				"  KEY `odd``name` (`we(ird`),\n" +
				"  FULLTEXT KEY `ft` (`doc`)\n" +
				") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
			generated: generated("g"),
			want: []deferredIndex{
				{"k_a", "KEY `k_a` (`a`)"},
				{"k_b_prefix", "KEY `k_b_prefix` (`b`(10)) COMMENT 'a prefix, (with parentheses)'"},
				{"k_ab", "KEY `k_ab` (`a`,`b`)"},
				{"k_desc", "KEY `k_desc` (`a` DESC,`id`)"},
				{"k_ignored", "KEY `k_ignored` (`b`) IGNORED"},
				{"k_btree", "KEY `k_btree` (`a`) USING BTREE"},
				{"k_block", "KEY `k_block` (`a`) KEY_BLOCK_SIZE=8"},
				{"odd`name", "KEY `odd``name` (`we(ird`)"},
			},
		},
		{
			// Re-added, the others would move after them.
			name: "a KEY that stays keeps those before it in place",
			create: "CREATE TABLE `t` (\n" +
				"  `id` bigint(20) NOT NULL,\n" +
				"  `a` int(11) DEFAULT NULL,\n" +
				"  `g` int(11) GENERATED ALWAYS AS (`a` + 1) VIRTUAL,\n" +
				"  `pt` point NOT NULL,\n" +
				"  PRIMARY KEY (`id`),\n" +
				"  KEY `k_1` (`a`),\n" +
				"  KEY `k_g` (`g`),\n" +
				"  KEY `k_2` (`a`,`id`),\n" +
				"  KEY `k_ag` (`a`,`g`),\n" +
				"  KEY `k_3` (`id`),\n" +
				"  KEY `k_hash` (`a`) USING HASH,\n" +
				"  KEY `k_4` (`a`),\n" +
				"  SPATIAL KEY `sp` (`pt`),\n" +
				"  KEY `k_5` (`id`,`a`)\n" +
				") ENGINE=InnoDB",
			generated: generated("g"),
			want:      []deferredIndex{{"k_5", "KEY `k_5` (`id`,`a`)"}},
		},
		{
			name: "MySQL 8: functional key parts stay, the last line has no comma",
			create: "CREATE TABLE `t` (\n" +
				"  `id` int NOT NULL,\n" +
				"  `a` int DEFAULT NULL,\n" +
				"  `b` int DEFAULT NULL,\n" +
				"  PRIMARY KEY (`id`),\n" +
				"  KEY `f_only` (((`a` + 1))),\n" +
				"  KEY `f_mixed` (`a`,((`b` * 2))),\n" +
				"  KEY `k_invisible` (`a`) /*!80000 INVISIBLE */,\n" +
				"  KEY `k_last` (`b`)\n" +
				") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci",
			generated: generated(),
			want: []deferredIndex{
				{"k_invisible", "KEY `k_invisible` (`a`) /*!80000 INVISIBLE */"},
				{"k_last", "KEY `k_last` (`b`)"},
			},
		},
		{
			name: "a foreign key keeps every index",
			create: "CREATE TABLE `t` (\n" +
				"  `id` int NOT NULL,\n" +
				"  `p` int DEFAULT NULL,\n" +
				"  PRIMARY KEY (`id`),\n" +
				"  KEY `fk_p` (`p`),\n" +
				"  CONSTRAINT `fk_p` FOREIGN KEY (`p`) REFERENCES `parent` (`id`)\n" +
				") ENGINE=InnoDB",
			generated: generated(),
		},
		{
			name: "no secondary index",
			create: "CREATE TABLE `t` (\n" +
				"  `id` int NOT NULL,\n" +
				"  PRIMARY KEY (`id`)\n" +
				") ENGINE=InnoDB",
			generated: generated(),
		},
		{
			name: "a prefix length that is not a number, unquoted names",
			create: "CREATE TABLE `t` (\n" +
				"  KEY k2 (a),\n" +
				"  KEY `k` (`a`(x))\n" +
				") ENGINE=InnoDB",
			generated: generated(),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := deferrableIndexes(tc.create, tc.generated)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// The ALTER of the index tests: a changed column under an index, and an
// index of its own, which is deferred like the table's.
const indexAlter = "MODIFY i32 BIGINT NULL, ADD KEY dt_k (dt, k) COMMENT 'added by the ALTER'"

// indexTable creates the workload table with secondary indexes of every
// sort (its own KEY k_idx (k), a prefix, a composite and a unique one) and
// rows, and next to it the table the migration must end up like: a copy
// altered by the server itself.
func indexTable(ctx context.Context, t *testing.T, sb *sandboxtest.Sandbox, rows int) *workload.Model {
	t.Helper()
	if err := workload.Create(ctx, sb.DB, "t"); err != nil {
		t.Fatal(err)
	}
	sb.Exec(t, "ALTER TABLE t ADD KEY vc_prefix (vc(8)), ADD KEY i32_u32 (i32, u32), ADD UNIQUE KEY k_id (k, id)")
	model, err := workload.Load(ctx, sb.DB, "t", rows, 3)
	if err != nil {
		t.Fatal(err)
	}
	sb.Exec(t, "CREATE TABLE want LIKE t")
	sb.Exec(t, "ALTER TABLE want "+indexAlter)
	return model
}

// deferredNames are the indexes the copy leaves out of indexTable's shadow.
var deferredNames = []string{"k_idx", "vc_prefix", "i32_u32", "dt_k"}

var autoIncrement = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// checkStructure compares t with the natively altered copy, names and
// counters aside; anyOrder sorts the lines first, for a shadow whose
// indexes were added in another order.
func checkStructure(ctx context.Context, t *testing.T, sb *sandboxtest.Sandbox, anyOrder bool) {
	t.Helper()
	got, err := showCreate(ctx, sb.DB, sb.Database, "t")
	if err != nil {
		t.Fatal(err)
	}
	want, err := showCreate(ctx, sb.DB, sb.Database, "want")
	if err != nil {
		t.Fatal(err)
	}
	want = strings.Replace(want, "CREATE TABLE `want`", "CREATE TABLE `t`", 1)
	got, want = autoIncrement.ReplaceAllString(got, ""), autoIncrement.ReplaceAllString(want, "")
	if anyOrder {
		got, want = sortedLines(got), sortedLines(want)
	}
	if got != want {
		t.Fatalf("the migrated table differs from the one the server altered itself:\n%s\nwant\n%s", got, want)
	}
}

func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, ",")
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func indexOptions(sb *sandboxtest.Sandbox, deferIndexes bool) Options {
	return Options{
		Conn:  mysqlx.Config{Host: sb.Host, Port: sb.Port, User: sb.User, Password: sb.Password, Database: sb.Database},
		Table: "t", Alter: indexAlter,
		ChunkTime: 100 * time.Millisecond, Threads: 2, ForceCopy: true, DeferIndexes: deferIndexes,
	}
}

func shadowIndexNames(ctx context.Context, t *testing.T, sb *sandboxtest.Sandbox) []string {
	t.Helper()
	tb, err := tableinfo.Load(ctx, sb.DB, sb.Database, shadowName("t"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ix := range tb.Indexes {
		names = append(names, ix.Name)
	}
	slices.Sort(names)
	return names
}

// TestDeferredIndexes migrates a table with secondary indexes of every
// sort while writers keep writing, with and without deferring them: the
// shadow must go through the copy without its non-unique indexes only
// when they are deferred, and either way the table must end up as the
// server's own ALTER makes it, holding what the writers committed.
func TestDeferredIndexes(t *testing.T) {
	for _, deferIndexes := range []bool{true, false} {
		t.Run(fmt.Sprintf("defer=%v", deferIndexes), func(t *testing.T) {
			sb := sandboxtest.New(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			model := indexTable(ctx, t, sb, 30_000)
			run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 3, Rate: 300, Seed: 5})
			time.Sleep(200 * time.Millisecond)

			var mu sync.Mutex
			var duringCopy []string
			indexEvents := 0
			opt := indexOptions(sb, deferIndexes)
			opt.Report = func(e Event) {
				mu.Lock()
				defer mu.Unlock()
				if e.Phase == PhaseCopy && e.Progress.Chunks >= 1 && duringCopy == nil {
					duringCopy = shadowIndexNames(ctx, t, sb)
				}
				if e.Phase == PhaseIndexes {
					indexEvents++
				}
			}
			sum, err := Run(ctx, opt)
			time.Sleep(200 * time.Millisecond)
			stats, werr := run.Stop()
			if err != nil {
				t.Fatalf("migrate: %v", err)
			}
			if werr != nil {
				t.Fatalf("writers: %v", werr)
			}
			t.Log(stats.Locks())
			if err := stats.NoLockConflicts(); err != nil {
				t.Fatal(err)
			}
			t.Logf("phases %v; %d events in the indexes phase; writers %s", sum.Phases, indexEvents, stats)

			want := []string{"PRIMARY", "k_id"}
			if !deferIndexes {
				want = append(want, deferredNames...)
			}
			slices.Sort(want)
			if !slices.Equal(duringCopy, want) {
				t.Errorf("the shadow's indexes during the copy: %v, want %v", duringCopy, want)
			}
			if _, ok := sum.Phases[PhaseIndexes]; ok != deferIndexes {
				t.Errorf("phases %v: indexes phase %v, want %v", sum.Phases, ok, deferIndexes)
			}
			checkStructure(ctx, t, sb, false)
			if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
				t.Fatalf("the migrated table differs from what the writers committed: %v", err)
			}
		})
	}
}

// killedAfterCopy runs a migration through its copy and abandons it there,
// as a kill -9 between the copy and the index build would: its tables and
// checkpoint stay on the server, its sessions and named lock go.
func killedAfterCopy(ctx context.Context, t *testing.T, opt Options) {
	t.Helper()
	opt.defaults()
	m := &migration{opt: opt, log: opt.Log, summary: Summary{Table: opt.Table, Phases: map[Phase]time.Duration{}}}
	m.status = newStatusWriter(opt.Conn.Database, opt.Table, opt.Alter, opt.Log, m.currentThrottle)
	defer func() {
		if m.stream != nil {
			m.stream.Close()
		}
		if m.verifier != nil {
			m.verifier.Stop()
		}
		m.releaseTableLock()
		if m.db != nil {
			m.db.Close()
		}
	}()
	if err := m.preflight(ctx); err != nil {
		t.Fatalf("preflight: %v", err)
	}
	plan, err := m.setup(ctx)
	if err != nil || plan == nil {
		t.Fatalf("setup: plan %v, %v", plan, err)
	}
	if err := m.startStream(ctx, plan); err != nil {
		t.Fatalf("start the stream: %v", err)
	}
	if err := m.copier.Run(ctx); err != nil {
		t.Fatalf("copy: %v", err)
	}
}

// TestResumeBuildsDeferredIndexes: a run killed after its copy, before it
// built the indexes it left out, is resumed by the same command, which
// builds the ones the shadow does not have yet.
func TestResumeBuildsDeferredIndexes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		built string // an index the shadow has already
	}{
		{"none built", ""},
		{"one built", "ADD KEY vc_prefix (vc(8))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandboxtest.New(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			model := indexTable(ctx, t, sb, 20_000)
			run := workload.Start(ctx, sb.DB, "t", model, workload.Options{Writers: 3, Rate: 300, Seed: 6})
			defer run.Stop() // on a failed test

			opt := indexOptions(sb, true)
			killedAfterCopy(ctx, t, opt)
			var state string
			if err := sb.DB.QueryRowContext(ctx, "SELECT state FROM "+mysqlx.Q(checkpointName("t"))+" WHERE id = 1").Scan(&state); err != nil {
				t.Fatal(err)
			}
			var cp checkpoint
			if err := json.Unmarshal([]byte(state), &cp); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, ix := range cp.Indexes {
				names = append(names, ix.Name)
			}
			if !cp.Done || !slices.Equal(names, deferredNames) {
				t.Fatalf("the checkpoint the killed run left: done %v, indexes %v; want done, %v", cp.Done, names, deferredNames)
			}
			if got := shadowIndexNames(ctx, t, sb); !slices.Equal(got, []string{"PRIMARY", "k_id"}) {
				t.Fatalf("the shadow the killed run left has indexes %v", got)
			}
			if tc.built != "" {
				sb.Exec(t, "ALTER TABLE "+mysqlx.Q(shadowName("t"))+" "+tc.built)
			}
			time.Sleep(300 * time.Millisecond) // writes the rerun must pick up from the binlog

			// The rerun: --defer-indexes=false must not matter, the shadow
			// was made without them.
			sum, err := Run(ctx, indexOptions(sb, false))
			time.Sleep(200 * time.Millisecond)
			if _, werr := run.Stop(); werr != nil {
				t.Fatalf("writers: %v", werr)
			}
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if !sum.Resumed || !sum.Swapped {
				t.Fatalf("rerun: resumed %v, swapped %v; want both", sum.Resumed, sum.Swapped)
			}
			if _, ok := sum.Phases[PhaseIndexes]; !ok {
				t.Errorf("the rerun had no indexes phase: %v", sum.Phases)
			}
			checkStructure(ctx, t, sb, tc.built != "")
			if err := model.Compare(ctx, sb.DB, "t", workload.Expect{}); err != nil {
				t.Fatalf("the migrated table differs from what the writers committed: %v", err)
			}
		})
	}
}

// TestDeferredIndexesCancelled: cancelled while the indexes build, a run
// stops the build on the server and keeps its copy, as in any phase: a
// build left running would race the rerun that resumes it. The rerun
// builds the indexes and swaps.
func TestDeferredIndexesCancelled(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	indexTable(ctx, t, sb, 50_000)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	opt := indexOptions(sb, true)
	opt.Report = func(e Event) {
		if e.Phase == PhaseIndexes && e.Message != "" {
			time.AfterFunc(50*time.Millisecond, stop)
		}
	}
	start := time.Now()
	sum, err := Run(rctx, opt)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrKept) {
		t.Fatalf("Run: %v, want a cancelled run that keeps its copy", err)
	}
	t.Logf("cancelled after %s: %v (phases %v)", time.Since(start).Round(time.Millisecond), err, sum.Phases)
	if got := sb.Tables(t); !slices.Equal(got, []string{"_t_ckpt", "_t_new", "t", "want"}) {
		t.Fatalf("tables after the cancelled run: %v, want [_t_ckpt _t_new t want]", got)
	}
	var n int
	if err := sb.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+sb.Processlist()+" WHERE INFO LIKE '%ADD KEY%' AND ID <> CONNECTION_ID()").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d index builds still run on the server (%v)", n, err)
	}
	opt.Report = nil
	if sum, err = Run(ctx, opt); err != nil || !sum.Resumed {
		t.Fatalf("rerun: resumed %v, %v", sum != nil && sum.Resumed, err)
	}
	checkStructure(ctx, t, sb, false)
}
