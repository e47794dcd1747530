package workload

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/godwit-db/godwit/internal/mysqlx"
)

// Expect maps the model onto a table whose columns an ALTER changed.
type Expect struct {
	Rename map[string]string // model column -> its name in the table
	Skip   []string          // model columns the table no longer has
	// Added are table columns the model does not know, with the text every
	// row must hold (e.g. the column's default); a nil value means NULL.
	Added map[string]*string
}

// Mismatch is Compare's error when table and model differ.
type Mismatch struct {
	Table                     string
	Rows                      int // rows in the model
	Missing, Extra, Differing int
	Examples                  []string // the first few of each kind, by id
}

const maxExamples = 5

func (e *Mismatch) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "workload: table %s differs from the model of %d rows: %d missing, %d extra, %d differing rows",
		e.Table, e.Rows, e.Missing, e.Extra, e.Differing)
	for _, ex := range e.Examples {
		b.WriteString("\n  " + ex)
	}
	return b.String()
}

// Compare reads table name and compares it with the model row for row and
// column by column, as text. It holds the model for the whole read: stop the
// writers first.
func (m *Model) Compare(ctx context.Context, db *sql.DB, name string, e Expect) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		return errors.New("workload: compare while writers run: Stop them first")
	}
	conn, err := session(ctx, db, time.Minute)
	if err != nil {
		return fmt.Errorf("workload: compare %s: %w", name, err)
	}
	defer discard(conn)
	// No arguments, so the driver uses the text protocol: the values are
	// the server's own text, which is what the model holds.
	rows, err := conn.QueryContext(ctx, tag+"SELECT * FROM "+mysqlx.Q(name)+" ORDER BY `id`")
	if err != nil {
		return fmt.Errorf("workload: compare %s: %w", name, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("workload: compare %s: %w", name, err)
	}
	idPos, want, err := e.plan(names)
	if err != nil {
		return fmt.Errorf("workload: compare %s: %w", name, err)
	}

	raw := make([]sql.RawBytes, len(names))
	dest := make([]any, len(names))
	for i := range raw {
		dest[i] = &raw[i]
	}
	mm := &Mismatch{Table: name, Rows: len(m.rows)}
	var extra, differing []string
	seen := make(map[int64]bool, len(m.rows))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("workload: compare %s: %w", name, err)
		}
		id, err := strconv.ParseInt(string(raw[idPos]), 10, 64)
		if err != nil {
			return fmt.Errorf("workload: compare %s: id %q: %w", name, raw[idPos], err)
		}
		row, ok := m.rows[id]
		if !ok || seen[id] {
			mm.Extra++
			if len(extra) < maxExamples {
				extra = append(extra, fmt.Sprintf("extra     id=%d: %s", id, tableRow(names, raw, idPos)))
			}
			continue
		}
		seen[id] = true
		cells := m.codec.cells(row)
		var diffs []string
		for i, w := range want {
			if i == idPos {
				continue
			}
			got := raw[i]
			if w.model < 0 {
				if (got == nil) == w.added.Valid || string(got) != w.added.String {
					diffs = append(diffs, fmt.Sprintf("%s: want %s, got %s", names[i], show(w.added), showRaw(got)))
				}
				continue
			}
			exp := cells[w.model]
			if m.codec.encode(w.model, sql.NullString{String: string(got), Valid: got != nil}) == exp {
				continue
			}
			if v, ok := m.codec.value(exp); ok && v.Valid && got != nil && isJSON(w.model) && sameJSON(got, v.String) {
				continue
			}
			diffs = append(diffs, fmt.Sprintf("%s: want %s, got %s", names[i], m.codec.show(exp), showRaw(got)))
		}
		if len(diffs) > 0 {
			mm.Differing++
			if len(differing) < maxExamples {
				differing = append(differing, fmt.Sprintf("differing id=%d: %s", id, strings.Join(diffs, "; ")))
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("workload: compare %s: %w", name, err)
	}

	var missing []int64
	for id := range m.rows {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	mm.Missing = len(missing)
	for _, id := range missing[:min(len(missing), maxExamples)] {
		mm.Examples = append(mm.Examples, fmt.Sprintf("missing   id=%d: %s", id, m.modelRow(m.rows[id])))
	}
	mm.Examples = append(append(mm.Examples, extra...), differing...)
	if mm.Missing+mm.Extra+mm.Differing > 0 {
		return mm
	}
	return nil
}

// expected says where the value of one table column comes from: a model
// column, or the constant of an added column (model < 0).
type expected struct {
	model int
	added sql.NullString
}

// plan matches the table's columns to the model's under e, and refuses any
// column it cannot account for: a column silently left out of the
// comparison would let a migration lose it unnoticed.
func (e Expect) plan(names []string) (idPos int, want []expected, err error) {
	skip := make(map[int]bool)
	for _, name := range e.Skip {
		i := columnIndex(name)
		if i < 0 {
			return 0, nil, fmt.Errorf("Expect.Skip: %q is not a workload column", name)
		}
		skip[i] = true
	}
	renamed := make(map[int]string)
	for from, to := range e.Rename {
		i := columnIndex(from)
		if i < 0 {
			return 0, nil, fmt.Errorf("Expect.Rename: %q is not a workload column", from)
		}
		renamed[i] = to
	}
	byTable := make(map[string]int) // lower-case table column -> model column
	for i, c := range columns {
		if skip[i] {
			continue
		}
		name := c.name
		if to, ok := renamed[i]; ok {
			name = to
		}
		byTable[strings.ToLower(name)] = i
	}
	added := make(map[string]*string)
	for name, v := range e.Added {
		added[strings.ToLower(name)] = v
	}

	idPos = -1
	found := make(map[int]bool)
	want = make([]expected, len(names))
	for pos, name := range names {
		lower := strings.ToLower(name)
		if mi, ok := byTable[lower]; ok {
			want[pos] = expected{model: mi}
			found[mi] = true
			continue
		}
		want[pos].model = -1
		if lower == "id" {
			idPos = pos
		} else if v, ok := added[lower]; ok {
			if v != nil {
				want[pos].added = sql.NullString{String: *v, Valid: true}
			}
		} else {
			return 0, nil, fmt.Errorf("table column %q is not in the model: list it in Expect.Added", name)
		}
	}
	if idPos < 0 {
		return 0, nil, fmt.Errorf("the table has no id column")
	}
	for t, mi := range byTable {
		if !found[mi] {
			return 0, nil, fmt.Errorf("model column %s (table column %s) is not in the table: list it in Expect.Skip or Expect.Rename", columns[mi].name, t)
		}
	}
	return idPos, want, nil
}

func show(v sql.NullString) string {
	if !v.Valid {
		return "NULL"
	}
	return showRaw([]byte(v.String))
}

// showRaw quotes a value so binary bytes and trailing spaces are visible,
// cut short so one long TEXT does not hide the other examples.
func showRaw(b []byte) string {
	if b == nil {
		return "NULL"
	}
	if limit := 40; len(b) > limit {
		for limit > 30 && !utf8.RuneStart(b[limit]) { // don't cut a character in half
			limit--
		}
		return strconv.Quote(string(b[:limit])) + fmt.Sprintf("...(%d bytes)", len(b))
	}
	return strconv.Quote(string(b))
}

func (m *Model) modelRow(row string) string {
	cells := m.codec.cells(row)
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = columns[i].name + "=" + m.codec.show(c)
	}
	return strings.Join(parts, " ")
}

func tableRow(names []string, raw []sql.RawBytes, idPos int) string {
	var parts []string
	for i, v := range raw {
		if i != idPos {
			parts = append(parts, names[i]+"="+showRaw(v))
		}
	}
	return strings.Join(parts, " ")
}

func isJSON(col int) bool { return columns[col].typ == "JSON" }

// sameJSON compares two JSON texts as values. MySQL stores JSON in a binary
// form and prints it back normalised (spaces after separators, object keys
// sorted), where MariaDB keeps the text as written: both hold the value the
// writer sent.
func sameJSON(got []byte, want string) bool {
	var a, b any
	da, db := json.NewDecoder(bytes.NewReader(got)), json.NewDecoder(strings.NewReader(want))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&a) != nil || db.Decode(&b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}
