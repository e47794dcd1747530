package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/godwit-db/godwit/copier"
	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/throttle"
)

// plan_measure.go: what the planner measures on the server: the table's
// size, the disk the copy needs and what is free, a timed sample read
// for the duration estimate, replica lag now and the chunk size.

// PlanSize is the table's size as information_schema.TABLES reports it,
// or as godwit measured it where those statistics are stale.
type PlanSize struct {
	RowsEstimate int64  `json:"rows_estimate"` // TABLE_ROWS: InnoDB's estimate, often off by tens of percent; or godwit's own
	RowsBasis    string `json:"rows_basis"`    // where RowsEstimate comes from
	DataBytes    int64  `json:"data_bytes"`
	IndexBytes   int64  `json:"index_bytes"`
	// Stale is what information_schema.TABLES said when godwit's own
	// measure contradicted it (the sizes above are then godwit's).
	Stale *PlanStats `json:"stale_statistics,omitempty"`
}

// PlanStats is the server's statistics of the table.
type PlanStats struct {
	Rows       int64 `json:"rows"`
	DataBytes  int64 `json:"data_bytes"`
	IndexBytes int64 `json:"index_bytes"`
}

// PlanDisk is the disk the copy needs, and what the server reports free.
type PlanDisk struct {
	ShadowBytes int64      `json:"shadow_bytes"` // the new table: about the old one's data and indexes
	BinlogBytes int64      `json:"binlog_bytes"` // row images of every copied row, written to the binlog
	NeededBytes int64      `json:"needed_bytes"`
	Datadir     string     `json:"datadir,omitempty"`
	BinlogDir   string     `json:"binlog_dir,omitempty"`
	Free        []DiskFree `json:"free,omitempty"`
	FreeUnknown string     `json:"free_unknown,omitempty"` // why the free space is unknown
	Basis       string     `json:"basis"`
}

// DiskFree is one filesystem as information_schema.DISKS reports it.
type DiskFree struct {
	Path           string   `json:"path"`
	Disk           string   `json:"disk"`
	TotalBytes     int64    `json:"total_bytes"`
	AvailableBytes int64    `json:"available_bytes"`
	Holds          []string `json:"holds"` // "datadir", "binlog"
	NeededBytes    int64    `json:"needed_bytes"`
}

// PlanEstimate is the duration estimate and its basis.
type PlanEstimate struct {
	SampleRows      int64   `json:"sample_rows"`
	SampleBytes     int64   `json:"sample_bytes"`
	SampleSeconds   float64 `json:"sample_seconds"`
	ReadRowsPerSec  float64 `json:"read_rows_per_sec"`
	ReadBytesPerSec float64 `json:"read_bytes_per_sec"`
	Rows            int64   `json:"rows"`       // rows the estimate is for
	RowsExact       bool    `json:"rows_exact"` // the sample read the whole table
	CopySeconds     float64 `json:"copy_seconds"`
	ChecksumSeconds float64 `json:"checksum_seconds"`
	TotalSeconds    float64 `json:"total_seconds"`
	Basis           string  `json:"basis"`
}

// The copy and the checksum run slower than a plain read of the same
// rows: the copy writes every row and its index entries and logs it to
// the binlog; the checksum reads both tables. These ratios of their
// speed to the sample's read speed were measured on the MariaDB 10.11
// sandbox (TestPlanCalibrate: 200,000 rows of internal/workload's
// 20-column table, MODIFY i32 BIGINT, 2 cores, two runs): the copy ran at
// 0.22-0.23 of the read rate, the checksum at 0.31-0.33. Rounded down:
// an estimate that is too short does more harm than one too long.
//
// The checksum compares each chunk while the copy runs, and before the
// swap only what changed since: on the bench table (1M rows) that cost
// 0.8 s more copy and 0.33 s of verify against 2.0 s for comparing the
// whole table after the copy, so a little over half.
const (
	copyRateFactor     = 0.2
	checksumRateFactor = 0.3
	incrementalShare   = 0.6
)

// sampleBytes bounds the sample read, roughly.
const sampleBytes = 64 << 20

// sample is a timed read of the table's first rows in key order.
type sample struct {
	rows, bytes int64
	took        time.Duration
	complete    bool // the table has no more rows
}

func (s sample) rowsPerSec() float64 {
	if s.rows == 0 || s.took <= 0 {
		return 0
	}
	return float64(s.rows) / s.took.Seconds()
}

func (s sample) avgRowBytes() float64 {
	if s.rows == 0 {
		return 0
	}
	return float64(s.bytes) / float64(s.rows)
}

