package copier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // the parser panics without a value driver

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sqlparse"
)

// Position is a binlog file and offset.
type Position = gomysql.Position

// ErrTableDDL is returned when a DDL statement touching the source table
// appears in the binlog: the column positions the stream decodes by would
// no longer hold, so the migration must stop.
var ErrTableDDL = errors.New("DDL on the table during the migration")

// StreamConfig says where to read the binlog from.
type StreamConfig struct {
	Conn   mysqlx.Config
	Flavor string // "mysql" or "mariadb"
	Schema string
	Table  string
	Key    Key
	Log    *slog.Logger
	// Ignore, when set, names statements that are not DDL on the table
	// for this stream although they name it: the swap's RENAME that a
	// revert reads past.
	Ignore func(schema, query string) bool
}

// Stream follows the binlog from a position and records the keys of the
// source table's changed rows in Changes. Rows of other tables are not
// even decoded: go-mysql has no server-side filter, so the filter runs on
// the table map before the row image is parsed.
type Stream struct {
	cfg     StreamConfig
	changes *Changes
	syncer  *replication.BinlogSyncer
	cancel  context.CancelFunc
	done    chan struct{}

	mu       sync.Mutex
	pos      Position
	boundary Position     // where the transaction being read began: a safe place to restart
	gtids    *gtidTracker // the GTID set before boundary; nil without GTIDs
	err      error
	events   int64
	moved    chan struct{} // closed and replaced whenever pos advances
}

// MasterPosition reads the primary's current binlog position.
func MasterPosition(ctx context.Context, q queryer) (Position, error) {
	p, err := masterStatus(ctx, q)
	return p.Position, err
}

