package mysqlx

import "testing"

func TestCheckSQLMode(t *testing.T) {
	for _, tc := range []struct {
		mode string
		ok   bool
	}{
		{"", true},
		{"STRICT_TRANS_TABLES", true},
		{"STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE", true},
		{"ansi, no_zero_date", true},
		{SessionSQLMode, true},
		{"STRICT_TRANS_TABLES'; DROP TABLE t; --", false},
		{"a,,b", false},
		{",a", false},
		{"a b", false},
		{"'a'", false},
	} {
		if err := CheckSQLMode(tc.mode); (err == nil) != tc.ok {
			t.Errorf("CheckSQLMode(%q) = %v, want ok %v", tc.mode, err, tc.ok)
		}
	}
}