// sampleRead reads up to n whole rows in key order and times it.
func sampleRead(ctx context.Context, db *sql.DB, schema, table string, key copier.Key, haveKey bool, n int) (sample, error) {
	q := fmt.Sprintf("%sSELECT * FROM %s", mysqlx.Tag, mysqlx.QT(schema, table))
	if haveKey {
		names := make([]string, len(key.Columns))
		for i, c := range key.Columns {
			names[i] = c.Name
		}
		q += " ORDER BY " + mysqlx.QList(names)
	}
	q += fmt.Sprintf(" LIMIT %d", n)
	var s sample
	start := time.Now()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return s, fmt.Errorf("sample read: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return s, fmt.Errorf("sample read: %w", err)
	}
	raw := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return s, fmt.Errorf("sample read: %w", err)
		}
		s.rows++
		for _, r := range raw {
			s.bytes += int64(len(r))
		}
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("sample read: %w", err)
	}
	s.took = time.Since(start)
	s.complete = s.rows < int64(n)
	return s, nil
}

// measure fills Size, Disk and Estimate.
func (p *Plan) measure(ctx context.Context, m *migration, opt PlanOptions, key copier.Key, haveKey bool) (sample, error) {
	src := m.source
	// Wide rows (BLOBs) would make a 20,000-row sample a big read: keep it
	// near sampleBytes by the table's average row length.
	n := opt.SampleRows
	if src.Rows > 0 && src.DataLength/src.Rows > 0 {
		n = min(n, max(100, int(sampleBytes/(src.DataLength/src.Rows))))
	}
	s, err := sampleRead(ctx, m.db, opt.Conn.Database, opt.Table, key, haveKey, n)
	if err != nil {
		return s, err
	}
	own, err := countRows(ctx, m.db, opt.Conn.Database, opt.Table, key, haveKey, s)
	if err != nil {
		return s, err
	}
	rows := p.checkStatistics(mysqlx.QT(opt.Conn.Database, opt.Table), tableStats{rows: src.Rows, data: src.DataLength, index: src.IndexLength}, own, s)
	e := &PlanEstimate{
		SampleRows: s.rows, SampleBytes: s.bytes, SampleSeconds: s.took.Seconds(),
		ReadRowsPerSec: s.rowsPerSec(), Rows: rows, RowsExact: s.complete,
	}
	if e.SampleSeconds > 0 {
		e.ReadBytesPerSec = float64(s.bytes) / e.SampleSeconds
	}
	order := "in key order"
	if !haveKey {
		order = "(no usable key: in storage order)"
	}
	switch {
	case rows == 0:
		e.Basis = "the table is empty: the copy takes no time beyond setup and cut-over"
	case e.ReadRowsPerSec == 0:
		e.Basis = "the sample read took no measurable time: no estimate"
	default:
		e.CopySeconds = float64(rows) / (e.ReadRowsPerSec * copyRateFactor)
		e.ChecksumSeconds = float64(rows) / (e.ReadRowsPerSec * checksumRateFactor)
		if !opt.FullChecksum {
			e.ChecksumSeconds *= incrementalShare
		}
		if opt.SkipChecksum {
			e.ChecksumSeconds = 0
		}
		e.TotalSeconds = e.CopySeconds + e.ChecksumSeconds
		if p.Path == PathInstant {
			e.TotalSeconds = 0
		}
		count := fmt.Sprintf("%d rows (the server's estimate, often off by tens of percent)", rows)
		switch {
		case s.complete:
			count = fmt.Sprintf("all %d rows (the sample read the whole table)", rows)
		case p.Size.RowsBasis != "the server's estimate":
			count = fmt.Sprintf("%d rows (%s)", rows, p.Size.RowsBasis)
		}
		e.Basis = fmt.Sprintf("sampled %d rows (%s) %s in %s: %.0f rows/s read. Copy ≈ %s for %s at %.2f× that rate, "+
			"checksum ≈ %s at %.2f× (ratios measured on godwit's test server: the copy writes every row, its indexes and its binlog "+
			"event; the checksum reads both tables, mostly while the copy runs, all of them again after it with --full-checksum). An estimate: real runs pause for replica lag and load, apply concurrent "+
			"writes, and the cache may hold the sampled rows but not the rest",
			s.rows, FormatBytes(s.bytes), order, s.took.Round(time.Microsecond), e.ReadRowsPerSec,
			FormatSeconds(e.CopySeconds), count, copyRateFactor, FormatSeconds(e.ChecksumSeconds), checksumRateFactor)
	}
	if p.Path == PathInstant {
		e.Basis = "godwit migrate lets the server make this change with ALGORITHM=INSTANT: metadata only, no copy, " +
			"once it gets the table's metadata lock (waiting at most --cutover-lock-timeout per attempt). " +
			"Should the table refuse the instant change, it copies instead; for that copy (or --force-copy): " + e.Basis
	}
	p.Estimate = e
	return s, p.disk(ctx, m, rows, s)
}

