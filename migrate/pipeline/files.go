package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// File is one migration file of the directory.
type File struct {
	Name     string // the base name, the key of its history row
	Text     string // its text, CRLF line ends read as LF, a byte order mark dropped
	Checksum string // sha256 of Text, in hex
}

// maxNameLen is the width of the history table's name column.
const maxNameLen = 255

// LoadDir reads the *.sql files of dir (not its subdirectories) in name
// order: byte order, so 0002_x.sql comes before 0010_y.sql only when the
// numbers are zero-padded to the same width. An error here is the user's
// to fix before anything runs (a wrong path, no files, a bad name).
func LoadDir(dir string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.EqualFold(filepath.Ext(name), ".sql") {
			continue
		}
		if len(name) > maxNameLen {
			return nil, fmt.Errorf("%s: the file name is longer than %d bytes, the width of the history's name column", name, maxNameLen)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("%s: not valid UTF-8 text", name)
		}
		files = append(files, newFile(name, b))
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no *.sql migration files", dir)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}

// newFile normalizes the text and computes its checksum. The line ends
// are normalized so that a checkout on Windows (git's autocrlf) does not
// read as a changed file.
func newFile(name string, b []byte) File {
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	return File{Name: name, Text: text, Checksum: checksum(text)}
}

func checksum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// prefixChecksum identifies the first n statements of a file, so that a
// failed file may be changed after the statements it already ran, not in
// them.
func prefixChecksum(stmts []Statement, n int) string {
	h := sha256.New()
	for _, s := range stmts[:n] {
		h.Write([]byte(s.Text))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
