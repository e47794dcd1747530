package migrate

import (
	"os/exec"
	"testing"
)

// TestShellArg: every name comes back from a shell as one word, unchanged.
func TestShellArg(t *testing.T) {
	for _, name := range []string{"orders", "gw_x-1", `o'brien`, "back`tick", `back\slash`, "two words", "$(id)", "a\"b", ""} {
		out, err := exec.Command("sh", "-c", "printf %s "+shellArg(name)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != name {
			t.Errorf("shellArg(%q) = %s reads back as %q", name, shellArg(name), out)
		}
	}
}
