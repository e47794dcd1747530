package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli.md from the commands' help")

// cliDocPath is the command reference, generated from the commands' own
// help so the two cannot drift apart.
var cliDocPath = filepath.Join("..", "..", "docs", "cli.md")

// TestCLIDocsUpToDate fails when docs/cli.md is not what the commands'
// --help says; make docs rewrites it.
func TestCLIDocsUpToDate(t *testing.T) {
	checkGenerated(t, cliDocPath, cliDoc(newRoot()))
}

// checkGenerated fails when the file at path is not want, or with
// -update-docs (make docs) writes it.
func checkGenerated(t *testing.T, path, want string) {
	t.Helper()
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run make docs", err)
	}
	if string(got) != want {
		t.Fatalf("%s differs from what the code says: run make docs and commit it", path)
	}
}

// cliDoc renders every command's help as one Markdown page.
func cliDoc(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString("# Command reference\n\n")
	b.WriteString("Generated from each command's `--help` by `make docs`; do not edit by hand.\n\n")
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			b.WriteString("- [`" + c.CommandPath() + "`](#" + strings.ReplaceAll(c.CommandPath(), " ", "-") + "): " + c.Short + "\n")
		}
	}
	for _, c := range root.Commands() {
		if !c.IsAvailableCommand() {
			continue
		}
		b.WriteString("\n## " + c.CommandPath() + "\n\n```\n" + c.UseLine() + "\n```\n\n")
		b.WriteString("```\n" + strings.TrimSpace(c.Long) + "\n```\n\n")
		if flags := c.NonInheritedFlags().FlagUsages(); flags != "" {
			b.WriteString("Flags:\n\n```\n" + strings.TrimRight(flags, "\n") + "\n```\n")
		}
	}
	return b.String()
}
