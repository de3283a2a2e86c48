package ceremony

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeJournal(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := CreateJournal(path, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	j.Append("preflight", "begin", map[string]string{"account": "bg@contoso.onmicrosoft.com"})
	j.Append("preflight", "done", map[string]string{"user_id": "u1"})
	j.Append("key1/reset", "begin", nil)
	j.Close()
	return path
}

func TestJournalChainsAndResumes(t *testing.T) {
	path := writeJournal(t)
	if _, err := CreateJournal(path, time.Now); err == nil {
		t.Fatal("an existing journal was overwritten")
	}
	j, err := openJournal(path, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := j.done("preflight"); !ok || d["user_id"] != "u1" {
		t.Fatal("preflight not done")
	}
	if !j.begun("key1/reset") {
		t.Fatal("an interrupted reset is not seen as begun")
	}
	if err := j.Append("key1/reset", "done", nil); err != nil {
		t.Fatal(err)
	}
	j.Close()
	entries, err := ReadJournal(path)
	if err != nil || len(entries) != 4 {
		t.Fatalf("%d entries, %v", len(entries), err)
	}
}

func TestJournalEditIsDetected(t *testing.T) {
	path := writeJournal(t)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), `"u1"`, `"u2"`, 1)), 0o600)
	if _, err := ReadJournal(path); !errors.Is(err, errJournalBroken) {
		t.Fatalf("edited journal: %v", err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(path, []byte(lines[0]+lines[2]), 0o600) // a line removed
	if _, err := ReadJournal(path); !errors.Is(err, errJournalBroken) {
		t.Fatalf("line removed: %v", err)
	}
}

func TestJournalTornLastLineIsDropped(t *testing.T) {
	path := writeJournal(t)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":4,"step":"key1/re`)
	f.Close()
	entries, err := ReadJournal(path)
	if err != nil || len(entries) != 3 {
		t.Fatalf("%d entries, %v", len(entries), err)
	}
}

func FuzzReadJournal(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.jsonl")
	j, _ := CreateJournal(path, time.Now)
	j.Append("preflight", "done", map[string]string{"user_id": "u"})
	j.Close()
	b, _ := os.ReadFile(path)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "j")
		os.WriteFile(p, data, 0o600)
		entries, err := ReadJournal(p)
		if err == nil {
			for i, e := range entries {
				if e.Seq != i+1 || e.Hash != entryHash(e) {
					t.Fatal("accepted an entry that does not chain")
				}
			}
		}
	})
}
