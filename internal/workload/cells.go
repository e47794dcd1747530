package workload

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"strings"
)

// A model row is its cells' encodings concatenated into one string: one
// allocation a row, where a slice of strings costs one a column plus its
// headers. A full model keeps each value's text, so a mismatch can show
// it; a lean one keeps a 64-bit hash of it, which is what lets a long run
// hold tens of millions of rows (a row's text averages about 1 KB).
type cellCodec struct {
	lean bool
	seed maphash.Seed
}

const hashCell = 8 // bytes a lean cell takes

// encode is the cell of value v in column col.
func (c cellCodec) encode(col int, v sql.NullString) string {
	if !c.lean {
		if !v.Valid {
			return "\x00"
		}
		return "\x01" + string(binary.AppendUvarint(nil, uint64(len(v.String)))) + v.String
	}
	var h maphash.Hash
	h.SetSeed(c.seed)
	if v.Valid {
		h.WriteByte(1)
		text := v.String
		if isJSON(col) {
			// MySQL prints JSON normalised, MariaDB as written: hash the
			// value, not the text (the full model compares with sameJSON).
			text = canonicalJSON(text)
		}
		h.WriteString(text)
	} else {
		h.WriteByte(0)
	}
	return string(binary.LittleEndian.AppendUint64(nil, h.Sum64()))
}

// row encodes a whole row of values, one per column.
func (c cellCodec) row(vals []sql.NullString) string {
	var b strings.Builder
	for i, v := range vals {
		b.WriteString(c.encode(i, v))
	}
	return b.String()
}

// cells splits a row into its cells, one per column.
func (c cellCodec) cells(row string) []string {
	out := make([]string, 0, len(columns))
	for len(row) > 0 {
		n := hashCell
		if !c.lean {
			n = 1
			if row[0] == 1 {
				l, w := binary.Uvarint([]byte(row[1:min(len(row), 1+binary.MaxVarintLen64)]))
				n = 1 + w + int(l)
			}
		}
		out = append(out, row[:n])
		row = row[n:]
	}
	return out
}

// value is the value a full model's cell holds; ok is false for a lean
// cell, which holds only a hash.
func (c cellCodec) value(cell string) (v sql.NullString, ok bool) {
	if c.lean {
		return sql.NullString{}, false
	}
	if cell[0] == 0 {
		return sql.NullString{}, true
	}
	_, w := binary.Uvarint([]byte(cell[1:min(len(cell), 1+binary.MaxVarintLen64)]))
	return sql.NullString{String: cell[1+w:], Valid: true}, true
}

// show renders a cell for a mismatch report.
func (c cellCodec) show(cell string) string {
	if v, ok := c.value(cell); ok {
		return show(v)
	}
	return fmt.Sprintf("<hash %x>", cell)
}

// canonicalJSON re-marshals a JSON text with its object keys sorted and
// no spaces; a text that does not parse is its own canonical form.
func canonicalJSON(text string) string {
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return text
	}
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if e.Encode(v) != nil {
		return text
	}
	return strings.TrimSuffix(b.String(), "\n")
}
