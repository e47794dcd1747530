package migrate

import (
	"context"
	"reflect"
	"testing"

	"github.com/godwit-db/godwit/internal/mysqlx"
	"github.com/godwit-db/godwit/internal/sandboxtest"
)

func TestCheckTableProblems(t *testing.T) {
	for _, c := range []struct {
		name string
		in   [][2]string
		want []string
	}{
		{"sound", [][2]string{{"status", "OK"}}, nil},
		{"note then OK", [][2]string{{"note", "The storage engine for the table doesn't support check"}, {"status", "OK"}}, nil},
		{"corrupt index", [][2]string{{"Warning", "InnoDB: Index 'k' contains 9 entries, should be 10."}, {"error", "Corrupt"}},
			[]string{"Warning: InnoDB: Index 'k' contains 9 entries, should be 10.", "error: Corrupt"}},
		{"failed", [][2]string{{"Error", "Table 'd.t' doesn't exist"}, {"status", "Operation failed"}},
			[]string{"Error: Table 'd.t' doesn't exist", "status: Operation failed"}},
		{"nothing", nil, []string{"no OK status"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := checkTableProblems(c.in); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestCheckTableOnServer runs the real CHECK TABLE on a sound table.
func TestCheckTableOnServer(t *testing.T) {
	sb := sandboxtest.New(t)
	sb.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, k INT, KEY (k))")
	sb.Exec(t, "INSERT INTO t VALUES (1, 1), (2, 2)")
	db, err := mysqlx.Open(context.Background(), mysqlx.Config{Host: sb.Host, Port: sb.Port, User: sb.User, Password: sb.Password, Database: sb.Database})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := &migration{db: db, opt: Options{Conn: mysqlx.Config{Database: sb.Database}, Table: "t", CheckTable: true}}
	if err := m.checkTableIntegrity(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.opt.Table = "missing"
	if err := m.checkTableIntegrity(context.Background()); err == nil || !IsRefusal(err) {
		t.Fatalf("CHECK TABLE of a missing table: %v, want a refusal", err)
	}
}
