// Package sqlparse teaches the TiDB parser the character sets and
// collations of the server godwit works on, and guards the parser's global
// tables while it does.
//
// Out of the box the parser knows only a handful of charsets (utf8,
// utf8mb4, ascii, latin1, binary, gbk, gb18030): "MODIFY c VARCHAR(64)
// CHARACTER SET latin2" would fail with "Unknown character set" although
// the server accepts it. The parser keeps its charsets and collations in
// package-level maps that a program may extend (charset.AddCharset,
// charset.AddCollation) but that carry no lock of their own: every parse
// reads them. So every parse godwit makes runs under Reading, and Register
// writes under the matching write lock.
package sqlparse

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser/charset"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// mu guards the parser's charset and collation tables.
var mu sync.RWMutex

// Reading holds the parser's tables still while the caller parses; call
// the function it returns when done. Parses must not nest: a registration
// waiting between two read locks of one goroutine would deadlock it.
func Reading() (done func()) {
	mu.RLock()
	return mu.RUnlock
}

// Charset is one of the server's character sets.
type Charset struct {
	Name, DefaultCollation, Description string
	MaxLen                              int
}

// Collation is one of the server's collations. MariaDB lists some for no
// single charset (uca1400_ai_ci, usable with several): Charset is then "".
type Collation struct {
	Name, Charset string
	ID            int
	Default       bool
	SortLen       int
}

// Register reads the server's character sets and collations and adds to
// the parser those it does not know yet. It is safe for concurrent use
// and for repeated calls: what the parser knows already is left as is.
func Register(ctx context.Context, db *sql.DB) error {
	charsets, collations, err := Load(ctx, db)
	if err != nil {
		return err
	}
	Add(charsets, collations)
	return nil
}

// Add adds to the parser the charsets and collations it does not know by
// name. A collation whose ID the parser gives to another name (MariaDB's
// utf8mb3_uca1400_ai_ci is 2048, TiDB's utf8mb4_zh_pinyin_tidb_as_cs too)
// gets an ID of its own above every server's: the parser reads collations
// by name, and the parser's own ID lookups must keep their meaning.
func Add(charsets []Charset, collations []Collation) {
	mu.Lock()
	defer mu.Unlock()
	for _, cs := range charsets {
		name := strings.ToLower(cs.Name)
		if _, err := charset.GetCharsetInfo(name); err == nil {
			continue
		}
		charset.AddCharset(&charset.Charset{
			Name:             name,
			DefaultCollation: strings.ToLower(cs.DefaultCollation),
			Collations:       map[string]*charset.Collation{},
			Desc:             cs.Description,
			Maxlen:           cs.MaxLen,
		})
	}
	for _, co := range collations {
		name := strings.ToLower(co.Name)
		if _, err := charset.GetCollationByName(name); err == nil {
			continue
		}
		id := co.ID
		if _, err := charset.GetCollationByID(id); err == nil || id <= 0 {
			id = freeID()
		}
		charset.AddCollation(&charset.Collation{
			ID:           id,
			CharsetName:  strings.ToLower(co.Charset),
			Name:         name,
			IsDefault:    co.Default,
			Sortlen:      co.SortLen,
			PadAttribute: padAttribute(name),
		})
	}
}

// firstFreeID is above every collation ID MySQL, MariaDB and TiDB use.
const firstFreeID = 1 << 20

// freeID returns an ID no collation of the parser has; mu is held.
func freeID() int {
	id := firstFreeID
	for {
		if _, err := charset.GetCollationByID(id); err != nil {
			return id
		}
		id++
	}
}

// padAttribute follows the naming of both servers: NO PAD collations say
// so in their name (utf8mb4_0900_ai_ci aside, which the parser knows).
func padAttribute(name string) string {
	if strings.Contains(name, "nopad") {
		return charset.PadNone
	}
	return charset.PadSpace
}

// Load reads the server's character sets and collations. On MariaDB the
// collations usable with several charsets are listed once in COLLATIONS
// (uca1400_ai_ci) and under their full names (utf8mb4_uca1400_ai_ci) in
// COLLATION_CHARACTER_SET_APPLICABILITY: both forms are accepted in DDL.
func Load(ctx context.Context, db *sql.DB) ([]Charset, []Collation, error) {
	var charsets []Charset
	err := mysqlx.Rows(ctx, db, func(rows *sql.Rows) error {
		var cs Charset
		var desc sql.NullString
		if err := rows.Scan(&cs.Name, &cs.DefaultCollation, &desc, &cs.MaxLen); err != nil {
			return err
		}
		cs.Description = desc.String
		charsets = append(charsets, cs)
		return nil
	}, "SELECT CHARACTER_SET_NAME, DEFAULT_COLLATE_NAME, DESCRIPTION, MAXLEN FROM information_schema.CHARACTER_SETS")
	if err != nil {
		return nil, nil, fmt.Errorf("read the server's character sets: %w", err)
	}
	var collations []Collation
	scan := func(rows *sql.Rows) error {
		var co Collation
		var cs, def sql.NullString
		var id, sortLen sql.NullInt64
		if err := rows.Scan(&co.Name, &cs, &id, &def, &sortLen); err != nil {
			return err
		}
		co.Charset, co.ID, co.Default, co.SortLen = cs.String, int(id.Int64), strings.EqualFold(def.String, "Yes"), int(sortLen.Int64)
		collations = append(collations, co)
		return nil
	}
	err = mysqlx.Rows(ctx, db, scan, "SELECT COLLATION_NAME, CHARACTER_SET_NAME, ID, IS_DEFAULT, SORTLEN FROM information_schema.COLLATIONS")
	if err != nil {
		return nil, nil, fmt.Errorf("read the server's collations: %w", err)
	}
	err = mysqlx.Rows(ctx, db, scan, "SELECT FULL_COLLATION_NAME, CHARACTER_SET_NAME, ID, IS_DEFAULT, NULL "+
		"FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY")
	if err != nil && mysqlx.ErrCode(err) != mysqlx.ErrBadField {
		// MySQL and MariaDB before 10.10 have no FULL_COLLATION_NAME:
		// there every collation is in COLLATIONS under its full name.
		return nil, nil, fmt.Errorf("read the server's collations: %w", err)
	}
	return charsets, collations, nil
}
