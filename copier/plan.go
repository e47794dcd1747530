package copier

import (
	"fmt"

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

	// ChecksumSource and ChecksumShadow are SQL expressions, one per mapped
	// column, that render a value the same way on both sides (a changed
	// type is cast to a common form) for the checksum.
	ChecksumSource []string
	ChecksumShadow []string
	// ChecksumNotNull says which of them are NOT NULL on both sides: their
	// rows need no ISNULL to tell NULL from ''. Missing entries say false.
	ChecksumNotNull []bool
	// CRC32C says the server has CRC32C() (MariaDB 10.8+): the checksum
	// hashes rows with it rather than CRC32, with the CPU's instruction.
	CRC32C bool
}

func (p *Plan) source() string { return mysqlx.QT(p.Schema, p.Source) }
func (p *Plan) shadow() string { return mysqlx.QT(p.Schema, p.Shadow) }

// insertSelect is the head of every statement that moves rows: the server
// copies them, never the client.
func (p *Plan) insertSelect() string {
	return fmt.Sprintf("%sINSERT INTO %s (%s) SELECT %s FROM %s FORCE INDEX (%s)",
		mysqlx.Tag, p.shadow(), mysqlx.QList(p.ShadowCols), mysqlx.QList(p.SourceCols),
		p.source(), mysqlx.Q(p.Key.Index))
}