func (p *Plan) disk(ctx context.Context, m *migration, rows int64, s sample) error {
	d := &PlanDisk{ShadowBytes: p.Size.DataBytes + p.Size.IndexBytes}
	d.BinlogBytes = int64(s.avgRowBytes() * float64(rows))
	d.NeededBytes = d.ShadowBytes + d.BinlogBytes
	d.Basis = "the new table takes about what the old one takes (data and indexes; new indexes add to it); " +
		"the binlog grows by a row image of every copied row (≈ the sample's bytes per row × rows), plus the application's own writes, " +
		"until the server purges old binlogs. The old table is kept as _" + m.opt.Table + "_old after the swap: " +
		"its space comes back only when it is dropped (--drop-old). An estimate"
	datadir, _, err := variable(ctx, m.db, "datadir")
	if err != nil {
		return err
	}
	base, _, err := variable(ctx, m.db, "log_bin_basename")
	if err != nil {
		return err
	}
	need := "the copy needs"
	if p.Path == PathInstant {
		need = "no copy expected (instant); should it copy, it needs"
	}
	d.Datadir = datadir
	if base != "" {
		d.BinlogDir = filepath.Dir(base)
	}
	p.Disk = d
	disks, why := readDisks(ctx, m.db, m.server.Flavor)
	if why != "" {
		d.FreeUnknown = why
		p.add(PlanCheck{Check: "disk", Status: CheckNotChecked, Message: fmt.Sprintf("%s ≈ %s; free space unknown: %s", need, FormatBytes(d.NeededBytes), why)})
		return nil
	}
	place := func(dir string) int {
		best := -1
		for i, k := range disks {
			if strings.HasPrefix(strings.TrimSuffix(dir, "/")+"/", strings.TrimSuffix(k.Path, "/")+"/") &&
				(best < 0 || len(k.Path) > len(disks[best].Path)) {
				best = i
			}
		}
		return best
	}
	used := map[int]bool{}
	if i := place(d.Datadir); i >= 0 {
		disks[i].Holds = append(disks[i].Holds, "datadir")
		disks[i].NeededBytes += d.ShadowBytes
		used[i] = true
	}
	if i := place(d.BinlogDir); i >= 0 && d.BinlogDir != "" {
		disks[i].Holds = append(disks[i].Holds, "binlog")
		disks[i].NeededBytes += d.BinlogBytes
		used[i] = true
	}
	for i := range disks {
		if used[i] {
			d.Free = append(d.Free, disks[i])
		}
	}
	if len(d.Free) == 0 {
		d.FreeUnknown = "information_schema.DISKS lists no filesystem holding " + d.Datadir
		p.add(PlanCheck{Check: "disk", Status: CheckNotChecked, Message: d.FreeUnknown})
		return nil
	}
	for _, k := range d.Free {
		if k.NeededBytes > k.AvailableBytes {
			p.add(PlanCheck{Check: "disk", Status: CheckWarning,
				Message: fmt.Sprintf("%s (%s) has %s free; %s ≈ %s there", k.Path, strings.Join(k.Holds, " and "), FormatBytes(k.AvailableBytes), need, FormatBytes(k.NeededBytes)),
				Fix:     "Free disk space first (purge old binlogs, drop old tables), or the server may stop when the disk fills up."})
			return nil
		}
	}
	p.add(PlanCheck{Check: "disk", Status: CheckOK, Message: fmt.Sprintf("%s ≈ %s; enough is free", need, FormatBytes(d.NeededBytes))})
	return nil
}

// readDisks reads MariaDB's information_schema.DISKS (the DISKS plugin),
// whose sizes are in KiB. why says why there is nothing to read.
func readDisks(ctx context.Context, db *sql.DB, flavor string) ([]DiskFree, string) {
	if flavor != "mariadb" {
		return nil, "MySQL reports no free disk space over SQL; check the filesystems of the datadir and binlog by hand"
	}
	rows, err := db.QueryContext(ctx, mysqlx.Tag+"SELECT Disk, Path, Total, Available FROM information_schema.DISKS")
	if err != nil {
		switch mysqlx.ErrCode(err) {
		case 1109: // ER_UNKNOWN_TABLE
			return nil, "the server reports free disk space only with MariaDB's DISKS plugin (INSTALL SONAME 'disks')"
		case 1227, 1142, 1044:
			return nil, "reading information_schema.DISKS needs the FILE privilege"
		}
		return nil, "information_schema.DISKS: " + err.Error()
	}
	defer rows.Close()
	var out []DiskFree
	for rows.Next() {
		var k DiskFree
		if err := rows.Scan(&k.Disk, &k.Path, &k.TotalBytes, &k.AvailableBytes); err != nil {
			return nil, "information_schema.DISKS: " + err.Error()
		}
		k.TotalBytes *= 1024
		k.AvailableBytes *= 1024
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, "information_schema.DISKS: " + err.Error()
	}
	if len(out) == 0 {
		return nil, "information_schema.DISKS is empty (it lists what the FILE privilege lets the user see)"
	}
	return out, ""
}

