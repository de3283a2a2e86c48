package durable

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// WriteFile writes whole files, replaces only when asked, refuses to
// replace otherwise without touching the file, and leaves no temporary
// file behind either way.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := WriteFile(path, []byte("first"), 0o644, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("second"), 0o644, false); !errors.Is(err, ErrExists) {
		t.Fatalf("replacing without replace: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Fatalf("the refused write changed the file: %q", b)
	}
	if err := WriteFile(path, []byte("third"), 0o600, true); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "third" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("replaced: %q, mode %v", b, fi.Mode())
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x"), []byte("x"), 0o644, true); err == nil {
		t.Fatal("a write into a missing folder succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files left in the folder: %v", entries)
	}
}