// MasterStatus reads the server's binlog position and, on MySQL, the
// Executed_Gtid_Set of the same row; q may be the session that holds the
// cut-over's locks.
func MasterStatus(ctx context.Context, q queryer) (Point, error) { return masterStatus(ctx, q) }

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// masterStatus reads the server's binlog status: the position, and on
// MySQL the Executed_Gtid_Set of the same row. MySQL 8.4 removed SHOW
// MASTER STATUS in favour of SHOW BINARY LOG STATUS.
func masterStatus(ctx context.Context, q queryer) (Point, error) {
	var p Point
	for _, stmt := range []string{"SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"} {
		rows, err := q.QueryContext(ctx, mysqlx.Tag+stmt)
		if err != nil {
			if mysqlx.ErrCode(err) == 1064 {
				continue
			}
			return p, fmt.Errorf("%s: %w", stmt, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		if !rows.Next() {
			return p, fmt.Errorf("%s returned nothing: the binary log is off (start the server with log_bin)", stmt)
		}
		var name string
		var n uint64
		var gtid sql.NullString
		dest := make([]any, len(cols))
		dest[0], dest[1] = &name, &n
		for i := 2; i < len(dest); i++ {
			dest[i] = new(sql.RawBytes)
			if cols[i] == "Executed_Gtid_Set" {
				dest[i] = &gtid
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return p, fmt.Errorf("%s: %w", stmt, err)
		}
		// The set is printed over several lines when it is long.
		return Point{Position: Position{Name: name, Pos: uint32(n)}, GTID: strings.ReplaceAll(gtid.String, "\n", "")}, nil
	}
	return p, errors.New("cannot read the binlog position: neither SHOW MASTER STATUS nor SHOW BINARY LOG STATUS is accepted")
}

// ReaderHost is the host name godwit's binlog readers register with on
// the primary, where SHOW REPLICAS lists them next to the replicas.
const ReaderHost = "godwit-binlog-reader"

// StartStream starts following the binlog at from.
//
// With a GTID set and no position, it starts after that set's
// transactions: the point of a checkpoint made on another server of the
// topology, before a failover.
func StartStream(ctx context.Context, cfg StreamConfig, from Point, changes *Changes) (*Stream, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	gtids, err := newGTIDTracker(cfg.Flavor, from.GTID)
	if err != nil {
		return nil, err
	}
	// go-mysql cannot fall back to the clear by itself: settle PREFERRED
	// first, so the stream is encrypted exactly when the SQL sessions are.
	conn, err := mysqlx.ResolveTLS(ctx, cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("start binlog stream: %w", err)
	}
	host, port := conn.Host, uint16(conn.Port)
	if conn.Socket != "" {
		// go-mysql dials a unix socket when given no port and a host that
		// holds a slash (an absolute path always does).
		if host, err = filepath.Abs(conn.Socket); err != nil {
			return nil, fmt.Errorf("start binlog stream: socket %s: %w", conn.Socket, err)
		}
		port = 0
	}
	cfg.Log.Debug("binlog stream connection", "addr", conn.Addr(), "tls", conn.TLS != nil)
	s := &Stream{cfg: cfg, changes: changes, pos: from.Position, boundary: from.Position, gtids: gtids, done: make(chan struct{}), moved: make(chan struct{})}
	s.syncer = replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		// Every reader of a primary needs its own server id; a clash would
		// disconnect another replica.
		ServerID: uint32(1_000_000_000 + rand.IntN(1_000_000_000)),
		// The name it registers with (SHOW REPLICAS): replica discovery
		// tells godwit's readers from replicas by it.
		Localhost:               ReaderHost,
		Flavor:                  cfg.Flavor,
		Host:                    host,
		Port:                    port,
		User:                    conn.User,
		Password:                conn.Password,
		TLSConfig:               conn.TLS,
		UseDecimal:              true, // DECIMAL keys must stay exact
		TimestampStringLocation: time.UTC,
		HeartbeatPeriod:         time.Second,
		ReadTimeout:             30 * time.Second,
		MaxReconnectAttempts:    10,
		Logger:                  slog.New(slog.DiscardHandler),
		RowsEventDecodeFunc:     s.decodeRows,
	})
	var streamer *replication.BinlogStreamer
	if from.Name == "" && gtids != nil {
		streamer, err = s.syncer.StartSyncGTID(gtids.executed.Clone())
	} else {
		streamer, err = s.syncer.StartSync(from.Position)
	}
	if err != nil {
		s.syncer.Close()
		return nil, fmt.Errorf("start binlog stream at %s: %w", from, err)
	}
	sctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	go s.run(sctx, streamer)
	return s, nil
}

// decodeRows decodes only the row images of the source table.
func (s *Stream) decodeRows(re *replication.RowsEvent, data []byte) error {
	pos, err := re.DecodeHeader(data)
	if err != nil {
		return err
	}
	if re.Table == nil || string(re.Table.Schema) != s.cfg.Schema || string(re.Table.Table) != s.cfg.Table {
		return nil
	}
	return re.DecodeData(pos, data)
}

func (s *Stream) run(ctx context.Context, streamer *replication.BinlogStreamer) {
	defer close(s.done)
	for {
		ev, err := streamer.GetEvent(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.fail(fmt.Errorf("read binlog after %s: %w", s.Position(), err))
			}
			return
		}
		if err := s.handle(ev); err != nil {
			s.fail(err)
			return
		}
	}
}

func (s *Stream) handle(ev *replication.BinlogEvent) error {
	next := s.Position()
	if e, ok := ev.Event.(*replication.RotateEvent); ok {
		next = Position{Name: string(e.NextLogName), Pos: uint32(e.Position)}
		if s.Boundary().Name == "" {
			s.setBoundary(next) // started from a GTID set: the first file sent
		}
	} else if err := s.inspect(ev, next); err != nil {
		return err
	}
	if ev.Header.LogPos > 0 && ev.Header.EventType != replication.ROTATE_EVENT {
		next.Pos = ev.Header.LogPos
	}
	s.advance(next)
	return nil
}

