package workload

import (
	"database/sql"
	"errors"
	"slices"
	"sync"
)

// Model is what the writers committed: for every id in the table, the text
// MariaDB returns for each column. A row is a slice indexed like columns
// (NULL is an invalid NullString); maps per row would cost ten times the memory.
type Model struct {
	mu   sync.Mutex
	rows map[int64][]sql.NullString
	// maxID is the highest id ever sent, committed or not, so a new Start
	// never reuses an id that may still be in the table.
	maxID int64
	// running is set while a Run writes: a second Run would share the
	// partitions, and a Compare would see rows still changing.
	running bool
}

func newModel() *Model {
	return &Model{rows: make(map[int64][]sql.NullString)}
}

// Len is the number of rows the table should hold.
func (m *Model) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows)
}

// Row returns row id as column name -> text, with nil for NULL.
func (m *Model) Row(id int64) (map[string]*string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vals, ok := m.rows[id]
	if !ok {
		return nil, false
	}
	row := make(map[string]*string, len(vals))
	for i, v := range vals {
		if v.Valid {
			row[columns[i].name] = &v.String
		} else {
			row[columns[i].name] = nil
		}
	}
	return row, true
}

func (m *Model) reserve(id int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maxID = max(m.maxID, id)
}

func (m *Model) insert(id int64, vals []sql.NullString) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows[id] = vals
}

func (m *Model) update(id int64, idx []int, vals []sql.NullString) {
	m.mu.Lock()
	defer m.mu.Unlock()
	row := m.rows[id]
	for j, i := range idx {
		row[i] = vals[j]
	}
}

// wouldChange reports whether update would change row id. MariaDB counts
// only changed rows as affected, so the writer needs this to tell "nothing
// to change" from "the row is gone".
func (m *Model) wouldChange(id int64, idx []int, vals []sql.NullString) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	row := m.rows[id]
	for j, i := range idx {
		if row[i] != vals[j] {
			return true
		}
	}
	return false
}

func (m *Model) delete(id int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rows, id)
}

func (m *Model) move(from, to int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows[to] = m.rows[from]
	delete(m.rows, from)
}

// ids returns the ids that writer w of n owns (id ≡ w mod n) and the first
// free id of its partition.
func (m *Model) ids(w, n int) (owned []int64, next int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.rows {
		if int(id%int64(n)) == w {
			owned = append(owned, id)
		}
	}
	slices.Sort(owned)
	next = m.maxID + 1
	for int(next%int64(n)) != w {
		next++
	}
	return owned, next
}

func (m *Model) claim() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		return errors.New("another Run is writing this model: Stop it first")
	}
	m.running = true
	return nil
}

func (m *Model) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running = false
}
