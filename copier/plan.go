package copier

import (
	"fmt"
	"log/slog"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// Plan says what moves where: SourceCols of Source are inserted, in the
// same order, into ShadowCols of Shadow, and rows are found by Key.
type Plan struct {
	Schema     string
	Source     string
	Shadow     string
	SourceCols []string
	ShadowCols []string
	Key        Key

	// Compared are the columns the checksum compares: every column the two
	// tables share, found from the tables apart from the copy's own lists,
	// so that a column the copy wrongly skipped can never pass as equal.
	Compared []Compared
	// CRC32C says the server has CRC32C() (MariaDB 10.8+): the checksum
	// hashes rows with it rather than CRC32, with the CPU's instruction.
	CRC32C bool

	// Upsert applies changes by updating the shadow's rows in place
	// (upsert.go) instead of deleting and copying them again: the shadow
	// has columns of its own whose values must stay (godwit revert).
	Upsert bool

	// Log receives the retries after lock conflicts; nil is slog's default.
	Log *slog.Logger
}

// Compared is one column as the checksum reads it on both sides: an SQL
// expression each that renders the value the same way (a changed type is
// cast to a common form).
type Compared struct {
	Source, Shadow         string // column names
	SourceExpr, ShadowExpr string
	NotNull                bool // NOT NULL on both sides: no ISNULL needed to tell NULL from ''
}

// CompareAsStored compares each column of cols under the same name on
// both sides, as stored.
func CompareAsStored(cols ...string) []Compared {
	out := make([]Compared, len(cols))
	for i, c := range cols {
		out[i] = Compared{Source: c, Shadow: c, SourceExpr: mysqlx.Q(c), ShadowExpr: mysqlx.Q(c)}
	}
	return out
}

func (p *Plan) source() string { return mysqlx.QT(p.Schema, p.Source) }
func (p *Plan) shadow() string { return mysqlx.QT(p.Schema, p.Shadow) }

// insertSelect is the head of every statement that moves rows: the server
// copies them, never the client.
func (p *Plan) insertSelect() string { return p.moveRows("INSERT") }

// replaceSelect is insertSelect that first deletes the shadow rows whose
// unique values the copied rows take (see copyChunk).
func (p *Plan) replaceSelect() string { return p.moveRows("REPLACE") }

func (p *Plan) moveRows(verb string) string {
	return fmt.Sprintf("%s%s INTO %s (%s) SELECT %s FROM %s FORCE INDEX (%s)",
		mysqlx.Tag, verb, p.shadow(), mysqlx.QList(p.ShadowCols), mysqlx.QList(p.SourceCols),
		p.source(), mysqlx.Q(p.Key.Index))
}