// inspect records what one event says of the table; at is where the event
// begins. An event that could carry the table's rows in a form the stream
// cannot follow stops the migration: skipping it would lose those rows
// while the checksum, which only sees the keys the stream recorded, could
// still pass.
func (s *Stream) inspect(ev *replication.BinlogEvent, at Position) error {
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDEvent, *replication.GTIDEvent, *replication.GtidTaggedLogEvent:
		// A transaction starts: everything before it was read whole.
		gtid, err := eventGTID(e)
		if err != nil {
			return err
		}
		return s.beginTransaction(at, gtid)
	case *replication.TransactionPayloadEvent:
		// MySQL's binlog_transaction_compression: the transaction's events,
		// row events included, travel inside one compressed event.
		for _, inner := range e.Events {
			if err := s.inspect(inner, at); err != nil {
				return err
			}
		}
	case *replication.RowsEvent:
		if e.Table != nil && string(e.Table.Schema) == s.cfg.Schema && string(e.Table.Table) == s.cfg.Table {
			if err := s.record(e); err != nil {
				return err
			}
		}
	case *replication.QueryEvent:
		if strings.EqualFold(strings.TrimSpace(string(e.Query)), "BEGIN") {
			s.setBoundary(at) // without GTIDs, BEGIN starts a transaction
		}
		if s.cfg.Ignore != nil && s.cfg.Ignore(string(e.Schema), string(e.Query)) {
			return nil
		}
		switch touches(string(e.Schema), string(e.Query), s.cfg.Schema, s.cfg.Table) {
		case touchDDL:
			return fmt.Errorf("%w: %q at %s; nothing was swapped, the original table is untouched: rerun godwit once that change is done",
				ErrTableDDL, string(e.Query), at)
		case touchWrite:
			return fmt.Errorf("%w: %q at %s was logged as a statement, not as rows (a session with binlog_format=STATEMENT or MIXED?); "+
				"godwit cannot follow it, so it stopped with the original table untouched: make every writer use binlog_format=ROW, then rerun",
				ErrUnreadableEvent, string(e.Query), at)
		}
	case *replication.GenericEvent:
		if !harmless[ev.Header.EventType] {
			return fmt.Errorf("%w: %s at %s; nothing was swapped, the original table is untouched",
				ErrUnreadableEvent, ev.Header.EventType, at)
		}
	case *replication.ExecuteLoadQueryEvent:
		return fmt.Errorf("%w: a LOAD DATA logged as a statement at %s (binlog_format=STATEMENT or MIXED in some session); "+
			"the original table is untouched: make every writer use binlog_format=ROW, then rerun", ErrUnreadableEvent, at)
	}
	return nil
}

// ErrUnreadableEvent is returned for a binlog event that could carry the
// table's rows in a form the stream cannot follow.
var ErrUnreadableEvent = errors.New("binlog event godwit cannot follow")

// harmless are the event types go-mysql leaves undecoded that carry no
// row of any table. Any other undecoded type stops the stream: an event
// this build does not know may hold rows (as MySQL's compressed
// transactions once did), and a stop costs a rerun where a skip costs data.
var harmless = map[replication.EventType]bool{
	replication.START_EVENT_V3:            true,
	replication.STOP_EVENT:                true,
	replication.RAND_EVENT:                true, // context of a statement, whose own event is checked
	replication.USER_VAR_EVENT:            true,
	replication.IGNORABLE_EVENT:           true,
	replication.TRANSACTION_CONTEXT_EVENT: true,
	replication.VIEW_CHANGE_EVENT:         true, // group replication membership
	replication.XA_PREPARE_LOG_EVENT:      true, // the rows came before it, as row events
	replication.SLAVE_EVENT:               true,
	// encrypt_binlog: an event after it that the stream could not decrypt
	// would fail to parse, loudly.
	replication.MARIADB_START_ENCRYPTION_EVENT: true,
}

// record adds the keys of every row image; for an update both the before
// and the after key, so that a key change deletes the old row.
func (s *Stream) record(e *replication.RowsEvent) error {
	for _, row := range e.Rows {
		k, err := s.cfg.Key.fromEvent(row)
		if err != nil {
			return fmt.Errorf("decode binlog row of %s.%s: %w", s.cfg.Schema, s.cfg.Table, err)
		}
		s.changes.Add(k)
	}
	return nil
}

func (s *Stream) setBoundary(p Position) {
	s.mu.Lock()
	s.boundary = p
	s.mu.Unlock()
}

func (s *Stream) beginTransaction(p Position, gtid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.boundary = p
	return s.gtids.begin(gtid)
}

// Boundary is the start of the transaction the stream is reading, or its
// position when between transactions, with the GTID set before it: every
// change before it has been recorded, so a stream restarted there misses
// nothing and starts with a whole transaction.
func (s *Stream) Boundary() Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Point{Position: s.boundary, GTID: s.gtids.before()}
}

func (s *Stream) advance(p Position) {
	s.mu.Lock()
	s.pos = p
	s.events++
	close(s.moved)
	s.moved = make(chan struct{})
	s.mu.Unlock()
}

