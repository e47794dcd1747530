package tableinfo

import "testing"

func TestIsGenerated(t *testing.T) {
	for _, tc := range []struct {
		extra string
		want  bool
	}{
		{"", false},
		{"auto_increment", false},
		{"DEFAULT_GENERATED", false},
		{"DEFAULT_GENERATED on update CURRENT_TIMESTAMP", false},
		{"on update current_timestamp()", false},
		{"VIRTUAL GENERATED", true},
		{"STORED GENERATED", true},
		{"PERSISTENT GENERATED", true},
		{"VIRTUAL GENERATED INVISIBLE", true},
		{"INVISIBLE", false},
	} {
		if got := isGenerated(tc.extra); got != tc.want {
			t.Errorf("isGenerated(%q) = %v, want %v", tc.extra, got, tc.want)
		}
	}
}
