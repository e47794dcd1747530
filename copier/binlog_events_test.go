package copier

import (
	"errors"
	"testing"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/godwit-db/godwit/internal/tableinfo"
)

// TestInspectEvents: what the stream does with each kind of event, without
// a server. A compressed transaction is read like an uncompressed one, and
// an event that could hold the table's rows in a form the stream cannot
// follow stops it rather than being skipped.
func TestInspectEvents(t *testing.T) {
	orders := &replication.TableMapEvent{Schema: []byte("shop"), Table: []byte("orders")}
	other := &replication.TableMapEvent{Schema: []byte("shop"), Table: []byte("customers")}
	ev := func(typ replication.EventType, e replication.Event) *replication.BinlogEvent {
		return &replication.BinlogEvent{Header: &replication.EventHeader{EventType: typ}, Event: e}
	}
	rows := func(tm *replication.TableMapEvent, ids ...int32) *replication.BinlogEvent {
		re := &replication.RowsEvent{Table: tm}
		for _, id := range ids {
			re.Rows = append(re.Rows, []any{id, "x"})
		}
		return ev(replication.WRITE_ROWS_EVENTv2, re)
	}
	payload := func(inner ...*replication.BinlogEvent) *replication.BinlogEvent {
		return ev(replication.TRANSACTION_PAYLOAD_EVENT, &replication.TransactionPayloadEvent{Events: inner})
	}
	query := func(schema, q string) *replication.BinlogEvent {
		return ev(replication.QUERY_EVENT, &replication.QueryEvent{Schema: []byte(schema), Query: []byte(q)})
	}
	for _, tc := range []struct {
		name     string
		event    *replication.BinlogEvent
		wantKeys int
		wantErr  error
	}{
		{"rows of the table", rows(orders, 1, 2), 2, nil},
		{"rows of another table", rows(other, 1, 2), 0, nil},
		{"compressed rows of the table", payload(query("shop", "BEGIN"), rows(orders, 1, 2, 3), rows(other, 4)), 3, nil},
		{"compressed DDL on the table", payload(query("shop", "ALTER TABLE orders ADD COLUMN x INT")), 0, ErrTableDDL},
		{"statement write on the table", query("shop", "UPDATE orders SET a = 1"), 0, ErrUnreadableEvent},
		{"statement write elsewhere", query("shop", "UPDATE customers SET a = 1"), 0, nil},
		{"harmless undecoded event", ev(replication.IGNORABLE_EVENT, &replication.GenericEvent{}), 0, nil},
		{"unknown event type", ev(replication.EventType(0x7f), &replication.GenericEvent{}), 0, ErrUnreadableEvent},
		{"incident", ev(replication.INCIDENT_EVENT, &replication.GenericEvent{}), 0, ErrUnreadableEvent},
		{"statement LOAD DATA", ev(replication.EXECUTE_LOAD_QUERY_EVENT, &replication.ExecuteLoadQueryEvent{}), 0, ErrUnreadableEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Stream{
				cfg: StreamConfig{Schema: "shop", Table: "orders", Key: Key{Index: "PRIMARY", Columns: []KeyColumn{{
					Column: tableinfo.Column{Name: "id", Position: 0, DataType: "int"}, ShadowName: "id"}}}},
				changes: NewChanges(),
				moved:   make(chan struct{}),
			}
			err := s.inspect(tc.event, Position{Name: "bin.000001", Pos: 4})
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("inspect: %v, want %v", err, tc.wantErr)
			}
			if got := s.changes.Len(); got != tc.wantKeys {
				t.Errorf("%d keys recorded, want %d", got, tc.wantKeys)
			}
		})
	}
}
