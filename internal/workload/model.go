package workload

import (
	"database/sql"
	"errors"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
)

// Model is what the writers committed: for every id in the table, the text
// the server returns for each column, or in a lean model a hash of it (see
// cellCodec).
type Model struct {
	mu    sync.Mutex
	codec cellCodec
	rows  map[int64]string
	// maxID is the highest id ever sent, committed or not, so a new Start
	// never reuses an id that may still be in the table.
	maxID int64
	// running is set while a Run writes: a second Run would share the
	// partitions, and a Compare would see rows still changing.
	running bool
}

func newModel(lean bool) *Model {
	return &Model{codec: cellCodec{lean: lean, seed: maphash.MakeSeed()}, rows: make(map[int64]string)}
}

// Len is the number of rows the table should hold.
func (m *Model) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows)
}

func (m *Model) reserve(id int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maxID = max(m.maxID, id)
}

func (m *Model) insert(id int64, vals []sql.NullString) {
	row := m.codec.row(vals)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows[id] = row
}

func (m *Model) update(id int64, idx []int, vals []sql.NullString) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cells := m.codec.cells(m.rows[id])
	for j, i := range idx {
		cells[i] = m.codec.encode(i, vals[j])
	}
	m.rows[id] = strings.Join(cells, "")
}

// wouldChange reports whether update would change row id. MariaDB counts
// only changed rows as affected, so the writer needs this to tell "nothing
// to change" from "the row is gone".
func (m *Model) wouldChange(id int64, idx []int, vals []sql.NullString) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	cells := m.codec.cells(m.rows[id])
	for j, i := range idx {
		if cells[i] != m.codec.encode(i, vals[j]) {
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