func (s *Stream) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	close(s.moved)
	s.moved = make(chan struct{})
	s.mu.Unlock()
}

// Position is how far the stream has read.
func (s *Stream) Position() Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pos
}

// Err is the error that stopped the stream, if any.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// WaitFor blocks until the stream has read up to target.
func (s *Stream) WaitFor(ctx context.Context, target Position) error {
	for {
		s.mu.Lock()
		pos, err, moved := s.pos, s.err, s.moved
		s.mu.Unlock()
		if err != nil {
			return err
		}
		if pos.Compare(target) >= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("binlog stream at %s, waiting for %s: %w", pos, target, ctx.Err())
		case <-moved:
		}
	}
}

// Close stops the stream.
func (s *Stream) Close() {
	s.cancel()
	s.syncer.Close()
	<-s.done
}

// touch is what a statement from the binlog does to the table.
type touch int

const (
	touchNone  touch = iota
	touchDDL         // changes its definition
	touchWrite       // writes its rows as a statement, not as row events
)

// touches says what a statement from the binlog does to the table. The
// statement is parsed; one the parser cannot read (a CREATE TRIGGER,
// MariaDB's own syntax) counts as DDL on the table when it names it (see
// namesTable), unless it is about a stored program (see storedProgram),
// since a false alarm costs a rerun and a miss costs data: a
// trigger created on the table would leave with the old table at the swap.
func touches(eventSchema, query, schema, table string) touch {
	q := strings.TrimSpace(query)
	if strings.EqualFold(q, "BEGIN") || strings.EqualFold(q, "COMMIT") {
		return touchNone
	}
	done := sqlparse.Reading()
	stmts, _, err := parser.New().ParseSQL(q)
	done()
	if err != nil {
		if isStoredProgram(q) {
			return touchNone
		}
		if namesTable(eventSchema, q, schema, table) {
			return touchDDL
		}
		return touchNone
	}
	for _, st := range stmts {
		kind, target := touchDDL, ast.Node(st)
		switch st := st.(type) {
		case *ast.ProcedureInfo, *ast.DropProcedureStmt:
			continue // a stored program: see storedProgram
		case ast.DDLNode:
		case *ast.InsertStmt: // INSERT INTO x SELECT ... FROM t writes x only
			kind, target = touchWrite, st.Table
		case *ast.UpdateStmt, *ast.DeleteStmt, *ast.LoadDataStmt:
			kind = touchWrite
		default:
			continue
		}
		v := &tableNames{}
		target.Accept(v)
		for _, tn := range v.names {
			db := tn.Schema.O
			if db == "" {
				db = eventSchema
			}
			if strings.EqualFold(db, schema) && strings.EqualFold(tn.Name.O, table) {
				return kind
			}
		}
	}
	return touchNone
}

type tableNames struct{ names []*ast.TableName }

func (v *tableNames) Enter(n ast.Node) (ast.Node, bool) {
	if tn, ok := n.(*ast.TableName); ok {
		v.names = append(v.names, tn)
	}
	return n, false
}

func (v *tableNames) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// identifiers splits a statement into its words, backquotes removed, so
// that "t" matches the table t and not every statement with a letter t.
var identifiers = regexp.MustCompile("`(?:[^`]|``)+`|[A-Za-z0-9_$\\x{80}-\\x{10FFFF}]+")

// namesTable says whether a statement names the table as a word of its
// own, in the table's schema: qualified by it, or unqualified in a
// statement logged from it. Words in strings and comments count too; that
// errs toward a false alarm.
func namesTable(eventSchema, query, schema, table string) bool {
	locs := identifiers.FindAllStringIndex(query, -1)
	word := func(i int) string {
		w := query[locs[i][0]:locs[i][1]]
		if strings.HasPrefix(w, "`") {
			w = strings.ReplaceAll(w[1:len(w)-1], "``", "`")
		}
		return w
	}
	for i := range locs {
		if !strings.EqualFold(word(i), table) {
			continue
		}
		qualified := i > 0 && locs[i][0] > 0 && query[locs[i][0]-1] == '.' && locs[i-1][1] == locs[i][0]-1
		if qualified && strings.EqualFold(word(i-1), schema) {
			return true
		}
		if !qualified && strings.EqualFold(eventSchema, schema) {
			return true
		}
	}
	return false
}