// replicas reads each replica's lag now, the way migrate's throttle does
// before its heartbeat runs (Seconds_Behind_Master); the planner writes
// no heartbeat. A replica migrate could not watch is refused, as migrate
// refuses it.
func (p *Plan) replicas(ctx context.Context, opt PlanOptions) error {
	limit := opt.Throttle.MaxLag
	if limit == 0 {
		limit = throttle.DefaultMaxLag
	}
	if len(opt.Replicas) == 0 {
		p.NotChecked = append(p.NotChecked, "replica lag: no --replica given")
	}
	for _, r := range opt.Replicas {
		r.Database = "" // as migrate: see openReplicas
		db, err := mysqlx.Open(ctx, r)
		if err != nil {
			p.add(PlanCheck{Check: "replica", Status: CheckRefused, Message: fmt.Sprintf("replica %s: %v", r.Addr(), err), Fix: "Check --replica, or leave the replica out."})
			continue
		}
		lag, err := throttle.NewReplicaLag(r.Addr(), db, nil).Measure(ctx)
		db.Close()
		if err != nil {
			p.add(PlanCheck{Check: "replica", Status: CheckRefused, Message: fmt.Sprintf("replica %s: %v", r.Addr(), err), Fix: "Repair replication first; migrate cannot watch this replica's lag."})
			continue
		}
		d := time.Duration(lag * float64(time.Second))
		if limit > 0 && d > limit {
			p.add(PlanCheck{Check: "replica-lag", Status: CheckWarning,
				Message: fmt.Sprintf("replica %s lags %s now, more than --max-lag %s: the copy would wait until it catches up", r.Addr(), d, limit),
				Fix:     "Find what the replica is busy with first, or expect the copy to start late."})
			continue
		}
		p.add(PlanCheck{Check: "replica-lag", Status: CheckOK, Message: fmt.Sprintf("replica %s lags %s now (Seconds_Behind_Master)", r.Addr(), d)})
	}
	return nil
}

// chunks looks at one copy chunk: migrate sizes it to --chunk-time (at
// most MaxChunkRows rows), and each chunk is one transaction, written to
// the binlog at its commit and applied by replicas at once.
func (p *Plan) chunks(ctx context.Context, m *migration, opt PlanOptions, s sample) error {
	if s.rows == 0 {
		p.add(PlanCheck{Check: "chunk-size", Status: CheckOK, Message: "the table is empty"})
		return nil
	}
	perChunk := int64(s.rowsPerSec() * copyRateFactor * opt.ChunkTime.Seconds())
	perChunk = min(max(perChunk, 1000), int64(opt.MaxChunkRows))
	bytes := int64(float64(perChunk) * s.avgRowBytes())
	what := fmt.Sprintf("a chunk of ≈ %d rows (--chunk-time %s) writes ≈ %s to the binlog in one transaction", perChunk, opt.ChunkTime, FormatBytes(bytes))
	cacheMax, _, err := variable(ctx, m.db, "max_binlog_cache_size")
	if err != nil {
		return err
	}
	if limit, err := strconv.ParseUint(cacheMax, 10, 64); err == nil && uint64(bytes) > limit {
		p.add(PlanCheck{Check: "chunk-size", Status: CheckWarning,
			Message: what + fmt.Sprintf(", more than max_binlog_cache_size (%s): the copy would fail at the first full chunk", FormatBytes(int64(limit))),
			Fix:     "Lower --chunk-time, or raise max_binlog_cache_size."})
		return nil
	}
	if bytes > 256<<20 {
		p.add(PlanCheck{Check: "chunk-size", Status: CheckWarning,
			Message: what + ": replicas apply each chunk at once, so their lag comes in jumps",
			Fix:     "Lower --chunk-time for smaller transactions."})
		return nil
	}
	p.add(PlanCheck{Check: "chunk-size", Status: CheckOK, Message: what})
	return nil
}

// FormatBytes prints a size with a binary unit: 1.5 MiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for x := n / unit; x >= unit; x /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// FormatSeconds prints a duration estimate rounded to what it is worth.
func FormatSeconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
