package ceremony

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// tornFile is a journal's file whose next write lands only its first cut
// bytes and then fails (a full disk), or, with failSync, lands whole and
// then fails to sync once (a medium that fails).
type tornFile struct {
	*os.File
	cut      int
	failSync bool
	armed    bool
}

func (f *tornFile) Write(b []byte) (int, error) {
	if !f.armed || f.failSync {
		return f.File.Write(b)
	}
	n, _ := f.File.Write(b[:min(f.cut, len(b))])
	if f.cut >= len(b) {
		return n, nil // a write that says it is short without an error
	}
	return n, errors.New("no space left on device")
}

func (f *tornFile) Sync() error {
	if f.armed && f.failSync {
		f.failSync = false // once: the sync after the cut-back works
		return errors.New("input/output error")
	}
	return f.File.Sync()
}

// An append lands whole or not at all: a write that fails at every byte
// offset of the line, a write that comes back short without an error, and
// an fsync that fails each leave the file exactly the whole lines it held
// before (cut back and synced), the error says what was not recorded, and
// nothing more is appended after it (issue 23 §4).
func TestJournalAppendFailingAtEveryByteLeavesOnlyWholeLines(t *testing.T) {
	data := map[string]string{"display_name": "Break glass key 1 (simkey, 2026-12-04)", "confirmed_by": "A, B"}
	probe, err := json.Marshal(Entry{Seq: 4, Step: "key1/enroll", Phase: "begin", Data: data,
		Prev: strings.Repeat("0", 64), Hash: strings.Repeat("0", 64)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []tornFile{{failSync: true}}
	for cut := 0; cut <= len(probe)+8; cut++ { // past the line's length: a short write without error
		cases = append(cases, tornFile{cut: cut})
	}
	for _, c := range cases {
		syncFailure := c.failSync
		path := writeJournal(t)
		before, _ := os.ReadFile(path)
		j, err := openJournal(path, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		f := j.f.(*os.File)
		c.File, c.armed = f, true
		j.f = &c
		err = j.Append("key1/enroll", "begin", data)
		size := len(before) + len(probe) + 1 // the line about, give or take the time's digits
		if err == nil {
			if syncFailure || c.cut < size-8 {
				t.Fatalf("cut at %d of %d: the append reported no error", c.cut, size)
			}
			f.Close()
			continue // the whole line landed
		}
		after, _ := os.ReadFile(path)
		if string(after) != string(before) {
			t.Fatalf("cut at %d (sync failure %v): the file is not its whole lines any more:\n%q\nwant\n%q", c.cut,
				syncFailure, after, before)
		}
		if !strings.Contains(err.Error(), "could not record key1/enroll begin") || !strings.Contains(err.Error(),
			"ends in its last whole line") {
			t.Fatalf("cut at %d: the error does not say what was not recorded and where the journal ends: %v", c.cut,
				err)
		}
		c.armed = false // the medium works again: still nothing more is appended
		if err := j.Append("key1/enroll", "done", nil); err == nil {
			t.Fatalf("cut at %d: an append went on after a failed one", c.cut)
		}
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Fatalf("cut at %d: the append after a failed one wrote", c.cut)
		}
		entries, err := ReadJournal(path)
		if err != nil || len(entries) != 3 {
			t.Fatalf("cut at %d: %d entries read back, %v", c.cut, len(entries), err)
		}
		f.Close()
	}
}

// A journal that ends in a torn line (left by an older build on a full
// disk, or by a crash mid-write) is never repaired silently on resume: the
// line is cut, and the cut — its size, the step it began to record, after
// which entry — is recorded in the journal as a repair entry carrying a
// deviation for the report, and kept for the officers' screen once.
func TestJournalTornTailIsRecordedAsARepair(t *testing.T) {
	path := writeJournal(t)
	whole, _ := os.ReadFile(path)
	torn := `{"seq":4,"time":"2026-12-04T10:00:00Z","step":"key1/reset","phase":"done","data":{"confir`
	os.WriteFile(path, append(append([]byte(nil), whole...), torn...), 0o600)
	j, err := openJournal(path, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	shown := j.takeRepairs()
	if len(shown) != 1 || !strings.Contains(shown[0], "after entry 3 (key1/reset begin)") ||
		!strings.Contains(shown[0], fmt.Sprintf("%d bytes of an entry for step key1/reset, phase done", len(torn))) {
		t.Fatalf("what the officers are shown: %q", shown)
	}
	if again := j.takeRepairs(); len(again) != 0 {
		t.Fatalf("shown twice: %q", again)
	}
	entries, err := ReadJournal(path)
	if err != nil || len(entries) != 4 {
		t.Fatalf("%d entries, %v", len(entries), err)
	}
	rep := entries[3]
	if rep.Step != "journal" || rep.Phase != "repair" || rep.Data["deviation"] != shown[0] ||
		!strings.Contains(rep.Data["cut"], "key1/reset") {
		t.Fatalf("the repair entry: %+v", rep)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), string(whole)) || strings.Contains(string(b),
		`{"seq":4,"time":"2026-12-04T10:00:00Z"`) {
		t.Fatal("the torn line is still in the file, or the whole lines changed")
	}
	// Opened again: nothing more to repair, nothing more recorded.
	j2, err := openJournal(path, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if r := j2.takeRepairs(); len(r) != 0 || len(j2.recorded()) != 4 {
		t.Fatalf("a clean journal was repaired: %q", r)
	}
}

// FuzzOpenJournalTornTail: whatever bytes follow a journal's whole lines,
// opening it for a resume either refuses it (a damaged chain) or leaves
// the file as its whole lines, recording a cut tail as one repair entry
// that chains; it never keeps a torn line and never loses a whole one.
func FuzzOpenJournalTornTail(f *testing.F) {
	f.Add([]byte(`{"seq":4,"step":"key1/re`))
	f.Add([]byte(`{"seq":4,"time":"2026-12-04T10:00:00Z","step":"key1/reset","phase":"done"}`))
	f.Add([]byte("\n"))
	f.Add([]byte(`"step":"`))
	f.Fuzz(func(t *testing.T, tail []byte) {
		path := writeJournal(t)
		whole, _ := os.ReadFile(path)
		os.WriteFile(path, append(append([]byte(nil), whole...), tail...), 0o600)
		j, err := openJournal(path, time.Now)
		if err != nil {
			return // a damaged chain is refused, and the file is left as it was
		}
		repairs := j.takeRepairs()
		j.Close()
		b, _ := os.ReadFile(path)
		entries, good, err := parseJournal(b)
		if err != nil || good != len(b) || !bytes.HasPrefix(b, whole) {
			t.Fatalf("after opening: %d of %d bytes whole, %v", good, len(b), err)
		}
		if want := 3 + len(repairs); len(entries) < 3 || (len(repairs) > 0 && len(entries) != want) {
			t.Fatalf("%d entries, %d repairs", len(entries), len(repairs))
		}
		if len(repairs) > 0 && entries[len(entries)-1].Phase != "repair" {
			t.Fatal("the cut is not recorded")
		}
	})
}
